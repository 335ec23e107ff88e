// Spec 6: with no agent online the widget offers the offline form instead of a chat;
// submitting it confirms, and the relay has stored the message for the ticket workflow.
// Also: a visitor waiting in the queue when the last agent leaves can still leave a message
// (docs/PROTOCOL.md, leave_message: the queued conversation becomes the offline message).
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT } from "../lib/harness.mjs";
import { DEMO_ADMIN, getConversation, login } from "../lib/agent.mjs";
import { addAgent } from "../lib/relay.mjs";
import { tid, openWidget, startChat, send, beginChat } from "../lib/widget.mjs";

const h = new Harness("06-offline-message");
before(() => h.setup(), { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("with no agent online the visitor leaves a message, and the relay stores it", async () => {
  const page = await h.page();
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  await tid(page, "sb-offline").waitFor({ state: "visible", timeout: 15_000 });
  assert.equal(await tid(page, "sb-prechat").count(), 0, "no pre-chat form when nobody is online");
  assert.equal(await tid(page, "sb-input").count(), 0, "no live-chat composer when nobody is online");

  const body = "Bitte rufen Sie mich morgen wegen der Wartung an.";
  await tid(page, "sb-offline-name").fill("Olga Offline");
  await tid(page, "sb-offline-email").fill("olga@example.de");
  await tid(page, "sb-offline-message").fill(body);
  await tid(page, "sb-offline-submit").click();
  await tid(page, "sb-offline-done").waitFor({ state: "visible", timeout: 10_000 });

  // A fresh data directory: the first conversation has id 1. Admins may read any.
  const { token } = await login(h.relay.url, DEMO_ADMIN);
  const stored = await getConversation(h.relay.url, token, 1);
  assert.ok(stored, "conversation 1 exists");
  assert.equal(stored.conversation.status, "awaiting_ticket");
  assert.equal(stored.conversation.agent, null, "not routed to an agent");
  assert.equal(stored.conversation.visitor.name, "Olga Offline");
  assert.equal(stored.conversation.visitor.email, "olga@example.de");
  const msgs = stored.events.filter((e) => e.event.kind === "message");
  assert.equal(msgs.length, 1, "one stored message");
  assert.equal(msgs[0].event.body, body);
  assert.equal(msgs[0].event.author.role, "visitor");
  assert.ok(stored.events.some((e) => e.event.kind === "left_message"), "a left_message event");
  assert.equal(await getConversation(h.relay.url, token, 2), null, "and only one conversation");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("a visitor waiting in the queue when the last agent goes offline is offered the offline form", async () => {
  // A relay of its own: one agent with one slot, busy with a first visitor.
  h.relay = await h.startRelay();
  const FINN = { email: "finn@acme-brandschutz.example", name: "Finn Einzeln", password: "finn-geheim-123" };
  await addAgent(h.relay.dataDir, { ...FINN, maxChats: 1 });
  const agent = await h.agent(h.relay.url, FINN);
  await beginChat(h, agent, { name: "Erste Kundin", firstMessage: "Ich bin zuerst dran" });

  const page = await h.page();
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  await startChat(page, { name: "Zweiter Kunde" });
  const waiting = "Ich warte in der Schlange";
  await send(page, waiting);
  await tid(page, "sb-queue").waitFor({ state: "visible", timeout: 10_000 });

  agent.close(); // the only agent leaves: the relay sends availability 0
  await tid(page, "sb-offline").waitFor({ state: "visible", timeout: 10_000 });
  const body = "Dann rufen Sie mich bitte zurück.";
  await tid(page, "sb-offline-email").fill("zweiter@example.de");
  await tid(page, "sb-offline-message").fill(body);
  await tid(page, "sb-offline-submit").click();
  await tid(page, "sb-offline-done").waitFor({ state: "visible", timeout: 10_000 });

  const { token } = await login(h.relay.url, DEMO_ADMIN);
  const stored = await getConversation(h.relay.url, token, 2);
  assert.equal(stored.conversation.status, "awaiting_ticket", "the queued conversation became the offline message");
  const bodies = stored.events.filter((e) => e.event.kind === "message").map((e) => e.event.body);
  assert.deepEqual(bodies, [waiting, body]);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
