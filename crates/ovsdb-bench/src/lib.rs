//! `rovsdb-bench`: applies the same load to Open vSwitch's `ovsdb-server`
//! and to `rovsdb-server`, one after the other on the same machine in the
//! same run, with the same schemas and files, and prints both figures and
//! how many times better rovsdb-server is.
//!
//! Each server's CPU time (utime + stime of the process, all threads) is
//! read from `/proc` before and after every measured phase and reported
//! beside wall time, because the load generator shares the machine; peak
//! memory is `VmHWM`. Every result is checked (each client received every
//! update it should, and nothing else; replies hold every row), so a fast
//! but wrong server cannot win.
//!
//! # Layout
//!
//! - [`client`]: raw JSON-RPC clients on tokio over Unix sockets (framed by
//!   `ovsdb::rpc`), and a replica of one monitored table.
//! - [`servers`]: starting, restarting and stopping each server by pid,
//!   and reading its CPU time and memory from `/proc`.
//! - [`data`]: the rows (northd-sized Southbound flows, datapaths, port
//!   bindings) and the pipelined writer.
//! - [`workloads`]: one module per workload, each returning [`Report`]s.
//! - [`report`]: figures, ratios, targets; tables and JSON lines.
//!
//! Every phase runs under a timeout; servers live in a private temporary
//! directory and are stopped when their handle drops, on success or error.

pub mod client;
pub mod data;
pub mod report;
pub mod servers;
pub mod workloads;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use sandbox::db::Schema;

pub use report::Report;
use servers::{Programs, Server, Side};

/// The workloads, by the names the command line takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Txn,
    Fanout,
    Bulk,
    Startup,
    Memory,
    Reconnect,
    Condmon,
}

impl Workload {
    pub const ALL: [Workload; 7] = [
        Workload::Txn,
        Workload::Fanout,
        Workload::Bulk,
        Workload::Startup,
        Workload::Memory,
        Workload::Reconnect,
        Workload::Condmon,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Txn => "txn",
            Workload::Fanout => "fanout",
            Workload::Bulk => "bulk",
            Workload::Startup => "startup",
            Workload::Memory => "memory",
            Workload::Reconnect => "reconnect",
            Workload::Condmon => "condmon",
        }
    }

    pub fn parse(name: &str) -> Result<Workload> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
                anyhow!("unknown workload {name:?} (known: {})", names.join(", "))
            })
    }
}

/// What one run does.
#[derive(Clone, Debug)]
pub struct Options {
    pub workloads: Vec<Workload>,
    /// Multiplies every size (rows, clients, transactions); 1 is the full
    /// benchmark, 0.002 a smoke test.
    pub scale: f64,
    pub programs: Programs,
    /// Bound on each phase (setup, load, wait).
    pub timeout: Duration,
    /// Where the private temporary directory goes (default: `$TMPDIR`).
    pub workdir: Option<PathBuf>,
    /// Leave the temporary directory (files, logs) behind, for a look.
    pub keep: bool,
}

/// Shared by the workloads of one run.
pub struct Bench {
    pub scale: f64,
    pub programs: Programs,
    pub timeout: Duration,
    /// Removes the directory when dropped, unless asked to keep it.
    _cleanup: Option<tempfile::TempDir>,
    dir: PathBuf,
    started: std::time::Instant,
}

impl Bench {
    pub fn new(opts: &Options) -> Result<Bench> {
        let dir = match &opts.workdir {
            Some(parent) => tempfile::Builder::new()
                .prefix("rovsdb-bench.")
                .tempdir_in(parent),
            None => tempfile::Builder::new().prefix("rovsdb-bench.").tempdir(),
        }
        .context("creating a temporary directory")?;
        let (dir, cleanup) = if opts.keep {
            let path = dir.keep();
            eprintln!("rovsdb-bench: keeping {}", path.display());
            (path, None)
        } else {
            (dir.path().to_path_buf(), Some(dir))
        };
        Ok(Bench {
            scale: opts.scale,
            programs: opts.programs.clone(),
            timeout: opts.timeout,
            _cleanup: cleanup,
            dir,
            started: std::time::Instant::now(),
        })
    }

    /// `full` scaled, and at least `min`.
    pub fn count(&self, full: usize, min: usize) -> usize {
        ((full as f64 * self.scale).round() as usize).max(min)
    }

    /// A directory `name` in the run's private directory.
    pub fn dir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    /// The directory of one server of one workload.
    pub fn server_dir(&self, workload: &str, side: Side) -> Result<PathBuf> {
        self.dir(&format!("{workload}/{}", side.program_name()))
    }

    /// An empty database of `schema` in `dir`, made by `ovsdb-tool create`.
    pub fn create_db(&self, dir: &Path, schema: Schema) -> Result<PathBuf> {
        sandbox::db::create(dir, schema, self.timeout)
    }

    /// Starts `side` on a fresh empty database of `schema` for `workload`.
    pub async fn fresh_server(&self, workload: &str, side: Side, schema: Schema) -> Result<Server> {
        let dir = self.server_dir(workload, side)?;
        let db = self.create_db(&dir, schema)?;
        Server::start(side, &self.programs, &dir, &[db], self.timeout).await
    }

    /// Runs `one` on ovsdb-server, then on rovsdb-server, each as a phase
    /// named `what`; returns their outcomes in that order.
    pub async fn both<T, F: Future<Output = Result<T>>>(
        &self,
        what: &str,
        mut one: impl FnMut(Side) -> F,
    ) -> Result<[T; 2]> {
        let ovs = self
            .phase(&format!("{what} on ovsdb-server"), one(Side::Ovs))
            .await?;
        let rovn = self
            .phase(&format!("{what} on rovsdb-server"), one(Side::Rovn))
            .await?;
        Ok([ovs, rovn])
    }

    /// Runs one phase under the timeout; `what` names it in progress
    /// lines (on stderr) and errors.
    pub async fn phase<T>(&self, what: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
        eprintln!(
            "rovsdb-bench: [{:7.1}s] {what}",
            self.started.elapsed().as_secs_f64()
        );
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(res) => res.with_context(|| format!("during {what}")),
            Err(_) => bail!("{what} did not finish within {:?}", self.timeout),
        }
    }
}

/// Runs the selected workloads in order, handing each report to `show`
/// as it completes. A workload that fails (a server misbehaved, or a
/// result did not validate) is reported in the returned errors and the
/// others still run.
pub async fn run(
    opts: &Options,
    mut show: impl FnMut(&Report),
) -> Result<Vec<(Workload, anyhow::Error)>> {
    let bench = Bench::new(opts)?;
    let mut errors = Vec::new();
    let mut done_startup = false;
    for &w in &opts.workloads {
        let res = match w {
            Workload::Txn => workloads::txn::run(&bench).await,
            Workload::Fanout => workloads::fanout::run(&bench).await,
            Workload::Bulk => workloads::bulk::run(&bench).await,
            // One large database serves both; generated once.
            Workload::Startup | Workload::Memory if done_startup => continue,
            Workload::Startup | Workload::Memory => {
                done_startup = true;
                let want = |x| opts.workloads.contains(&x);
                workloads::startup::run(&bench, want(Workload::Startup), want(Workload::Memory))
                    .await
            }
            Workload::Reconnect => workloads::reconnect::run(&bench).await,
            Workload::Condmon => workloads::condmon::run(&bench).await,
        };
        match res {
            Ok(reports) => reports.iter().for_each(&mut show),
            Err(e) => errors.push((w, e)),
        }
    }
    Ok(errors)
}
