// Console spec 3 (issue 4, "done when" 3): the transfer list shows each agent's load; a
// transfer to a full agent is refused with a visible message, one to a free agent moves the
// chat out of the console and the visitor sees the new agent's name.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { tid, openWidget, startChat, send, expectOneMessage } from "../lib/widget.mjs";
import { ScriptedVisitor } from "../lib/visitor.mjs";
import { ctid, openConsole, openPanes, paneOf, expectPaneMessage } from "../lib/console.mjs";

const h = new Harness("12-console-transfer");
const ANNA = { email: "anna@acme-brandschutz.example", name: "Anna Beispiel", password: "anna-geheim-123" };
const BEN = { email: "ben@acme-brandschutz.example", name: "Ben Voll", password: "ben-geheim-1234" };
const CARL = { email: "carl@acme-brandschutz.example", name: "Carl Frei", password: "carl-geheim-123" };
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...ANNA, maxChats: 2 });
  await addAgent(h.relay.dataDir, { ...BEN, maxChats: 1 });
  await addAgent(h.relay.dataDir, { ...CARL, maxChats: 2 });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("a transfer to a full agent is refused visibly; to a free one it moves the chat and the visitor sees the new name", async () => {
  const anna = await openConsole(h, ANNA, { ctx: await h.context() });
  // A widget visitor, routed to Anna (the only one online).
  const page = await h.page(await h.context());
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  await startChat(page, { name: "Jonas Kunde" });
  await send(page, "Ich habe eine Frage zur Rechnung.");
  const pane = paneOf(anna, "Jonas Kunde");
  await expectPaneMessage(pane, "Ich habe eine Frage zur Rechnung.", "visitor");

  // Ben comes online and gets a chat of his own: full at 1 of 1.
  const ben = await h.agent(h.relay.url, BEN);
  h.track(await ScriptedVisitor.start(h.relay.url, { name: "Bens Kundin" }));
  await ben.assigned();
  const carl = await h.agent(h.relay.url, CARL);

  await pane.locator('[data-testid="cs-transfer"]').click();
  const target = (name) => pane.locator('[data-testid="cs-transfer-target"]', { hasText: name });
  await until(async () => (await target("Ben Voll").textContent()).includes("1 / 1"),
    { message: "the transfer list shows Ben at 1 / 1" });
  await target("Ben Voll").click();
  await ctid(anna, "cs-error").waitFor({ state: "visible" });
  assert.equal(await ctid(anna, "cs-error").getAttribute("data-code"), "agent_full");
  assert.match(await ctid(anna, "cs-error").textContent(), /full|voll|freien Platz|free slot/i);
  assert.equal(await openPanes(anna).count(), 1, "the refused chat stays with Anna");

  await pane.locator('[data-testid="cs-transfer"]').click();
  await until(async () => (await target("Carl Frei").textContent()).includes("0 / 2"),
    { message: "the transfer list shows Carl at 0 / 2" });
  await target("Carl Frei").click();
  const conv = await carl.assigned();
  await until(async () => (await openPanes(anna).count()) === 0, { message: "the chat left Anna's console" });
  await until(async () => /Carl Frei/.test((await tid(page, "sb-agent-name").textContent()) ?? ""),
    { message: "the visitor sees Carl's name" });
  await carl.send(conv, "Hallo, hier ist Carl.");
  await expectOneMessage(page, "Hallo, hier ist Carl.", "agent");
  assert.deepEqual(anna.rec.errors, [], "no uncaught errors in the console");
});
