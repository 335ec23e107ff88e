// Spec 3: the conversation survives a reload, and a second tab of the same browser (same
// localStorage) shows the same conversation, with messages crossing between the tabs.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, until, TEST_TIMEOUT } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { getConversation, login } from "../lib/agent.mjs";
import { tid, openWidget, send, beginChat, expectOneMessage, messages } from "../lib/widget.mjs";

const h = new Harness("03-persistence");
const BEN = { email: "ben@acme-brandschutz.example", name: "Ben Service", password: "ben-geheim-123" };
let agent;
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...BEN, maxChats: 10 });
  agent = await h.agent(h.relay.url, BEN);
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("after a reload the conversation and its history are still there", async () => {
  const first = "Frage vor dem Neuladen";
  const { page, conv } = await beginChat(h, agent, { name: "Reload Test", firstMessage: first });
  const reply = "Antwort vor dem Neuladen";
  await agent.send(conv, reply);
  await expectOneMessage(page, reply, "agent");

  const before = page.rec.requests.length;
  await page.reload();
  await tid(page, "sb-launcher").waitFor({ state: "visible" });
  // An ongoing conversation (last day): the loader fetches the widget without any intent.
  await until(() => page.rec.requests.slice(before).some((u) => /\.wasm(\?|$)/.test(u)),
    { timeout: 10_000, message: "the widget module loading by itself after the reload" });
  await openWidget(page);
  await expectOneMessage(page, first, "visitor", 15_000);
  await expectOneMessage(page, reply, "agent");
  await tid(page, "sb-input").waitFor({ state: "visible" });
  assert.equal(await tid(page, "sb-prechat").count(), 0, "no pre-chat form for an ongoing conversation");

  // The same conversation, not a new one: a message after the reload lands in it.
  const after = "Nachricht nach dem Neuladen";
  await send(page, after);
  await agent.waitForVisitorMessage(conv, after);
  assert.equal(agent.frames.filter((f) => f.type === "conversation_assigned").length, 1,
    "no second conversation was started");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("a second tab shows the same conversation, and a message sent in one tab appears in the other", async () => {
  const ctx = await h.context();
  const first = "Erste Frage aus Tab eins";
  const assignedBefore = agent.frames.filter((f) => f.type === "conversation_assigned").length;
  const { page: tab1, conv } = await beginChat(h, agent, { ctx, name: "Zwei Tabs", firstMessage: first });

  const tab2 = await h.page(ctx);
  await tab2.goto(`${h.relay.url}/acme/kontakt.html`);
  await openWidget(tab2);
  await expectOneMessage(tab2, first, "visitor", 15_000);

  const fromTab1 = "Gesendet in Tab eins";
  await send(tab1, fromTab1);
  await expectOneMessage(tab2, fromTab1, "visitor");
  const fromTab2 = "Gesendet in Tab zwei";
  await send(tab2, fromTab2);
  await expectOneMessage(tab1, fromTab2, "visitor");
  await expectOneMessage(tab2, fromTab2, "visitor");

  const reply = "Antwort an beide Tabs";
  await agent.send(conv, reply);
  await expectOneMessage(tab1, reply, "agent");
  await expectOneMessage(tab2, reply, "agent");

  await agent.waitForVisitorMessage(conv, fromTab1);
  await agent.waitForVisitorMessage(conv, fromTab2);
  assert.equal(agent.frames.filter((f) => f.type === "conversation_assigned").length, assignedBefore + 1,
    "both tabs use one conversation");
  const { token } = await login(h.relay.url, BEN);
  const stored = await getConversation(h.relay.url, token, conv);
  const bodies = stored.events.filter((e) => e.event.kind === "message").map((e) => e.event.body);
  for (const b of [first, fromTab1, fromTab2, reply]) {
    assert.equal(bodies.filter((x) => x === b).length, 1, `"${b}" stored exactly once`);
  }
  assert.equal(await messages(tab1, { author: "visitor" }).count(), 3, "tab one shows the three visitor messages");
  assert.deepEqual([...tab1.rec.errors, ...tab2.rec.errors], [], "no uncaught errors in either tab");
});

h.test("a reply that arrives while the panel is closed shows the unread badge, and opening clears it", async () => {
  const first = "Frage, dann Panel zu";
  const { page, conv } = await beginChat(h, agent, { name: "Badge Test", firstMessage: first });
  await tid(page, "sb-close").click();
  await tid(page, "sb-panel").waitFor({ state: "hidden" });
  assert.equal(await tid(page, "sb-badge").isVisible(), false, "no badge before a reply");

  await agent.send(conv, "Antwort bei geschlossenem Panel");
  await tid(page, "sb-badge").waitFor({ state: "visible", timeout: 10_000 });
  assert.equal((await tid(page, "sb-badge").textContent()).trim(), "1", "the badge counts one unread reply");

  await openWidget(page);
  await expectOneMessage(page, "Antwort bei geschlossenem Panel", "agent");
  await tid(page, "sb-badge").waitFor({ state: "hidden", timeout: 5_000 });
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
