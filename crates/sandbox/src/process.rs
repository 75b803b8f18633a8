//! Daemons the sandbox starts and owns: each is a direct child with its
//! own directory, pidfile, log and unixctl socket, stopped by its pid.

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// How a daemon names its unixctl socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unixctl {
    /// We pass `--unixctl=DIR/STEM.ctl`.
    Explicit,
    /// The daemon takes no `--unixctl` (ovn-controller 23.03 does not) and
    /// names it `DIR/STEM.PID.ctl`, DIR being its `OVN_RUNDIR`.
    Default,
}

/// What to start. The common daemon options (`--pidfile`, `--log-file`,
/// `--no-chdir`, and `--unixctl` when [`Unixctl::Explicit`]) are added by
/// [`Daemon::spawn`].
#[derive(Clone, Debug)]
pub struct DaemonSpec {
    /// Unique in its registry, e.g. `hv1/ovs-vswitchd`.
    pub name: String,
    pub program: PathBuf,
    /// The daemon's run, log and db directory: every `OVS_*DIR` and
    /// `OVN_*DIR` variable points here, so a Debian daemon never falls back
    /// to `/var/run/openvswitch`, and processes sharing a directory find
    /// each other's sockets (ovn-controller opens `br-int.mgmt` in the
    /// vswitchd's run directory).
    pub dir: PathBuf,
    /// File names in `dir` start with this: `STEM.pid`, `STEM.log`, ...
    pub stem: String,
    pub args: Vec<OsString>,
    pub unixctl: Unixctl,
}

/// A running daemon; stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Daemon {
    spec: DaemonSpec,
    child: Child,
}

/// How long a daemon gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Sets every directory variable the Open vSwitch and OVN tools read to
/// `dir`.
pub fn set_dirs(cmd: &mut Command, dir: &Path) {
    for var in [
        "OVS_RUNDIR",
        "OVS_LOGDIR",
        "OVS_DBDIR",
        "OVS_SYSCONFDIR",
        "OVN_RUNDIR",
        "OVN_LOGDIR",
        "OVN_DBDIR",
        "OVN_SYSCONFDIR",
    ] {
        cmd.env(var, dir);
    }
}

impl Daemon {
    pub fn spawn(spec: DaemonSpec) -> Result<Daemon> {
        std::fs::create_dir_all(&spec.dir).with_context(|| format!("creating {}", spec.dir.display()))?;
        let file = |ext: &str| spec.dir.join(format!("{}.{ext}", spec.stem));
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .arg(format!("--pidfile={}", file("pid").display()))
            .arg(format!("--log-file={}", file("log").display()))
            .arg("--no-chdir");
        if spec.unixctl == Unixctl::Explicit {
            cmd.arg(format!("--unixctl={}", file("ctl").display()));
        }
        set_dirs(&mut cmd, &spec.dir);
        let stderr = File::create(file("stderr")).context("creating stderr file")?;
        cmd.stdin(Stdio::null()).stdout(stderr.try_clone()?).stderr(stderr);
        // Own process group: Ctrl-C in the terminal reaches only
        // rovn-sandbox, which then stops its daemons in order.
        cmd.process_group(0);
        // If the owner dies without running its destructors (a test binary
        // killed by a timeout), the kernel still stops the daemon. The
        // signal follows the spawning thread, so spawn from the thread that
        // owns the registry.
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().with_context(|| format!("starting {} ({})", spec.name, spec.program.display()))?;
        Ok(Daemon { spec, child })
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// What it was started from, to start it again.
    pub fn spec(&self) -> &DaemonSpec {
        &self.spec
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> &Path {
        &self.spec.dir
    }

    pub fn log_file(&self) -> PathBuf {
        self.spec.dir.join(format!("{}.log", self.spec.stem))
    }

    pub fn pid_file(&self) -> PathBuf {
        self.spec.dir.join(format!("{}.pid", self.spec.stem))
    }

    /// The unixctl socket, for `ovs-appctl -t`.
    pub fn ctl(&self) -> PathBuf {
        match self.spec.unixctl {
            Unixctl::Explicit => self.spec.dir.join(format!("{}.ctl", self.spec.stem)),
            Unixctl::Default => self.spec.dir.join(format!("{}.{}.ctl", self.spec.stem, self.pid())),
        }
    }

    /// An error, with the end of the daemon's output, if it has exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!("{} exited ({status}); its last output:\n{}", self.spec.name, self.tail()),
            Err(e) => bail!("{}: cannot wait: {e}", self.spec.name),
        }
    }

    /// The last lines of the daemon's stderr and log, for error messages.
    pub fn tail(&self) -> String {
        let mut out = String::new();
        for ext in ["stderr", "log"] {
            let path = self.spec.dir.join(format!("{}.{ext}", self.spec.stem));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(15);
            if from < lines.len() {
                out.push_str(&format!("  == {}\n", path.display()));
                for line in &lines[from..] {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        }
        out
    }

    /// SIGKILL at once, as a crash would; reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then SIGKILL if it outlives the grace period; reaps it.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.child.id() as libc::pid_t;
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The daemons of one sandbox, stopped in reverse start order when
/// dropped, so clients go before the servers they talk to.
#[derive(Debug, Default)]
pub struct Registry {
    daemons: Vec<Daemon>,
}

impl Registry {
    pub fn start(&mut self, spec: DaemonSpec) -> Result<&mut Daemon> {
        if self.daemons.iter().any(|d| d.name() == spec.name) {
            bail!("a daemon named {} is already running", spec.name);
        }
        self.daemons.push(Daemon::spawn(spec)?);
        Ok(self.daemons.last_mut().unwrap())
    }

    pub fn get(&self, name: &str) -> Result<&Daemon> {
        self.daemons.iter().find(|d| d.name() == name).with_context(|| {
            let names: Vec<&str> = self.daemons.iter().map(Daemon::name).collect();
            format!("no daemon named {name} (running: {})", names.join(", "))
        })
    }

    pub fn get_mut(&mut self, name: &str) -> Result<&mut Daemon> {
        self.get(name)?;
        Ok(self.daemons.iter_mut().find(|d| d.name() == name).unwrap())
    }

    /// Takes a daemon out of the registry, e.g. to kill it and start
    /// another in its place.
    pub fn take(&mut self, name: &str) -> Result<Daemon> {
        self.get(name)?;
        let idx = self.daemons.iter().position(|d| d.name() == name).unwrap();
        Ok(self.daemons.remove(idx))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Daemon> {
        self.daemons.iter()
    }

    /// An error naming every daemon that has exited.
    pub fn check_running(&mut self) -> Result<()> {
        let errors: Vec<String> =
            self.daemons.iter_mut().filter_map(|d| d.check_running().err()).map(|e| format!("{e:#}")).collect();
        if errors.is_empty() { Ok(()) } else { bail!("{}", errors.join("\n")) }
    }

    /// Stops every daemon, newest first.
    pub fn stop_all(&mut self) {
        while let Some(mut daemon) = self.daemons.pop() {
            daemon.stop();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// utime + stime of a process, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name, in parentheses, may hold spaces: count fields
    // after its closing parenthesis (field 3, `state`, comes first).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("no ')' in /proc/PID/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("field {} of {path}", i + 3))
    };
    let ticks = tick(11)? + tick(12)?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Ok(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}
