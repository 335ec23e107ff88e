// Issue 17, items 4, 7 and 8: what a visitor can see and reach. After the agent ends the chat,
// the whole rating form (its "Bewertung senden" button too) is on screen and cut off by no
// scroll box, on a desktop (1366×768) and a phone (375×667). On a phone, every text field is
// at least 16 px (iOS Safari zooms into smaller ones) and the close button at least 44×44.
// The unread badge stands out on a white page: its edge contrasts ≥ 3:1 with white.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { tid, beginChat, openWidget, startChat } from "../lib/widget.mjs";
import { startPlainPages, clipping, contrast, pixels, size, fieldFontSizes } from "../lib/widget-checks.mjs";

const h = new Harness("40-widget-layout");
const RITA = { email: "rita@acme-brandschutz.example", name: "Rita Rahmen", password: "rita-geheim-123" };
const PHONE = { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
let agent, plain;
before(async () => {
  await h.setup();
  plain = await startPlainPages(h.relay.url);
  await addAgent(h.relay.dataDir, { ...RITA, maxChats: 10 });
  agent = await h.agent(h.relay.url, RITA);
}, { timeout: TEST_TIMEOUT });
after(async () => { await plain?.close(); await h.teardown(); }, { timeout: TEST_TIMEOUT });

/** A chat of a few lines on the plain page, ended by the agent: the rating form is shown. */
async function endedChat(ctxOpts) {
  const ctx = await h.context({ locale: "de-DE", ...ctxOpts });
  const { page, conv } = await beginChat(h, agent, { ctx, pageUrl: `${plain.url}/plain/`, name: "Rahmen Test",
    firstMessage: "Guten Tag, ich habe eine Frage zur Wartung." });
  await agent.send(conv, "Gerne, worum geht es genau?");
  await tid(page, "sb-msg").filter({ hasText: "worum geht es" }).waitFor();
  agent.raw({ type: "end_conversation", conversation_id: conv });
  await tid(page, "sb-rating").waitFor({ state: "visible", timeout: 10_000 });
  await page.waitForTimeout(300); // the layout after the composer left
  return page;
}

async function expectWholeRatingForm(page, where) {
  for (const id of ["sb-rate-1", "sb-rate-5", "sb-rate-comment", "sb-rate-submit", "sb-new-chat"]) {
    const { rect, cut } = await clipping(tid(page, id));
    assert.deepEqual(cut, [], `${where}: ${id} (at ${JSON.stringify(rect)}) is cut off by ${JSON.stringify(cut)}`);
  }
}

for (const [where, opts] of [["desktop 1366×768", { viewport: { width: 1366, height: 768 } }], ["phone 375×667", PHONE]]) {
  h.test(`after the chat ends the whole rating form, its send button too, is visible on a ${where}`, async () => {
    const page = await endedChat(opts);
    await expectWholeRatingForm(page, where);
    // Still whole once a star is chosen and a comment typed (the button enabled).
    await tid(page, "sb-rate-5").click();
    await tid(page, "sb-rate-comment").fill("Alles bestens");
    await expectWholeRatingForm(page, `${where}, filled in`);
    assert.match(await tid(page, "sb-rate-submit").textContent(), /Bewertung senden/);
    assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
  });
}

h.test("on a phone every text field is at least 16 px and the close button at least 44×44", async () => {
  const page = await h.page(await h.context({ locale: "de-DE", ...PHONE }));
  await page.goto(`${plain.url}/plain/`);
  await openWidget(page);
  await tid(page, "sb-prechat").waitFor({ state: "visible", timeout: 15_000 });
  const shown = [], closes = [];
  const check = async (state) => {
    const sizes = await fieldFontSizes(page);
    assert.ok(sizes.length > 0, `${state}: text fields shown`);
    shown.push(...sizes.map((s) => ({ ...s, state })));
    closes.push({ state, ...(await size(tid(page, "sb-close"))) });
  };
  await check("pre-chat");
  await startChat(page, { name: "Telefon Test" });
  await check("chat");
  const small = shown.filter((s) => s.fontSize < 16);
  assert.deepEqual(small, [], `text fields under 16 px on a phone (all: ${JSON.stringify(shown)})`);
  const tiny = closes.filter((c) => c.width < 44 || c.height < 44);
  assert.deepEqual(tiny, [], "the close button under 44×44 on a phone");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("the unread badge is visible on a white page: its edge contrasts at least 3:1 with white", async () => {
  const ctx = await h.context({ locale: "de-DE" });
  const { page, conv } = await beginChat(h, agent, { ctx, pageUrl: `${plain.url}/plain/`, name: "Badge Weiß",
    firstMessage: "Frage vor dem Schließen" });
  await tid(page, "sb-close").click();
  await tid(page, "sb-panel").waitFor({ state: "hidden" });
  await agent.send(conv, "Antwort bei geschlossenem Panel");
  const badge = tid(page, "sb-badge");
  await badge.waitFor({ state: "visible", timeout: 10_000 });
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(255, 255, 255)");

  // The badge's top edge lies outside the round launcher, on the page: what is drawn there,
  // down its middle, must stand out from white. A white badge without a border does not.
  const b = await badge.boundingBox();
  const launcher = await tid(page, "sb-launcher").boundingBox();
  const cx = b.x + b.width / 2, lcx = launcher.x + launcher.width / 2, lcy = launcher.y + launcher.height / 2;
  assert.ok(Math.hypot(cx - lcx, b.y - lcy) > launcher.width / 2, "the badge's top edge sits beyond the launcher");
  const clip = { x: Math.round(cx) - 1, y: Math.floor(b.y), width: 3, height: 4 };
  const px = await pixels(page, clip);
  const best = Math.max(...px.flat().map((p) => contrast(p, [255, 255, 255])));
  assert.ok(best >= 3, `the badge's edge contrasts ${best.toFixed(2)}:1 with the white page ` +
    `(pixels ${JSON.stringify(px.map((r) => r[Math.floor(r.length / 2)]))})`);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
