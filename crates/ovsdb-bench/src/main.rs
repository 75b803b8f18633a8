//! `rovsdb-bench [OPTIONS] [WORKLOAD]...`: runs the side-by-side benchmark
//! of Open vSwitch's ovsdb-server and rovsdb-server (see the library's
//! documentation for what is measured, and docs/PERFORMANCE.md for the
//! figures). Prints one table per workload and one JSON line per figure;
//! exits non-zero if any workload failed or did not validate.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use ovsdb_bench::report::LEGEND;
use ovsdb_bench::servers::{Programs, raise_fd_limit};
use ovsdb_bench::{Options, Workload};
use sandbox::{Component, Impl};

const USAGE: &str = "\
usage: rovsdb-bench [OPTIONS] [WORKLOAD]...

Runs each WORKLOAD (default: all) against Open vSwitch's ovsdb-server and
then rovsdb-server, and prints both figures and their ratio.

Workloads: txn fanout bulk startup memory reconnect condmon

Options:
  --scale=F            multiply every size by F (default 1; 0.002 for a smoke run)
  --ovsdb-server=PATH  Open vSwitch's server (default: ovsdb-server from PATH or /usr/sbin)
  --rovsdb-server=PATH our server (default: beside this program, or $ROVN_BIN_DIR)
  --timeout=SECS       bound on every phase (default 900)
  --dir=DIR            where the private temporary directory goes (default $TMPDIR)
  --threads=N          load generator threads (default 1, leaving the other cores to the server)
  --keep               leave the temporary directory (databases, logs) behind
  --json               print only the JSON lines
  -h, --help           this text";

struct Cli {
    opts: Options,
    threads: usize,
    json_only: bool,
}

fn parse_args() -> Result<Option<Cli>> {
    let mut workloads = Vec::new();
    let (mut scale, mut timeout, mut dir, mut threads, mut json_only) =
        (1.0_f64, 900.0, None, 1, false);
    let (mut ovs, mut rovn, mut keep) = (None, None, false);
    for arg in std::env::args().skip(1) {
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (arg.as_str(), None),
        };
        let value = || value.with_context(|| format!("{name} needs a value ({name}=...)"));
        match name {
            "-h" | "--help" => return Ok(None),
            "--scale" => scale = value()?.parse().context("--scale")?,
            "--timeout" => timeout = value()?.parse().context("--timeout")?,
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--threads" => threads = value()?.parse().context("--threads")?,
            "--ovsdb-server" => ovs = Some(PathBuf::from(value()?)),
            "--rovsdb-server" => rovn = Some(PathBuf::from(value()?)),
            "--json" => json_only = true,
            "--keep" => keep = true,
            n if n.starts_with('-') => bail!("unknown option {n}\n{USAGE}"),
            n => workloads.push(Workload::parse(n)?),
        }
    }
    if !scale.is_finite() || scale <= 0.0 {
        bail!("--scale must be positive");
    }
    if workloads.is_empty() {
        workloads = Workload::ALL.to_vec();
    }
    let ovs = match ovs {
        Some(p) => p,
        None => sandbox::tool::debian_program("ovsdb-server")?,
    };
    let rovn = match rovn {
        Some(p) => p,
        None => sandbox::Programs::beside_current_exe()?.path(Component::DbServer, Impl::Ours)?,
    };
    let opts = Options {
        workloads,
        scale,
        programs: Programs { ovs, rovn },
        timeout: Duration::from_secs_f64(timeout),
        workdir: dir,
        keep,
    };
    Ok(Some(Cli {
        opts,
        threads: threads.max(1),
        json_only,
    }))
}

/// Where and when: enough to compare runs.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("{cores} cores ({cpu}); load average {}", load.join(" "))
}

/// The kind of file system `dir` is on: it decides what an fsync costs
/// (rovsdb-server syncs every commit batch; ovsdb-server 3.1 syncs only
/// transactions that ask for it).
fn file_system(dir: &std::path::Path) -> String {
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return "unknown".into();
    };
    // SAFETY: statfs writes into the zeroed struct we pass.
    let mut st = unsafe { std::mem::zeroed::<libc::statfs>() };
    if unsafe { libc::statfs(path.as_ptr(), &mut st) } != 0 {
        return "unknown".into();
    }
    match st.f_type as i64 {
        0x0102_1994 => "tmpfs".into(),
        0xEF53 => "ext4".into(),
        0x5846_5342 => "xfs".into(),
        0x9123_683E => "btrfs".into(),
        0x794C_7630 => "overlayfs".into(),
        other => format!("file system type {other:#x}"),
    }
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rovsdb-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let Some(cli) = parse_args()? else {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    raise_fd_limit()?;
    let runtime = if cli.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.threads)
            .enable_all()
            .build()
    }
    .context("starting the tokio runtime")?;

    let opts = &cli.opts;
    if !cli.json_only {
        let dir = opts.workdir.clone().unwrap_or_else(std::env::temp_dir);
        println!("rovsdb-bench, scale {}: {}", opts.scale, machine());
        println!(
            "database files under {} ({})",
            dir.display(),
            file_system(&dir)
        );
        println!(
            "ovsdb-server: {}\nrovsdb-server: {}",
            opts.programs.ovs.display(),
            opts.programs.rovn.display()
        );
        println!("{LEGEND}\n");
    }
    // Servers are started from this thread (block_on runs the driver
    // here), so their parent-death signal follows the benchmark's life.
    let errors = runtime.block_on(ovsdb_bench::run(opts, |report| {
        if !cli.json_only {
            println!("{}", report.table());
        }
        for line in report.json_lines(opts.scale) {
            println!("{line}");
        }
        if !cli.json_only {
            println!();
        }
    }))?;
    for (w, e) in &errors {
        eprintln!("rovsdb-bench: workload {} failed: {e:#}", w.name());
        println!(
            "{}",
            serde_json::json!({"workload": w.name(), "error": format!("{e:#}")})
        );
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
