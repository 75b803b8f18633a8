//! Short-lived commands (`ovs-vsctl`, `ovn-nbctl`, `ovs-appctl`, ...) run
//! with a deadline, and bounded waits.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};

/// Runs `cmd` to completion within `timeout` and returns its stdout; an
/// error carrying the command line and its stderr if it fails or is late
/// (it is killed then).
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<String> {
    let shown = show(cmd);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("starting `{shown}`"))?;
    // Read both pipes on their own threads: a chatty command would block
    // on a full pipe while we wait for it to exit.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    match status {
        None => bail!("`{shown}` did not finish within {timeout:?}; stderr: {}", err.trim()),
        Some(s) if !s.success() => bail!("`{shown}` failed ({s}): {}{}", err.trim(), out.trim()),
        Some(_) => Ok(out),
    }
}

/// The command line, for messages.
fn show(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// Polls `probe` until it returns `Some`, for at most `timeout`. On
/// timeout the error says what was awaited and the probe's last error.
pub fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        let last = match probe() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => None,
            Err(e) => Some(e),
        };
        if Instant::now() > deadline {
            return Err(match last {
                Some(e) => e.context(format!("timed out after {timeout:?} waiting for {what}")),
                None => anyhow!("timed out after {timeout:?} waiting for {what}"),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// A Debian program by name: `PATH`, then the sbin directories a non-root
/// `PATH` often lacks (ovs-vswitchd lives in /usr/sbin).
pub fn debian_program(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{name} not found; install Debian's openvswitch-switch ovn-central ovn-host \
                 (scripts/setup does)"
            )
        })
}

/// Extra time a command gets beyond its own `--timeout` before we kill it.
const GRACE: Duration = Duration::from_secs(5);

/// `PROGRAM --db=REMOTE --timeout=SECS ARGS...` (ovs-vsctl, ovn-nbctl,
/// ovn-sbctl): the command gives up by itself after `timeout`, and is
/// killed a little later if it does not.
pub fn ctl(program: &str, db_remote: &str, args: &[&str], timeout: Duration) -> Result<String> {
    let mut cmd = Command::new(debian_program(program)?);
    cmd.arg(format!("--db={db_remote}"))
        .arg(format!("--timeout={}", timeout.as_secs().max(1)))
        .args(args)
        // A user's ovn-nbctl daemon would otherwise take our commands.
        .env_remove("OVN_NB_DAEMON")
        .env_remove("OVN_SB_DAEMON");
    run(&mut cmd, timeout + GRACE)
}

/// `ovs-appctl -t CTL ARGS...`.
pub fn appctl(ctl: &std::path::Path, args: &[&str], timeout: Duration) -> Result<String> {
    let mut cmd = Command::new(debian_program("ovs-appctl")?);
    cmd.arg("-t").arg(ctl).arg(format!("--timeout={}", timeout.as_secs().max(1))).args(args);
    run(&mut cmd, timeout + GRACE)
}
