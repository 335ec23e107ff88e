//! Publishes a browser bundle as a directory the relay serves as-is: the widget into
//! `target/assets/`, the agent console into `target/assets/console/`:
//!
//! - every file named by a content hash (`switchboard-widget.1a2b3c4d.wasm`), so it can be
//!   cached forever, except the stable entry (`widget.js` that pages embed by URL, the
//!   console's `index.html`);
//! - beside each, `.gz` (gzip -9) and `.br` (brotli 11) for `Content-Encoding` negotiation;
//! - `manifest.json`: logical name → published name and sizes (shape in [`Manifest`]).
//!
//! The wasm-bindgen glue's default `init()` URL is rewritten to the hashed wasm name. In text
//! files from `widget/assets/` (or `console/assets/`), `__SB_WASM__`, `__SB_JS__` (the glue)
//! and `__SB_CSS__` (`widget.css`, `console.css`) become the published names; the entry is
//! filled in last, so it can name everything else.
//!
//! The widget's budgets (brotli bytes) fail the build: the entry script, and what opening the
//! widget loads. The console has none; its sizes are only printed.

use crate::minify;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The widget's stable, unhashed script a customer's page includes.
pub const WIDGET_ENTRY: &str = "widget.js";
const ENTRY_BUDGET_BR: usize = 2048;
/// wasm + glue + css: everything fetched when a visitor opens the widget.
const ON_OPEN_BUDGET_BR: usize = 120 * 1024;

/// What the wasm pipeline produced, and where the hand-written assets are.
pub struct Inputs {
    /// The optimised module.
    pub wasm: PathBuf,
    /// wasm-bindgen's `--target web` ES module.
    pub glue: PathBuf,
    /// The wasm file name the glue's `init()` fetches by default.
    pub wasm_default_name: String,
    /// Logical names are `<stem>.wasm` and `<stem>.js`.
    pub logical_stem: String,
    /// `widget/assets/`; may be absent.
    pub extra_dir: PathBuf,
    /// terser's CLI, to minify the glue and the hand-written scripts.
    pub terser: PathBuf,
    /// The unhashed entry file in `extra_dir` (`widget.js`, the console's `index.html`),
    /// published last so its placeholders can name every other file.
    pub entry: &'static str,
    /// The logical name `__SB_CSS__` stands for (`widget.css`, `console.css`).
    pub css: &'static str,
    /// Whether the widget's size budgets apply (the console has none; it only prints).
    pub budgets: bool,
    /// Scratch space for staging and minifying (outside the served directory).
    pub work_dir: PathBuf,
}

/// `manifest.json`.
#[derive(Serialize)]
struct Manifest {
    /// The unhashed entry (`widget.js`, `index.html`), when the assets have one.
    entry: Option<String>,
    /// Published name of the wasm module, to pass to the glue's `init({ module_or_path })`.
    wasm: String,
    /// Published name of the wasm-bindgen ES module (exports `default` = init, and `mount`).
    glue: String,
    /// Logical name (`widget.css`) → the published file and its sizes.
    files: BTreeMap<String, Entry>,
    /// Brotli bytes fetched when the widget opens: wasm + glue + css.
    load_on_open_br: usize,
}

#[derive(Serialize)]
struct Entry {
    /// File name relative to the assets directory; `<file>.gz` and `<file>.br` sit beside it.
    file: String,
    /// True when the name carries a content hash: safe to cache as immutable.
    hashed: bool,
    bytes: usize,
    gzip: usize,
    br: usize,
}

