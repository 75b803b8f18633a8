//! Database files and database servers.
//!
//! Files are made with Debian's `ovsdb-tool create` from the schemas in the
//! repository's `schemas/` (built into this crate, so a binary needs no
//! checkout), which are Debian 12's in content.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::process::{Daemon, DaemonSpec, Registry, Unixctl};
use crate::tool;

/// A database schema that rovn serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    Northbound,
    Southbound,
    OpenVswitch,
}

impl Schema {
    /// The schema's file name in `schemas/`, without extension.
    pub fn stem(self) -> &'static str {
        match self {
            Schema::Northbound => "ovn-nb",
            Schema::Southbound => "ovn-sb",
            Schema::OpenVswitch => "vswitch",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Schema::Northbound => include_str!("../../../schemas/ovn-nb.ovsschema"),
            Schema::Southbound => include_str!("../../../schemas/ovn-sb.ovsschema"),
            Schema::OpenVswitch => include_str!("../../../schemas/vswitch.ovsschema"),
        }
    }
}

/// Creates `DIR/STEM.db` holding an empty database of `schema`.
pub fn create(dir: &Path, schema: Schema, timeout: Duration) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let schema_file = dir.join(format!("{}.ovsschema", schema.stem()));
    std::fs::write(&schema_file, schema.text()).with_context(|| format!("writing {}", schema_file.display()))?;
    let db = dir.join(format!("{}.db", schema.stem()));
    let mut cmd = Command::new(tool::debian_program("ovsdb-tool")?);
    cmd.arg("create").arg(&db).arg(&schema_file);
    tool::run(&mut cmd, timeout)?;
    Ok(db)
}

/// The Unix socket a database server started by [`start_server`] in `dir`
/// listens on.
pub fn socket(dir: &Path) -> PathBuf {
    dir.join("db.sock")
}

/// Starts `program` (ovsdb-server or rovsdb-server: same command line)
/// serving `dbs` on `punix:DIR/db.sock`, registered as `name`, and waits
/// until it accepts connections.
pub fn start_server<'r>(
    registry: &'r mut Registry,
    name: &str,
    program: &Path,
    dir: &Path,
    dbs: &[PathBuf],
    timeout: Duration,
) -> Result<&'r mut Daemon> {
    let sock = socket(dir);
    let mut args = vec![format!("--remote=punix:{}", sock.display()).into()];
    args.extend(dbs.iter().map(|db| db.clone().into_os_string()));
    let spec = DaemonSpec {
        name: name.to_string(),
        program: program.to_path_buf(),
        dir: dir.to_path_buf(),
        stem: "ovsdb-server".to_string(),
        args,
        unixctl: Unixctl::Explicit,
    };
    start_spec(registry, spec, timeout)
}

/// Kills database server `name` as a crash would and starts it again on
/// the same files and socket; its clients are left to reconnect by
/// themselves.
pub fn restart_server<'r>(registry: &'r mut Registry, name: &str, timeout: Duration) -> Result<&'r mut Daemon> {
    let mut old = registry.take(name)?;
    old.kill();
    let spec = old.spec().clone();
    drop(old);
    start_spec(registry, spec, timeout)
}

fn start_spec(registry: &mut Registry, spec: DaemonSpec, timeout: Duration) -> Result<&mut Daemon> {
    let sock = socket(&spec.dir);
    let name = spec.name.clone();
    let daemon = registry.start(spec)?;
    tool::wait_until(&format!("{name} to listen on {}", sock.display()), timeout, || {
        daemon.check_running()?;
        Ok(UnixStream::connect(&sock).ok())
    })?;
    Ok(daemon)
}
