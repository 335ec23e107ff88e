// Spec 23 (issue 17, item 2): the widget loads, but its relay cannot be reached. Within 10 s
// of the click the panel says so ("try again later", German and English), not only
// "connecting…" forever; it keeps trying in the background, and when the relay comes up the
// note goes away and the visitor can start a chat.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, until, TEST_TIMEOUT } from "../lib/harness.mjs";
import { startStaticServer } from "../lib/static-server.mjs";
import { hostPage, freePort } from "../lib/host-page.mjs";
import { tid } from "../lib/widget.mjs";

const h = new Harness("23-unreachable-note");
const NOTE = {
  de: "Der Chat ist gerade nicht erreichbar. Bitte versuchen Sie es später erneut.",
  en: "The chat can't be reached right now. Please try again later.",
};
let server, deadPort, comebackPort;

before(async () => {
  await h.setup({ relay: false });
  deadPort = await freePort();
  comebackPort = await freePort();
  // widget.js and its assets come from this server; the chat connection goes to `data-relay`,
  // where nothing listens (yet).
  const page = (locale, port) => ({
    html: hostPage({ widget: { src: "/widget.js", nonce: false, site: "demo", locale,
      relay: `http://127.0.0.1:${port}` } }),
    headers: {},
  });
  server = await startStaticServer({ assetsMode: "serve", pages: {
    "/de": page("de", deadPort), "/en": page("en", deadPort), "/comeback": page("de", comebackPort),
  } });
}, { timeout: TEST_TIMEOUT });
after(async () => {
  await server?.close();
  await h.teardown();
}, { timeout: TEST_TIMEOUT });

/** Opens the widget and returns the ms from the click until the note showed. */
async function noteAfterClick(page, locale) {
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await tid(page, "sb-launcher").click();
  const clicked = Date.now();
  await tid(page, "sb-panel").waitFor({ state: "visible", timeout: 10_000 });
  await until(async () => (await tid(page, "sb-conn").textContent().catch(() => "")).trim() === NOTE[locale],
    { timeout: 10_000 - (Date.now() - clicked), message: `the note "${NOTE[locale]}" within 10 s of the click ` +
      `(shown: ${JSON.stringify(await tid(page, "sb-conn").textContent().catch(() => null))})` });
  return { ms: Date.now() - clicked, sockets };
}

for (const locale of ["de", "en"]) {
  h.test(`(${locale}) with the relay unreachable the panel shows the "try again later" note within 10 s and keeps trying`, async () => {
    const page = await h.page();
    await page.goto(`${server.url}/${locale}`);
    const { ms, sockets } = await noteAfterClick(page, locale);
    h.notes.push(`${locale}: note after ${ms} ms`);
    assert.ok(await tid(page, "sb-launcher").evaluate((b) => b.classList.contains("off")), "the launcher is grey");
    assert.equal(await tid(page, "sb-conn").getAttribute("role"), "status", "the note is announced (role=status)");
    const tries = sockets.length;
    await until(() => sockets.length > tries, { timeout: 10_000, message: "another connection attempt after the note" });
    assert.equal(await tid(page, "sb-input").count(), 0, "no composer without a relay");
    assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
  });
}

h.test("when the relay comes up, the note goes away and the visitor can write (the offline form: nobody is online)", async () => {
  const page = await h.page();
  await page.goto(`${server.url}/comeback`);
  await noteAfterClick(page, "de");
  await h.startRelay({ port: comebackPort });
  // The next retry is at most 15 s away (the socket's backoff cap).
  await tid(page, "sb-conn").waitFor({ state: "hidden", timeout: 17_000 });
  await tid(page, "sb-offline").waitFor({ state: "visible", timeout: 5_000 });
  assert.deepEqual(page.rec.errors, [], "no uncaught errors on the page");
}, { timeout: 40_000 });