/// Writes everything into `out`, replacing what was there, then checks the budgets.
pub fn publish(inputs: &Inputs, out: &Path) -> Result<()> {
    let staging = inputs.work_dir.join("partial");
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging)?;
    let mut files = BTreeMap::new();

    let wasm_logical = format!("{}.wasm", inputs.logical_stem);
    let wasm =
        fs::read(&inputs.wasm).with_context(|| format!("cannot read {}", inputs.wasm.display()))?;
    let wasm_file = write(&staging, &mut files, &wasm_logical, wasm, true)?;

    let glue_logical = format!("{}.js", inputs.logical_stem);
    let glue = fs::read_to_string(&inputs.glue)
        .with_context(|| format!("cannot read {}", inputs.glue.display()))?;
    let default_url = format!("'{}'", inputs.wasm_default_name);
    if glue.matches(&default_url).count() != 1 {
        bail!("the wasm-bindgen glue no longer names {default_url} exactly once; update assets.rs");
    }
    let glue = glue.replace(&default_url, &format!("'{wasm_file}'"));
    let scratch = inputs.work_dir.join("scratch");
    let glue = minify::minify(&inputs.terser, &scratch, "glue", &glue, true)?;
    let glue_file = write(&staging, &mut files, &glue_logical, glue.into_bytes(), true)?;

    let mut extra = list_files(&inputs.extra_dir)?;
    // The entry last, so its placeholders can name every other file.
    extra.sort_by_key(|name| name == inputs.entry);
    for logical in extra {
        let path = inputs.extra_dir.join(&logical);
        let mut bytes =
            fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if is_text(&logical) {
            let text = String::from_utf8(bytes).with_context(|| format!("{logical}: not UTF-8"))?;
            let mut text =
                fill_placeholders(&logical, &text, &inputs.logical_stem, inputs.css, &files)?;
            if logical.ends_with(".js") {
                text = minify::minify(
                    &inputs.terser,
                    &scratch,
                    &logical.replace('/', "_"),
                    &text,
                    false,
                )?;
            }
            bytes = text.into_bytes();
        }
        write(
            &staging,
            &mut files,
            &logical,
            bytes,
            logical != inputs.entry,
        )?;
    }

    let on_open: Vec<&String> = files
        .keys()
        .filter(|k| **k == wasm_logical || **k == glue_logical || k.ends_with(".css"))
        .collect();
    let load_on_open_br = on_open.iter().map(|k| files[*k].br).sum();
    let budget = inputs.budgets.then_some(ON_OPEN_BUDGET_BR);
    print_table(&files, &on_open, load_on_open_br, budget);

    let manifest = Manifest {
        entry: files
            .contains_key(inputs.entry)
            .then(|| inputs.entry.to_owned()),
        wasm: wasm_file,
        glue: glue_file,
        files,
        load_on_open_br,
    };
    fs::write(
        staging.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    let _ = fs::remove_dir_all(out);
    fs::rename(&staging, out)
        .with_context(|| format!("cannot move {} to {}", staging.display(), out.display()))?;
    println!("xtask: assets in {}", out.display());

    if inputs.budgets {
        check_budgets(&manifest)?;
    }
    Ok(())
}

/// Writes `bytes` (and its `.gz`, `.br`) under its published name, which it returns.
fn write(
    dir: &Path,
    files: &mut BTreeMap<String, Entry>,
    logical: &str,
    bytes: Vec<u8>,
    hashed: bool,
) -> Result<String> {
    let file = if hashed {
        hashed_name(logical, &bytes)
    } else {
        logical.to_owned()
    };
    let path = dir.join(&file);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let gz = gzip(&bytes)?;
    let br = brotli(&bytes)?;
    fs::write(&path, &bytes)?;
    fs::write(dir.join(format!("{file}.gz")), &gz)?;
    fs::write(dir.join(format!("{file}.br")), &br)?;
    let entry = Entry {
        file: file.clone(),
        hashed,
        bytes: bytes.len(),
        gzip: gz.len(),
        br: br.len(),
    };
    files.insert(logical.to_owned(), entry);
    Ok(file)
}

/// `dir/name.ext` → `dir/name.<first 8 hex digits of sha256>.ext`.
fn hashed_name(logical: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let (dir, name) = logical
        .rsplit_once('/')
        .map_or(("", logical), |(d, n)| (d, n));
    let name = match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    };
    if dir.is_empty() {
        name
    } else {
        format!("{dir}/{name}")
    }
}

