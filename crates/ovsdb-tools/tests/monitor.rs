//! Monitors: ovsdb-client and rovsdb-client follow the same server side by
//! side through a scripted series of transactions, then are stopped with
//! SIGTERM; what they printed (initial contents, every update, the log line
//! of their end) must be the same.

mod common;

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{Env, Side, normalize, poll_until, populated};

/// The scripted changes: inserts, updates of scalars, sets and maps,
/// references, deletes, and a transaction touching two tables.
const STEPS: &[&str] = &[
    r#"["Types", {"op": "insert", "table": "Scalars", "row": {"name": "new", "i": 5, "color": "blue", "short": "n"}}]"#,
    r#"["Types", {"op": "update", "table": "Scalars", "where": [["name", "==", "alpha"]], "row": {"i": 1000, "r": 0.25}}]"#,
    r#"["Types", {"op": "mutate", "table": "Collections", "where": [["name", "==", "full"]],
                  "mutations": [["ints", "insert", ["set", [7, 8]]], ["smap", "delete", ["set", ["k1"]]], ["reals", "delete", 2]]}]"#,
    r#"["Types", {"op": "insert", "table": "Child", "uuid-name": "c", "row": {"name": "kid3", "n": 3}},
                 {"op": "mutate", "table": "Collections", "where": [["name", "==", "empty"]],
                  "mutations": [["kids", "insert", ["set", [["named-uuid", "c"]]]], ["bmap", "insert", ["map", [["z", false]]]]]}]"#,
    r#"["Types", {"op": "delete", "table": "Scalars", "where": [["name", "==", "beta gamma"]]}]"#,
    r#"["Types", {"op": "update", "table": "Collections", "where": [["name", "==", "full"]], "row": {"kids": ["set", []], "favorite": ["set", []]}}]"#,
    r#"["Types", {"op": "update", "table": "Scalars", "where": [], "row": {"seen": 11}}]"#,
];

