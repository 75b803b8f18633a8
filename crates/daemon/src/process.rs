//! Process-level behaviour of Open vSwitch daemons: `--detach`, pidfiles,
//! the run and log directories.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// `$OVS_RUNDIR`, else `/var/run/openvswitch`.
pub fn rundir() -> PathBuf {
    std::env::var_os("OVS_RUNDIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/run/openvswitch"))
}

/// `$OVS_LOGDIR`, else `/var/log/openvswitch`.
pub fn logdir() -> PathBuf {
    std::env::var_os("OVS_LOGDIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/log/openvswitch"))
}

/// Resolves `--pidfile[=FILE]`: no value means `RUNDIR/PROGRAM.pid`; a
/// relative path is relative to the run directory.
pub fn pidfile_path(program: &str, value: Option<&str>) -> PathBuf {
    match value {
        None => rundir().join(format!("{program}.pid")),
        Some(v) if Path::new(v).is_absolute() => PathBuf::from(v),
        Some(v) => rundir().join(v),
    }
}

/// Resolves `--log-file[=FILE]` likewise, in the log directory.
pub fn logfile_path(program: &str, value: Option<&str>) -> PathBuf {
    match value {
        None => logdir().join(format!("{program}.log")),
        Some(v) if Path::new(v).is_absolute() => PathBuf::from(v),
        Some(v) => logdir().join(v),
    }
}

/// The default control socket: `RUNDIR/PROGRAM.PID.ctl`.
pub fn default_unixctl_path(program: &str) -> PathBuf {
    rundir().join(format!("{program}.{}.ctl", std::process::id()))
}

/// A pidfile that is removed when dropped.
pub struct Pidfile {
    path: PathBuf,
}

impl Pidfile {
    /// Writes our pid. Refuses if the file names a live process, unless
    /// `overwrite`.
    pub fn create(path: &Path, overwrite: bool) -> std::io::Result<Pidfile> {
        if !overwrite
            && let Ok(text) = fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse::<i32>()
            && pid != std::process::id() as i32
            // SAFETY: kill with signal 0 only checks that the process exists.
            && unsafe { libc::kill(pid, 0) } == 0
        {
            return Err(std::io::Error::other(format!("{}: already running as pid {pid}", path.display())));
        }
        let tmp = path.with_extension("pid.tmp");
        fs::write(&tmp, format!("{}\n", std::process::id()))?;
        fs::rename(&tmp, path)?;
        Ok(Pidfile { path: path.to_path_buf() })
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The child's side of `--detach`: tell the waiting parent we are ready.
pub struct DetachNotifier(Option<OwnedFd>);

impl DetachNotifier {
    /// Nothing to notify (not detached).
    pub fn none() -> DetachNotifier {
        DetachNotifier(None)
    }

    /// Start-up succeeded: the parent exits 0 and we leave the terminal.
    pub fn ready(&mut self, chdir_root: bool) {
        if let Some(fd) = self.0.take() {
            let mut f = fs::File::from(fd);
            let _ = f.write_all(&[0]);
            if chdir_root {
                let _ = std::env::set_current_dir("/");
            }
            redirect_stdio_to_null();
        }
    }
}

/// Forks; the parent waits until the child calls [`DetachNotifier::ready`]
/// (exit 0) or dies (exit 1), so `--detach` returns only once the daemon
/// serves. Must run before any thread starts.
pub fn detach() -> std::io::Result<DetachNotifier> {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two new descriptors into the array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned here only.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: single-threaded at this point (documented requirement).
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            drop(read_end);
            // SAFETY: setsid in the child detaches it from the terminal's session.
            unsafe { libc::setsid() };
            Ok(DetachNotifier(Some(write_end)))
        }
        _child => {
            drop(write_end);
            let mut f = fs::File::from(read_end);
            let mut byte = [0u8; 1];
            let code = match f.read(&mut byte) {
                Ok(1) => 0,
                _ => 1,
            };
            std::process::exit(code);
        }
    }
}

fn redirect_stdio_to_null() {
    if let Ok(null) = fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors, which we own.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

/// Turns transparent huge pages off for this process. The allocator asks
/// for them on its arenas, and every first touch of a 2 MiB page then
/// zeroes all of it: a server that allocates and frees rows in bursts
/// (a bulk insert, a transaction history trimmed as it grows) spent half
/// its time in the kernel clearing pages it mostly never used. Best
/// effort: an error leaves huge pages as they were.
pub fn disable_transparent_huge_pages() {
    // SAFETY: prctl(PR_SET_THP_DISABLE) takes integer arguments only and
    // changes nothing but this process's page policy.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