/// The loader's placeholders and the logical names they stand for (`<stem>` is the crate's).
fn placeholders(stem: &str, css: &str) -> [(&'static str, String); 3] {
    [
        ("__SB_WASM__", format!("{stem}.wasm")),
        ("__SB_JS__", format!("{stem}.js")),
        ("__SB_CSS__", css.to_owned()),
    ]
}

/// Replaces each `__SB_*__` placeholder with the published name of its file.
fn fill_placeholders(
    file: &str,
    text: &str,
    stem: &str,
    css: &str,
    files: &BTreeMap<String, Entry>,
) -> Result<String> {
    let mut out = text.to_owned();
    for (token, logical) in placeholders(stem, css) {
        if out.contains(token) {
            let entry = files.get(&logical).with_context(|| {
                format!("{file} uses {token}, but {logical} is not published before it")
            })?;
            out = out.replace(token, &entry.file);
        }
    }
    // A leftover `__SB_NAME__` is a placeholder this build does not know (prose such as
    // `__SB_*__` in a comment is not one).
    for (at, _) in out.match_indices("__SB_") {
        let name: String = out[at + 5..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase())
            .collect();
        if !name.is_empty() && out[at + 5 + name.len()..].starts_with("__") {
            bail!("{file}: unknown placeholder __SB_{name}__ (known: __SB_WASM__, __SB_JS__, __SB_CSS__)");
        }
    }
    Ok(out)
}

fn is_text(name: &str) -> bool {
    [".js", ".mjs", ".css", ".html", ".json", ".svg"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Files under `dir`, as `/`-separated paths relative to it; none when `dir` is missing.
fn list_files(dir: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    if !dir.is_dir() {
        return Ok(found);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
                found.push(relative);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 24,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

fn print_table(
    files: &BTreeMap<String, Entry>,
    on_open: &[&String],
    on_open_br: usize,
    budget: Option<usize>,
) {
    println!(
        "{:<40} {:>10} {:>10} {:>10}",
        "asset", "raw", "gzip", "brotli"
    );
    for entry in files.values() {
        println!(
            "{:<40} {:>10} {:>10} {:>10}",
            entry.file, entry.bytes, entry.gzip, entry.br
        );
    }
    let sum = |f: fn(&Entry) -> usize| on_open.iter().map(|k| f(&files[*k])).sum::<usize>();
    let budget = budget.map_or_else(
        || "(no budget)".to_owned(),
        |b| format!("(budget {b} brotli)"),
    );
    println!(
        "{:<40} {:>10} {:>10} {:>10}   {budget}",
        "loaded on open (wasm + glue + css)",
        sum(|e| e.bytes),
        sum(|e| e.gzip),
        on_open_br,
    );
}

fn check_budgets(manifest: &Manifest) -> Result<()> {
    let mut over = Vec::new();
    match manifest.files.get(WIDGET_ENTRY) {
        Some(entry) if entry.br > ENTRY_BUDGET_BR => over.push(format!(
            "{WIDGET_ENTRY} is {} bytes brotli (budget {ENTRY_BUDGET_BR})",
            entry.br
        )),
        Some(_) => {}
        None => println!("xtask: note: widget/assets/{WIDGET_ENTRY} does not exist yet"),
    }
    if manifest.load_on_open_br > ON_OPEN_BUDGET_BR {
        over.push(format!(
            "wasm + glue + css is {} bytes brotli (budget {ON_OPEN_BUDGET_BR})",
            manifest.load_on_open_br
        ));
    }
    if !over.is_empty() {
        bail!("size budget exceeded: {}", over.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_keep_directory_and_extension() {
        let name = hashed_name("img/logo.svg", b"x");
        assert!(
            name.starts_with("img/logo.") && name.ends_with(".svg"),
            "{name}"
        );
        assert_eq!(name.len(), "img/logo..svg".len() + 8);
    }

    #[test]
    fn placeholders_name_published_files_and_unknown_ones_fail() {
        let mut files = BTreeMap::new();
        let entry = |file: &str| Entry {
            file: file.into(),
            hashed: true,
            bytes: 0,
            gzip: 0,
            br: 0,
        };
        files.insert("widget.css".to_owned(), entry("widget.0123abcd.css"));
        let filled =
            fill_placeholders("w.js", "a('__SB_CSS__')", "x", "widget.css", &files).unwrap();
        assert_eq!(filled, "a('widget.0123abcd.css')");
        assert!(fill_placeholders("w.js", "a('__SB_JS__')", "x", "widget.css", &files).is_err());
        assert!(fill_placeholders("w.js", "a('__SB_IMG__')", "x", "widget.css", &files).is_err());
        assert!(fill_placeholders("w.js", "/* __SB_*__ */", "x", "widget.css", &files).is_ok());
    }
}
