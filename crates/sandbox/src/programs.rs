//! Which program plays each part: rovn's or Debian's, and where rovn's
//! binaries are found (or built).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::tool;

/// Who implements a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// rovn's binary (`rovsdb-server`, `rovn-northd`, `rovn-controller`).
    Ours,
    /// Debian 12's (`ovsdb-server`, `ovn-northd`, `ovn-controller`).
    Debian,
}

/// A part of the deployment that either implementation can play. The
/// command lines are the same for both: rovn's daemons take their
/// Open vSwitch counterparts' options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Component {
    DbServer,
    Northd,
    Controller,
}

impl Component {
    pub fn program_name(self, imp: Impl) -> &'static str {
        match (self, imp) {
            (Component::DbServer, Impl::Ours) => "rovsdb-server",
            (Component::DbServer, Impl::Debian) => "ovsdb-server",
            (Component::Northd, Impl::Ours) => "rovn-northd",
            (Component::Northd, Impl::Debian) => "ovn-northd",
            (Component::Controller, Impl::Ours) => "rovn-controller",
            (Component::Controller, Impl::Debian) => "ovn-controller",
        }
    }

    /// The cargo package that builds rovn's binary.
    fn package(self) -> &'static str {
        match self {
            Component::DbServer => "ovsdb-server",
            Component::Northd => "ovn-northd",
            Component::Controller => "ovn-controller",
        }
    }
}

/// Where rovn's binaries come from.
#[derive(Clone, Debug)]
pub enum OursFrom {
    /// A directory holding them, e.g. `target/release` beside
    /// `rovn-sandbox` itself.
    Dir(PathBuf),
    /// Built on demand with `cargo build -p PACKAGE --bin NAME` in the
    /// workspace at the given manifest, into the target directory and
    /// profile of the running executable. For tests: cargo only builds the
    /// binaries of the package under test, and this also keeps a stale
    /// binary from being tested.
    Cargo { workspace_manifest: PathBuf },
}

/// Resolves program names to paths.
#[derive(Clone, Debug)]
pub struct Programs {
    ours_from: OursFrom,
    /// Explicit paths, checked first (e.g. `CARGO_BIN_EXE_rovsdb-server`).
    overrides: HashMap<Component, PathBuf>,
}

/// Binaries already built by this process, so each `cargo build` runs once.
static BUILT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A first build of the server from a clean clone takes minutes on two
/// cores; a no-op one takes a second.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1200);

impl Programs {
    /// rovn's binaries beside the running executable (how `scripts/sandbox`
    /// lays them out), or in `$ROVN_BIN_DIR` when set.
    pub fn beside_current_exe() -> Result<Programs> {
        let dir = match std::env::var_os("ROVN_BIN_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_exe()?.parent().context("executable has no directory")?.to_path_buf(),
        };
        Ok(Programs { ours_from: OursFrom::Dir(dir), overrides: HashMap::new() })
    }

    /// rovn's binaries built by cargo in the workspace at `workspace_root`.
    pub fn cargo_built(workspace_root: &Path) -> Programs {
        Programs {
            ours_from: OursFrom::Cargo { workspace_manifest: workspace_root.join("Cargo.toml") },
            overrides: HashMap::new(),
        }
    }

    /// Uses `path` for rovn's implementation of `component`.
    pub fn with(mut self, component: Component, path: impl Into<PathBuf>) -> Programs {
        self.overrides.insert(component, path.into());
        self
    }

    pub fn path(&self, component: Component, imp: Impl) -> Result<PathBuf> {
        let name = component.program_name(imp);
        if imp == Impl::Debian {
            return tool::debian_program(name);
        }
        if let Some(path) = self.overrides.get(&component) {
            return Ok(path.clone());
        }
        match &self.ours_from {
            OursFrom::Dir(dir) => {
                let path = dir.join(name);
                if !path.is_file() {
                    bail!(
                        "{} not found; build it with `cargo build --release --bin {name}`, \
                         or set ROVN_BIN_DIR",
                        path.display()
                    );
                }
                Ok(path)
            }
            OursFrom::Cargo { workspace_manifest } => cargo_build(workspace_manifest, component.package(), name),
        }
    }
}

/// Builds `bin` of `package` into the running executable's target
/// directory and profile, once per process.
fn cargo_build(manifest: &Path, package: &str, bin: &str) -> Result<PathBuf> {
    // A test executable is TARGET/PROFILE/deps/NAME-HASH; a binary is
    // TARGET/PROFILE/NAME.
    let exe = std::env::current_exe()?;
    let mut profile_dir = exe.parent().context("executable has no directory")?;
    if profile_dir.file_name().is_some_and(|n| n == "deps") {
        profile_dir = profile_dir.parent().context("deps has no parent")?;
    }
    let target_dir = profile_dir.parent().context("profile directory has no parent")?;
    let path = profile_dir.join(bin);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.contains(&path) {
        return Ok(path);
    }
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => bail!("cannot tell the cargo profile of {}", exe.display()),
    };
    // Cargo sets CARGO for the programs it runs (tests included).
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(manifest)
        .args(["--profile", profile, "-p", package, "--bin", bin])
        .env("CARGO_TARGET_DIR", target_dir);
    tool::run(&mut cmd, BUILD_TIMEOUT).with_context(|| format!("building {bin}"))?;
    if !path.is_file() {
        bail!("cargo built {bin} but {} is missing", path.display());
    }
    built.push(path.clone());
    Ok(path)
}
