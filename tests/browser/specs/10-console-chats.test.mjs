// Console spec 1 (issue 4, "done when" 1 and 5): one agent with a cap of 2 works two chats
// from real widget visitors side by side in one console window; messages flow both ways
// without crossing over; the third visitor waits at queue position 1 and is admitted into
// the console when the agent ends a chat. Screenshots of the console with two chats open go
// to artifacts/.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { ARTIFACTS } from "../lib/env.mjs";
import { addAgent } from "../lib/relay.mjs";
import { tid, openWidget, startChat, send, expectOneMessage, messages } from "../lib/widget.mjs";
import { ctid, openConsole, load, openPanes, paneOf, expectPaneMessage, reply, paneMessages } from "../lib/console.mjs";

const h = new Harness("10-console-chats");
const ANNA = { email: "anna@acme-brandschutz.example", name: "Anna Beispiel", password: "anna-geheim-123" };
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...ANNA, maxChats: 2 });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

/** A widget visitor in their own browser context who starts a chat with `first`. */
async function visitor(name, first) {
  const page = await h.page(await h.context());
  await page.goto(`${h.relay.url}/acme/`);
  await openWidget(page);
  await startChat(page, { name });
  await send(page, first);
  return page;
}

h.test("one agent with a cap of 2 works two chats side by side; the third visitor waits and is admitted when one ends", async () => {
  const consolePage = await openConsole(h, ANNA, { ctx: await h.context({ viewport: { width: 1400, height: 820 } }) });
  assert.equal(await load(consolePage), "0 / 2");

  const jonas = await visitor("Jonas Kunde", "Wann ist die nächste Wartung fällig?");
  const mara = await visitor("Mara Muster", "Brauche ein Angebot für 12 Feuerlöscher.");
  const paneJ = paneOf(consolePage, "Jonas Kunde");
  const paneM = paneOf(consolePage, "Mara Muster");
  await expectPaneMessage(paneJ, "Wann ist die nächste Wartung fällig?", "visitor");
  await expectPaneMessage(paneM, "Brauche ein Angebot für 12 Feuerlöscher.", "visitor");
  await until(async () => (await load(consolePage)) === "2 / 2", { message: 'load "2 / 2"' });
  assert.equal(await openPanes(consolePage).count(), 2, "both chats are open side by side");

  // Replies go to the right visitor only.
  await reply(paneJ, "Guten Tag Herr Kunde, im März.");
  await reply(paneM, "Gern, ich schicke Ihnen das Angebot heute.");
  await expectOneMessage(jonas, "Guten Tag Herr Kunde, im März.", "agent");
  await expectOneMessage(mara, "Gern, ich schicke Ihnen das Angebot heute.", "agent");
  assert.equal(await messages(jonas, { text: "Angebot heute" }).count(), 0, "Mara's reply never reaches Jonas");
  assert.equal(await messages(mara, { text: "im März" }).count(), 0, "Jonas' reply never reaches Mara");

  await send(jonas, "Danke! Und die Kosten?");
  await expectPaneMessage(paneJ, "Danke! Und die Kosten?", "visitor");
  const inM = (await paneMessages(paneM)).map((m) => m.text);
  assert.ok(!inM.includes("Danke! Und die Kosten?"), "Jonas' message is not in Mara's pane");
  // Own replies become durable and get the visitor's delivered/read marks.
  await until(async () => (await paneMessages(paneJ)).some((m) => m.author === "agent" &&
    ["delivered", "read"].includes(m.state)), { message: "a delivered/read mark on the reply to Jonas" });

  // Typing shows both ways, in the right pane only (the relay forwards `active: true` at
  // most every 2 s per side: wait out the replies' window first).
  await jonas.waitForTimeout(2_200);
  await tid(mara, "sb-input").pressSequentially("Noch eine Fr", { delay: 30 });
  await paneM.locator('[data-testid="cs-typing"]').waitFor({ state: "visible", timeout: 5_000 });
  assert.equal(await paneJ.locator('[data-testid="cs-typing"]').count(), 0, "Mara's typing is not shown in Jonas' pane");
  await paneJ.locator('[data-testid="cs-input"]').pressSequentially("Die Kosten", { delay: 30 });
  await tid(jonas, "sb-typing").waitFor({ state: "visible", timeout: 5_000 });

  mkdirSync(ARTIFACTS, { recursive: true });
  await consolePage.screenshot({ path: path.join(ARTIFACTS, "console-two-chats.png") });

  // The third visitor waits at position 1; the agent's queue shows them.
  const tom = await visitor("Tom Dritter", "Hallo, ist jemand da?");
  await until(async () => /\b1\b/.test((await tid(tom, "sb-queue").textContent().catch(() => "")) ?? ""),
    { message: "the third visitor sees queue position 1" });
  await until(async () => (await ctid(consolePage, "cs-queue-entry").count()) === 1,
    { message: "the console's queue lists the waiting visitor" });
  assert.equal(await openPanes(consolePage).count(), 2, "no third chat while at the cap");

  await paneJ.locator('[data-testid="cs-input"]').fill("");
  // Ending Jonas' chat admits Tom into the console.
  await paneJ.locator('[data-testid="cs-end"]').click();
  const paneT = paneOf(consolePage, "Tom Dritter");
  await expectPaneMessage(paneT, "Hallo, ist jemand da?", "visitor", 15_000);
  await until(async () => (await openPanes(consolePage).count()) === 2, { message: "two open chats again" });
  await until(async () => (await ctid(consolePage, "cs-queue-entry").count()) === 0, { message: "queue empty" });
  await reply(paneT, "Ja, Anna hier. Wie kann ich helfen?");
  await expectOneMessage(tom, "Ja, Anna hier. Wie kann ich helfen?", "agent");
  assert.match((await tid(tom, "sb-agent-name").textContent()) ?? "", /Anna Beispiel/);

  await consolePage.screenshot({ path: path.join(ARTIFACTS, "console-after-end.png") });
  assert.deepEqual(consolePage.rec.errors, [], "no uncaught errors in the console");
});
