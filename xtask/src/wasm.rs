//! The wasm pipeline of the widget and the console: `cargo build` for wasm32, [`unexport`] (drops dependencies' unused
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

/// Defined in the root Cargo.toml: release, tuned for size.
const PROFILE: &str = "wasm-release";
/// The `wasm-bindgen-cli-support` pinned in xtask/Cargo.toml. wasm-bindgen refuses a module
/// made by another version of the `wasm-bindgen` crate, so Cargo.lock must say the same.
const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// One browser bundle: a cdylib crate and where its files go.
pub struct Bundle {
    pub package: &'static str,
    /// The cargo artifact's file stem, and wasm-bindgen's output stem.
    pub stem: &'static str,
    /// Logical names of the published wasm and glue (`<logical>.wasm`, `<logical>.js`).
    pub logical: &'static str,
    /// Hand-written files (loader, CSS, HTML), relative to the repository root.
    pub assets: &'static str,
    /// The unhashed entry among them.
    pub entry: &'static str,
    pub css: &'static str,
    /// Output directory, relative to the target directory.
    pub out: &'static str,
    /// Whether the widget's size budgets apply.
    pub budgets: bool,
}

/// The visitor widget: `target/assets/`, with budgets.
pub const WIDGET: Bundle = Bundle {
    package: "switchboard-widget",
    stem: "switchboard_widget",
    logical: "switchboard-widget",
    assets: "widget/assets",
    entry: assets::WIDGET_ENTRY,
    css: "widget.css",
    out: "assets",
    budgets: true,
};

/// The agent console: `target/assets/console/` (published after the widget, whose
/// publishing replaces `target/assets/`), sizes printed, no budget.
pub const CONSOLE: Bundle = Bundle {
    package: "switchboard-console",
    stem: "switchboard_console",
    logical: "console",
    assets: "console/assets",
    entry: "index.html",
    css: "console.css",
    out: "assets/console",
    budgets: false,
};

/// Builds `bundle` and publishes it with its hand-written assets.
pub fn build(ws: &Workspace, bundle: &Bundle) -> Result<()> {
    let wasm_dir = ws.target_dir.join("wasm");
    let started = Instant::now();
    let Bundle { package, stem, .. } = bundle;

    check_wasm_bindgen_lock(ws)?;
    let toolchain = Toolchain::detect()?;
    println!(
        "xtask: building {package} for {WASM_TARGET} ({})",
        toolchain.describe()
    );
    let step = Instant::now();
    crate::run_checked(&mut toolchain.cargo(
        ws,
        &wasm_dir,
        &["build", "--profile", PROFILE, "-p", package],
    ))?;
    let built = wasm_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(format!("{stem}.wasm"));
    println!("xtask: cargo build: {:.1}s", step.elapsed().as_secs_f64());

    // The widget keeps its historical directory names.
    let suffix = if bundle.budgets {
        String::new()
    } else {
        format!("-{}", bundle.logical)
    };
    let processed = wasm_dir.join(format!("processed{suffix}"));
    bindgen_and_optimise(ws, stem, &built, &processed)?;

    assets::publish(
        &assets::Inputs {
            wasm: processed.join(format!("{stem}_bg.wasm")),
            glue: processed.join(format!("{stem}.js")),
            wasm_default_name: format!("{stem}_bg.wasm"),
            logical_stem: bundle.logical.to_owned(),
            extra_dir: ws.root.join(bundle.assets),
            terser: minify::ensure(&ws.target_dir)?,
            entry: bundle.entry,
            css: bundle.css,
            budgets: bundle.budgets,
            work_dir: wasm_dir.join(format!("publish-{}", bundle.logical)),
        },
        &ws.target_dir.join(bundle.out),
    )?;
    println!(
        "xtask: {package} built in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// wasm-bindgen then wasm-opt, skipped when the cargo artifact and the tool versions are
/// what produced the files already in `out`.
fn bindgen_and_optimise(ws: &Workspace, stem: &str, built: &Path, out: &Path) -> Result<()> {
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
    let bindgen_dir = out.with_file_name(match out.file_name().and_then(|n| n.to_str()) {
        Some("processed") | None => "bindgen".to_owned(),
        Some(name) => name.replacen("processed", "bindgen", 1),
    });
    let _ = fs::remove_dir_all(&bindgen_dir);
    wasm_bindgen_cli_support::Bindgen::new()
        .input_bytes(stem, bytes)
        .web(true)?
        .typescript(false)
        // Keep `new URL('<stem>_bg.wasm', import.meta.url)` as init()'s default;
        // assets.rs points it at the hashed name.
        .omit_default_module_path(false)
        .generate(&bindgen_dir)
        .context("wasm-bindgen failed")?;
    if bindgen_dir.join("snippets").exists() {
        bail!(
            "{stem} now uses JS snippets (#[wasm_bindgen(module/inline_js)]); \
             xtask/src/assets.rs does not publish them yet"
        );
    }
    println!("xtask: wasm-bindgen: {:.1}s", step.elapsed().as_secs_f64());

    let step = Instant::now();
    let wasm_opt = wasm_opt::ensure(ws)?;
    let _ = fs::remove_dir_all(out);
    fs::create_dir_all(out)?;
    let name = format!("{stem}_bg.wasm");
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
        bindgen_dir.join(format!("{stem}.js")),
        out.join(format!("{stem}.js")),
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
