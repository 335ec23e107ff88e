// Beyond the eight specifications, the rest of the widget's contract: when the agent ends the
// chat the visitor can rate it once (stored as a `rated` event), and "new chat" starts a new
// conversation.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { DEMO_ADMIN, getConversation, login } from "../lib/agent.mjs";
import { tid, send, beginChat, startChat, allMessages } from "../lib/widget.mjs";

const h = new Harness("09-end-and-rate");
const GRETA = { email: "greta@acme-brandschutz.example", name: "Greta Ende", password: "greta-geheim-123" };
let agent;
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...GRETA, maxChats: 5 });
  agent = await h.agent(h.relay.url, GRETA);
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("after the agent ends the chat the visitor rates it once, and a new chat is a new conversation", async () => {
  const { page, conv } = await beginChat(h, agent, { name: "Bewertung", firstMessage: "Kurze Frage" });
  agent.raw({ type: "end_conversation", conversation_id: conv });
  await tid(page, "sb-rating").waitFor({ state: "visible", timeout: 10_000 });
  assert.equal(await tid(page, "sb-input").count(), 0, "no composer in an ended chat");

  await tid(page, "sb-rate-4").click();
  await tid(page, "sb-rate-comment").fill("Schnell geholfen");
  await tid(page, "sb-rate-submit").click();
  await tid(page, "sb-rated").waitFor({ state: "visible", timeout: 10_000 });

  const { token } = await login(h.relay.url, DEMO_ADMIN); // an ended chat is no longer the agent's
  const stored = await getConversation(h.relay.url, token, conv);
  assert.equal(stored.conversation.status, "ended");
  const rated = stored.events.filter((e) => e.event.kind === "rated");
  assert.equal(rated.length, 1, "one rating stored");
  assert.equal(rated[0].event.score, 4);
  assert.equal(rated[0].event.comment, "Schnell geholfen");

  await tid(page, "sb-new-chat").click();
  const since = agent.frames.length;
  await startChat(page, { name: "Bewertung" });
  await send(page, "Noch eine Frage");
  const next = await agent.waitFor((f) => f.type === "conversation_assigned" && f.conversation.id !== conv,
    { since, what: "a second conversation", timeout: 15_000 });
  await agent.waitForVisitorMessage(next.conversation.id, "Noch eine Frage", { since });
  const shown = (await allMessages(page)).filter((m) => m.author !== "system").map((m) => m.text);
  assert.equal(shown.length, 1, `the new chat starts empty (shown: ${JSON.stringify(shown)})`);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
