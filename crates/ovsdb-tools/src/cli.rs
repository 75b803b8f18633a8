//! What both programs share on the command line: the program name in
//! messages, fatal errors as Open vSwitch prints them, `getopt_long`
//! options with its messages, and `errno` texts.

use std::io::Write as _;
use std::sync::OnceLock;

use daemon::options::{self, Arg, OptionError, Spec};

static PROGRAM_NAME: OnceLock<String> = OnceLock::new();
static ARGV0: OnceLock<String> = OnceLock::new();

/// Sets the name messages start with: the last component of `argv[0]`, as
/// Open vSwitch's `set_program_name` does (getopt's own messages use
/// `argv[0]` as given).
pub fn set_program_name(argv0: &str) {
    let base = argv0.rsplit('/').next().unwrap_or(argv0);
    let _ = PROGRAM_NAME.set(base.to_string());
    let _ = ARGV0.set(argv0.to_string());
}

pub fn program_name() -> &'static str {
    PROGRAM_NAME.get().map(String::as_str).unwrap_or("ovsdb-tools")
}

/// A fatal error: the message was already printed, or is to be printed
/// as `PROGRAM: MESSAGE`, and the process exits with `status`.
#[derive(Debug)]
pub struct Fatal {
    pub message: Option<String>,
    pub status: i32,
}

pub type Result<T, E = Fatal> = std::result::Result<T, E>;

/// `ovs_fatal(0, ...)`: exit status 1.
pub fn fatal(message: impl Into<String>) -> Fatal {
    Fatal {
        message: Some(message.into()),
        status: 1,
    }
}

/// Prints `PROGRAM: message` on stderr (`ovs_error`).
pub fn error(message: &str) {
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr(), "{}: {message}", program_name());
}

/// A program's `main`: names the program after `argv[0]`, sets up fatal
/// signals, runs `run` with the other arguments and exits as Open vSwitch
/// programs do.
pub fn main(run: fn(&[String]) -> Result<()>) -> ! {
    let mut args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let argv0 = args.next().unwrap_or_default();
    set_program_name(&argv0);
    init_fatal_signals();
    let args: Vec<String> = args.collect();
    exit_with(run(&args))
}

/// `--version`: Open vSwitch's line, naming the release these tools match.
pub fn print_version() {
    puts(&format!("{} (Open vSwitch) {}", program_name(), crate::OVS_VERSION));
}

/// Ends the process as `ovs_fatal` would once `res` failed.
pub fn exit_with(res: Result<()>) -> ! {
    let mut out = std::io::stdout();
    let flushed = out.flush();
    match res {
        Ok(()) => {
            if flushed.is_err() || stdout_failed() {
                error("write to stdout failed");
                std::process::exit(1);
            }
            std::process::exit(0)
        }
        Err(f) => {
            if let Some(m) = &f.message {
                error(m);
            }
            std::process::exit(f.status)
        }
    }
}

/// `strerror(errno)` for an I/O error: the C library's text, without the
/// " (os error N)" Rust adds.
pub fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => errno_text(n),
        None => e.to_string(),
    }
}

