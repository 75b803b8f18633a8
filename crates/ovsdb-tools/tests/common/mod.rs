//! Test support: database servers (Debian's ovsdb-server and our
//! rovsdb-server) in private directories, and the two implementations of
//! each tool run side by side with the same arguments.
//!
//! Our binaries are run through symbolic links named `ovsdb-client` and
//! `ovsdb-tool`, as the C tools name themselves after `argv[0]`: messages
//! then start with the same program name, and outputs can be compared
//! byte for byte. Every command runs with a deadline, and every server is
//! stopped by its pid when the test's [`Env`] drops.
//!
//! Normalisation, applied only where output is not deterministic by
//! nature ([`normalize`]): the time in log lines (`2026-...Z|00001|...`)
//! becomes `TIME`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sandbox::process::Registry;
use sandbox::{Component, Impl, Programs};

/// How long one tool invocation may take.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server gets to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

pub fn schema_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas").join(file)
}

pub fn test_schema_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas").join(file)
}

/// Which implementation runs a tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    C,
    Rust,
}

/// What a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    /// Exit status, or 128 + signal.
    pub status: i32,
}

/// Where rovsdb-server is: built by cargo into this test's target
/// directory if needed, as the sandbox tests find it.
pub fn rovsdb_server() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Programs::cargo_built(&root)
            .path(Component::DbServer, Impl::Ours)
            .expect("rovsdb-server")
    })
    .clone()
}

/// A private directory with servers and the tools.
pub struct Env {
    pub dir: tempfile::TempDir,
    /// Holds links `ovsdb-client` and `ovsdb-tool` to our binaries.
    ours: PathBuf,
    registry: Registry,
}

impl Env {
    pub fn new() -> Env {
        // Short paths: unix socket names are limited to 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("rovt")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let ours = dir.path().join("ours");
        std::fs::create_dir_all(&ours).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rovsdb-client"), ours.join("ovsdb-client")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rovsdb-tool"), ours.join("ovsdb-tool")).unwrap();
        Env {
            dir,
            ours,
            registry: Registry::default(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The program for `tool` ("ovsdb-client" or "ovsdb-tool") on `side`.
    pub fn program(&self, side: Side, tool: &str) -> PathBuf {
        match side {
            Side::C => sandbox::tool::debian_program(tool).expect("Debian's tool"),
            Side::Rust => self.ours.join(tool),
        }
    }

    /// A command for `tool` on `side`, run in the private directory with
    /// `OVS_RUNDIR` and friends pointing there. The program is found
    /// through `PATH`, so that `argv[0]` (which getopt's messages quote)
    /// is the bare name for both sides.
    pub fn command(&self, side: Side, tool: &str, args: &[&str]) -> Command {
        let program = self.program(side, tool);
        let dir = program.parent().expect("program directory");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path))).expect("PATH");
        let mut cmd = Command::new(tool);
        cmd.env("PATH", path).args(args).current_dir(self.dir.path());
        for var in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_PKGDATADIR", "OVS_LOGDIR"] {
            cmd.env(var, self.dir.path());
        }
        cmd.env_remove("OVS_SYSCONFDIR");
        cmd
    }

    pub fn run(&self, side: Side, tool: &str, args: &[&str]) -> Outcome {
        run_with_input(self.command(side, tool, args), None)
    }

    /// Runs both implementations of `tool` with `args` and asserts that
    /// they print the same and exit alike; returns what they did.
    pub fn same(&self, tool: &str, args: &[&str]) -> Outcome {
        let c = self.run(Side::C, tool, args);
        let r = self.run(Side::Rust, tool, args);
        assert_same(tool, args, &c, &r);
        r
    }

    /// Like [`Env::same`] with stdin read from `input` (a file).
    pub fn same_with_input(&self, tool: &str, args: &[&str], input: &Path) -> Outcome {
        let c = run_with_input(self.command(Side::C, tool, args), Some(input));
        let r = run_with_input(self.command(Side::Rust, tool, args), Some(input));
        assert_same(tool, args, &c, &r);
        r
    }

    /// Creates `NAME.db` from `schema` with Debian's ovsdb-tool.
    pub fn create_db(&self, name: &str, schema: &Path) -> PathBuf {
        let db = self.path(&format!("{name}.db"));
        let out = self.run(
            Side::C,
            "ovsdb-tool",
            &["create", db.to_str().unwrap(), schema.to_str().unwrap()],
        );
        assert_eq!(out.status, 0, "ovsdb-tool create: {}", out.stderr);
        db
    }

    /// Starts a server of `side` in subdirectory `name` serving `dbs`;
    /// returns its remote (`unix:PATH`).
    pub fn start_server(&mut self, name: &str, side: Side, dbs: &[PathBuf]) -> String {
        let program = match side {
            Side::C => sandbox::tool::debian_program("ovsdb-server").expect("ovsdb-server"),
            Side::Rust => rovsdb_server(),
        };
        let dir = self.path(name);
        sandbox::db::start_server(&mut self.registry, name, &program, &dir, dbs, START_TIMEOUT).expect("server starts");
        format!("unix:{}", sandbox::db::socket(&dir).display())
    }

    /// The server's unixctl socket, for `ovs-appctl -t`.
    pub fn server_ctl(&self, name: &str) -> PathBuf {
        self.registry.get(name).expect("server").ctl()
    }
}

