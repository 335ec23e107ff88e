// Spec 1: on the example page the launcher appears at once, and the widget's code (hashed
// .js, .wasm, .css under /assets/) is not fetched before the visitor shows intent; the host
// page's own script keeps working; nothing throws.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, until, TEST_TIMEOUT } from "../lib/harness.mjs";
import { tid } from "../lib/widget.mjs";

const h = new Harness("01-lazy-loading");
before(() => h.setup(), { timeout: TEST_TIMEOUT });
after(() => h.teardown(), { timeout: TEST_TIMEOUT });

const assetRequests = (page) => page.rec.requests.filter((u) => new URL(u).pathname.startsWith("/assets/"));

h.test("the launcher appears and no widget code is fetched before the visitor shows intent", async () => {
  const page = await h.page();
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto(`${h.relay.url}/acme/`);
  await tid(page, "sb-launcher").waitFor({ state: "visible" });
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(500);

  assert.ok(page.rec.requests.some((u) => u.endsWith("/widget.js")), "the loader itself was requested");
  assert.deepEqual(assetRequests(page), [], "no /assets/* request (hashed js, wasm, css) before interaction");
  assert.ok(!page.rec.requests.some((u) => /\.wasm(\?|$)/.test(u)), "no .wasm request before interaction");
  assert.equal(await tid(page, "sb-badge").isVisible(), false, "no unread badge on a first visit");
  assert.deepEqual(sockets, [], "no WebSocket to the relay before interaction");

  // The host page's own script works beside the widget.
  await page.click("#warenkorb-knopf");
  assert.equal((await page.textContent("#warenkorb-anzahl")).trim(), "1");
  assert.deepEqual(assetRequests(page), [], "clicking the host page loads nothing of the widget");

  // Intent (hover) does fetch the module and its glue: the check above is not vacuous.
  await tid(page, "sb-launcher").hover();
  const { wasm, glue } = h.manifest;
  await until(() => {
    const paths = assetRequests(page).map((u) => new URL(u).pathname);
    return paths.includes(`/assets/${wasm}`) && paths.includes(`/assets/${glue}`);
  }, { timeout: 15_000, message: `requests for /assets/${wasm} and /assets/${glue} after hovering the launcher` });
  await until(() => sockets.some((u) => u.endsWith("/ws/visitor")),
    { timeout: 10_000, message: "the widget connecting to /ws/visitor once loaded" });

  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});
