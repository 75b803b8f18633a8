//! The two servers under test: started with the same command line on the
//! same files, watched through `/proc`, stopped by pid when dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use sandbox::process::{Daemon, DaemonSpec, Unixctl};
use serde_json::json;

use crate::client::Conn;

/// Which implementation plays the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Debian's Open vSwitch 3.1 `ovsdb-server`.
    Ovs,
    /// Ours, `rovsdb-server`.
    Rovn,
}

impl Side {
    /// The order every workload runs them in.
    pub const BOTH: [Side; 2] = [Side::Ovs, Side::Rovn];

    pub fn program_name(self) -> &'static str {
        match self {
            Side::Ovs => "ovsdb-server",
            Side::Rovn => "rovsdb-server",
        }
    }
}

/// Where each implementation's binary is.
#[derive(Clone, Debug)]
pub struct Programs {
    pub ovs: PathBuf,
    pub rovn: PathBuf,
}

impl Programs {
    pub fn path(&self, side: Side) -> &Path {
        match side {
            Side::Ovs => &self.ovs,
            Side::Rovn => &self.rovn,
        }
    }
}

/// A running server: its process, socket and control socket. Dropping it
/// stops the process (SIGTERM, then SIGKILL), by pid.
pub struct Server {
    pub side: Side,
    daemon: Daemon,
    spec: DaemonSpec,
    pub sock: PathBuf,
}

impl Server {
    /// Starts `side`'s program in `dir` serving `dbs` on `punix:DIR/db.sock`
    /// and returns at once; see [`Server::wait_ready`].
    pub fn spawn(side: Side, programs: &Programs, dir: &Path, dbs: &[PathBuf]) -> Result<Server> {
        let sock = dir.join("db.sock");
        let mut args = vec![
            format!("--remote=punix:{}", sock.display()).into(),
            "-vconsole:off".into(),
        ];
        args.extend(dbs.iter().map(|db| db.clone().into_os_string()));
        // Adds `--pidfile`, `--log-file`, `--no-chdir` and `--unixctl`.
        let spec = DaemonSpec {
            name: side.program_name().to_string(),
            program: programs.path(side).to_path_buf(),
            dir: dir.to_path_buf(),
            stem: "server".to_string(),
            args,
            unixctl: Unixctl::Explicit,
        };
        let _ = std::fs::remove_file(&sock);
        let daemon = Daemon::spawn(spec.clone())?;
        Ok(Server {
            side,
            daemon,
            spec,
            sock,
        })
    }

    /// Starts the server and waits until it answers `list_dbs`.
    pub async fn start(
        side: Side,
        programs: &Programs,
        dir: &Path,
        dbs: &[PathBuf],
        timeout: Duration,
    ) -> Result<Server> {
        let mut server = Server::spawn(side, programs, dir, dbs)?;
        server.wait_ready(timeout).await?;
        Ok(server)
    }

    /// Polls until a fresh connection's `list_dbs` is answered; returns that
    /// connection. Fails early, with the log's tail, if the process exits.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Conn> {
        let start = Instant::now();
        loop {
            self.daemon.check_running()?;
            if let Ok(mut conn) = Conn::connect(&self.sock, Duration::ZERO).await
                && let Ok(dbs) = conn.call("list_dbs", json!([])).await
            {
                if !dbs.is_array() {
                    bail!("{}: list_dbs answered {dbs}", self.side.program_name());
                }
                return Ok(conn);
            }
            if start.elapsed() > timeout {
                bail!(
                    "{} did not answer within {timeout:?}:\n{}",
                    self.side.program_name(),
                    self.daemon.tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Stops the process (SIGTERM, then SIGKILL after a grace period) and
    /// starts it again with the same command line; does not wait.
    pub fn restart(&mut self) -> Result<()> {
        self.daemon.stop();
        let _ = std::fs::remove_file(&self.sock);
        self.daemon = Daemon::spawn(self.spec.clone())?;
        Ok(())
    }

    /// Stops the process, leaving its files.
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    /// Fails, with the log's tail, if the process has exited.
    pub fn check_running(&mut self) -> Result<()> {
        self.daemon.check_running()
    }

    pub fn appctl(&self, args: &[&str], timeout: Duration) -> Result<String> {
        sandbox::tool::appctl(&self.daemon.ctl(), args, timeout)
    }

    /// CPU time the process has used so far (user + system, all threads).
    pub fn cpu(&self) -> Result<Duration> {
        cpu_time(self.pid())
    }

    /// Peak resident set size (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> Result<u64> {
        status_bytes(self.pid(), "VmHWM")
    }

    /// Current resident set size (`VmRSS`), in bytes.
    pub fn rss(&self) -> Result<u64> {
        status_bytes(self.pid(), "VmRSS")
    }
}

pub use sandbox::process::cpu_time;

/// A `Vm*` line of `/proc/PID/status` (given in kB), in bytes.
fn status_bytes(pid: u32, key: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .with_context(|| format!("no {key} in {path}"))?;
    let kb: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("{key} in {path}"))?;
    Ok(kb * 1024)
}

/// CPU time this process (the load generator, all threads) has used.
pub fn own_cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we pass.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Wall time and CPU time of one phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cost {
    pub wall: Duration,
    /// The server's.
    pub cpu: Duration,
    /// The load generator's, to tell whether it, not the server, was
    /// the bottleneck.
    pub client_cpu: Duration,
}

/// Measures a phase: take one before it starts, [`Meter::stop`] after.
pub struct Meter {
    pid: u32,
    wall: Instant,
    cpu: Duration,
    client_cpu: Duration,
}

impl Meter {
    pub fn start(server: &Server) -> Result<Meter> {
        Ok(Meter {
            pid: server.pid(),
            wall: Instant::now(),
            cpu: server.cpu()?,
            client_cpu: own_cpu_time(),
        })
    }

    pub fn stop(&self) -> Result<Cost> {
        let wall = self.wall.elapsed();
        let cpu = cpu_time(self.pid)?.saturating_sub(self.cpu);
        Ok(Cost {
            wall,
            cpu,
            client_cpu: own_cpu_time().saturating_sub(self.client_cpu),
        })
    }
}

/// Raises the soft limit on open files to the hard limit, so hundreds of
/// clients (and the servers, which inherit it) have descriptors to spare.
pub fn raise_fd_limit() -> Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(std::io::Error::last_os_error()).context("getrlimit(RLIMIT_NOFILE)");
        }
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return Err(std::io::Error::last_os_error()).context("setrlimit(RLIMIT_NOFILE)");
        }
    }
    Ok(lim.rlim_cur)
}