/// Runs `cmd` to completion within [`CMD_TIMEOUT`] (it is killed then).
pub fn run_with_input(mut cmd: Command, input: Option<&Path>) -> Outcome {
    match input {
        Some(p) => cmd.stdin(std::fs::File::open(p).expect("input file")),
        None => cmd.stdin(Stdio::null()),
    };
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(CMD_TIMEOUT) {
        Ok(out) => out.expect("wait for command"),
        Err(_) => {
            // SAFETY: kill(2) on the pid of our own child.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("{cmd:?} did not finish within {CMD_TIMEOUT:?}");
        }
    };
    Outcome {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        status: exit_code(out.status),
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

pub fn assert_same(tool: &str, args: &[&str], c: &Outcome, r: &Outcome) {
    let (c_out, r_out) = (normalize(&c.stdout), normalize(&r.stdout));
    let (c_err, r_err) = (normalize(&c.stderr), normalize(&r.stderr));
    if c_out != r_out || c_err != r_err || c.status != r.status {
        panic!(
            "{tool} {args:?} differs\n--- C (status {}):\n{c_out}\n--- stderr:\n{c_err}\n--- Rust (status {}):\n{r_out}\n--- stderr:\n{r_err}\n--- first differing stdout line: {:?}",
            c.status,
            r.status,
            c_out.lines().zip(r_out.lines()).find(|(a, b)| a != b)
        );
    }
}

/// Replaces the time at the start of log lines by `TIME`, and the lines
/// `--timestamp` prints (`YYYY-MM-DD HH:MM:SS.mmm`) by `TIMESTAMP`.
pub fn normalize(text: &str) -> String {
    text.lines()
        .map(|l| {
            let b = l.as_bytes();
            let date = b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && b[13] == b':' && b[16] == b':';
            if date && b.len() > 21 && b[10] == b'T' && b[19] == b'Z' && b[20] == b'|' {
                format!("TIME{}", &l[20..])
            } else if date && b.len() == 23 && b[10] == b' ' && b[19] == b'.' {
                "TIMESTAMP".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if text.ends_with('\n') { "\n" } else { "" }
}

/// Polls `probe` every few milliseconds until it holds, for at most
/// `timeout`; panics naming `what` otherwise.
pub fn wait_until(what: &str, timeout: Duration, probe: impl FnMut() -> bool) {
    assert!(
        poll_until(timeout, probe),
        "timed out after {timeout:?} waiting for {what}"
    );
}

/// Polls `probe` until it holds or `timeout` passes; says which.
pub fn poll_until(timeout: Duration, mut probe: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if probe() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Rows for the Types database, one of each kind of value (strings that
/// need quoting, reals, references of both strengths, maps, empty sets).
pub const POPULATE_TYPES: &str = r#"["Types",
 {"op": "insert", "table": "Scalars", "uuid-name": "s1", "row": {"name": "alpha", "i": 42, "r": 2.5, "b": true,
   "u": ["uuid", "01234567-89ab-cdef-0123-456789abcdef"], "opt_i": 7, "small": -5, "ratio": 1.5,
   "short": "x", "color": "green", "fixed": "set once", "seen": 3}},
 {"op": "insert", "table": "Scalars", "row": {"name": "beta gamma", "i": -1, "r": 1e-7, "color": "red",
   "short": "true", "fixed": "\"quoted\"\n"}},
 {"op": "insert", "table": "Scalars", "row": {"name": "", "i": 9007199254740993, "r": 123456789012.25, "color": "blue",
   "short": "héllo"}},
 {"op": "insert", "table": "Scalars", "row": {"name": "01234567-89ab-cdef-0123-456789abcdef", "r": -0.1, "color": "red"}},
 {"op": "insert", "table": "Child", "uuid-name": "c1", "row": {"name": "kid1", "n": 1}},
 {"op": "insert", "table": "Child", "uuid-name": "c2", "row": {"name": "kid2", "n": 2}},
 {"op": "insert", "table": "Collections", "row": {"name": "full", "ints": ["set", [3, 1, 2]], "reals": ["set", [0.5, 2]],
   "bools": ["set", [true, false]], "strs": ["set", ["b", "a c", "d,e"]],
   "uuids": ["set", [["uuid", "00000000-0000-0000-0000-000000000001"]]],
   "smap": ["map", [["k1", "v1"], ["k 2", "v=2"], ["<html>", "&amp;"]]], "imap": ["map", [[1, 1.5], [-2, 0]]],
   "bmap": ["map", [["yes", true]]], "kids": ["set", [["named-uuid", "c1"], ["named-uuid", "c2"]]],
   "named": ["map", [["first", ["named-uuid", "c1"]]]], "favorite": ["named-uuid", "s1"]}},
 {"op": "insert", "table": "Collections", "row": {"name": "empty", "strs": "only"}},
 {"op": "insert", "table": "Limited", "row": {"x": 1}}
]"#;

/// Two logical switches and a port in the Northbound database.
pub const POPULATE_NB: &str = r#"["OVN_Northbound",
 {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "p1", "row": {"name": "lp1", "addresses": ["set", ["00:00:00:00:00:01 10.0.0.1"]]}},
 {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0", "ports": ["named-uuid", "p1"], "external_ids": ["map", [["owner", "test"]]]}},
 {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw1"}},
 {"op": "insert", "table": "NB_Global", "row": {"options": ["map", [["mac_prefix", "0a:00:00"]]]}}
]"#;

/// A server of `side` serving a populated Types and Northbound database.
pub fn populated(side: Side) -> (Env, String) {
    let mut env = Env::new();
    let types = env.create_db("types", &test_schema_path("types.ovsschema"));
    let nb = env.create_db("nb", &schema_path("ovn-nb.ovsschema"));
    let remote = env.start_server("server", side, &[types, nb]);
    for txn in [POPULATE_TYPES, POPULATE_NB] {
        let out = env.run(Side::C, "ovsdb-client", &["transact", &remote, txn]);
        assert_eq!(out.status, 0, "populate: {}", out.stderr);
        assert!(!out.stdout.contains("error"), "populate: {}", out.stdout);
    }
    (env, remote)
}
