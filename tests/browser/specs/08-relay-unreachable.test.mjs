// Spec 8: the customer's page is up but the relay is not (its /assets/* fail). The page loads
// and its own script works; opening the chat ends in the launcher's offline state with the
// note; nothing throws on the host page.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, until, TEST_TIMEOUT } from "../lib/harness.mjs";
import { startStaticServer } from "../lib/static-server.mjs";
import { tid } from "../lib/widget.mjs";

const h = new Harness("08-relay-unreachable");
const servers = [];
before(() => h.setup({ relay: false }), { timeout: TEST_TIMEOUT });
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await h.teardown();
}, { timeout: TEST_TIMEOUT });

for (const mode of ["500", "reset"]) {
  const how = mode === "500" ? "answer 500" : "drop the connection";
  h.test(`when the widget's assets ${how}, the page works and the launcher shows the offline state`, async () => {
    const server = await startStaticServer({ assetsMode: mode });
    servers.push(server);
    const page = await h.page();
    await page.goto(`${server.url}/acme/`);
    const launcher = tid(page, "sb-launcher");
    await launcher.waitFor({ state: "visible" });

    await page.click("#warenkorb-knopf");
    assert.equal((await page.textContent("#warenkorb-anzahl")).trim(), "1", "host script works");

    await launcher.click();
    await tid(page, "sb-offline-note").waitFor({ state: "visible", timeout: 15_000 });
    assert.ok(await launcher.evaluate((b) => b.classList.contains("off")), 'launcher has class "off"');
    assert.ok(page.rec.requests.some((u) => new URL(u).pathname.startsWith("/assets/")),
      "the loader did try to fetch the widget");
    assert.equal(await tid(page, "sb-panel").count(), 0, "no panel without the widget");

    // The page still works after the failure, and nothing was thrown at it.
    await page.click("#warenkorb-knopf");
    assert.equal((await page.textContent("#warenkorb-anzahl")).trim(), "2");
    await page.waitForTimeout(300);
    assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
  });
}

h.test("when the widget loads but its relay cannot be reached, the page works and the widget says it is unavailable", async () => {
  const server = await startStaticServer({ assetsMode: "serve" });
  servers.push(server);
  const page = await h.page();
  await page.goto(`${server.url}/acme/`);
  const launcher = tid(page, "sb-launcher");
  await launcher.click();
  await tid(page, "sb-panel").waitFor({ state: "visible", timeout: 15_000 });
  // Either the panel says the chat is unavailable / connecting, or the launcher is offline.
  await until(async () => (await tid(page, "sb-conn").isVisible()) ||
    (await launcher.evaluate((b) => b.classList.contains("off"))),
  { timeout: 15_000, message: "sb-conn shown or the launcher marked offline" });
  h.notes.push(`sb-conn: ${await tid(page, "sb-conn").textContent().catch(() => "-")}`);
  assert.equal(await tid(page, "sb-input").count(), 0, "no composer without a relay");
  await page.click("#warenkorb-knopf");
  assert.equal((await page.textContent("#warenkorb-anzahl")).trim(), "1", "host script works");
  await page.waitForTimeout(2_000); // a few failed reconnects
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
