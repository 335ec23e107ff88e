// Issue 17, item 13 (links and system lines): a web link in a visitor's message is a link in
// the console: it opens in a new tab without access to the console (target=_blank,
// rel=noopener); only http and https become links, markup stays text. A system line shows
// its time and text side by side on one line.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { openConsole, paneOf, expectPaneMessage } from "../lib/console.mjs";
import { detailedVisitor } from "../lib/console-layout.mjs";

const h = new Harness("27-console-links");
const LINA = { email: "lina@acme-brandschutz.example", name: "Lina Link", password: "lina-geheim-123" };
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...LINA, maxChats: 2 });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

const TEXT = "Siehe https://acme.example/wartung?id=4. Oder javascript:alert(1) und <a href=\"javascript:alert(2)\">hier</a>, ftp://x.example";

h.test("a link in a visitor message opens in a new tab with rel=noopener; other schemes and markup stay text", async () => {
  const ctx = await h.context({ viewport: { width: 1366, height: 768 }, locale: "de-DE" });
  // The link's target, answered locally (no network in tests).
  await ctx.route("https://acme.example/**", (r) => r.fulfill({ contentType: "text/html",
    body: "<!doctype html><title>Wartung</title><p id=opener></p><script>document.getElementById('opener').textContent = String(window.opener)</script>" }));
  const page = await openConsole(h, LINA, { ctx });
  const v = await detailedVisitor(h, { name: "Jonas Kunde" });
  v.send(TEXT);
  const pane = paneOf(page, "Jonas Kunde");
  await expectPaneMessage(pane, TEXT, "visitor");

  const msg = pane.locator('[data-testid="cs-msg"][data-author="visitor"]', { hasText: "Siehe" });
  const links = await msg.locator("a").evaluateAll((as) => as.map((a) => ({
    href: a.getAttribute("href"), text: a.textContent, target: a.getAttribute("target"), rel: a.getAttribute("rel") })));
  assert.equal(links.length, 1, `exactly one link in the message (found ${JSON.stringify(links)})`);
  assert.equal(links[0].href, "https://acme.example/wartung?id=4", "the link ends before the sentence's full stop");
  assert.equal(links[0].text, "https://acme.example/wartung?id=4");
  assert.equal(links[0].target, "_blank");
  assert.match(links[0].rel ?? "", /\bnoopener\b/);
  assert.equal(await page.locator('a[href^="javascript:"], a[href^="ftp:"]').count(), 0, "no javascript: or ftp: link anywhere");

  const [popup] = await Promise.all([ctx.waitForEvent("page", { timeout: 10_000 }), msg.locator("a").click()]);
  await popup.waitForLoadState("domcontentloaded");
  assert.equal(popup.url(), "https://acme.example/wartung?id=4", "the link opens its page in a new tab");
  await until(async () => (await popup.locator("#opener").textContent()) === "null",
    { message: "the opened page has no window.opener" });
  assert.ok(page.url().endsWith("/console"), "the console stays where it was");
  await popup.close();
  assert.deepEqual(page.rec.errors, [], "no uncaught errors in the console");
});

h.test("a system line shows its time and its text side by side on one line", async () => {
  const page = h.pages.find((p) => p.url().endsWith("/console"));
  const pane = paneOf(page, "Jonas Kunde");
  const system = pane.locator('[data-testid="cs-msg"][data-author="system"]');
  await until(async () => (await system.count()) >= 1, { message: "a system line (chat started, agent joined)" });
  const rows = await system.evaluateAll((els) => els.map((e) => {
    const meta = e.querySelector(".cs-meta").getBoundingClientRect();
    const body = e.querySelector(".cs-body").getBoundingClientRect();
    return { text: e.textContent, metaTop: meta.top, metaBottom: meta.bottom, bodyTop: body.top, bodyBottom: body.bottom,
      metaRight: meta.right, bodyLeft: body.left, height: e.getBoundingClientRect().height };
  }));
  for (const r of rows) {
    const midMeta = (r.metaTop + r.metaBottom) / 2, midBody = (r.bodyTop + r.bodyBottom) / 2;
    assert.ok(Math.abs(midMeta - midBody) <= 3, `time and text share a line (${JSON.stringify(r)})`);
    assert.ok(r.metaRight <= r.bodyLeft + 1, `the time stands before the text (${JSON.stringify(r)})`);
  }
});
