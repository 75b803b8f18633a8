//! The `rovn-sandbox` binary as a user runs it: `--exit` does the
//! demonstration and reports it in its exit status; without it, the
//! sandbox stays up until SIGINT (Ctrl-C) and then stops every daemon it
//! started.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use sandbox::{Component, Impl, Programs};

const TIMEOUT: Duration = Duration::from_secs(30);

/// `rovn-sandbox` with rovsdb-server (built if need be) beside it.
fn rovn_sandbox() -> Result<Command> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let server = Programs::cargo_built(&workspace).path(Component::DbServer, Impl::Ours)?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rovn-sandbox"));
    cmd.env("ROVN_BIN_DIR", server.parent().context("server has no directory")?);
    Ok(cmd)
}

#[test]
fn exit_mode_sends_a_packet_across_hypervisors() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cmd = rovn_sandbox()?;
    cmd.args(["--exit", "--hypervisors", "2", "--base-dir"]).arg(dir.path());
    let out = sandbox::tool::run(&mut cmd, TIMEOUT)?;
    ensure!(out.contains("==> arrived at hv2's vif2: 50:54:00:00:00:01 > 50:54:00:00:00:02"), "stdout:\n{out}");
    ensure!(out.contains(&format!("ovn-nbctl --db=unix:{}/nb/db.sock show", dir.path().display())), "{out}");
    ensure!(dir.path().join("env").is_file(), "the environment file was written");
    Ok(())
}

#[test]
fn ctrl_c_stops_every_daemon() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cmd = rovn_sandbox()?;
    cmd.arg("--base-dir").arg(dir.path()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = KillOnDrop(cmd.spawn()?);
    let (tx, lines) = mpsc::channel();
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        let line =
            lines.recv_timeout(TIMEOUT).with_context(|| format!("no prompt; output so far:\n{}", seen.join("\n")))?;
        let ready = line.contains("press Ctrl-C");
        seen.push(line);
        if ready {
            break;
        }
    }
    // Every daemon writes its pid; they remove the files as they exit.
    let pids = pid_files(dir.path())?;
    ensure!(pids.len() >= 8, "expected every daemon's pidfile, found {pids:?}");

    unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGINT) };
    let status = sandbox::tool::wait_until("rovn-sandbox to exit after SIGINT", TIMEOUT, || Ok(child.0.try_wait()?))?;
    ensure!(status.success(), "exit status {status}");
    for (file, pid) in pids {
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        ensure!(!alive, "{} (pid {pid}) still runs", file.display());
    }
    Ok(())
}

/// Each `*.pid` file under `dir`, with the pid it holds.
fn pid_files(dir: &Path) -> Result<Vec<(PathBuf, libc::pid_t)>> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir)? {
        let sub = sub?.path();
        if !sub.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&sub)? {
            let file = file?.path();
            if file.extension().is_some_and(|e| e == "pid") {
                let pid = std::fs::read_to_string(&file)?.trim().parse()?;
                out.push((file, pid));
            }
        }
    }
    Ok(out)
}

/// Kills the sandbox process if the test fails before it exits (its
/// daemons follow: they get SIGTERM when their parent dies). Once it has
/// been waited for, `kill` signals nothing.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
