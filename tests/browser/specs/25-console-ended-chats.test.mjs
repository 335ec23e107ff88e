// Issue 17, items 10 and 11: an agent with a cap of 3 at 1366×768 and at 1024×768. One of
// three chats ends and a fourth visitor is admitted: every live chat's composer is on screen
// (at 1024 one chat at a time, behind a tab that is itself on screen), the ended chat leaves
// the live row and can be dismissed; with three chats at 1366 the pane headers have room:
// names on one line, e-mail and page not cut, the buttons on one row.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Harness, TEST_TIMEOUT, until } from "../lib/harness.mjs";
import { ARTIFACTS } from "../lib/env.mjs";
import { addAgent } from "../lib/relay.mjs";
import { ctid, openConsole, openPanes, paneOf, expectPaneMessage, load } from "../lib/console.mjs";
import { detailedVisitor, visitorEnds, onScreen } from "../lib/console-layout.mjs";

const h = new Harness("25-console-ended-chats");
const LENA = { email: "lena@acme-brandschutz.example", name: "Lena Layout", password: "lena-geheim-123" };
let consolePage;
before(async () => {
  await h.setup();
  await addAgent(h.relay.dataDir, { ...LENA, maxChats: 3 });
}, { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

const VISITORS = [
  { name: "Jonas Kunde", email: "jonas.kunde@beispiel-gmbh.example", customerNumber: "K-100234" },
  { name: "Mara Musterfrau", email: "mara.musterfrau@feuerwehr-nord.example", customerNumber: "K-200871" },
  { name: "Tom Dritter", email: "tom.dritter@hausverwaltung.example", customerNumber: "K-300552" },
];

/** Every live pane's composer (text box and send button) is on screen, or behind an on-screen tab. */
async function everyLiveComposerOnScreen(page, width) {
  const ids = await openPanes(page).evaluateAll((els) => els.map((e) => e.getAttribute("data-conversation-id")));
  assert.equal(ids.length, 3, `three live chats (at ${width})`);
  for (const id of ids) {
    const pane = page.locator(`[data-testid="cs-chat"][data-conversation-id="${id}"]`);
    const input = pane.locator('[data-testid="cs-input"]');
    let seen = await onScreen(input);
    if (!seen.seen) {
      // Narrow screens may show one chat at a time: its tab must be on screen and bring it.
      const tab = page.locator(`[data-testid="cs-tab"][data-conversation-id="${id}"]`);
      const tabSeen = await onScreen(tab);
      assert.ok(tabSeen.seen, `at ${width}: chat #${id}'s composer is off screen (${JSON.stringify(seen)}) ` +
        `and no tab for it is on screen (${JSON.stringify(tabSeen)})`);
      await tab.click();
      await until(async () => (await onScreen(input)).seen, { timeout: 3_000,
        message: `at ${width}: chat #${id}'s composer on screen after its tab was clicked` });
      seen = await onScreen(input);
    }
    assert.ok(seen.seen, `at ${width}: chat #${id}'s composer is on screen (${JSON.stringify(seen)})`);
    const sendSeen = await onScreen(pane.locator('[data-testid="cs-send"]'));
    assert.ok(sendSeen.seen, `at ${width}: chat #${id}'s send button is on screen (${JSON.stringify(sendSeen)})`);
    // Typing into it works where it is.
    await input.fill(`Antwort an #${id}`);
    assert.equal(await input.inputValue(), `Antwort an #${id}`);
    await input.fill("");
  }
}

h.test("with three chats at 1366x768 each pane header shows the name on one line, the e-mail and page uncut and its buttons on one row", async () => {
  consolePage = await openConsole(h, LENA, {
    ctx: await h.context({ viewport: { width: 1366, height: 768 }, locale: "de-DE" }) });
  for (const v of VISITORS) {
    const sv = await detailedVisitor(h, v);
    v.sv = sv;
    sv.send(`Hallo, hier ist ${v.name}.`);
  }
  for (const v of VISITORS) await expectPaneMessage(paneOf(consolePage, v.name), `Hallo, hier ist ${v.name}.`, "visitor");
  await until(async () => (await load(consolePage)) === "3 / 3", { message: 'load "3 / 3"' });

  for (const v of VISITORS) {
    const pane = paneOf(consolePage, v.name);
    const head = await pane.evaluate((p) => {
      const fits = (el) => el && el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1;
      const name = p.querySelector('[data-testid="cs-visitor-name"]');
      const lineHeight = parseFloat(getComputedStyle(name).lineHeight) || 20;
      const buttons = [...p.querySelectorAll(".cs-chat-head button")].filter((b) => b.offsetParent !== null);
      return {
        nameOneLine: name.getBoundingClientRect().height < lineHeight * 1.5 && fits(name),
        meta: p.querySelector('[data-testid="cs-visitor-meta"]')?.textContent,
        metaFits: fits(p.querySelector('[data-testid="cs-visitor-meta"]')),
        page: p.querySelector('[data-testid="cs-visitor-page"]')?.textContent,
        pageFits: fits(p.querySelector('[data-testid="cs-visitor-page"]')),
        buttonRows: new Set(buttons.map((b) => Math.round(b.getBoundingClientRect().top))).size,
        buttonsFit: buttons.every((b) => b.scrollWidth <= b.clientWidth + 1 && b.getBoundingClientRect().height < 40),
        buttons: buttons.map((b) => b.textContent),
      };
    });
    assert.ok(head.nameOneLine, `${v.name}: the name is on one line, not cut (${JSON.stringify(head)})`);
    assert.ok(head.meta.includes(v.email) && head.metaFits, `${v.name}: the e-mail is shown uncut (${JSON.stringify(head)})`);
    assert.ok(head.page?.includes("/acme/produkte/feuerloescher/wartung") && head.pageFits,
      `${v.name}: the page is shown uncut (${JSON.stringify(head)})`);
    assert.equal(head.buttonRows, 1, `${v.name}: the header's buttons are on one row (${JSON.stringify(head)})`);
    assert.ok(head.buttonsFit, `${v.name}: no button label wraps (${JSON.stringify(head)})`);
  }
});

h.test("at 1366 and 1024 wide, with a chat ended and a fourth admitted, every live composer is on screen and the ended chat can be dismissed", async () => {
  const [jonas] = VISITORS;
  visitorEnds(jonas.sv);
  await until(async () => (await openPanes(consolePage).count()) === 2, { message: "two live chats after Jonas ended his" });
  const fourth = { name: "Vera Vierte", email: "vera.vierte@schule-sued.example", customerNumber: "K-400019" };
  const sv = await detailedVisitor(h, fourth);
  sv.send("Guten Tag, eine Frage zur Prüfung.");
  await expectPaneMessage(paneOf(consolePage, fourth.name), "Guten Tag, eine Frage zur Prüfung.", "visitor");

  await everyLiveComposerOnScreen(consolePage, 1366);
  mkdirSync(ARTIFACTS, { recursive: true });
  await consolePage.screenshot({ path: path.join(ARTIFACTS, "console-1366-ended.png") });

  await consolePage.setViewportSize({ width: 1024, height: 768 });
  await everyLiveComposerOnScreen(consolePage, 1024);
  await consolePage.screenshot({ path: path.join(ARTIFACTS, "console-1024-ended.png") });

  // The ended chat is still reachable, then dismissed for good.
  const chip = consolePage.locator('[data-testid="cs-ended-chip"]', { hasText: jonas.name });
  assert.ok((await onScreen(chip)).seen, `the ended chat is listed on screen (${JSON.stringify(await onScreen(chip))})`);
  // Opened again to read it: its transcript is a pane after the live ones, which keep their
  // composers on screen (at 1366); folded away again from the list.
  await consolePage.setViewportSize({ width: 1366, height: 768 });
  await chip.locator('[data-testid="cs-ended-show"]').click();
  const endedPane = consolePage.locator('[data-testid="cs-chat"].cs-ended');
  await expectPaneMessage(endedPane, `Hallo, hier ist ${jonas.name}.`, "visitor");
  assert.equal(await endedPane.locator('[data-testid="cs-input"]').count(), 0, "no composer in an ended chat");
  const order = await consolePage.locator('[data-testid="cs-chat"]').evaluateAll((els) => els.map((e) => e.classList.contains("cs-ended")));
  assert.deepEqual(order, [false, false, false, true], "the reopened ended chat comes after the live ones");
  for (const input of await openPanes(consolePage).locator('[data-testid="cs-input"]').all()) {
    assert.ok((await onScreen(input)).seen, `live composers stay on screen with the ended chat open (${JSON.stringify(await onScreen(input))})`);
  }
  await chip.locator('[data-testid="cs-ended-show"]').click();
  await until(async () => (await endedPane.count()) === 0, { message: "the ended chat folded away again" });

  await chip.locator('[data-testid="cs-ended-dismiss"]').click();
  await until(async () => (await consolePage.locator('[data-testid="cs-ended-chip"]').count()) === 0 &&
    (await paneOf(consolePage, jonas.name).count()) === 0, { message: "the ended chat is gone after dismissing it" });
  assert.equal(await openPanes(consolePage).count(), 3, "the live chats stay");
  assert.equal(await ctid(consolePage, "cs-error").count(), 0, "no error shown");
  assert.deepEqual(consolePage.rec.errors, [], "no uncaught errors in the console");
});
