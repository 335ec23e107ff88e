// Issue 17, item 9: a visitor waiting in the queue. The header's status ("Position 1 in der
// Warteschlange – etwa … Min.") takes at most two lines in German at the panel's default
// width, and the visitor's own message shows a visible delivery mark as soon as the relay has
// acknowledged it (its `sent` frame), with no agent there to deliver it to.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { ScriptedVisitor } from "../lib/visitor.mjs";
import { tid, openWidget, startChat, send, allMessages } from "../lib/widget.mjs";
import { textLines } from "../lib/widget-checks.mjs";

const h = new Harness("43-widget-queued");
const QUINN = { email: "quinn@acme-brandschutz.example", name: "Quinn Schlange", password: "quinn-geheim-123" };
let agent, first;
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...QUINN, maxChats: 1 });
  agent = await h.agent(h.relay.url, QUINN);
  // One chat handled and ended first: the relay then has a handle time to estimate waits
  // from, and the status takes its longest form ("… – etwa 1 Min.").
  const earlier = await ScriptedVisitor.start(h.relay.url, { name: "Frühere Kundin" });
  const assigned = await agent.waitFor((f) => f.type === "conversation_assigned", { what: "the earlier chat" });
  agent.raw({ type: "end_conversation", conversation_id: assigned.conversation.id });
  await earlier.waitFor((f) => f.type === "event" && f.event?.kind === "ended", "the earlier chat ended");
  earlier.close();
  const since = agent.frames.length;
  first = await ScriptedVisitor.start(h.relay.url, { name: "Erste Kundin" }); // takes the only slot
  first.send("Ich bin zuerst dran");
  await agent.waitFor((f) => f.type === "conversation_assigned", { since, what: "the first chat assigned" });
}, { timeout: TEST_TIMEOUT });
after(() => { first?.close(); return h.teardown(); }, { timeout: TEST_TIMEOUT });

/** The own message with this text: its state and its visible mark (text, size, label). */
function ownMark(page, text) {
  return page.locator('[data-testid="sb-msg"][data-author="visitor"]', { hasText: text }).evaluate((m) => {
    const marks = [...m.querySelectorAll("[aria-label], [title]")].filter((e) => e !== m).map((e) => {
      const r = e.getBoundingClientRect();
      return { label: e.getAttribute("aria-label") || e.getAttribute("title"), text: e.textContent.trim(),
        width: r.width, height: r.height };
    });
    return { state: m.getAttribute("data-state"), marks };
  });
}

h.test("queued: the German status takes at most two header lines, and the own message shows its mark once sent", async () => {
  const page = await h.page(await h.context({ locale: "de-DE" }));
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  await startChat(page, { name: "Wartender Kunde" });
  const text = "Ich warte in der Schlange";
  await send(page, text);
  const queue = tid(page, "sb-queue");
  await queue.waitFor({ state: "visible", timeout: 10_000 });
  assert.match(await queue.textContent(), /Warteschlange/, "the status is German");
  await until(async () => /etwa \d+ Min\./.test(await queue.textContent()), { timeout: 5_000,
    message: `the wait estimate in the status (shown: ${await queue.textContent()})` });

  const status = tid(page, "sb-status");
  const lines = await textLines(status);
  assert.ok(lines <= 2, `the queue status "${(await status.textContent()).trim()}" takes ${lines} lines`);
  const panel = await tid(page, "sb-panel").boundingBox();
  assert.equal(Math.round(panel.width), 360, "the panel's default width");

  // No agent: the relay's `sent` is the last word on this message for now.
  await until(async () => (await ownMark(page, text)).state === "sent",
    { message: `the own message marked sent (shown: ${JSON.stringify(await allMessages(page))})` });
  const { marks } = await ownMark(page, text);
  const seen = marks.filter((m) => /Gesendet/.test(m.label) && m.text !== "" && m.width > 0 && m.height > 0);
  assert.equal(seen.length, 1, `a visible mark labelled "Gesendet" on the own message (marks: ${JSON.stringify(marks)})`);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
