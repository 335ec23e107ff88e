// The real relay binary as a child process: one per test file (or per test), a fresh data
// directory, port 0, the example pages and the built widget. Every started process is
// remembered so `stopAll()` (in an `after` hook) and the process exit handler can end it.
//
// The database: SQLite in the data directory, or with SWITCHBOARD_E2E_DATABASE=postgres a
// PostgreSQL schema of its own per data directory (`sb_e2e_<random>`, created with `psql` in
// the database SWITCHBOARD_TEST_DATABASE_URL names), passed as `--database-url …?options
// [search_path]=…` to `serve` and `agent add`. A restart on the same data directory keeps
// its schema; `stopAll()` drops it (CASCADE) once the relays are gone.
import { spawn, execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ASSETS, EXAMPLES, requireRelayBinary } from "./env.mjs";

const BACKEND = (process.env.SWITCHBOARD_E2E_DATABASE || "sqlite").trim().toLowerCase();
if (!["", "sqlite", "postgres", "postgresql", "pg"].includes(BACKEND)) {
  throw new Error(`SWITCHBOARD_E2E_DATABASE=${BACKEND}: expected sqlite or postgres`);
}
/** True when every relay runs on PostgreSQL. */
export const ON_POSTGRES = ["postgres", "postgresql", "pg"].includes(BACKEND);
const PG_URL = process.env.SWITCHBOARD_TEST_DATABASE_URL || "";

/** dataDir → promise of `{ name, url }`; names also in `schemaNames` for the exit handler. */
const schemas = new Map();
const schemaNames = new Set();

const live = new Set();
process.on("exit", () => {
  for (const r of live) { try { r.proc.kill("SIGKILL"); } catch {} }
  // Synchronous, as an exit handler must be; normally `stopAll()` has dropped them already.
  for (const name of schemaNames) {
    try { execFileSync("psql", psqlArgs(dropSql(name)), { stdio: "ignore", timeout: 15_000 }); } catch {}
  }
});

/** The relay reads this when no flag is given: never from the environment of the suite. */
function relayEnv(extra = {}) {
  const env = { ...process.env, NO_COLOR: "1", ...extra };
  delete env.SWITCHBOARD_DATABASE_URL;
  return env;
}

function psqlArgs(sql) {
  return [PG_URL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql];
}

function dropSql(name) {
  return `SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS ${name} CASCADE`;
}

function psql(sql) {
  return new Promise((resolve, reject) => {
    execFile("psql", psqlArgs(sql), { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`psql failed (${sql}): ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function createSchema() {
  if (!PG_URL) {
    throw new Error("SWITCHBOARD_E2E_DATABASE=postgres needs SWITCHBOARD_TEST_DATABASE_URL=postgres://USER@HOST/DATABASE");
  }
  // Ours (prefix + hex): no quoting needed.
  const name = `sb_e2e_${randomBytes(8).toString("hex")}`;
  await psql(`CREATE SCHEMA ${name}`);
  schemaNames.add(name);
  const sep = PG_URL.includes("?") ? "&" : "?";
  return { name, url: `${PG_URL}${sep}options[search_path]=${name}` };
}

/** `--database-url …` for a data directory's relay and CLI calls; none on SQLite. */
async function databaseArgs(dataDir) {
  if (!ON_POSTGRES) return [];
  let schema = schemas.get(dataDir);
  if (!schema) {
    schema = createSchema();
    schemas.set(dataDir, schema);
  }
  return ["--database-url", (await schema).url];
}

async function dropSchema(dataDir) {
  const schema = schemas.get(dataDir);
  if (!schema) return;
  schemas.delete(dataDir);
  let name;
  try { ({ name } = await schema); } catch { return; }
  await psql(dropSql(name));
  schemaNames.delete(name);
}

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
  const dbArgs = await databaseArgs(dataDir);
  let lastError;
  while (Date.now() < deadline) {
    try {
      return await startOnce({ bin, dataDir, dbArgs, port, assetsDir, staticDir, extraArgs, deadline });
    } catch (e) {
      lastError = e;
      // Only a busy fixed port is worth another try (the previous relay's socket).
      if (port === 0 || !/in use|AddrInUse|os error 98/i.test(String(e.message))) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw lastError ?? new Error("relay did not start in time");
}

function startOnce({ bin, dataDir, dbArgs, port, assetsDir, staticDir, extraArgs, deadline }) {
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, ...dbArgs,
    "--assets-dir", assetsDir, "--static-dir", staticDir, "--demo", ...extraArgs];
  const proc = spawn(bin, args, {
    env: relayEnv({ RUST_LOG: process.env.RUST_LOG || "info" }),
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

/** `switchboard agent add` against a data directory's database (works while `serve` runs). */
export async function addAgent(dataDir, { email, name, password, maxChats = 3, admin = false }) {
  const bin = requireRelayBinary();
  const args = ["agent", "add", "--data-dir", dataDir, ...(await databaseArgs(dataDir)),
    "--email", email, "--name", name, "--password", password, "--max-chats", String(maxChats)];
  if (admin) args.push("--admin");
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: relayEnv(), timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`agent add failed: ${err.message}\n${stripAnsi(stderr)}`));
      else resolve(stdout);
    });
  });
}

/** Ends every relay still running, then removes the given data directories and their schemas. */
export async function stopAll(dataDirs = []) {
  await Promise.all([...live].map((r) => r.stop("SIGKILL").catch(() => {})));
  const dropped = await Promise.allSettled(dataDirs.map(dropSchema));
  for (const d of dataDirs) { try { rmSync(d, { recursive: true, force: true }); } catch {} }
  const failed = dropped.filter((r) => r.status === "rejected");
  if (failed.length) throw new Error(failed.map((r) => r.reason.message).join("\n"));
}
