// Spec 22 (issue 17, item 1): a customer page under a strict Content-Security-Policy, sent as
// a real response header by the test's own web server on another origin than the relay: no
// 'unsafe-inline' anywhere, the page's own inline script and style allowed by a nonce. With
// the policy the README documents, the launcher is styled and fixed in the corner (not in the
// page flow), nothing of the widget loads before intent, a chat works end to end, and the
// browser reports no violation. Then each part of the policy is taken away in turn, and the
// page shows the consequence the README documents for it.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, until, TEST_TIMEOUT } from "../lib/harness.mjs";
import { addAgent } from "../lib/relay.mjs";
import { startStaticServer } from "../lib/static-server.mjs";
import { hostPage, policy, recordViolations, violations, NONCE } from "../lib/host-page.mjs";
import { tid, openWidget, startChat, send, expectOneMessage } from "../lib/widget.mjs";

const h = new Harness("22-strict-csp");
const ANNA = { email: "anna@acme-brandschutz.example", name: "Anna Beispiel", password: "anna-geheim-123" };
let agent, server, relay, ws;

// The README's minimal policy for the widget (the allowlist form: the relay's origin in
// script-src, the tag without a nonce), plus what this page needs for itself (its nonce'd
// inline script and style) and nothing else: default-src 'none'.
const full = () => ({
  "default-src": "'none'",
  "script-src": `'nonce-${NONCE}' ${relay} 'wasm-unsafe-eval'`,
  "connect-src": `${relay} ${ws}`,
  "style-src": `'nonce-${NONCE}'`,
});

/** Path → [policy, widget tag]: the full policy, its nonce forms, and each part taken away. */
function variants() {
  const tag = { src: `${relay}/widget.js`, site: "demo", locale: "de", nonce: false };
  const nonced = { ...tag, nonce: true };
  const f = full();
  return {
    "/full": [f, tag],
    // The tag carries the page's nonce instead: the relay's origin is not needed in
    // script-src (the nonce carries over to the module widget.js imports).
    "/nonce": [{ ...f, "script-src": `'nonce-${NONCE}' 'wasm-unsafe-eval'` }, nonced],
    "/strict-dynamic": [{ ...f, "script-src": `'nonce-${NONCE}' 'strict-dynamic' 'wasm-unsafe-eval'` }, nonced],
    "/no-style-src": [{ ...f, "style-src": "'none'" }, tag],
    "/only-widget-js": [{ ...f, "script-src": `'nonce-${NONCE}' ${relay}/widget.js 'wasm-unsafe-eval'` }, tag],
    "/no-script-src": [{ ...f, "script-src": `'nonce-${NONCE}' 'wasm-unsafe-eval'` }, tag],
    "/no-wasm-eval": [{ ...f, "script-src": `'nonce-${NONCE}' ${relay}` }, tag],
    "/no-connect": [{ ...f, "connect-src": "'none'" }, tag],
    "/no-ws": [{ ...f, "connect-src": relay }, tag],
    "/no-policy": [null, tag],
  };
}

before(async () => {
  await h.setup();
  relay = h.relay.url;
  ws = relay.replace(/^http/, "ws");
  await addAgent(h.relay.dataDir, { ...ANNA, maxChats: 5 });
  agent = await h.agent(relay, ANNA);
  const pages = {};
  for (const [path, [p, tag]] of Object.entries(variants())) {
    pages[path] = { html: hostPage({ widget: tag }), headers: p ? { "content-security-policy": policy(p) } : {} };
  }
  server = await startStaticServer({ pages });
}, { timeout: TEST_TIMEOUT });
after(async () => {
  await server?.close();
  await h.teardown();
}, { timeout: TEST_TIMEOUT });

async function cspPage(path) {
  const page = await h.page();
  await recordViolations(page);
  const res = await page.goto(`${server.url}${path}`);
  assert.match(res.headers()["content-security-policy"], /default-src 'none'/, "the page is served with its policy");
  return page;
}

/** Where and how the launcher (or the loader's note) is drawn, and whether it takes page space. */
function geometry(page, id = "sb-launcher") {
  return tid(page, id).evaluate((el) => {
    const cs = getComputedStyle(el), r = el.getBoundingClientRect();
    const host = el.getRootNode().host, vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    const footer = document.getElementById("fuss").getBoundingClientRect();
    const margin = parseFloat(getComputedStyle(document.body).marginBottom);
    return {
      position: cs.position, background: cs.backgroundColor, width: r.width, height: r.height,
      right: Math.round(vw - r.right), bottom: Math.round(vh - r.bottom),
      hostPosition: getComputedStyle(host).position,
      // Nothing below the footer: the widget adds no height to the page.
      belowFooter: Math.round(document.documentElement.scrollHeight - (footer.bottom + scrollY + margin)),
    };
  });
}

