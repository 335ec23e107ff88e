// The real relay binary as a child process: one per test file (or per test), a fresh data
// directory, port 0, the example pages and the built widget. Every started process is
// remembered so `stopAll()` (in an `after` hook) and the process exit handler can end it.
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ASSETS, EXAMPLES, requireRelayBinary } from "./env.mjs";

const live = new Set();
process.on("exit", () => { for (const r of live) { try { r.proc.kill("SIGKILL"); } catch {} } });

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

export function freshDataDir() {
  return mkdtempSync(path.join(os.tmpdir(), "sb-browser-"));
}

/**
 * Starts `switchboard serve --demo` and resolves once it printed its URL.
 * `port` 0 picks a free one; a fixed port (a restart) is retried while the old socket lingers.
 */
export async function startRelay({ dataDir = freshDataDir(), port = 0, assetsDir = ASSETS,
  staticDir = EXAMPLES, extraArgs = [], timeoutMs = 15_000 } = {}) {
  const bin = requireRelayBinary();
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      return await startOnce({ bin, dataDir, port, assetsDir, staticDir, extraArgs, deadline });
    } catch (e) {
      lastError = e;
      // Only a busy fixed port is worth another try (the previous relay's socket).
      if (port === 0 || !/in use|AddrInUse|os error 98/i.test(String(e.message))) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw lastError ?? new Error("relay did not start in time");
}

function startOnce({ bin, dataDir, port, assetsDir, staticDir, extraArgs, deadline }) {
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir,
    "--assets-dir", assetsDir, "--static-dir", staticDir, "--demo", ...extraArgs];
  const proc = spawn(bin, args, {
    env: { ...process.env, NO_COLOR: "1", RUST_LOG: process.env.RUST_LOG || "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const relay = {
    proc, dataDir, port: 0, url: "", stdout: "", stderr: "", exited: null,
    /** The last `n` lines the relay wrote to stderr, for failure reports. */
    stderrTail(n = 40) {
      return stripAnsi(this.stderr).trimEnd().split("\n").slice(-n).join("\n");
    },
    /** Sends `signal` and waits for the exit (SIGKILL after 5 s). */
    async stop(signal = "SIGTERM") {
      if (this.exited) return this.exited;
      const done = new Promise((r) => proc.once("exit", (code, sig) => r({ code, signal: sig })));
      proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      const res = await done;
      clearTimeout(t);
      return res;
    },
  };
  live.add(relay);
  proc.stderr.setEncoding("utf8");
  proc.stdout.setEncoding("utf8");
  proc.stderr.on("data", (d) => {
    relay.stderr += d;
    if (relay.stderr.length > 400_000) relay.stderr = relay.stderr.slice(-200_000);
  });
  proc.on("exit", (code, signal) => { relay.exited = { code, signal }; live.delete(relay); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`relay did not print its URL in time.\nstderr:\n${relay.stderrTail()}`));
    }, Math.max(1_000, deadline - Date.now()));
    proc.stdout.on("data", (d) => {
      relay.stdout += d;
      const m = relay.stdout.match(/switchboard listening on (http:\/\/127\.0\.0\.1:(\d+))/);
      if (m && !relay.url) {
        relay.url = m[1];
        relay.port = Number(m[2]);
        clearTimeout(timer);
        resolve(relay);
      }
    });
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (!relay.url) {
        reject(new Error(`relay exited (code ${code}, signal ${signal}) before listening: ` +
          `${bin} ${args.join(" ")}\nstderr:\n${relay.stderrTail()}`));
      }
    });
  });
}

/** `switchboard agent add` against a data directory (works while `serve` runs). */
export function addAgent(dataDir, { email, name, password, maxChats = 3, admin = false }) {
  const bin = requireRelayBinary();
  const args = ["agent", "add", "--data-dir", dataDir, "--email", email, "--name", name,
    "--password", password, "--max-chats", String(maxChats)];
  if (admin) args.push("--admin");
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: { ...process.env, NO_COLOR: "1" }, timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`agent add failed: ${err.message}\n${stripAnsi(stderr)}`));
      else resolve(stdout);
    });
  });
}

/** Ends every relay still running and removes the given data directories. */
export async function stopAll(dataDirs = []) {
  await Promise.all([...live].map((r) => r.stop("SIGKILL").catch(() => {})));
  for (const d of dataDirs) { try { rmSync(d, { recursive: true, force: true }); } catch {} }
}
