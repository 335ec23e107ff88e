// Spec 24 (issue 17, item 3): on a slow connection the widget's module takes a while to
// arrive after the first click. A visitor who clicks the launcher again meanwhile (or
// double-clicks it) still wants the chat: the panel opens. Once it is open, a click closes it
// as before.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, TEST_TIMEOUT } from "../lib/harness.mjs";
import { tid } from "../lib/widget.mjs";

const h = new Harness("24-double-click-loading");
before(() => h.setup(), { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

const DELAY_MS = 1_500;

/** A page on which the widget's .wasm arrives `DELAY_MS` late (a throttled connection). */
async function slowPage() {
  const page = await h.page();
  await page.route("**/assets/*.wasm", async (route) => {
    await new Promise((r) => setTimeout(r, DELAY_MS));
    await route.continue();
  });
  await page.goto(`${h.relay.url}/acme/`);
  await tid(page, "sb-launcher").waitFor({ state: "visible" });
  return page;
}

async function expectOpenAndStaying(page) {
  const panel = tid(page, "sb-panel");
  await panel.waitFor({ state: "visible", timeout: 10_000 });
  await page.waitForTimeout(500);
  assert.ok(await panel.isVisible(), "the panel stays open");
  assert.equal(await tid(page, "sb-launcher").getAttribute("aria-expanded"), "true", "the launcher says expanded");
}

h.test("a second click on the launcher while the widget is still loading does not cancel the opening", async () => {
  const page = await slowPage();
  const launcher = tid(page, "sb-launcher");
  await launcher.click();
  await page.waitForTimeout(400);
  assert.equal(await tid(page, "sb-panel").count(), 0, "still loading at the second click");
  await launcher.click();
  await expectOpenAndStaying(page);

  // Open now: the launcher closes it again, and opens it.
  await launcher.click();
  await tid(page, "sb-panel").waitFor({ state: "hidden", timeout: 5_000 });
  await launcher.click();
  await tid(page, "sb-panel").waitFor({ state: "visible", timeout: 5_000 });
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("a double click on the launcher while the widget loads opens the chat", async () => {
  const page = await slowPage();
  await tid(page, "sb-launcher").dblclick();
  assert.equal(await tid(page, "sb-panel").count(), 0, "still loading after the double click");
  await expectOpenAndStaying(page);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