async function assertStyledLauncher(page, what) {
  const g = await geometry(page);
  assert.equal(g.position, "fixed", `${what}: the launcher is position: fixed (${JSON.stringify(g)})`);
  assert.equal(g.hostPosition, "fixed", `${what}: <switchboard-chat> is position: fixed`);
  assert.deepEqual([g.width, g.height], [56, 56], `${what}: the launcher is 56×56`);
  assert.deepEqual([g.right, g.bottom], [20, 20], `${what}: 20 px from the bottom right corner`);
  assert.equal(g.background, "rgb(200, 16, 46)", `${what}: the launcher has the accent colour`);
  assert.equal(g.belowFooter, 0, `${what}: the widget takes no space in the page flow`);
}

/** The loader's "not reachable" note: shown, styled as a card above the launcher. */
async function assertStyledNote(page, what) {
  const note = tid(page, "sb-offline-note");
  await note.waitFor({ state: "visible", timeout: 15_000 });
  assert.match(await note.textContent(), /nicht erreichbar/);
  const g = await geometry(page, "sb-offline-note");
  assert.equal(g.position, "fixed", `${what}: the note is position: fixed (${JSON.stringify(g)})`);
  assert.equal(g.background, "rgb(255, 255, 255)", `${what}: the note is a white card`);
  assert.equal(g.belowFooter, 0, `${what}: the note takes no space in the page flow`);
  assert.ok(await tid(page, "sb-launcher").evaluate((b) => b.classList.contains("off")),
    `${what}: the launcher is grey (class "off")`);
  const grey = await geometry(page);
  assert.equal(grey.background, "rgb(119, 119, 119)", `${what}: the grey launcher is drawn grey`);
}

async function hostScriptWorks(page) {
  await page.click("#warenkorb-knopf");
  assert.equal((await page.textContent("#warenkorb-anzahl")).trim(), "1", "the host page's own script works");
}

const assetRequests = (page) => page.rec.requests.filter((u) => u.startsWith(`${relay}/assets/`));

