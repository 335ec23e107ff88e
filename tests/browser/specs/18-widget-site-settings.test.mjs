// The widget follows the site's settings an admin keeps in the console (PATCH /sites/{id}):
// accent colour, corner and greeting once the relay's welcome arrives, and on the next page
// view at once (the loader remembers them); data-* attributes on the script tag still win.
// `offline_behaviour: hide` hides the launcher while nobody is online; the "leave a message
// instead" offer waits for the site's `queue_offer_message_after_secs`.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { DEMO_ADMIN, login } from "../lib/agent.mjs";
import { addAgent } from "../lib/relay.mjs";
import { tid, openWidget, startChat, send, beginChat, focused } from "../lib/widget.mjs";
import { patchSite } from "../lib/tickets.mjs";

const h = new Harness("18-widget-site-settings");
const SITE = "demo"; // the example pages embed data-site="demo"
let token;
before(async () => {
  await h.setup();
  ({ token } = await login(h.relay.url, DEMO_ADMIN));
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

/** The launcher's background colour and whether it sits on the left half of the window. */
const launcher = (page) => tid(page, "sb-launcher").evaluate((el) => {
  const r = el.getBoundingClientRect();
  return { background: getComputedStyle(el).backgroundColor, left: r.left < innerWidth / 2 };
});
const panelLook = (page) => tid(page, "sb-panel").evaluate((el) => {
  const r = el.getBoundingClientRect();
  return { accent: getComputedStyle(el).getPropertyValue("--sb-accent").trim(), left: r.left < innerWidth / 2 };
});
const greeting = (page) => page.locator(".sb-greeting").textContent();

h.test("accent, corner and greeting from the site's settings; remembered for the next page; data-* wins", async () => {
  await patchSite(h.relay.url, token, SITE, { accent: "#0a7d32", position: "left", greeting: "Moin aus Kiel!" });
  const agent = await h.agent(h.relay.url, DEMO_ADMIN); // online: the launcher shows the accent, not grey
  try {
    const page = await h.page();
    await page.goto(`${h.relay.url}/acme/`);
    await openWidget(page);
    await until(async () => (await greeting(page)).includes("Moin aus Kiel!"), { message: "the site's greeting" });
    assert.deepEqual(await panelLook(page), { accent: "#0a7d32", left: true });
    await until(async () => JSON.stringify(await launcher(page)) === JSON.stringify({ background: "rgb(10, 125, 50)", left: true }),
      { message: `the launcher repainted (now ${JSON.stringify(await launcher(page))})` });

    // Next page view: right at once, before the widget is loaded (no intent, no conversation).
    const requests = page.rec.requests.length;
    await page.goto(`${h.relay.url}/acme/kontakt.html`);
    assert.deepEqual(await launcher(page), { background: "rgb(10, 125, 50)", left: true });
    assert.ok(!page.rec.requests.slice(requests).some((u) => u.endsWith(".wasm")), "drawn without the widget");

    // A page that says otherwise on its script tag keeps its own colour and corner. (The
    // attributes are set as the tag is parsed: a page served by the test itself would be
    // refused the local relay by Chromium's local-network checks.)
    await page.addInitScript(() => {
      new MutationObserver((records, obs) => {
        const tag = document.querySelector('script[src="/widget.js"]');
        if (!tag) return;
        tag.dataset.accent = "#123456";
        tag.dataset.position = "right";
        obs.disconnect();
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${h.relay.url}/acme/`);
    assert.deepEqual(await launcher(page), { background: "rgb(18, 52, 86)", left: false });
    await openWidget(page);
    await until(async () => (await greeting(page)).includes("Moin aus Kiel!"), { message: "the site's greeting with the page's own colour" });
    assert.deepEqual(await panelLook(page), { accent: "#123456", left: false });
    assert.deepEqual(await launcher(page), { background: "rgb(18, 52, 86)", left: false });
    assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
  } finally {
    agent.close();
    await patchSite(h.relay.url, token, SITE, { accent: null, position: "right", greeting: null });
  }
});

h.test("offline_behaviour hide: no launcher while nobody is online, back when an agent is", async () => {
  await patchSite(h.relay.url, token, SITE, { offline_behaviour: "hide" });
  try {
    const page = await h.page();
    await page.goto(`${h.relay.url}/acme/`);
    // A first visit knows nothing yet: the launcher shows until the widget has asked the relay.
    await tid(page, "sb-launcher").hover();
    await tid(page, "sb-launcher").waitFor({ state: "hidden", timeout: 15_000 });

    // The next page view hides it from the start and keeps it hidden.
    await page.reload();
    assert.ok(await tid(page, "sb-launcher").isHidden(), "hidden at once on the next page");
    await page.waitForTimeout(1_500);
    assert.ok(await tid(page, "sb-launcher").isHidden(), "still hidden once the widget connected");

    const agent = await h.agent(h.relay.url, DEMO_ADMIN); // availability 1
    await tid(page, "sb-launcher").waitFor({ state: "visible", timeout: 10_000 });
    agent.close(); // availability 0 again
    await tid(page, "sb-launcher").waitFor({ state: "hidden", timeout: 10_000 });
    assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
  } finally {
    await patchSite(h.relay.url, token, SITE, { offline_behaviour: "form" });
  }
});

h.test("a queued visitor is offered to leave a message only after the site's waiting time", async () => {
  await patchSite(h.relay.url, token, SITE, { queue_offer_message_after_secs: 3 });
  const ida = { email: "ida@acme-brandschutz.example", name: "Ida Einzeln", password: "ida-geheim-123" };
  await addAgent(h.relay.dataDir, { ...ida, maxChats: 1 });
  const agent = await h.agent(h.relay.url, ida);
  await beginChat(h, agent, { name: "Erster Kunde", firstMessage: "Ich war zuerst da" });

  const page = await h.page();
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  await startChat(page, { name: "Zweite Kundin" });
  await send(page, "Ich warte gern");
  await tid(page, "sb-queue").waitFor({ state: "visible", timeout: 10_000 });
  const queuedAt = Date.now();
  assert.ok(await tid(page, "sb-queue-offer").isHidden(), "no offer at once");
  await tid(page, "sb-queue-offer").waitFor({ state: "visible", timeout: 10_000 });
  assert.ok(Date.now() - queuedAt >= 2_000, "the offer waited for the site's time");
  // The visitor clicks into the e-mail field as soon as the form is drawn, before the next
  // frame: the panel's own move of focus to the first field must not take it away (it did,
  // and the e-mail address ended up in the name field).
  const found = await page.evaluate(async () => {
    const deep = (root, sel) => {
      const hit = root.querySelector(sel);
      if (hit) return hit;
      for (const el of root.querySelectorAll("*")) {
        const inner = el.shadowRoot && deep(el.shadowRoot, sel);
        if (inner) return inner;
      }
      return null;
    };
    deep(document, '[data-testid="sb-leave-instead"]').click();
    let email = null;
    for (let i = 0; i < 100 && !email; i++) {
      await Promise.resolve();
      email = deep(document, '[data-testid="sb-offline-email"]');
    }
    if (!email) return false;
    email.focus();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return true;
  });
  assert.ok(found, "the e-mail field is drawn before the next frame");
  assert.equal((await focused(page))?.testid, "sb-offline-email", "focus stays where the visitor put it");
  await tid(page, "sb-offline-email").fill("zweite@example.de");
  await tid(page, "sb-offline-message").fill("Dann bitte Rückruf.");
  await tid(page, "sb-offline-submit").click();
  await tid(page, "sb-offline-done").waitFor({ state: "visible", timeout: 10_000 });
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
