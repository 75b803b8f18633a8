//! Database files and server processes for one run of one case.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Which ovsdb-server a transcript comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// Open vSwitch's ovsdb-server, as Debian installs it.
    Ovs,
    /// Ours, built by cargo for this test.
    Rovsdb,
}

impl Implementation {
    fn program(self) -> PathBuf {
        match self {
            Implementation::Ovs => find_program("ovsdb-server"),
            Implementation::Rovsdb => PathBuf::from(env!("CARGO_BIN_EXE_rovsdb-server")),
        }
    }
}

/// `command -v NAME`, also looking in the sbin directories that a
/// non-root PATH often lacks. Panics when absent: CI installs
/// openvswitch-switch, and a missing server is a broken test setup.
pub fn find_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found: install Debian's openvswitch-switch"))
}

/// Pristine database files, one per test schema, made once per test
/// process with `ovsdb-tool create` and copied for every server started.
struct Templates {
    _dir: TempDir,
    dbs: Vec<PathBuf>,
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let dir = TempDir::new().expect("temp dir");
        let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/schemas");
        let mut schema_files: Vec<PathBuf> = std::fs::read_dir(&schemas)
            .expect("schema dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "ovsschema"))
            .collect();
        schema_files.sort();
        let tool = find_program("ovsdb-tool");
        let dbs = schema_files
            .iter()
            .map(|schema| {
                let db = dir.path().join(schema.file_stem().unwrap()).with_extension("db");
                let out = Command::new(&tool).arg("create").arg(&db).arg(schema).output().expect("run ovsdb-tool");
                assert!(
                    out.status.success(),
                    "ovsdb-tool create {}: {}",
                    schema.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                db
            })
            .collect();
        Templates { _dir: dir, dbs }
    })
}

/// A running server with its own directory; killed when dropped.
pub struct Server {
    child: Child,
    dir: TempDir,
}

const START_TIMEOUT: Duration = Duration::from_secs(5);

impl Server {
    pub fn start(imp: Implementation) -> Result<Server, String> {
        let dir = TempDir::new().map_err(|e| e.to_string())?;
        let p = |name: &str| dir.path().join(name);
        let mut cmd = Command::new(imp.program());
        cmd.arg(format!("--remote=punix:{}", p("db.sock").display()))
            .arg(format!("--unixctl={}", p("ctl").display()))
            .arg(format!("--pidfile={}", p("pid").display()))
            .arg("--no-chdir")
            .arg(format!("--log-file={}", p("log").display()));
        for template in &templates().dbs {
            let db = p(template.file_name().unwrap().to_str().unwrap());
            std::fs::copy(template, &db).map_err(|e| e.to_string())?;
            cmd.arg(db);
        }
        let stderr = std::fs::File::create(p("stderr")).map_err(|e| e.to_string())?;
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr);
        let child = cmd.spawn().map_err(|e| format!("{imp:?}: spawn: {e}"))?;
        let mut server = Server { child, dir };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if UnixStream::connect(server.socket()).is_ok() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("{imp:?} exited at startup ({status}): {}", server.diagnostics()));
            }
            if Instant::now() > deadline {
                return Err(format!("{imp:?} did not listen within {START_TIMEOUT:?}: {}", server.diagnostics()));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("db.sock")
    }

    /// The directory holding the sockets, logs and database files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The unixctl socket, for `ovs-appctl -t`.
    pub fn ctl(&self) -> PathBuf {
        self.dir.path().join("ctl")
    }

    /// The tail of the server's stderr and log, for failure messages.
    fn diagnostics(&self) -> String {
        let read = |name| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        let text = format!("{}{}", read("stderr"), read("log"));
        let skip = text.chars().count().saturating_sub(2000);
        text.chars().skip(skip).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // `Child::kill` signals the child's pid; wait reaps it so the
        // directory can go.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
