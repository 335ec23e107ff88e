// Where the things under test are. Nothing here builds anything: the relay binary and the
// widget assets must already exist (cargo build -p switchboard-relay --bin switchboard;
// cargo xtask ...), and a missing one is a failure with a clear message, never a skip.
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (tests/browser/lib → ../../..). */
export const ROOT = path.resolve(here, "../../..");
export const BROWSER_TESTS = path.resolve(here, "..");
export const ARTIFACTS = path.join(BROWSER_TESTS, "artifacts");
export const EXAMPLES = path.join(ROOT, "examples");

const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR)
  : path.join(ROOT, "target");

/** Relative paths in the environment variables are taken relative to the repository root. */
export const BIN = path.resolve(ROOT, process.env.SWITCHBOARD_BIN || path.join(targetDir, "debug", "switchboard"));
export const ASSETS = path.resolve(ROOT, process.env.SWITCHBOARD_ASSETS || path.join(targetDir, "assets"));
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

function isFile(p) {
  try { return statSync(p).isFile(); } catch { return false; }
}

/** Throws a message that says what is missing and how to make it. */
export function requireRelayBinary() {
  if (!isFile(BIN)) {
    throw new Error(
      `relay binary not found at ${BIN}.\n` +
      `Build it first: cargo build -p switchboard-relay --bin switchboard ` +
      `(or set SWITCHBOARD_BIN to the binary).`);
  }
  return BIN;
}

/**
 * The built widget: `widget.js` (the loader with hashed names filled in) and `manifest.json`.
 * Returns the parsed manifest.
 */
export function requireAssets() {
  const loader = path.join(ASSETS, "widget.js");
  const manifest = path.join(ASSETS, "manifest.json");
  if (!isFile(loader) || !isFile(manifest)) {
    throw new Error(
      `widget assets not found in ${ASSETS} (need widget.js and manifest.json).\n` +
      `Build them first with cargo xtask (assets go to target/assets/), ` +
      `or set SWITCHBOARD_ASSETS to the assets directory.`);
  }
  const m = JSON.parse(readFileSync(manifest, "utf8"));
  const text = readFileSync(loader, "utf8");
  const unfilled = text.match(/__SB_[A-Z]+__|\{\{asset:[^}]*\}\}/g);
  if (unfilled) {
    throw new Error(`${loader} still contains build placeholders ${[...new Set(unfilled)].join(", ")}: ` +
      `the asset build did not fill in the hashed file names.`);
  }
  return m;
}

export function requireChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium chromium-driver ` +
      `(or set CHROMIUM_PATH).`);
  }
  return CHROMIUM;
}
