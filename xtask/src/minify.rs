//! JavaScript minification with `terser` from npm, installed into `target/tools/` when
//! missing. The loader has a 2 KB brotli budget and is written to be read, so the build
//! minifies it (and the wasm-bindgen glue) rather than the source being written minified.

use crate::run_checked;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The npm `terser` release used.
pub const TERSER_VERSION: &str = "5.51.4";

/// Path to terser's CLI script, installing it first if needed.
pub fn ensure(target_dir: &Path) -> Result<PathBuf> {
    let prefix = target_dir.join("tools").join("terser");
    let cli = prefix
        .join("node_modules")
        .join("terser")
        .join("bin")
        .join("terser");
    let version_ok = fs::read_to_string(prefix.join("node_modules/terser/package.json"))
        .map(|p| p.contains(&format!("\"version\": \"{TERSER_VERSION}\"")))
        .unwrap_or(false);
    if cli.is_file() && version_ok {
        return Ok(cli);
    }
    println!(
        "xtask: npm install --prefix {} terser@{TERSER_VERSION}",
        prefix.display()
    );
    fs::create_dir_all(&prefix)?;
    run_checked(
        Command::new("npm")
            .args(["install", "--prefix"])
            .arg(&prefix)
            .args(["--no-audit", "--no-fund", "--no-save", "--loglevel=error"])
            .arg(format!("terser@{TERSER_VERSION}")),
    )?;
    if !cli.is_file() {
        bail!("npm installed terser, but {} is missing", cli.display());
    }
    Ok(cli)
}

/// Minifies `source` (compress + mangle). `module` for ES modules (the glue), otherwise a
/// classic script (the loader: its top-level names stay inside its own function).
pub fn minify(
    terser: &Path,
    scratch: &Path,
    name: &str,
    source: &str,
    module: bool,
) -> Result<String> {
    fs::create_dir_all(scratch)?;
    let input = scratch.join(format!("{name}.in.js"));
    let output = scratch.join(format!("{name}.min.js"));
    fs::write(&input, source)?;
    let mut cmd = Command::new("node");
    cmd.arg(terser)
        .arg(&input)
        .args(["--compress", "--mangle", "--ecma", "2020", "-o"])
        .arg(&output);
    if module {
        cmd.arg("--module");
    }
    run_checked(&mut cmd)?;
    fs::read_to_string(&output).with_context(|| format!("terser wrote no {}", output.display()))
}