h.test("under the documented strict policy the launcher is styled and fixed, nothing loads before intent, and a chat works end to end without a violation", async () => {
  const page = await cspPage("/full");
  await tid(page, "sb-launcher").waitFor({ state: "visible" });
  await page.waitForLoadState("networkidle");
  await assertStyledLauncher(page, "at the top");
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await assertStyledLauncher(page, "scrolled to the end");
  await hostScriptWorks(page);
  assert.deepEqual(assetRequests(page), [], "no widget code (/assets/*) before intent");

  await openWidget(page);
  const panel = await tid(page, "sb-panel").evaluate((p) => {
    const cs = getComputedStyle(p);
    return { position: cs.position, width: p.getBoundingClientRect().width };
  });
  assert.deepEqual(panel, { position: "fixed", width: 360 }, "the panel is styled (its stylesheet applies)");
  await startChat(page, { name: "Jonas Kunde" });
  const first = "Gilt die Wartung auch für CO₂-Löscher?";
  await send(page, first);
  const conv = await agent.assigned();
  await agent.waitForVisitorMessage(conv, first);
  const reply = "Ja, für alle Löscher.";
  await agent.send(conv, reply);
  await expectOneMessage(page, reply, "agent");

  assert.deepEqual(await violations(page), [], "the browser reported no CSP violation");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

for (const [path, form] of [["/nonce", "'nonce-…'"], ["/strict-dynamic", "'nonce-…' 'strict-dynamic'"]]) {
  h.test(`with the page's nonce on the tag (script-src ${form}, no relay origin) the widget works the same`, async () => {
    const page = await cspPage(path);
    await tid(page, "sb-launcher").waitFor({ state: "visible" });
    await assertStyledLauncher(page, path);
    await openWidget(page);
    await startChat(page, { name: "Jonas Kunde" });
    assert.deepEqual(await violations(page), [], "the browser reported no CSP violation");
    assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
  });
}

h.test("without any style-src for the widget (style-src 'none') the launcher and the panel are still styled", async () => {
  const page = await cspPage("/no-style-src");
  await tid(page, "sb-launcher").waitFor({ state: "visible" });
  await assertStyledLauncher(page, "style-src 'none'");
  await openWidget(page);
  await startChat(page, { name: "Jonas Kunde" });
  const panel = await tid(page, "sb-panel").evaluate((p) => getComputedStyle(p).position);
  assert.equal(panel, "fixed", "the panel's stylesheet applies");
  // The page's own nonce'd <style> is blocked now, as it should be; nothing of the widget is.
  const widgetViolations = (await violations(page)).filter((v) => !/inline/.test(v.blocked));
  assert.deepEqual(widgetViolations, [], "no violation caused by the widget");
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("with only widget.js allowed in script-src (not the relay's origin), the launcher shows but opening ends grey with the styled note", async () => {
  const page = await cspPage("/only-widget-js");
  await tid(page, "sb-launcher").waitFor({ state: "visible" });
  await assertStyledLauncher(page, "only widget.js in script-src");
  await tid(page, "sb-launcher").click();
  await assertStyledNote(page, "only widget.js in script-src");
  assert.equal(await tid(page, "sb-panel").count(), 0, "no panel");
  await until(async () => (await violations(page)).some((v) => v.directive === "script-src-elem" &&
    v.blocked.startsWith(`${relay}/assets/`)), { message: "a script-src violation for the widget module" });
  await hostScriptWorks(page);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("without the relay in script-src (and no nonce on the tag), no launcher appears and the page is unaffected", async () => {
  const page = await cspPage("/no-script-src");
  await until(async () => (await violations(page)).some((v) => v.blocked === `${relay}/widget.js`),
    { message: "a violation for widget.js" });
  await page.waitForTimeout(300);
  assert.equal(await page.locator("switchboard-chat").count(), 0, "no widget element");
  assert.equal(await page.evaluate(() => typeof window.Switchboard), "undefined", "no Switchboard API");
  await hostScriptWorks(page);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("without 'wasm-unsafe-eval', opening ends grey with the styled note", async () => {
  const page = await cspPage("/no-wasm-eval");
  await tid(page, "sb-launcher").waitFor({ state: "visible" });
  await assertStyledLauncher(page, "no 'wasm-unsafe-eval'");
  await tid(page, "sb-launcher").click();
  await assertStyledNote(page, "no 'wasm-unsafe-eval'");
  assert.equal(await tid(page, "sb-panel").count(), 0, "no panel");
  await hostScriptWorks(page);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("without the relay in connect-src, opening ends grey with the styled note", async () => {
  const page = await cspPage("/no-connect");
  await tid(page, "sb-launcher").waitFor({ state: "visible" });
  await assertStyledLauncher(page, "connect-src 'none'");
  await tid(page, "sb-launcher").click();
  await assertStyledNote(page, "connect-src 'none'");
  assert.equal(await tid(page, "sb-panel").count(), 0, "no panel");
  await until(async () => (await violations(page)).some((v) => v.directive === "connect-src"),
    { message: "a connect-src violation" });
  await hostScriptWorks(page);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("with the relay's https origin but not its wss one in connect-src, the panel opens and says within 10 s that the chat cannot be reached", async () => {
  const page = await cspPage("/no-ws");
  await tid(page, "sb-launcher").click();
  const clicked = Date.now();
  await tid(page, "sb-panel").waitFor({ state: "visible", timeout: 10_000 });
  await until(async () => /nicht erreichbar/.test(await tid(page, "sb-conn").textContent().catch(() => "")),
    { timeout: 10_000 - (Date.now() - clicked), message: "the \"not reachable\" note within 10 s" });
  assert.ok(await tid(page, "sb-launcher").evaluate((b) => b.classList.contains("off")), "the launcher is grey");
  assert.ok((await violations(page)).some((v) => v.directive === "connect-src" && v.blocked.startsWith(ws)),
    "a connect-src violation for the WebSocket");
  await hostScriptWorks(page);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
});

h.test("a browser without constructable stylesheets (before Safari 16.4) gets the launcher and the panel styled by <style> and <link>: on a page without a policy, and with the tag's nonce under style-src 'nonce-…'", async () => {
  for (const path of ["/no-policy", "/nonce"]) {
    await fallbackStyled(path);
  }
});

async function fallbackStyled(path) {
  const page = await h.page();
  // Chromium with the API taken away stands in for such a browser.
  await page.addInitScript(() => { delete ShadowRoot.prototype.adoptedStyleSheets; });
  await recordViolations(page);
  await page.goto(`${server.url}${path}`);
  await tid(page, "sb-launcher").waitFor({ state: "visible" });
  assert.ok(await page.locator("switchboard-chat").evaluate((h) => !!h.shadowRoot.querySelector("style")),
    `${path}: the loader fell back to a <style> element`);
  await assertStyledLauncher(page, `${path} without adoptedStyleSheets`);
  await openWidget(page);
  await startChat(page, { name: "Jonas Kunde" });
  assert.equal(await tid(page, "sb-panel").evaluate((p) => getComputedStyle(p).position), "fixed",
    `${path}: the panel's stylesheet applies`);
  assert.deepEqual(await violations(page), [], `${path}: the browser reported no CSP violation`);
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
}
