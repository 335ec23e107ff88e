// Issue 17, item 13 ("Chat beenden" ends at once): ending a chat can be undone. A click on
// "end" does not end it yet: the pane says it will end, with an undo button (German and
// English); undone, the chat stays live (the visitor sees no end, messages still flow); not
// undone, it ends after the short window and its pane leaves the live row.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { ctid, openConsole, openPanes, paneOf, expectPaneMessage, reply } from "../lib/console.mjs";
import { detailedVisitor } from "../lib/console-layout.mjs";

const h = new Harness("28-console-end-undo");
const UWE = { email: "uwe@acme-brandschutz.example", name: "Uwe Undo", password: "uwe-geheim-123" };
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...UWE, maxChats: 2 });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

const ended = (v) => v.frames.some((f) => f.type === "event" && f.event?.kind === "ended");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

h.test("ending a chat can be undone: undone it stays live, otherwise it ends after the short window", async () => {
  const page = await openConsole(h, UWE, { ctx: await h.context({ viewport: { width: 1366, height: 768 }, locale: "de-DE" }) });
  const v = await detailedVisitor(h, { name: "Jonas Kunde" });
  v.send("Eine Frage noch");
  const pane = paneOf(page, "Jonas Kunde");
  await expectPaneMessage(pane, "Eine Frage noch", "visitor");

  // A click on "Chat beenden": not ended yet, the pane offers to undo (in German).
  await pane.locator('[data-testid="cs-end"]').click();
  const undo = pane.locator('[data-testid="cs-undo-end"]');
  await undo.waitFor({ state: "visible", timeout: 3_000 });
  assert.match(await undo.textContent(), /Rückgängig/);
  assert.match(await pane.locator('[data-testid="cs-ending"]').textContent(), /endet/);
  await sleep(1_000);
  assert.ok(!ended(v), "the visitor's chat has not ended a second after the click");
  await undo.click();
  await sleep(6_500);
  assert.ok(!ended(v), "undone: the visitor's chat never ended");
  assert.equal(await openPanes(page).count(), 1, "the chat is still live in the console");
  assert.equal(await pane.locator('[data-testid="cs-ending"]').count(), 0, "no 'ending' note after undo");
  await reply(pane, "Gern, fragen Sie.");
  await v.waitFor((f) => f.type === "event" && f.event?.kind === "message" && f.event.body === "Gern, fragen Sie.", "the reply after undo");

  // In English the same offer reads "Undo"; not undone, the chat ends.
  await ctid(page, "cs-lang").click();
  await until(async () => (await page.locator("html").getAttribute("lang")) === "en", { message: "the console in English" });
  await pane.locator('[data-testid="cs-end"]').click();
  await undo.waitFor({ state: "visible", timeout: 3_000 });
  assert.match(await undo.textContent(), /Undo/);
  await v.waitFor((f) => f.type === "event" && f.event?.kind === "ended", "the chat ends after the undo window", 10_000);
  await until(async () => (await openPanes(page).count()) === 0, { message: "the ended chat leaves the live chats" });
  assert.deepEqual(page.rec.errors, [], "no uncaught errors in the console");
});