pub fn errno_text(n: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the XSI variant writes a
    // NUL-terminated string into it.
    let rc = unsafe { libc::strerror_r(n, buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {n}");
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Parses options as `getopt_long` does (options may follow operands);
/// errors are printed with getopt's wording and exit with status 1.
pub fn parse_options(args: &[String], specs: &[&[Spec]]) -> Result<options::Parsed> {
    options::parse(args, specs).map_err(|e| {
        let msg = match e {
            OptionError::Unknown(o) if !o.starts_with("--") => {
                format!("invalid option -- '{}'", o.trim_start_matches('-'))
            }
            OptionError::MissingValue(o)
                if specs
                    .iter()
                    .flat_map(|s| s.iter())
                    .any(|s| s.long == o && s.short.is_some()) =>
            {
                let short = specs
                    .iter()
                    .flat_map(|s| s.iter())
                    .find(|s| s.long == o)
                    .and_then(|s| s.short);
                match args.iter().any(|a| a == &format!("--{o}")) {
                    true => format!("option '--{o}' requires an argument"),
                    false => format!("option requires an argument -- '{}'", short.unwrap_or('?')),
                }
            }
            other => other.to_string(),
        };
        let argv0 = ARGV0.get().map(String::as_str).unwrap_or(program_name());
        let _ = writeln!(std::io::stderr(), "{argv0}: {msg}");
        Fatal {
            message: None,
            status: 1,
        }
    })
}

/// Logging options every Open vSwitch program takes (accepted, and
/// without effect: these programs log nothing worth a file).
pub const VLOG_OPTIONS: &[Spec] = &[
    options::short("verbose", 'v', Arg::Optional),
    options::opt("log-file", Arg::Optional),
    options::opt("syslog-method", Arg::Required),
    options::opt("syslog-target", Arg::Required),
];

static STDOUT_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes to stdout; a failure is remembered and reported at exit, as C's
/// `ferror(stdout)` check does, rather than panicking.
pub fn out(text: &str) {
    out_bytes(text.as_bytes());
}

pub fn out_bytes(bytes: &[u8]) {
    if std::io::stdout().write_all(bytes).is_err() {
        STDOUT_FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `puts`: the text and a new-line.
pub fn puts(text: &str) {
    out(text);
    out("\n");
}

/// Flushes stdout (monitors show each update as it comes).
pub fn flush() {
    if std::io::stdout().flush().is_err() {
        STDOUT_FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn stdout_failed() -> bool {
    STDOUT_FAILED.load(std::sync::atomic::Ordering::Relaxed)
}

static LOG_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
static CONSOLE_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stops [`log`] lines: a detached daemon has no console.
pub fn disable_console_log() {
    CONSOLE_OFF.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A log line on the console (stderr) in Open vSwitch's default console
/// format: `TIME|SEQ|MODULE|LEVEL|MESSAGE`, time in UTC to the second.
pub fn log(module: &str, level: &str, message: &str) {
    if CONSOLE_OFF.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let seq = LOG_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let ts = daemon::log::timestamp(std::time::SystemTime::now());
    // The daemons' format carries milliseconds; the console's does not.
    let ts = match ts.split_once('.') {
        Some((secs, _)) => format!("{secs}Z"),
        None => ts,
    };
    let _ = writeln!(std::io::stderr(), "{ts}|{seq:05}|{module}|{level}|{message}");
}

/// Files to remove when a fatal signal ends the process (pidfiles).
static REMOVE_ON_SIGNAL: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes `path` if a fatal signal ends the process, as Open vSwitch
/// removes its pidfiles.
pub fn remove_on_fatal_signal(path: &std::path::Path) {
    REMOVE_ON_SIGNAL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.to_path_buf());
}

/// The signals after which Open vSwitch's programs log their end and die.
const FATAL_SIGNALS: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGALRM];

/// Makes SIGTERM, SIGINT, SIGHUP and SIGALRM log "terminating with signal
/// N (NAME)" before they end the process, as Open vSwitch's fatal-signal
/// module does. Call before starting any thread: the signals are blocked
/// in the caller and received by a thread of their own.
pub fn init_fatal_signals() {
    // SAFETY: plain libc signal-set manipulation on local values; the
    // waiting thread only logs, removes files and re-raises the signal.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in FATAL_SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        std::thread::spawn(move || {
            let mut sig: libc::c_int = 0;
            if libc::sigwait(&set, &mut sig) != 0 {
                return;
            }
            let name = std::ffi::CStr::from_ptr(libc::strsignal(sig))
                .to_string_lossy()
                .into_owned();
            let _ = std::io::stdout().flush();
            log(
                "fatal_signal",
                "WARN",
                &format!("terminating with signal {sig} ({name})"),
            );
            for path in REMOVE_ON_SIGNAL.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                let _ = std::fs::remove_file(path);
            }
            libc::signal(sig, libc::SIG_DFL);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(sig);
        });
    }
}
