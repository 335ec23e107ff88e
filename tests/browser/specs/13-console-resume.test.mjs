// Console spec 4 (issue 4: canned responses, internal notes, reconnect): a "/shortcut"
// typed in the composer becomes the canned answer; an internal note is stored beside the
// chat; the relay restarts while the agent writes, and the console resumes: the reply
// written while it was down is stored exactly once and nothing is shown twice.
import { after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { DEMO_ADMIN, login, getConversation } from "../lib/agent.mjs";
import { ScriptedVisitor } from "../lib/visitor.mjs";
import { ctid, openConsole, paneOf, paneMessages, expectPaneMessage, reply } from "../lib/console.mjs";

const h = new Harness("13-console-resume");
const ANNA = { email: "anna@acme-brandschutz.example", name: "Anna Beispiel", password: "anna-geheim-123" };
const CANNED = "Die Wartung Ihrer Feuerlöscher ist alle zwei Jahre fällig.";
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("canned responses and notes work, and the console resumes after a relay restart without losing or doubling a message", async () => {
  await h.setup();
  const relay = h.relay;
  await addAgent(relay.dataDir, { ...ANNA, maxChats: 3 });
  const admin = await login(relay.url, DEMO_ADMIN);
  const res = await fetch(`${relay.url}/api/v1/canned-responses`, {
    method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${admin.token}` },
    body: JSON.stringify({ shortcut: "wartung", title: "Wartung", body: CANNED }),
  });
  assert.equal(res.status, 201);

  const page = await openConsole(h, ANNA, { ctx: await h.context() });
  const visitor = h.track(await ScriptedVisitor.start(relay.url, { name: "Jonas Kunde" }));
  visitor.send("Wann muss ich zur Wartung?");
  const pane = paneOf(page, "Jonas Kunde");
  await expectPaneMessage(pane, "Wann muss ich zur Wartung?", "visitor");

  // "/wartung " expands in the composer; Enter sends the canned text.
  const input = pane.locator('[data-testid="cs-input"]');
  await input.pressSequentially("/wartung ");
  assert.equal(await input.inputValue(), CANNED, "the shortcut expanded to the canned body");
  await input.press("Enter");
  await visitor.waitFor((f) => f.type === "event" && f.event?.kind === "message" && f.event.body === CANNED,
    "the canned answer at the visitor");

  // Alt+1 focuses the first chat's composer.
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("Alt+1");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "cs-input");

  // An internal note: stored via REST, listed in the pane, never sent to the visitor.
  await pane.locator('[data-testid="cs-details"] summary').click();
  await pane.locator('[data-testid="cs-note-input"]').fill("Kunde hat Wartungsvertrag W-12.");
  await pane.locator('[data-testid="cs-note-add"]').click();
  await until(async () => (await pane.locator('[data-testid="cs-note"]').count()) === 1, { message: "the note is listed" });
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem("switchboard-console-session")).token);
  const stored = await getConversation(relay.url, token, visitor.conv);
  assert.equal(stored.notes.length, 1);
  assert.ok(!visitor.frames.some((f) => JSON.stringify(f).includes("W-12")), "the visitor never sees the note");

  // The relay goes away; the agent writes meanwhile; the relay comes back.
  await relay.stop("SIGTERM");
  await ctid(page, "cs-connecting").waitFor({ state: "visible", timeout: 10_000 });
  await reply(pane, "Geschrieben während der Relay weg war.");
  const relay2 = h.relay = await h.startRelay({ dataDir: relay.dataDir, port: relay.port });
  await ctid(page, "cs-connecting").waitFor({ state: "hidden", timeout: 20_000 });
  await until(async () => (await paneMessages(pane)).some((m) => m.text === "Geschrieben während der Relay weg war." &&
    m.state !== "pending"), { timeout: 15_000, message: "the offline reply became durable" });
  await page.waitForTimeout(1_000); // room for a duplicate to show up

  const after = await getConversation(relay2.url, token, visitor.conv);
  const bodies = after.events.filter((e) => e.event.kind === "message").map((e) => e.event.body);
  assert.equal(bodies.filter((b) => b === "Geschrieben während der Relay weg war.").length, 1, "stored exactly once");
  const shown = (await paneMessages(pane)).map((m) => m.text);
  assert.equal(new Set(shown).size, shown.length, `nothing is shown twice: ${JSON.stringify(shown)}`);
  assert.equal(shown.filter((t) => t === CANNED).length, 1);
  // German and English: the switch in the top bar changes every text at once.
  const before = await ctid(page, "cs-logout").textContent();
  await ctid(page, "cs-lang").click();
  const afterSwitch = await ctid(page, "cs-logout").textContent();
  assert.notEqual(afterSwitch, before);
  assert.ok(["Abmelden", "Log out"].includes(afterSwitch), afterSwitch);
  assert.equal(await page.evaluate(() => document.documentElement.lang), afterSwitch === "Abmelden" ? "de" : "en");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors in the console");
});
