// Spec 4: the relay stops mid-chat; the visitor types two messages while it is down (the
// widget says it is reconnecting); the relay comes back on the same port and data directory;
// the widget reconnects and the agent receives each of the two messages exactly once.
import { after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { ScriptedAgent, getConversation, login } from "../lib/agent.mjs";
import { tid, send, beginChat, expectOneMessage, expectDurable, allMessages } from "../lib/widget.mjs";

const h = new Harness("04-relay-restart");
const CARA = { email: "cara@acme-brandschutz.example", name: "Cara Technik", password: "cara-geheim-123" };
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

let browserReady;
async function ready() {
  // One browser for the file; a relay (and data directory) per test, as each test kills it.
  browserReady ??= h.setup({ relay: false });
  await browserReady;
}

for (const signal of ["SIGKILL", "SIGTERM"]) {
  h.test(`messages typed while the relay is down (${signal}) reach the agent exactly once after it restarts`, async () => {
    await ready();
    const relay = h.relay = await h.startRelay();
    await addAgent(relay.dataDir, { ...CARA, maxChats: 5 });
    const agent = await h.agent(relay.url, CARA);
    const first = `Vor dem Neustart (${signal})`;
    const { page, conv } = await beginChat(h, agent, { name: "Neustart Test", firstMessage: first });
    await expectDurable(page, first);

    const stopped = await relay.stop(signal);
    h.notes.push(`relay stopped with ${signal}: ${JSON.stringify(stopped)}`);
    await tid(page, "sb-conn").waitFor({ state: "visible", timeout: 10_000 });
    assert.match(await tid(page, "sb-conn").textContent(), /Reconnecting|Verbindung wird wiederhergestellt/,
      "the widget says it is reconnecting");

    const down = [`Offline eins (${signal})`, `Offline zwei (${signal})`];
    for (const body of down) await send(page, body);
    for (const body of down) await expectOneMessage(page, body, "visitor");
    const shown = await allMessages(page);
    for (const body of down) {
      const m = shown.find((x) => x.author === "visitor" && x.text.includes(body));
      assert.equal(m.state, "pending", `"${body}" is shown as pending while the relay is down`);
    }
    await page.waitForTimeout(1_000); // a few failed reconnect attempts

    const relay2 = h.relay = await h.startRelay({ dataDir: relay.dataDir, port: relay.port });
    assert.equal(relay2.port, relay.port);
    // Agent sessions live in the database: the same token works after the restart.
    const agent2 = h.track(await ScriptedAgent.connect(relay2.url, agent.token,
      [{ conversation_id: conv, last_seq: agent.lastSeq(conv) }]));

    await tid(page, "sb-conn").waitFor({ state: "hidden", timeout: 20_000 });
    for (const body of down) await agent2.waitForVisitorMessage(conv, body, { timeout: 10_000 });
    for (const body of down) await expectDurable(page, body);
    await page.waitForTimeout(1_000); // room for a duplicate to show up

    // Exactly once: as the agent received them (by seq) and as the relay stored them.
    const received = [...agent.visitorMessages(conv), ...agent2.visitorMessages(conv)];
    const seqsOf = (body) => new Set(received.filter((f) => f.event.body === body).map((f) => f.seq));
    for (const body of down) {
      assert.equal(seqsOf(body).size, 1, `the agent received "${body}" exactly once`);
      assert.equal(agent2.countVisitorFrames(conv, body), 1, `one frame for "${body}" after the restart`);
    }
    const { token } = await login(relay2.url, CARA);
    const stored = (await getConversation(relay2.url, token, conv)).events
      .filter((e) => e.event.kind === "message").map((e) => e.event.body);
    for (const body of [first, ...down]) {
      assert.equal(stored.filter((b) => b === body).length, 1, `"${body}" stored exactly once`);
    }
    assert.ok(stored.indexOf(down[0]) < stored.indexOf(down[1]), "stored in the order typed");
    for (const body of down) await expectOneMessage(page, body, "visitor");

    // The conversation goes on after the restart.
    const reply = `Wieder da (${signal})`;
    await agent2.send(conv, reply);
    await expectOneMessage(page, reply, "agent");
    assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
    await page.context().close();
    await relay2.stop("SIGKILL");
  });
}
