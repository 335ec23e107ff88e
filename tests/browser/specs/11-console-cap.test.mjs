// Console spec 2 (issue 4, "done when" 2): an admin lowers an agent's cap from 3 to 1 in the
// console's admin view while the agent holds 2 chats: the agent keeps both and gets no new
// chat until they are below the new cap.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { DEMO_ADMIN } from "../lib/agent.mjs";
import { ScriptedVisitor } from "../lib/visitor.mjs";
import { ctid, openConsole, load, setPresence, openPanes, paneOf, expectPaneMessage } from "../lib/console.mjs";

const h = new Harness("11-console-cap");
const BEN = { email: "ben@acme-brandschutz.example", name: "Ben Berger", password: "ben-geheim-1234" };
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...BEN, maxChats: 3 });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("lowering an agent's cap from 3 to 1 keeps their 2 chats and gives them no new one until below 1", async () => {
  // The admin works in the admin view and is away, so routing only ever picks Ben.
  const admin = await openConsole(h, DEMO_ADMIN, { ctx: await h.context() });
  await setPresence(admin, "away");
  const ben = await openConsole(h, BEN, { ctx: await h.context() });

  const v1 = h.track(await ScriptedVisitor.start(h.relay.url, { name: "Erste Kundin" }));
  const v2 = h.track(await ScriptedVisitor.start(h.relay.url, { name: "Zweiter Kunde" }));
  await until(async () => (await load(ben)) === "2 / 3", { message: 'Ben\'s load "2 / 3"' });
  assert.equal(await openPanes(ben).count(), 2);

  await ctid(admin, "cs-admin-toggle").click();
  const row = admin.locator('[data-testid="cs-admin-agent"]', { hasText: BEN.name });
  const cap = row.locator('[data-testid="cs-admin-cap"]');
  await cap.fill("1");
  await cap.press("Tab");
  await until(async () => (await row.textContent()).includes("2 / 1"), { message: "the admin list shows 2 / 1" });
  await until(async () => (await load(ben)) === "2 / 1", { message: 'Ben\'s console shows "2 / 1"' });
  assert.equal(await openPanes(ben).count(), 2, "Ben keeps both chats");

  // A third visitor waits: Ben is at (above) his cap.
  const v3 = h.track(await ScriptedVisitor.start(h.relay.url, { name: "Dritte Kundin" }));
  await v3.waitFor((f) => f.type === "queue" && f.position === 1, "queue position 1");
  await until(async () => (await ctid(ben, "cs-queue-entry").count()) === 1, { message: "Ben sees one waiting" });

  // Ending one chat leaves him at 1 of 1: still no new chat.
  await paneOf(ben, "Erste Kundin").locator('[data-testid="cs-end"]').click();
  await until(async () => (await load(ben)) === "1 / 1", { message: 'load "1 / 1"' });
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(await openPanes(ben).count(), 1, "no new chat at 1 of 1");
  assert.equal(v3.queuePosition(), 1, "the third visitor still waits");

  // Below the cap: the waiting visitor is admitted.
  await paneOf(ben, "Zweiter Kunde").locator('[data-testid="cs-end"]').click();
  const pane3 = paneOf(ben, "Dritte Kundin");
  await pane3.waitFor({ state: "visible", timeout: 10_000 });
  v3.send("Hallo Ben");
  await expectPaneMessage(pane3, "Hallo Ben", "visitor");
  await until(async () => (await load(ben)) === "1 / 1", { message: 'load "1 / 1" with the new chat' });
  void v1; void v2;
  assert.deepEqual(ben.rec.errors, [], "no uncaught errors in Ben's console");
});
