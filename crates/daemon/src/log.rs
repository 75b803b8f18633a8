//! Logging in Open vSwitch's format, to the console and a log file, with
//! levels that `vlog/set` changes while the daemon runs.
//!
//! Code logs with `tracing`; the module column is the event's target with
//! any crate path stripped (`tracing::info!(target: "jsonrpc", ...)`).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Open vSwitch's levels, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum VlogLevel {
    Off = 0,
    Emer = 1,
    Err = 2,
    Warn = 3,
    Info = 4,
    Dbg = 5,
}

impl VlogLevel {
    pub fn parse(s: &str) -> Option<VlogLevel> {
        Some(match s {
            "off" => VlogLevel::Off,
            "emer" => VlogLevel::Emer,
            "err" => VlogLevel::Err,
            "warn" => VlogLevel::Warn,
            "info" => VlogLevel::Info,
            "dbg" | "debug" => VlogLevel::Dbg,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            VlogLevel::Off => "OFF",
            VlogLevel::Emer => "EMER",
            VlogLevel::Err => "ERR",
            VlogLevel::Warn => "WARN",
            VlogLevel::Info => "INFO",
            VlogLevel::Dbg => "DBG",
        }
    }

    fn from_u8(v: u8) -> VlogLevel {
        match v {
            0 => VlogLevel::Off,
            1 => VlogLevel::Emer,
            2 => VlogLevel::Err,
            3 => VlogLevel::Warn,
            4 => VlogLevel::Info,
            _ => VlogLevel::Dbg,
        }
    }

    fn of(level: &Level) -> VlogLevel {
        match *level {
            Level::ERROR => VlogLevel::Err,
            Level::WARN => VlogLevel::Warn,
            Level::INFO => VlogLevel::Info,
            _ => VlogLevel::Dbg,
        }
    }
}

/// The shared logging state: destinations and their levels.
pub struct Logger {
    console: AtomicU8,
    file_level: AtomicU8,
    file: Mutex<Option<(PathBuf, File)>>,
    seq: AtomicU32,
}

impl Logger {
    fn enabled(&self, level: VlogLevel) -> bool {
        level <= VlogLevel::from_u8(self.console.load(Ordering::Relaxed))
            || (level <= VlogLevel::from_u8(self.file_level.load(Ordering::Relaxed))
                && self.file.lock().is_ok_and(|f| f.is_some()))
    }

    /// Opens (or reopens) the log file.
    pub fn set_file(&self, path: &Path) -> std::io::Result<()> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if let Ok(mut f) = self.file.lock() {
            *f = Some((path.to_path_buf(), file));
        }
        tracing::callsite::rebuild_interest_cache();
        Ok(())
    }

    /// `vlog/reopen`: after log rotation.
    pub fn reopen(&self) -> Result<(), String> {
        let path = self.file.lock().ok().and_then(|f| f.as_ref().map(|(p, _)| p.clone()));
        match path {
            Some(p) => self.set_file(&p).map_err(|e| format!("{}: {e}", p.display())),
            None => Err("Logging to file not configured".into()),
        }
    }

    /// Applies one `vlog/set` or `-v` argument: `[module:][destination:]level`
    /// or `destination:level`. Modules are accepted and apply globally.
    pub fn set(&self, spec: &str) -> Result<(), String> {
        let mut level = None;
        let mut dests = Vec::new();
        for word in spec.split([':', ' ']).filter(|w| !w.is_empty()) {
            let w = word.to_ascii_lowercase();
            if let Some(l) = VlogLevel::parse(&w) {
                level = Some(l);
            } else if matches!(w.as_str(), "console" | "file" | "syslog") {
                dests.push(w);
            } else if w == "any" || w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                // A module name or ANY: levels are per destination here.
            } else {
                return Err(format!("unknown destination, level, or module \"{word}\""));
            }
        }
        let level = level.unwrap_or(VlogLevel::Dbg);
        if dests.is_empty() {
            dests = vec!["console".into(), "file".into()];
        }
        for d in dests {
            match d.as_str() {
                "console" => self.console.store(level as u8, Ordering::Relaxed),
                "file" => self.file_level.store(level as u8, Ordering::Relaxed),
                _ => {}
            }
        }
        tracing::callsite::rebuild_interest_cache();
        Ok(())
    }

    /// `vlog/list`.
    pub fn list(&self) -> String {
        let c = VlogLevel::from_u8(self.console.load(Ordering::Relaxed));
        let f = VlogLevel::from_u8(self.file_level.load(Ordering::Relaxed));
        format!("                 console    syslog    file\n                 -------    ------    ------\nANY              {:<10} {:<9} {}\n",
            c.name().to_lowercase(), "off", f.name().to_lowercase())
    }

    fn write(&self, level: VlogLevel, module: &str, message: &str) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let line = format!("{}|{:05}|{}|{}|{}\n", timestamp(SystemTime::now()), seq, module, level.name(), message);
        if level <= VlogLevel::from_u8(self.console.load(Ordering::Relaxed)) {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        if level <= VlogLevel::from_u8(self.file_level.load(Ordering::Relaxed))
            && let Ok(mut guard) = self.file.lock()
            && let Some((_, f)) = guard.as_mut()
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

struct OvsLayer(Arc<Logger>);

#[derive(Default)]
struct MessageVisitor(String, String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.1, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.1, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for OvsLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        self.0.enabled(VlogLevel::of(metadata.level()))
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let level = VlogLevel::of(event.metadata().level());
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        let target = event.metadata().target();
        let module = target.rsplit("::").next().unwrap_or(target);
        self.0.write(level, module, &format!("{}{}", v.0, v.1));
    }
}

/// Installs the logger as the global `tracing` subscriber. Console starts
/// at `info` (as Open vSwitch daemons do for warnings and above on a
/// terminal, we keep info for visibility), the file at `info`.
pub fn init() -> Arc<Logger> {
    let logger = Arc::new(Logger {
        console: AtomicU8::new(VlogLevel::Info as u8),
        file_level: AtomicU8::new(VlogLevel::Info as u8),
        file: Mutex::new(None),
        seq: AtomicU32::new(0),
    });
    let _ = tracing_subscriber::registry().with(OvsLayer(Arc::clone(&logger))).try_init();
    logger
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil-from-days (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_000_123_456);
        assert_eq!(timestamp(t), "2026-11-18T11:08:43.456Z");
    }

    #[test]
    fn vlog_set_specs() {
        let l = Logger { console: AtomicU8::new(4), file_level: AtomicU8::new(4), file: Mutex::new(None), seq: AtomicU32::new(0) };
        l.set("console:off").unwrap();
        assert_eq!(l.console.load(Ordering::Relaxed), VlogLevel::Off as u8);
        l.set("ANY:file:dbg").unwrap();
        assert_eq!(l.file_level.load(Ordering::Relaxed), VlogLevel::Dbg as u8);
        l.set("warn").unwrap();
        assert_eq!(l.console.load(Ordering::Relaxed), VlogLevel::Warn as u8);
        assert!(l.set("console:loud!").is_err());
    }
}
