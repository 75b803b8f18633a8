//! `--detach` and `--pidfile` for the commands that keep running
//! (monitors, locks): the command forks, the parent exits once the child
//! printed its first answer, and the child goes on in the background with
//! its standard output (and for monitors its standard error) still where
//! they were, as ovsdb-client's saved descriptors are. Log lines stop, as
//! a detached Open vSwitch program has no console.
//!
//! The control socket ovsdb-client opens when detached (`exit`,
//! `ovsdb-client/block`, ...) is not provided; stop the process by its
//! pidfile instead.

use daemon::process::{DetachNotifier, Pidfile};

use crate::cli::{self, Result, fatal};

/// The daemon options given.
#[derive(Default)]
pub(crate) struct Options {
    pub detach: bool,
    pub no_chdir: bool,
    /// `--pidfile[=FILE]`.
    pub pidfile: Option<Option<String>>,
    pub overwrite_pidfile: bool,
}

/// A command on its way to the background.
pub(crate) struct Daemon {
    notifier: Option<DetachNotifier>,
    chdir: bool,
    keep_stderr: bool,
    _pidfile: Option<Pidfile>,
}

impl Daemon {
    /// Detaches (if asked) and writes the pidfile (if asked).
    pub fn start(opts: &Options, keep_stderr: bool) -> Result<Daemon> {
        let notifier = if opts.detach {
            let n = daemon::process::detach().map_err(|e| fatal(format!("fork failed ({})", cli::strerror(&e))))?;
            // Only the forking thread lives on in the child: signals need a
            // new thread to wait for them.
            cli::init_fatal_signals();
            Some(n)
        } else {
            None
        };
        let pidfile = match &opts.pidfile {
            None => None,
            Some(value) => {
                let path = daemon::process::pidfile_path(cli::program_name(), value.as_deref());
                let pidfile = Pidfile::create(&path, opts.overwrite_pidfile).map_err(|e| fatal(e.to_string()))?;
                cli::remove_on_fatal_signal(&path);
                Some(pidfile)
            }
        };
        Ok(Daemon {
            notifier,
            chdir: !opts.no_chdir,
            keep_stderr,
            _pidfile: pidfile,
        })
    }

    /// The first answer is out: let the parent exit.
    pub fn complete(&mut self) {
        let Some(mut n) = self.notifier.take() else { return };
        cli::flush();
        // `ready` points every standard descriptor at /dev/null; keep
        // the ones the command writes to.
        let saved: Vec<(i32, i32)> = [1, if self.keep_stderr { 2 } else { -1 }]
            .into_iter()
            .filter(|&fd| fd >= 0)
            // SAFETY: dup of a standard descriptor we own.
            .map(|fd| (fd, unsafe { libc::dup(fd) }))
            .filter(|&(_, copy)| copy >= 0)
            .collect();
        n.ready(self.chdir);
        cli::disable_console_log();
        for (fd, copy) in saved {
            // SAFETY: copy is a descriptor dup'ed above; fd a standard one.
            unsafe {
                libc::dup2(copy, fd);
                libc::close(copy);
            }
        }
    }
}
