// The console's queue count with more waiting than the relay lists: snapshots name the first
// 50 only, so the count must come from the relay's total, and the rest show as "+N more".
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { DEMO_ADMIN } from "../lib/agent.mjs";
import { ScriptedVisitor } from "../lib/visitor.mjs";
import { ctid, openConsole, load, setPresence } from "../lib/console.mjs";

const h = new Harness("21-console-queue-total");
const BEN = { email: "ben@acme-brandschutz.example", name: "Ben Berger", password: "ben-geheim-1234" };
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...BEN, maxChats: 1 });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("with 52 waiting the console says 52, lists the first 50 and shows +2 more", async () => {
  // The admin is away, so only Ben takes chats; his cap of 1 fills with the first visitor.
  const admin = await openConsole(h, DEMO_ADMIN, { ctx: await h.context() });
  await setPresence(admin, "away");
  const ben = await openConsole(h, BEN, { ctx: await h.context() });
  h.track(await ScriptedVisitor.start(h.relay.url, { name: "Erste Kundin" }));
  await until(async () => (await load(ben)) === "1 / 1", { message: 'Ben\'s load "1 / 1"' });

  for (let batch = 0; batch < 4; batch++) {
    const starts = Array.from({ length: 13 }, (_, i) =>
      ScriptedVisitor.start(h.relay.url, { name: `Wartend ${batch * 13 + i + 1}` }));
    for (const v of await Promise.all(starts)) h.track(v);
  }
  const queue = ctid(ben, "cs-queue");
  await until(async () => (await queue.getAttribute("data-count")) === "52", { message: "queue count 52" });
  assert.match(await queue.locator("span").first().textContent(), /: 52$/);
  await until(async () => (await ctid(ben, "cs-queue-entry").count()) === 50, { message: "50 listed" });
  assert.match(await ctid(ben, "cs-queue-more").textContent(), /^\+2 (weitere warten|more waiting)$/);
});
