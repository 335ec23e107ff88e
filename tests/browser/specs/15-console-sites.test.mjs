// Console spec 5 (issue 4, site management): an admin changes a site's greeting and colour
// in the console; the relay stores them and the next visitor's welcome carries them. A bad
// colour is refused with the relay's reason and changes nothing.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { DEMO_ADMIN, login } from "../lib/agent.mjs";
import { ScriptedVisitor } from "../lib/visitor.mjs";
import { ctid, openConsole } from "../lib/console.mjs";
import { apiGet } from "../lib/api.mjs";

const h = new Harness("15-console-sites");
before(() => h.setup(), { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("an admin changes a site's greeting and colour in the console; they are stored and reach the widget", async () => {
  const admin = await openConsole(h, DEMO_ADMIN, { ctx: await h.context() });
  await ctid(admin, "cs-admin-toggle").click();
  const form = admin.locator('[data-testid="cs-site"][data-site-id="demo"]');
  await form.waitFor({ state: "visible" });
  const field = (id) => form.locator(`[data-testid="${id}"]`);
  const status = field("cs-site-status");
  // The form shows what is stored, business hours included.
  await until(async () => (await field("cs-site-timezone").inputValue()) === "Europe/Berlin",
    { message: "the business hours are loaded" });
  assert.match(await field("cs-site-origins").inputValue(), /^http:\/\/127\.0\.0\.1:\d+$/m);

  // A colour that is none: refused with the relay's reason, nothing stored.
  await field("cs-site-accent").fill("blau");
  await field("cs-site-greeting").fill("Dieser Gruß darf nicht gespeichert werden.");
  await field("cs-site-save").click();
  await until(async () => (await status.getAttribute("data-state")) === "refused", { message: "the save is refused" });
  assert.match(await status.textContent(), /accent/, "the agent sees which field is wrong");
  const { token } = await login(h.relay.url, DEMO_ADMIN);
  let site = await apiGet(h.relay.url, token, "/api/v1/sites/demo");
  assert.equal(site.greeting, null, "a refused save stores nothing");
  assert.equal(site.accent, null);

  await field("cs-site-accent").fill("#C0392B");
  await field("cs-site-greeting").fill("Moin! Wie können wir helfen?");
  await field("cs-site-position").selectOption("left");
  await field("cs-site-save").click();
  await until(async () => (await status.getAttribute("data-state")) === "saved", { message: "the save succeeds" });
  site = await apiGet(h.relay.url, token, "/api/v1/sites/demo");
  assert.equal(site.greeting, "Moin! Wie können wir helfen?");
  assert.equal(site.accent, "#c0392b");
  assert.equal(site.position, "left");
  assert.equal(site.offline_behaviour, "form", "untouched fields keep their values");
  assert.equal(site.queue_offer_message_after_secs, 120);

  const visitor = h.track(await ScriptedVisitor.start(h.relay.url, { name: "Vera" }));
  const welcome = visitor.frames.find((f) => f.type === "visitor_welcome");
  assert.equal(welcome.site.greeting, "Moin! Wie können wir helfen?");
  assert.equal(welcome.site.accent, "#c0392b");
  assert.equal(welcome.site.position, "left");

  // A reload shows the stored values.
  await admin.reload();
  await ctid(admin, "cs-admin-toggle").click();
  await until(async () => (await field("cs-site-greeting").inputValue()) === "Moin! Wie können wir helfen?",
    { message: "the stored greeting after a reload" });
  assert.equal(await field("cs-site-accent").inputValue(), "#c0392b");
  assert.deepEqual(admin.rec.errors, [], "no uncaught errors in the console");
});
