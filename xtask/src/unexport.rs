//! Drops `#[wasm_bindgen]` classes that a dependency exports but the widget never uses, before
//! wasm-bindgen sees the module.
//!
//! Leptos 0.8 always enables server_fn's `browser` feature, which pulls in `wasm-streams`; its
//! exported classes (`IntoUnderlyingSource`, `...Sink`, `...ByteSource`) are roots for the
//! linker and wasm-bindgen, so their code (futures' `Abortable`, stream adapters, ...) and
//! their JS classes ship although the widget calls no server function. A wasm-bindgen export
//! has two parts, and both go:
//! - the wasm exports (`__wbg_<class>_free_<hash>`, `<class>_<method>_<hash>` and their
//!   `__wbindgen_describe_...` descriptors);
//! - the class's programs in the `__wasm_bindgen_unstable` custom section (a run of
//!   `[len u32 LE][schema JSON]` `[len u32 LE][program]` pairs, one pair per macro use).
//!
//! wasm-bindgen's own GC then removes the code only they reached. A program that is dropped
//! while one of its exports stays (or the reverse) makes wasm-bindgen fail loudly.

use anyhow::{bail, Context, Result};

/// (crate name as wasm-bindgen records it, exported class)
pub const UNUSED_CLASSES: [(&str, &str); 3] = [
    ("wasm-streams", "IntoUnderlyingSource"),
    ("wasm-streams", "IntoUnderlyingSink"),
    ("wasm-streams", "IntoUnderlyingByteSource"),
];

const EXPORT_SECTION: u8 = 7;
const BINDGEN_SECTION: &str = "__wasm_bindgen_unstable";

/// What [`strip`] removed.
pub struct Stripped {
    pub exports: usize,
    pub programs: usize,
}

/// `module` without the exports and wasm-bindgen programs of [`UNUSED_CLASSES`].
pub fn strip(module: &[u8]) -> Result<(Vec<u8>, Stripped)> {
    if module.get(..8) != Some(b"\0asm\x01\0\0\0") {
        bail!("not a WebAssembly module");
    }
    let mut out = module[..8].to_vec();
    let mut stripped = Stripped {
        exports: 0,
        programs: 0,
    };
    let mut pos = 8;
    while pos < module.len() {
        let id = module[pos];
        let (size, body_start) = leb(module, pos + 1)?;
        let end = body_start + size;
        let body = module
            .get(body_start..end)
            .context("truncated wasm section")?;
        let new_body = match id {
            EXPORT_SECTION => Some(strip_exports(body, &mut stripped.exports)?),
            0 => {
                let (name_len, name_start) = leb(body, 0)?;
                let name = &body[name_start..name_start + name_len];
                if name == BINDGEN_SECTION.as_bytes() {
                    let header = &body[..name_start + name_len];
                    let programs = strip_programs(&body[header.len()..], &mut stripped.programs)?;
                    Some([header, &programs].concat())
                } else {
                    None
                }
            }
            _ => None,
        };
        match new_body {
            Some(b) => {
                out.push(id);
                put_leb(&mut out, b.len());
                out.extend_from_slice(&b);
            }
            None => out.extend_from_slice(&module[pos..end]),
        }
        pos = end;
    }
    // Either both parts of a class go or none (a module that no longer has the classes).
    if (stripped.exports == 0) != (stripped.programs == 0) {
        bail!(
            "removed {} exports but {} wasm-bindgen programs of {UNUSED_CLASSES:?}; \
             the module layout changed (xtask/src/unexport.rs)",
            stripped.exports,
            stripped.programs
        );
    }
    Ok((out, stripped))
}

/// Whether an export belongs to an unused class: `[__wbg_|__wbindgen_describe_]<class>_...`
/// with the class name in lower case, as wasm-bindgen mangles it.
fn is_unused_export(name: &str) -> bool {
    let rest = name
        .strip_prefix("__wbg_")
        .or_else(|| name.strip_prefix("__wbindgen_describe_"))
        .unwrap_or(name);
    UNUSED_CLASSES.iter().any(|(_, class)| {
        rest.len() > class.len()
            && rest.as_bytes()[class.len()] == b'_'
            && rest[..class.len()].eq_ignore_ascii_case(class)
    })
}

fn strip_exports(body: &[u8], removed: &mut usize) -> Result<Vec<u8>> {
    let (count, mut pos) = leb(body, 0)?;
    let mut kept = Vec::new();
    let mut kept_count = 0;
    for _ in 0..count {
        let start = pos;
        let (name_len, name_start) = leb(body, pos)?;
        let name = std::str::from_utf8(
            body.get(name_start..name_start + name_len)
                .context("truncated export name")?,
        )?;
        // kind byte, then the index
        let (_, next) = leb(body, name_start + name_len + 1)?;
        pos = next;
        if is_unused_export(name) {
            *removed += 1;
        } else {
            kept.extend_from_slice(&body[start..pos]);
            kept_count += 1;
        }
    }
    let mut out = Vec::new();
    put_leb(&mut out, kept_count);
    out.extend_from_slice(&kept);
    Ok(out)
}

/// Keeps each (schema, program) pair unless the program is a struct or export of an unused
/// class: it names the class (length-prefixed) and the defining crate (`<crate>-<hash>`).
fn strip_programs(data: &[u8], removed: &mut usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while !rest.is_empty() {
        let (schema, after_schema) = blob(rest)?;
        let (program, after_program) = blob(after_schema)?;
        let unused = UNUSED_CLASSES.iter().any(|(krate, class)| {
            let mut class_name = vec![class.len() as u8];
            class_name.extend_from_slice(class.as_bytes());
            let krate = format!("{krate}-");
            contains(program, &class_name) && contains(program, krate.as_bytes())
        });
        if unused {
            *removed += 1;
        } else {
            out.extend_from_slice(&rest[..4 + schema.len() + 4 + program.len()]);
        }
        rest = after_program;
    }
    Ok(out)
}

fn blob(data: &[u8]) -> Result<(&[u8], &[u8])> {
    let len = data
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .context("truncated wasm-bindgen section")?;
    let body = data
        .get(4..4 + len)
        .context("truncated wasm-bindgen section")?;
    Ok((body, &data[4 + len..]))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An unsigned LEB128 at `pos`: (value, position after it).
fn leb(bytes: &[u8], mut pos: usize) -> Result<(usize, usize)> {
    let mut value = 0usize;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(pos).context("truncated wasm module")?;
        pos += 1;
        value |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok((value, pos));
        }
    }
    bail!("malformed LEB128 in wasm module")
}

fn put_leb(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let b = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::is_unused_export;

    #[test]
    fn matches_only_the_unused_classes() {
        assert!(is_unused_export("__wbg_intounderlyingsource_free_58a9"));
        assert!(is_unused_export("intounderlyingsink_write_58a9"));
        assert!(is_unused_export(
            "__wbindgen_describe_intounderlyingbytesource_pull_58a9"
        ));
        assert!(!is_unused_export(
            "__wbindgen_describe___wbg_new_with_into_underlying_source_10a8"
        ));
        assert!(!is_unused_export("__wbg_widgethandle_free"));
        assert!(!is_unused_export("mount"));
    }
}
