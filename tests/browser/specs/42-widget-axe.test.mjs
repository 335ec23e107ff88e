// Issue 17, item 6: axe-core finds nothing serious or critical in the widget in any state a
// visitor meets, in the light and the dark colour scheme: the offline form (also with its
// field errors) and its thank-you, "your requests" with a team reply and its rating, the
// pre-chat form, a chat (own messages with time and read marks, the agent's reply), the queue
// (own message marked sent), the ended chat with its rating form, and the thanks for it.
// On a plain white page, so every finding is the widget's.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { DEMO_ADMIN, login } from "../lib/agent.mjs";
import { tid, openWidget, startChat, send, beginChat, allMessages } from "../lib/widget.mjs";
import { patchTicket, replyToTicket, ticketWithDescription } from "../lib/tickets.mjs";
import { startPlainPages, seriousAxeBothSchemes } from "../lib/widget-checks.mjs";

const h = new Harness("42-widget-axe");
const ANNA = { email: "anna@acme-brandschutz.example", name: "Anna Axe", password: "anna-geheim-123" };
let plain, token;
before(async () => {
  await h.setup();
  plain = await startPlainPages(h.relay.url);
  await addAgent(h.relay.dataDir, { ...ANNA, maxChats: 1 });
  ({ token } = await login(h.relay.url, DEMO_ADMIN));
}, { timeout: TEST_TIMEOUT });
after(async () => { await plain?.close(); await h.teardown(); }, { timeout: TEST_TIMEOUT });

/** Runs axe in both colour schemes; collects findings per state (asserted at the end). */
function recorder() {
  const found = [];
  return {
    found,
    async check(page, state) {
      const { light, dark } = await seriousAxeBothSchemes(page);
      for (const [scheme, list] of [["light", light], ["dark", dark]]) {
        for (const v of list) found.push(`${state} (${scheme}): ${v.id} (${v.impact}) ${v.nodes.join(" | ")}`);
      }
    },
  };
}

const germanPage = async (opts = {}) => {
  const page = await h.page(await h.context({ locale: "de-DE", ...opts }));
  await page.goto(`${plain.url}/plain/`);
  return page;
};

h.test("with nobody online: the offline form, its thanks, a team reply and its rating pass axe", async () => {
  const axe = recorder();
  const page = await germanPage();
  await openWidget(page);
  await tid(page, "sb-offline").waitFor({ state: "visible", timeout: 15_000 });
  await axe.check(page, "offline form");
  await tid(page, "sb-offline-submit").click(); // empty: the field errors show
  await tid(page, "sb-panel").locator(".sb-field-error:not(:empty)").first().waitFor();
  await axe.check(page, "offline form with errors");

  const body = "Bitte um ein Angebot für die Wartung von 8 Feuerlöschern.";
  await tid(page, "sb-offline-name").fill("Olga Offline");
  await tid(page, "sb-offline-email").fill("olga@example.de");
  await tid(page, "sb-offline-message").fill(body);
  await tid(page, "sb-offline-submit").click();
  await tid(page, "sb-offline-done").waitFor({ state: "visible", timeout: 10_000 });
  await axe.check(page, "offline message sent");

  const ticket = await ticketWithDescription(h.relay.url, token, body);
  await replyToTicket(h.relay.url, token, ticket.id, "Das Angebot kommt heute per E-Mail.");
  const card = page.locator(`[data-testid="sb-ticket"][data-ticket="${ticket.id}"]`);
  await card.locator('[data-testid="sb-msg"][data-author="agent"]').waitFor({ timeout: 10_000 });
  await axe.check(page, "your requests with a reply");
  await patchTicket(h.relay.url, token, ticket.id, { status: "resolved" });
  await card.locator('[data-testid="sb-ticket-rating"]').waitFor({ state: "visible", timeout: 10_000 });
  await axe.check(page, "ticket rating");

  assert.deepEqual(axe.found, [], "serious or critical axe findings");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("pre-chat, chatting with read marks, queued, ended with rating, rated: all pass axe", async () => {
  const axe = recorder();
  const agent = await h.agent(h.relay.url, ANNA); // one slot

  const pre = await germanPage();
  await openWidget(pre);
  await tid(pre, "sb-prechat").waitFor({ state: "visible", timeout: 15_000 });
  await axe.check(pre, "pre-chat form");

  const { page, conv } = await beginChat(h, agent, { ctx: await h.context({ locale: "de-DE" }),
    pageUrl: `${plain.url}/plain/`, name: "Axel Prüfer", firstMessage: "Eine Frage zu https://example.com/wartung" });
  await agent.send(conv, "Gern, ich schaue nach.");
  await tid(page, "sb-msg").filter({ hasText: "ich schaue nach" }).waitFor();
  agent.raw({ type: "read", conversation_id: conv, seq: agent.lastSeq(conv) });
  await until(async () => (await allMessages(page)).some((m) => m.author === "visitor" && m.state === "read"),
    { message: `the own message marked read (shown: ${JSON.stringify(await allMessages(page))})` });
  await axe.check(page, "chatting, own message read");

  await startChat(pre, { name: "Quentin Schlange" });
  await send(pre, "Ich warte gern.");
  await tid(pre, "sb-queue").waitFor({ state: "visible", timeout: 10_000 });
  await until(async () => (await allMessages(pre)).some((m) => m.author === "visitor" && m.state === "sent"),
    { message: `the queued message marked sent (shown: ${JSON.stringify(await allMessages(pre))})` });
  await axe.check(pre, "queued");

  agent.raw({ type: "end_conversation", conversation_id: conv });
  await tid(page, "sb-rating").waitFor({ state: "visible", timeout: 10_000 });
  await axe.check(page, "ended, rating form");
  await tid(page, "sb-rate-5").click();
  await tid(page, "sb-rate-submit").click();
  await tid(page, "sb-rated").waitFor({ state: "visible", timeout: 10_000 });
  await axe.check(page, "rated");

  assert.deepEqual(axe.found, [], "serious or critical axe findings");
  assert.deepEqual([...pre.rec.errors, ...page.rec.errors], [], "no uncaught errors on the pages");
});
