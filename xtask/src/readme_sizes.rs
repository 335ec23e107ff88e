//! The README's widget size table is the build's own figures: `cargo xtask test` compares it
//! with `target/assets/manifest.json` and fails with the table to paste when they differ, so
//! the README cannot drift from what the build prints.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::Path;

const BEGIN: &str =
    "<!-- sizes: checked by `cargo xtask test` against the build; paste what it prints when they change -->";
const END: &str = "<!-- /sizes -->";

/// The table as it must stand in the README, from the widget's manifest.
pub fn table(manifest: &serde_json::Value) -> Result<String> {
    let files = &manifest["files"];
    let row = |label: &str, logical: &str| -> Result<(String, [u64; 3])> {
        let f = &files[logical];
        let n = |k: &str| {
            f[k].as_u64()
                .with_context(|| format!("manifest: no {k} for {logical}"))
        };
        let sizes = [n("bytes")?, n("gzip")?, n("br")?];
        Ok((label.to_owned(), sizes))
    };
    let loader = row("`widget.js` (loader, on every page)", "widget.js")?;
    let parts = [
        row("widget `.wasm`", "switchboard-widget.wasm")?,
        row("JS glue", "switchboard-widget.js")?,
        row("CSS", "widget.css")?,
    ];
    let mut total = [0u64; 3];
    for (_, s) in &parts {
        for (t, v) in total.iter_mut().zip(s) {
            *t += v;
        }
    }
    let mut out = String::from("| File | raw | gzip | brotli |\n|---|---|---|---|\n");
    for (label, [raw, gz, br]) in std::iter::once(&loader).chain(&parts) {
        out += &format!(
            "| {label} | {} | {} | {} |\n",
            sep(*raw),
            sep(*gz),
            sep(*br)
        );
    }
    out += &format!(
        "| **fetched on open** | {} | {} | **{}** |\n",
        sep(total[0]),
        sep(total[1]),
        sep(total[2])
    );
    Ok(out)
}

/// `121582` → `121,582`.
fn sep(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Fails when the README's table (between the markers) is not the build's.
pub fn check(readme: &Path, manifest: &Path) -> Result<()> {
    let text =
        fs::read_to_string(readme).with_context(|| format!("reading {}", readme.display()))?;
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?,
    )?;
    let want = table(&manifest)?;
    let (Some(a), Some(b)) = (text.find(BEGIN), text.find(END)) else {
        bail!("README.md has no size table between `{BEGIN}` and `{END}`");
    };
    let have = text[a + BEGIN.len()..b].trim_start_matches('\n');
    if have != want {
        bail!(
            "README.md's widget size table differs from what this build printed; \
             replace the lines between the markers with:\n{want}"
        );
    }
    println!("xtask: README size table matches the build");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_sums_what_opening_fetches_and_groups_thousands() {
        let m = serde_json::json!({"files": {
            "widget.js": {"bytes": 4634, "gzip": 2300, "br": 1984},
            "switchboard-widget.wasm": {"bytes": 354260, "gzip": 143675, "br": 114524},
            "switchboard-widget.js": {"bytes": 16353, "gzip": 5228, "br": 4454},
            "widget.css": {"bytes": 10249, "gzip": 3096, "br": 2604},
        }});
        let t = table(&m).unwrap();
        assert!(t.contains("| `widget.js` (loader, on every page) | 4,634 | 2,300 | 1,984 |"));
        assert!(t.ends_with("| **fetched on open** | 380,862 | 151,999 | **121,582** |\n"));
        assert_eq!(sep(999), "999");
        assert_eq!(sep(1000), "1,000");
    }
}
