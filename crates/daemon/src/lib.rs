//! What every rovn daemon shares with the Open vSwitch daemon it replaces,
//! so scripts and operators can swap binaries without noticing:
//!
//! - [`options`]: `getopt_long`-style command lines (`--pidfile[=FILE]`,
//!   `--remote=X` repeated, `--detach`, `--log-file`, `--unixctl`, `-v`).
//! - [`log`]: log lines in Open vSwitch's format
//!   (`2026-01-01T00:00:00.000Z|00001|module|INFO|text`), to a file and the
//!   console, with levels changed at run time (`vlog/set`).
//! - [`process`]: `--detach` (fork, wait until the child is ready), pidfiles,
//!   run directories.
//! - [`unixctl`]: the control socket that `ovs-appctl -t` talks to.

pub mod log;
pub mod options;
pub mod process;
pub mod unixctl;

use std::process::ExitCode;
use std::sync::Arc;

/// What a daemon's `main` is, apart from its own work: its command line is
/// parsed (`specs`), `--help` and `--version` are answered, `--detach`
/// forks (before any thread exists), then `body` runs with the options and
/// the logger (set up from `-v`, `--log-file`, `--detach`), and its error,
/// if any, is logged and printed.
pub fn main(
    program: &str,
    specs: &[&[options::Spec]],
    usage: impl Fn() -> String,
    version: impl Fn() -> String,
    body: impl FnOnce(&options::Parsed, &Arc<log::Logger>, &mut process::DetachNotifier) -> Result<(), String>,
) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match options::parse(&args, specs) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{program}: {e} (use --help for help)");
            return ExitCode::FAILURE;
        }
    };
    if opts.has("help") {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    if opts.has("version") {
        println!("{}", version());
        return ExitCode::SUCCESS;
    }
    let mut notifier = if opts.has("detach") {
        match process::detach() {
            Ok(n) => n,
            Err(e) => {
                eprintln!("{program}: could not detach: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        process::DetachNotifier::none()
    };
    let res = log_setup(program, &opts).and_then(|logger| body(&opts, &logger, &mut notifier));
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(target: "daemon", "{e}");
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The logger, configured from `-v`/`--verbose`, `--log-file` and
/// `--detach` (which sends the console to /dev/null).
pub fn log_setup(program: &str, opts: &options::Parsed) -> Result<Arc<log::Logger>, String> {
    let logger = log::init();
    for spec in opts.options.iter().filter(|(n, _)| n == "verbose") {
        logger.set(spec.1.as_deref().unwrap_or("dbg"))?;
    }
    if let Some(v) = opts.last("log-file") {
        let path = process::logfile_path(program, v);
        logger.set_file(&path).map_err(|e| format!("{}: could not open log file ({e})", path.display()))?;
    }
    if opts.has("detach") {
        logger.set("console:off")?;
    }
    Ok(logger)
}