/// A client of `side` running `args`, its output going to files.
struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    fn start(env: &Env, side: Side, tag: &str, args: &[&str]) -> Running {
        let stdout = env.path(&format!("{tag}.out"));
        let stderr = env.path(&format!("{tag}.err"));
        let mut cmd = env.command(side, "ovsdb-client", args);
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let child = cmd.spawn().expect("start ovsdb-client");
        Running { child, stdout, stderr }
    }

    fn output_len(&self) -> u64 {
        std::fs::metadata(&self.stdout).map_or(0, |m| m.len())
    }

    /// SIGTERM, then what it printed.
    fn stop(mut self) -> (String, String) {
        // SAFETY: kill(2) on the pid of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        (
            std::fs::read_to_string(&self.stdout).unwrap(),
            std::fs::read_to_string(&self.stderr).unwrap(),
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until both have printed the same amount and nothing more comes
/// for a while (both print the same bytes when they agree; when they do
/// not, the comparison afterwards shows how).
fn settle(a: &Running, b: &Running, nonempty: bool) {
    let mut last = (u64::MAX, u64::MAX);
    let mut stable_since = std::time::Instant::now();
    poll_until(Duration::from_secs(5), || {
        let now = (a.output_len(), b.output_len());
        if now != last {
            last = now;
            stable_since = std::time::Instant::now();
        }
        now.0 == now.1 && (!nonempty || now.0 > 0) && stable_since.elapsed() > Duration::from_millis(60)
    });
}

/// Runs the monitor command `args` on both sides through [`STEPS`].
fn compare_monitors(env: &Env, remote: &str, args: &[&str]) {
    let c = Running::start(env, Side::C, "c", args);
    let r = Running::start(env, Side::Rust, "r", args);
    settle(&c, &r, true);
    for step in STEPS {
        let out = env.run(Side::C, "ovsdb-client", &["transact", remote, step]);
        assert!(out.status == 0 && !out.stdout.contains("\"error\""), "{step}: {out:?}");
        settle(&c, &r, false);
    }
    let (c_out, c_err) = c.stop();
    let (r_out, r_err) = r.stop();
    assert_eq!(normalize(&c_out), normalize(&r_out), "stdout of monitor {args:?}");
    assert_eq!(normalize(&c_err), normalize(&r_err), "stderr of monitor {args:?}");
    assert!(c_out.len() > 200, "monitor {args:?} printed little:\n{c_out}");
}

fn monitors(side: Side) {
    // The same arguments for every run; the server path is put in below.
    let r = "REMOTE";
    for args in [
        vec!["monitor", r, "Types", "Scalars"],
        vec![
            "monitor",
            r,
            "Types",
            "Collections",
            "name,ints,smap,reals,kids,bmap,favorite",
        ],
        vec!["monitor", r, "Types", "Scalars", "name,i,!modify", "r,!insert"],
        vec!["monitor", r, "Types", "Scalars", "name", "i,!initial,!delete"],
        vec!["monitor", r, "Types", "ALL"],
        vec!["--timestamp", "-f", "csv", "monitor", r, "Types", "Child"],
        vec!["-f", "json", "monitor", r, "Types", "Collections", "name,ints"],
        vec!["-d", "json", "monitor", r, "Types", "Scalars", "name,r,u"],
        vec!["monitor-cond", r, "Types", "[true]", "Scalars"],
        vec!["monitor-cond", r, "Types", r#"[["i", ">", 10]]"#, "Scalars", "name,i"],
        vec![
            "monitor-cond",
            r,
            "Types",
            r#"[["name", "!=", "x"]]"#,
            "Collections",
            "name,ints,smap",
        ],
        vec!["--bare", "monitor-cond", r, "Types", "[true]", "Collections"],
        vec!["monitor-cond-since", r, "Types", "[true]", "Scalars", "name,i,r"],
        vec![
            "monitor-cond-since",
            r,
            "Types",
            "00000000-0000-0000-0000-000000000000",
            "[true]",
            "Child",
        ],
    ] {
        // A fresh server for each, since the steps change the data.
        let (env, remote) = populated(side);
        let args: Vec<&str> = args.iter().map(|a| if *a == r { remote.as_str() } else { a }).collect();
        compare_monitors(&env, &remote, &args);
    }
}

#[test]
fn monitors_on_ovsdb_server() {
    monitors(Side::C);
}

#[test]
fn monitors_on_rovsdb_server() {
    monitors(Side::Rust);
}

/// `--detach`: the command returns once the initial contents are out and
/// keeps printing updates in the background until killed through its
/// pidfile, which it removes (silently: a detached client logs nothing).
#[test]
fn detached_monitors() {
    let (env, remote) = populated(Side::Rust);
    let mut outputs = Vec::new();
    for side in [Side::C, Side::Rust] {
        let out_path = env.path(&format!("detached-{side:?}.out"));
        let pidfile = env.path(&format!("detached-{side:?}.pid"));
        let pidopt = format!("--pidfile={}", pidfile.display());
        let mut cmd = env.command(
            side,
            "ovsdb-client",
            &[
                "--detach",
                "--no-chdir",
                &pidopt,
                "monitor",
                &remote,
                "Types",
                "Child",
                "name,n",
            ],
        );
        let file = std::fs::File::create(&out_path).unwrap();
        cmd.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
        let mut parent = cmd.spawn().expect("ovsdb-client");
        let mut status = None;
        common::wait_until("the detaching parent to exit", Duration::from_secs(20), || {
            status = parent.try_wait().ok().flatten();
            status.is_some()
        });
        assert_eq!(status.and_then(|s| s.code()), Some(0), "{side:?}");
        let initial = std::fs::read_to_string(&out_path).unwrap();
        assert!(
            initial.contains("kid2"),
            "{side:?} printed the initial contents before returning: {initial}"
        );
        let txn =
            r#"["Types", {"op": "update", "table": "Child", "where": [["name", "==", "kid1"]], "row": {"n": 10}}]"#;
        assert_eq!(env.run(Side::C, "ovsdb-client", &["transact", &remote, txn]).status, 0);
        common::wait_until("the update", Duration::from_secs(10), || {
            std::fs::read_to_string(&out_path).unwrap().contains("new")
        });
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        // SAFETY: kill(2) on the pid the detached client wrote.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        common::wait_until("the pidfile to go", Duration::from_secs(10), || !pidfile.exists());
        outputs.push(normalize(&std::fs::read_to_string(&out_path).unwrap()));
        // Undo the update for the next run.
        let undo =
            r#"["Types", {"op": "update", "table": "Child", "where": [["name", "==", "kid1"]], "row": {"n": 1}}]"#;
        assert_eq!(env.run(Side::C, "ovsdb-client", &["transact", &remote, undo]).status, 0);
    }
    assert_eq!(outputs[0], outputs[1]);
}
