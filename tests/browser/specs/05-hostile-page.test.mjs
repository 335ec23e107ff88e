// Spec 5: on a deliberately hostile host page (global resets, hidden buttons and inputs, huge
// fonts, a full-screen overlay) the widget opens, renders and sends; and the page's own layout
// is exactly the same with and without the widget.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Harness, TEST_TIMEOUT } from "../lib/harness.mjs";
import { ARTIFACTS } from "../lib/env.mjs";
import { addAgent } from "../lib/relay.mjs";
import { tid, openWidget, startChat, send, expectOneMessage, expectDurable } from "../lib/widget.mjs";

const h = new Harness("05-hostile-page");
const DORA = { email: "dora@acme-brandschutz.example", name: "Dora Hilfe", password: "dora-geheim-123" };
let agent;
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...DORA, maxChats: 5 });
  agent = await h.agent(h.relay.url, DORA);
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

/** Where the host page's own elements are, and how big the document is. */
function layout(page) {
  return page.evaluate(() => {
    const rect = (id) => {
      const r = document.getElementById(id).getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    };
    const de = document.documentElement;
    return { title: rect("title"), box: rect("box"), text: rect("text"),
      scrollWidth: de.scrollWidth, scrollHeight: de.scrollHeight,
      bodyScrollWidth: document.body.scrollWidth, bodyScrollHeight: document.body.scrollHeight };
  });
}

const box = (loc) => loc.boundingBox();

h.test("on a hostile page the widget opens, renders and sends, and the page layout is unchanged", async () => {
  const url = `${h.relay.url}/acme/hostile.html`;

  // The page as it is without the widget: its loader blocked.
  const bare = await h.page();
  await bare.route("**/widget.js", (r) => r.abort());
  await bare.goto(url);
  await bare.waitForLoadState("load");
  assert.equal(await bare.locator("switchboard-chat").count(), 0, "the widget is really absent");
  const without = await layout(bare);
  await bare.context().close();

  const page = await h.page();
  await page.goto(url);
  const launcher = tid(page, "sb-launcher");
  await launcher.waitFor({ state: "visible" });
  assert.deepEqual(await layout(page), without, "layout with the (closed) widget equals layout without it");
  const lb = await box(launcher);
  assert.ok(Math.abs(lb.width - 56) < 1 && Math.abs(lb.height - 56) < 1,
    `launcher keeps its 56×56 size despite the page's svg/button rules (got ${lb.width}×${lb.height})`);

  // The page's overlay (z-index 2147483646, pointer-events: none) must not swallow the click:
  // Playwright's click checks the launcher itself receives it.
  await openWidget(page);
  await startChat(page, { name: "Hostile Tester" });
  const panel = await box(tid(page, "sb-panel"));
  const vp = page.viewportSize();
  assert.ok(panel.width >= 250 && panel.height >= 300, `panel has a usable size (${panel.width}×${panel.height})`);
  assert.ok(panel.x >= 0 && panel.y >= 0 && panel.x + panel.width <= vp.width + 0.5 &&
    panel.y + panel.height <= vp.height + 0.5, `panel lies inside the viewport (${JSON.stringify(panel)})`);
  for (const id of ["sb-input", "sb-send", "sb-close"]) {
    assert.ok(await tid(page, id).isVisible(), `${id} is visible despite the page hiding buttons and inputs`);
  }
  const fontPx = await tid(page, "sb-input").evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(fontPx >= 10 && fontPx <= 24, `the page's 40px font does not leak into the widget (input font ${fontPx}px)`);

  const body = "Hallo von der feindlichen Seite";
  await send(page, body);
  const conv = await agent.assigned();
  await agent.waitForVisitorMessage(conv, body);
  await expectDurable(page, body);
  const reply = "Die Nachricht ist angekommen.";
  await agent.send(conv, reply);
  await expectOneMessage(page, reply, "agent");
  const color = await page.locator('[data-testid="sb-msg"][data-author="agent"]').first()
    .evaluate((e) => getComputedStyle(e).color);
  assert.notEqual(color, "rgba(0, 0, 0, 0)", "message text is not made transparent by the page");

  assert.deepEqual(await layout(page), without, "layout with the open widget equals layout without it");
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, "hostile.png") });
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
