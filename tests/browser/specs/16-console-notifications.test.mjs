// Console spec 6 (issue 4, "what an agent can do"): while the console is not focused, a new
// chat or message raises a desktop notification and a title badge; while it is focused,
// nothing. After a reload, replayed messages the agent had read are not unread (the relay's
// read receipts say so), unread ones stay unread, and the replay raises no notification.
// The visitor's browser and arrival are shown in the pane.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent, } from "../lib/relay.mjs";
import { login, getConversation } from "../lib/agent.mjs";
import { ScriptedVisitor } from "../lib/visitor.mjs";
import { openWidget, startChat, send } from "../lib/widget.mjs";
import { openConsole, paneOf, expectPaneMessage, load } from "../lib/console.mjs";
import { recordNotifications, shownNotifications, setFocus } from "../lib/notifications.mjs";

const h = new Harness("16-console-notifications");
const ANNA = { email: "anna@acme-brandschutz.example", name: "Anna Beispiel", password: "anna-geheim-123" };
const BEN = { email: "ben@acme-brandschutz.example", name: "Ben Berger", password: "ben-geheim-1234" };
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...ANNA, maxChats: 2 });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

async function consoleWithRecorders(agent) {
  const ctx = await h.context();
  await recordNotifications(ctx, h.relay.url);
  return openConsole(h, agent, { ctx });
}

const unreadOf = (pane) => pane.locator('[data-testid="cs-unread"]');

h.test("not focused: a new chat and a new message notify and badge the title; focused: nothing", async () => {
  const anna = await consoleWithRecorders(ANNA);
  const title = await anna.title();
  await setFocus(anna, false);

  // A real widget visitor (Chromium), so the pane can show the browser.
  const page = await h.page(await h.context());
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  await startChat(page, { name: "Vera Fokus" });
  const pane = paneOf(anna, "Vera Fokus");
  await until(async () => (await shownNotifications(anna)).length === 1, { message: "a notification for the new chat" });
  let notes = await shownNotifications(anna);
  assert.match(notes[0].title, /^(New chat|Neuer Chat): Vera Fokus$/);
  assert.equal(await anna.title(), `(1) ${title}`, "the title carries a badge");

  await send(page, "Ist jemand da?");
  await expectPaneMessage(pane, "Ist jemand da?", "visitor");
  await until(async () => (await shownNotifications(anna)).length === 2, { message: "a notification for the message" });
  notes = await shownNotifications(anna);
  assert.match(notes[1].title, /^(New message|Neue Nachricht): Vera Fokus$/);
  assert.equal(notes[1].body, "Ist jemand da?");
  assert.equal(await anna.title(), `(2) ${title}`);

  // The pane shows the visitor's browser, summarised, and when they arrived.
  const browser = pane.locator('[data-testid="cs-visitor-browser"]');
  assert.match(await browser.textContent(), /Chrome[^·]* \d+ on Linux · (since|seit) \d{2}\.\d{2}\.\d{4} \d{2}:\d{2}/);
  assert.match(await browser.getAttribute("title"), /HeadlessChrome\/\d+/, "the full User-Agent on hover");

  // Focused: badge gone, the chat is read, and new activity raises nothing.
  await setFocus(anna, true);
  await until(async () => (await anna.title()) === title, { message: "the badge is cleared on focus" });
  await until(async () => (await unreadOf(pane).count()) === 0, { message: "the active chat is read" });
  await send(page, "Hallo?");
  await expectPaneMessage(pane, "Hallo?", "visitor");
  h.track(await ScriptedVisitor.start(h.relay.url, { name: "Zweiter Besucher" }));
  await paneOf(anna, "Zweiter Besucher").waitFor({ state: "visible" });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await shownNotifications(anna)).length, 2, "nothing while focused");
  assert.equal(await anna.title(), title, "no badge while focused");
  assert.deepEqual(anna.rec.errors, [], "no uncaught errors in the console");
});

h.test("after a reload, read messages are not unread, unread ones stay, and the replay notifies nobody", async () => {
  await addAgent(h.relay.dataDir, { ...BEN, maxChats: 2 });
  // Anna is away, so both visitors go to Ben.
  const anna = h.pages.find((p) => !p.isClosed() && p.url().endsWith("/console"));
  await anna.locator('[data-testid="cs-presence"]').selectOption("away");
  const ben = await consoleWithRecorders(BEN);
  const title = await ben.title();

  const paula = h.track(await ScriptedVisitor.start(h.relay.url, { name: "Paula Gelesen" }));
  const paulaPane = paneOf(ben, "Paula Gelesen");
  await paulaPane.waitFor({ state: "visible" });
  paula.send("Eins: das hat Ben gelesen.");
  await expectPaneMessage(paulaPane, "Eins: das hat Ben gelesen.", "visitor");
  const otto = h.track(await ScriptedVisitor.start(h.relay.url, { name: "Otto Ungelesen" }));
  const ottoPane = paneOf(ben, "Otto Ungelesen");
  await ottoPane.waitFor({ state: "visible" });
  otto.send("Zwei: das hat Ben nicht gelesen.");
  await expectPaneMessage(ottoPane, "Zwei: das hat Ben nicht gelesen.", "visitor");
  await until(async () => (await unreadOf(ottoPane).textContent().catch(() => "")) === "1",
    { message: "Otto's chat (not the active one) has 1 unread" });
  assert.equal(await unreadOf(paulaPane).count(), 0, "Paula's chat (the active one) is read");
  // The relay stored Ben's read receipt for Paula's chat.
  const { token } = await login(h.relay.url, BEN);
  await until(async () => (await getConversation(h.relay.url, token, paula.conv))?.agent_read >= 2,
    { message: "the relay stored Ben's read receipt" });

  await setFocus(ben, false);
  await ben.reload();
  await until(async () => (await load(ben)) === "2 / 2", { message: "the console is back with both chats" });
  await expectPaneMessage(paulaPane, "Eins: das hat Ben gelesen.", "visitor");
  await expectPaneMessage(ottoPane, "Zwei: das hat Ben nicht gelesen.", "visitor");
  await until(async () => (await unreadOf(paulaPane).count()) === 0 &&
      (await unreadOf(ottoPane).textContent().catch(() => "")) === "1",
    { message: "after the reload: Paula 0 unread, Otto 1 unread" });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await unreadOf(paulaPane).count(), 0, "a read message stays read");
  assert.deepEqual(await shownNotifications(ben), [], "the replay raised no notification");
  assert.equal(await ben.title(), title, "and no badge");

  // What is new after the reload still notifies.
  otto.send("Drei: neu nach dem Neuladen.");
  await until(async () => (await shownNotifications(ben)).length === 1, { message: "a notification for the new message" });
  assert.equal((await shownNotifications(ben))[0].body, "Drei: neu nach dem Neuladen.");
  await until(async () => (await unreadOf(ottoPane).textContent().catch(() => "")) === "2", { message: "Otto: 2 unread" });
  assert.equal(await ben.title(), `(1) ${title}`);
  assert.deepEqual(ben.rec.errors, [], "no uncaught errors in the console");
});
