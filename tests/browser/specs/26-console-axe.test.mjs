// Issue 17, item 12: axe-core (the npm package, run inside the page) finds no serious or
// critical issue in the console with three chats holding visitor, own and system lines with
// marks, in light and dark, wide (side by side) and narrow (tabs), with an ended chat and
// with a chat about to end.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { openConsole, paneOf, expectPaneMessage, reply, paneMessages } from "../lib/console.mjs";
import { detailedVisitor, visitorEnds, seriousAxeViolations } from "../lib/console-layout.mjs";

const h = new Harness("26-console-axe");
const ALEX = { email: "alex@acme-brandschutz.example", name: "Alex Axe", password: "alex-geheim-123" };
before(() => h.setup({ relay: false }), { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

const NAMES = ["Jonas Kunde", "Mara Musterfrau", "Tom Dritter"];

/** A console with three chats, each with a visitor line, an own reply (read) and system lines. */
async function consoleWithThreeChats(colorScheme) {
  // A relay of its own per colour scheme: the other run's chats stay out of the way.
  h.relay = await h.startRelay();
  await addAgent(h.relay.dataDir, { ...ALEX, maxChats: 4 });
  const page = await openConsole(h, ALEX, {
    ctx: await h.context({ viewport: { width: 1366, height: 768 }, locale: "de-DE", colorScheme }) });
  const visitors = [];
  for (const name of NAMES) {
    const v = await detailedVisitor(h, { name, email: `${name.split(" ")[0].toLowerCase()}@kunde.example` });
    v.send(`Frage von ${name}: siehe https://acme.example/faq`);
    visitors.push(v);
  }
  for (const name of NAMES) {
    const pane = paneOf(page, name);
    await expectPaneMessage(pane, `Frage von ${name}: siehe https://acme.example/faq`, "visitor");
    await reply(pane, `Antwort an ${name}`);
  }
  // A long transcript in the first chat: its scroll area must be reachable by keyboard.
  for (let i = 1; i <= 14; i++) visitors[0].send(`Noch ein Detail, Nummer ${i}, zur Wartung der Anlage im Keller.`);
  await expectPaneMessage(paneOf(page, NAMES[0]), "Noch ein Detail, Nummer 14, zur Wartung der Anlage im Keller.", "visitor");
  // The visitors read the replies: own lines carry their time and read mark.
  for (const [i, v] of visitors.entries()) {
    const f = await v.waitFor((f) => f.type === "event" && f.event?.kind === "message" && f.event.author?.role === "agent", "the reply");
    v.ws.send(JSON.stringify({ type: "read", seq: f.seq }));
    await until(async () => (await paneMessages(paneOf(page, NAMES[i]))).some((m) => m.author === "agent" && m.state === "read"),
      { message: `the reply to ${NAMES[i]} marked read` });
  }
  return { page, visitors };
}

function report(violations) {
  return violations.map((v) => `${v.impact} ${v.id} (${v.help}):\n  ${v.targets.slice(0, 6).join("\n  ")}`).join("\n");
}

async function expectClean(page, what) {
  const found = await seriousAxeViolations(page);
  assert.equal(found.length, 0, `axe: no serious or critical issues ${what}:\n${report(found)}`);
}

for (const colorScheme of ["light", "dark"]) {
  h.test(`with three chats (${colorScheme}) axe finds no serious or critical issue, side by side, as tabs, with one ending and one ended`, async () => {
    const { page, visitors } = await consoleWithThreeChats(colorScheme);
    await expectClean(page, `with three chats at 1366x768 (${colorScheme})`);

    await page.setViewportSize({ width: 1024, height: 768 });
    await expectClean(page, `with three chats at 1024x768 (${colorScheme})`);
    await page.setViewportSize({ width: 1366, height: 768 });

    // A chat about to end (confirmation or undo shown), then one ended by its visitor.
    await paneOf(page, NAMES[2]).locator('[data-testid="cs-end"]').click();
    await expectClean(page, `while a chat is being ended (${colorScheme})`);
    const undo = page.locator('[data-testid="cs-undo-end"], [data-testid="cs-end-cancel"]');
    if (await undo.count()) await undo.first().click();
    visitorEnds(visitors[0]);
    await until(async () => (await page.locator('[data-testid="cs-chat"].cs-ended, [data-testid="cs-ended-chip"]').count()) === 1,
      { message: "the visitor's end is shown" });
    await expectClean(page, `with an ended chat (${colorScheme})`);
    assert.deepEqual(page.rec.errors, [], "no uncaught errors in the console");
  });
}
