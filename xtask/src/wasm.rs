//! The widget pipeline: `cargo build` for wasm32, [`unexport`] (drops dependencies' unused
//! `#[wasm_bindgen]` classes), wasm-bindgen (`--target web`), `wasm-opt`
//! ([`wasm_opt::PASSES`]),
//! then [`assets::publish`] into `target/assets/`.
//!
//! Everything wasm lives under `target/wasm/`, apart from the native build: a different
//! compiler (on the Debian route), target and profile would otherwise fight over one cache.

use crate::toolchain::{Toolchain, WASM_TARGET};
use crate::{assets, minify, unexport, wasm_opt, Workspace};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::Path;
use std::time::Instant;

const PACKAGE: &str = "switchboard-widget";
/// The cargo artifact's file stem, and wasm-bindgen's output stem.
const STEM: &str = "switchboard_widget";
/// Defined in the root Cargo.toml: release, tuned for size.
const PROFILE: &str = "wasm-release";
/// The `wasm-bindgen-cli-support` pinned in xtask/Cargo.toml. wasm-bindgen refuses a module
/// made by another version of the `wasm-bindgen` crate, so Cargo.lock must say the same.
const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// Builds the widget and publishes it with `widget/assets/` into `<target>/assets/`.
pub fn build_widget(ws: &Workspace) -> Result<()> {
    let wasm_dir = ws.target_dir.join("wasm");
    let started = Instant::now();

    check_wasm_bindgen_lock(ws)?;
    let toolchain = Toolchain::detect()?;
    println!(
        "xtask: building {PACKAGE} for {WASM_TARGET} ({})",
        toolchain.describe()
    );
    let step = Instant::now();
    crate::run_checked(&mut toolchain.cargo(
        ws,
        &wasm_dir,
        &["build", "--profile", PROFILE, "-p", PACKAGE],
    ))?;
    let built = wasm_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(format!("{STEM}.wasm"));
    println!("xtask: cargo build: {:.1}s", step.elapsed().as_secs_f64());

    let processed = wasm_dir.join("processed");
    bindgen_and_optimise(ws, &built, &processed)?;

    assets::publish(
        &assets::Inputs {
            wasm: processed.join(format!("{STEM}_bg.wasm")),
            glue: processed.join(format!("{STEM}.js")),
            wasm_default_name: format!("{STEM}_bg.wasm"),
            logical_stem: PACKAGE.to_owned(),
            extra_dir: ws.root.join("widget").join("assets"),
            terser: minify::ensure(&ws.target_dir)?,
        },
        &ws.target_dir.join("assets"),
    )?;
    println!(
        "xtask: widget built in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// wasm-bindgen then wasm-opt, skipped when the cargo artifact and the tool versions are
/// what produced the files already in `out`.
fn bindgen_and_optimise(ws: &Workspace, built: &Path, out: &Path) -> Result<()> {
    let bytes = fs::read(built).with_context(|| format!("cannot read {}", built.display()))?;
    let stamp = {
        let mut h = Sha256::new();
        h.update(&bytes);
        h.update(format!(
            "wasm-bindgen {} binaryen {} {:?} unexport {:?}",
            WASM_BINDGEN_VERSION,
            wasm_opt::BINARYEN_VERSION,
            wasm_opt::PASSES,
            unexport::UNUSED_CLASSES,
        ));
        format!("{:x}", h.finalize())
    };
    let stamp_file = out.join("stamp");
    if fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
        println!("xtask: wasm unchanged; reusing wasm-bindgen and wasm-opt output");
        return Ok(());
    }
    let features = target_features(&bytes)?;
    let (bytes, stripped) = unexport::strip(&bytes)?;
    println!(
        "xtask: dropped {} exports and {} wasm-bindgen programs of unused classes",
        stripped.exports, stripped.programs
    );

    let step = Instant::now();
    let bindgen_dir = out.with_file_name("bindgen");
    let _ = fs::remove_dir_all(&bindgen_dir);
    wasm_bindgen_cli_support::Bindgen::new()
        .input_bytes(STEM, bytes)
        .web(true)?
        .typescript(false)
        // Keep `new URL('<stem>_bg.wasm', import.meta.url)` as init()'s default;
        // assets.rs points it at the hashed name.
        .omit_default_module_path(false)
        .generate(&bindgen_dir)
        .context("wasm-bindgen failed")?;
    if bindgen_dir.join("snippets").exists() {
        bail!(
            "the widget now uses JS snippets (#[wasm_bindgen(module/inline_js)]); \
             xtask/src/assets.rs does not publish them yet"
        );
    }
    println!("xtask: wasm-bindgen: {:.1}s", step.elapsed().as_secs_f64());

    let step = Instant::now();
    let wasm_opt = wasm_opt::ensure(ws)?;
    let _ = fs::remove_dir_all(out);
    fs::create_dir_all(out)?;
    let name = format!("{STEM}_bg.wasm");
    println!(
        "xtask: wasm-opt {} (features: {})",
        wasm_opt::PASSES.join(" "),
        features.join(", ")
    );
    wasm_opt::run(
        &wasm_opt,
        &bindgen_dir.join(&name),
        &out.join(&name),
        &features,
    )?;
    fs::copy(
        bindgen_dir.join(format!("{STEM}.js")),
        out.join(format!("{STEM}.js")),
    )?;
    println!("xtask: wasm-opt: {:.1}s", step.elapsed().as_secs_f64());
    fs::write(stamp_file, stamp)?;
    Ok(())
}

/// Fails early, with the fix, when the widget's wasm-bindgen and ours differ.
fn check_wasm_bindgen_lock(ws: &Workspace) -> Result<()> {
    let lock = fs::read_to_string(ws.root.join("Cargo.lock")).context("cannot read Cargo.lock")?;
    let locked: Vec<&str> = lock
        .split("[[package]]")
        .filter(|p| p.contains("\nname = \"wasm-bindgen\"\n"))
        .filter_map(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"'))
        .collect();
    if locked != [WASM_BINDGEN_VERSION] {
        bail!(
            "Cargo.lock has wasm-bindgen {locked:?} but xtask uses wasm-bindgen-cli-support \
             {WASM_BINDGEN_VERSION}; pin both (widget/Cargo.toml, xtask/Cargo.toml) to one version"
        );
    }
    Ok(())
}

/// The features rustc enabled, from the module's `target_features` custom section (LLVM
/// names, e.g. `bulk-memory`); wasm-opt must be allowed every one of them.
fn target_features(module: &[u8]) -> Result<Vec<String>> {
    let mut r = Reader {
        bytes: module,
        pos: 8,
    };
    if module.get(..4) != Some(b"\0asm") {
        bail!("not a WebAssembly module");
    }
    while r.pos < module.len() {
        let id = r.byte()?;
        let size = r.leb()?;
        let end = r.pos + size;
        if id == 0 && r.name()? == "target_features" {
            let mut features = Vec::new();
            for _ in 0..r.leb()? {
                let prefix = r.byte()?;
                let name = r.name()?;
                if prefix == b'+' {
                    features.push(name);
                }
            }
            return Ok(features);
        }
        r.pos = end;
    }
    bail!("the module has no target_features section (is the wasm profile stripping it?)")
}

/// Just enough of the wasm binary format to walk sections.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.pos).context("truncated wasm module")?;
        self.pos += 1;
        Ok(b)
    }

    fn leb(&mut self) -> Result<usize> {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            value |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("malformed LEB128 in wasm module")
    }

    fn name(&mut self) -> Result<String> {
        let len = self.leb()?;
        let bytes = self
            .bytes
            .get(self.pos..self.pos + len)
            .context("truncated wasm module")?;
        self.pos += len;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}
