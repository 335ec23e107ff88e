//! `wasm-opt` from the npm package `binaryen`, installed into `target/tools/` when missing.
//!
//! Debian's `binaryen` (108) is too old: it silently emits a module that fails at `init()`
//! (it exports the wrong table for wasm-bindgen's externrefs). npm has the current release.

use crate::toolchain::{apt_install, deb_installed};
use crate::{run_checked, Workspace};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The npm `binaryen` release used; bump deliberately, then check the widget still loads.
pub const BINARYEN_VERSION: &str = "132.0.0";

/// The optimisation passes, in order. Merging identical and near-identical functions first
/// (Leptos' view code is many small monomorphisations) and iterating -Oz until it stops
/// shrinking: 106929 -> 104800 bytes brotli on the widget, for ~10 s more. A second -Oz,
/// or --gufa, was larger.
pub const PASSES: &[&str] = &[
    "--duplicate-function-elimination",
    "--merge-similar-functions",
    "-Oz",
    "--converge",
];

/// Path to a `wasm-opt` of [`BINARYEN_VERSION`], installing it first if needed.
pub fn ensure(ws: &Workspace) -> Result<PathBuf> {
    let prefix = ws.target_dir.join("tools").join("binaryen");
    let package = prefix.join("node_modules").join("binaryen");
    let wasm_opt = package.join("bin").join("wasm-opt");
    if wasm_opt.is_file() && installed_version(&package).as_deref() == Some(BINARYEN_VERSION) {
        return Ok(wasm_opt);
    }
    ensure_npm()?;
    println!(
        "xtask: npm install --prefix {} binaryen@{BINARYEN_VERSION}",
        prefix.display()
    );
    std::fs::create_dir_all(&prefix)?;
    run_checked(
        Command::new("npm")
            .args(["install", "--prefix"])
            .arg(&prefix)
            .args(["--no-audit", "--no-fund", "--no-save", "--loglevel=error"])
            .arg(format!("binaryen@{BINARYEN_VERSION}")),
    )?;
    if !wasm_opt.is_file() {
        bail!(
            "npm installed binaryen, but {} is missing",
            wasm_opt.display()
        );
    }
    Ok(wasm_opt)
}

/// Optimises `input` for size into `output`, enabling exactly the features rustc used.
pub fn run(wasm_opt: &Path, input: &Path, output: &Path, features: &[String]) -> Result<()> {
    let mut cmd = Command::new(wasm_opt);
    cmd.arg(input).arg("-o").arg(output).args(PASSES);
    for feature in features {
        cmd.arg(format!("--enable-{}", binaryen_feature(feature)));
    }
    // Names and producers are for debugging; nothing after this step reads target_features.
    cmd.args([
        "--strip-debug",
        "--strip-producers",
        "--strip-target-features",
    ]);
    run_checked(&mut cmd)
}

/// LLVM's name for a wasm feature, spelled as binaryen's `--enable-*` flag wants it.
fn binaryen_feature(llvm: &str) -> &str {
    match llvm {
        "nontrapping-fptoint" => "nontrapping-float-to-int",
        other => other,
    }
}

fn installed_version(package: &Path) -> Option<String> {
    let json = std::fs::read_to_string(package.join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&json).ok()?;
    Some(json.get("version")?.as_str()?.to_owned())
}

/// npm itself: present on most machines with Node; otherwise Debian's `npm` package.
fn ensure_npm() -> Result<()> {
    if Command::new("npm").arg("--version").output().is_ok() {
        return Ok(());
    }
    if deb_installed("npm") {
        bail!("Debian's npm is installed but `npm` does not run");
    }
    apt_install(&["npm"]).context("npm is needed to install binaryen (wasm-opt)")
}
