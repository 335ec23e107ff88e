// One harness per spec file: it owns the relay(s), the browser, the pages and the scripted
// agents, closes all of them in `after` (also when a test failed), and on a failing test
// appends the relay's stderr tail, page errors, console output and the agent's last frames to
// the error, and screenshots each open page into artifacts/.
import { test } from "node:test";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { ARTIFACTS, requireAssets, requireChromium, CHROMIUM } from "./env.mjs";
import { startRelay, stopAll, freshDataDir } from "./relay.mjs";
import { ScriptedAgent } from "./agent.mjs";

export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Test and hook timeouts (the brief: every test bounded by 30 s). */
export const TEST_TIMEOUT = 30_000;

export class Harness {
  constructor(name) {
    this.name = name;
    this.relays = [];
    this.dataDirs = [];
    this.pages = [];
    this.contexts = [];
    this.agents = [];
    this.notes = [];
  }

  /** Checks prerequisites, starts a relay (unless `relay: false`) and the browser. */
  async setup({ relay = true, assets = true } = {}) {
    requireChromium();
    if (assets) this.manifest = requireAssets();
    if (relay) this.relay = await this.startRelay();
    this.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  }

  async startRelay(opts = {}) {
    const dataDir = opts.dataDir ?? freshDataDir();
    if (!this.dataDirs.includes(dataDir)) this.dataDirs.push(dataDir);
    const r = await startRelay({ ...opts, dataDir });
    this.relays.push(r);
    return r;
  }

  async context(opts = {}) {
    const ctx = await this.browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
    ctx.setDefaultTimeout(10_000);
    this.contexts.push(ctx);
    return ctx;
  }

  /** A page with recorders: `errors` (uncaught), `console`, `requests` (URLs in order). */
  async page(ctx) {
    ctx = ctx ?? (await this.context());
    const page = await ctx.newPage();
    const rec = { errors: [], console: [], requests: [] };
    page.on("pageerror", (e) => rec.errors.push(String(e?.stack || e)));
    page.on("console", (m) => rec.console.push(`[${m.type()}] ${m.text()}`));
    page.on("request", (r) => rec.requests.push(r.url()));
    page.rec = rec;
    this.pages.push(page);
    return page;
  }

  async agent(baseUrl, creds) {
    const a = await ScriptedAgent.login(baseUrl, creds);
    this.agents.push(a);
    return a;
  }

  track(agent) { this.agents.push(agent); return agent; }

  /**
   * `test()` with a 30 s bound and failure diagnostics. `todo` (a reason, e.g. a BUGS.md entry)
   * marks a specification of a known, still open bug: it runs and reports, but does not fail
   * the suite.
   */
  test(name, fn, { timeout = TEST_TIMEOUT, todo } = {}) {
    return test(name, { timeout, ...(todo ? { todo } : {}) }, async (t) => {
      try {
        await fn(t);
      } catch (err) {
        const report = await this.diagnostics(name).catch((e) => `(diagnostics failed: ${e})`);
        if (err && typeof err === "object") {
          try { err.message = `${err.message}\n${report}`; } catch {}
        }
        throw err;
      }
    });
  }

  async diagnostics(testName) {
    const out = [`===== diagnostics for "${testName}" =====`];
    for (const [i, r] of this.relays.entries()) {
      out.push(`--- relay #${i + 1} ${r.url} (exited: ${JSON.stringify(r.exited)}) stderr tail ---`,
        r.stderrTail(40) || "(empty)");
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    const slug = `${this.name}-${testName}`.replace(/[^a-z0-9]+/gi, "-").slice(0, 80);
    for (const [i, p] of this.pages.entries()) {
      if (p.isClosed()) continue;
      out.push(`--- page #${i + 1} ${p.url()} ---`,
        `uncaught errors: ${p.rec.errors.length ? "\n" + p.rec.errors.join("\n") : "none"}`,
        `console (last 30):\n${p.rec.console.slice(-30).join("\n") || "(empty)"}`);
      const file = path.join(ARTIFACTS, `${slug}-failure-${i + 1}.png`);
      await p.screenshot({ path: file, timeout: 5_000 }).then(() => out.push(`screenshot: ${file}`), () => {});
    }
    for (const [i, a] of this.agents.entries()) {
      out.push(`--- agent #${i + 1} last frames ---`,
        a.frames.slice(-12).map((f) => JSON.stringify(f)).join("\n"));
    }
    if (this.notes.length) out.push("--- notes ---", ...this.notes);
    return out.join("\n");
  }

  async teardown() {
    for (const a of this.agents) a.close();
    await this.browser?.close().catch(() => {});
    await stopAll(this.dataDirs);
  }
}

/** Polls `fn` until it returns a truthy value; fails with `message` after `timeout`. */
export async function until(fn, { timeout = 10_000, interval = 100, message = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}` +
        (last instanceof Error ? ` (last error: ${last.message})` : ""));
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
