// Issue 17, item 5: after a mouse click on Send the message box keeps the focus, so the
// visitor types the next message at once (and Enter in the box sends, as before).
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { tid, beginChat, expectOneMessage, focused } from "../lib/widget.mjs";

const h = new Harness("41-widget-focus-send");
const FELIX = { email: "felix@acme-brandschutz.example", name: "Felix Fokus", password: "felix-geheim-123" };
let agent;
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...FELIX, maxChats: 5 });
  agent = await h.agent(h.relay.url, FELIX);
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

h.test("after a click on Send the message box keeps the focus and the next message is typed straight in", async () => {
  // beginChat sends its first message with a mouse click on Send.
  const { page, conv } = await beginChat(h, agent, { name: "Fokus Test", firstMessage: "Erste Nachricht per Klick" });
  await expectOneMessage(page, "Erste Nachricht per Klick", "visitor");
  const after1 = await focused(page);
  assert.equal(after1?.testid, "sb-input", `focus after the click on Send: ${JSON.stringify(after1)}`);

  // The visitor just types on and presses Enter: no second click into the box.
  const since = agent.frames.length;
  await page.keyboard.type("Zweite Nachricht ohne Klick");
  await page.keyboard.press("Enter");
  await agent.waitForVisitorMessage(conv, "Zweite Nachricht ohne Klick", { since });
  await expectOneMessage(page, "Zweite Nachricht ohne Klick", "visitor");

  // Once more with the mouse, after the box was typed into by keyboard.
  await page.keyboard.type("Dritte per Klick");
  await tid(page, "sb-send").click();
  await expectOneMessage(page, "Dritte per Klick", "visitor");
  const after3 = await focused(page);
  assert.equal(after3?.testid, "sb-input", `focus after the second click on Send: ${JSON.stringify(after3)}`);
  assert.equal(await tid(page, "sb-input").inputValue(), "", "the box is empty for the next message");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
