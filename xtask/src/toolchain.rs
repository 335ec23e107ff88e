//! Which toolchain builds for `wasm32-unknown-unknown` on this machine.
//!
//! rustup's toolchain is used when it has the wasm32 standard library. Where it does not (and
//! `rustup target add` cannot download one), Debian's `rustc-web` compiles std from the exact
//! source in `rust-web-src` (`-Zbuild-std`) and rustup's `rust-lld` links; see
//! `shared/notes/wasm-toolchain.md` for why each piece is needed.

use crate::{run_checked, Workspace};
use anyhow::{bail, Context, Result};
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The Debian packages of the fallback route: compiler, cargo, and std's source.
const DEBIAN_PACKAGES: [&str; 3] = ["rustc-web", "cargo-web", "rust-web-src"];

/// A toolchain that can compile the widget to wasm32.
pub enum Toolchain {
    /// rustup's cargo (the one running xtask) with a prebuilt wasm32 std.
    Rustup,
    /// Debian's cargo and rustc, std built from source, linked by `lld` from rustup.
    Debian { lld: PathBuf },
}

impl Toolchain {
    /// Prefers rustup's wasm32 std; otherwise installs and uses the Debian route.
    pub fn detect() -> Result<Self> {
        if rustup_has_wasm_std()? {
            return Ok(Self::Rustup);
        }
        println!(
            "xtask: rustup has no {WASM_TARGET} std; using Debian's rustc-web (std from source)"
        );
        ensure_debian_packages()?;
        Ok(Self::Debian { lld: rust_lld()? })
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Self::Rustup => "rustup toolchain with prebuilt wasm32 std",
            Self::Debian { .. } => "Debian rustc-web, std built from source",
        }
    }

    /// `cargo <args>` for the wasm32 target, writing into `target_dir`. The environment is set
    /// here and nowhere else, so the native build never sees any of it.
    pub fn cargo(&self, ws: &Workspace, target_dir: &Path, args: &[&str]) -> Command {
        let mut cmd = match self {
            Self::Rustup => Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into())),
            Self::Debian { .. } => Command::new("/usr/bin/cargo"),
        };
        cmd.current_dir(&ws.root)
            .env("CARGO_TARGET_DIR", target_dir)
            // Flags meant for the native build (e.g. -Ctarget-cpu=native) break wasm32.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .args(args)
            .args(["--target", WASM_TARGET]);
        if let Self::Debian { lld } = self {
            // ~/.cargo/bin comes first on PATH, so Debian's rustc is named explicitly;
            // RUSTC_BOOTSTRAP allows -Zbuild-std on this stable compiler.
            cmd.env("RUSTC", "/usr/bin/rustc")
                .env_remove("RUSTDOC")
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", lld)
                // std is compiled here anyway, so it can be compiled for size: panics trap
                // at once (no message, no formatting or location data linked in) and std's
                // `optimize_for_size` picks its smaller algorithms. Only the target's crates
                // see RUSTFLAGS when `--target` is given; build scripts stay native.
                .env("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort")
                .arg("-Zbuild-std=std,panic_abort")
                .arg("-Zbuild-std-features=optimize_for_size");
        }
        cmd
    }
}

/// True when the rustc next to the running cargo has a wasm32 std installed.
fn rustup_has_wasm_std() -> Result<bool> {
    let out = Command::new(rustc())
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .context("could not run `rustc --print target-libdir`")?;
    if !out.status.success() {
        return Ok(false);
    }
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_std = std::fs::read_dir(&libdir)
        .map(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("libstd-") && name.ends_with(".rlib")
            })
        })
        .unwrap_or(false);
    Ok(has_std)
}

/// rustup's rustc (its `rust-lld` links what Debian's rustc compiles).
fn rustc() -> std::ffi::OsString {
    env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())
}

/// `<rustup sysroot>/lib/rustlib/<host>/bin/rust-lld`.
fn rust_lld() -> Result<PathBuf> {
    let sysroot = rustc_print(&["--print", "sysroot"])?;
    let version = rustc_print(&["-vV"])?;
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .context("`rustc -vV` printed no host triple")?;
    let lld = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin")
        .join(crate::exe("rust-lld"));
    if !lld.is_file() {
        bail!(
            "{} not found: the rustup toolchain has no rust-lld",
            lld.display()
        );
    }
    Ok(lld)
}

fn rustc_print(args: &[&str]) -> Result<String> {
    let out = Command::new(rustc())
        .args(args)
        .output()
        .with_context(|| format!("could not run `rustc {}`", args.join(" ")))?;
    if !out.status.success() {
        bail!("`rustc {}` failed ({})", args.join(" "), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Installs the Debian packages that are missing; needs root and apt-get.
fn ensure_debian_packages() -> Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .into_iter()
        .filter(|p| !deb_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing).with_context(|| {
        format!(
            "no wasm32 toolchain: install `rustup target add {WASM_TARGET}`, or as root \
             `apt-get install {}` (Debian bookworm-security)",
            DEBIAN_PACKAGES.join(" ")
        )
    })
}

/// Whether dpkg reports `package` as installed.
pub fn deb_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| o.status.success() && o.stdout.ends_with(b"install ok installed"))
        .unwrap_or(false)
}

/// `apt-get update && apt-get install -y --no-install-recommends <packages>`, printed first.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    if !is_root() {
        bail!("missing Debian packages {packages:?}, and not running as root to install them");
    }
    if Command::new("apt-get").arg("--version").output().is_err() {
        bail!("missing Debian packages {packages:?}, and there is no apt-get to install them");
    }
    println!("xtask: apt-get update");
    run_checked(Command::new("apt-get").args(["update", "-q"]))?;
    println!(
        "xtask: apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    run_checked(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages),
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}
