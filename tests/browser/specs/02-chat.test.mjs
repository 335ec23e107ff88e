// Spec 2: a visitor opens the widget, fills the pre-chat form, chats with an agent: the
// agent receives the message, typing shows both ways, and the reply appears with the
// agent's name.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { tid, openWidget, startChat, send, expectOneMessage, expectDurable } from "../lib/widget.mjs";

const h = new Harness("02-chat");
const ANNA = { email: "anna@acme-brandschutz.example", name: "Anna Beispiel", password: "anna-geheim-123" };
let agent;
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...ANNA, maxChats: 5 });
  agent = await h.agent(h.relay.url, ANNA);
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("a visitor fills the pre-chat form, chats with the agent, and sees typing and the reply with the agent's name", async () => {
  const page = await h.page();
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  const prechat = await startChat(page, { name: "Jonas Kunde" });
  assert.ok(prechat, "the pre-chat form is shown while an agent is online");

  const first = "Wann ist die nächste Wartung fällig?";
  await send(page, first);
  const conv = await agent.assigned();
  await agent.waitForVisitorMessage(conv, first);
  const assigned = agent.frames.find((f) => f.type === "conversation_assigned");
  assert.equal(assigned.conversation.visitor?.name, "Jonas Kunde", "the pre-chat name reaches the agent");
  await expectOneMessage(page, first, "visitor");
  await expectDurable(page, first);

  // Visitor typing reaches the agent. The relay forwards `active: true` at most every 2 s
  // per side, and sending the first message already said so: wait that out first.
  await page.waitForTimeout(2_200);
  const since = agent.frames.length;
  const second = "Und was kostet die Prüfung?";
  await tid(page, "sb-input").pressSequentially(second, { delay: 40 });
  const typing = await agent.waitFor((f) => f.type === "typing" && f.conversation_id === conv &&
    f.by === "visitor" && f.active === true, { since, what: "typing by=visitor active=true" });
  assert.ok(typing);
  await tid(page, "sb-input").press("Enter");
  await agent.waitForVisitorMessage(conv, second, { since });
  await agent.waitFor((f) => f.type === "typing" && f.conversation_id === conv && f.by === "visitor" &&
    f.active === false, { since, what: "typing by=visitor active=false after sending" });

  // Agent typing shows in the widget.
  agent.typing(conv, true);
  await tid(page, "sb-typing").waitFor({ state: "visible", timeout: 5_000 });

  const reply = "Guten Tag, Ihre nächste Wartung ist im März fällig.";
  await agent.send(conv, reply);
  await expectOneMessage(page, reply, "agent");
  await tid(page, "sb-typing").waitFor({ state: "hidden", timeout: 5_000 });
  const agentName = (await tid(page, "sb-agent-name").textContent()).trim();
  assert.match(agentName, /Anna Beispiel/, "the header names the agent");

  assert.equal(agent.countVisitorFrames(conv, first), 1, "the first message reached the agent once");
  assert.equal(agent.countVisitorFrames(conv, second), 1, "the second message reached the agent once");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
