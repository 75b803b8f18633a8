//! Debian's ovn-northd (C, OVN 23.03) against rovn-northd on the same
//! Northbound, one after the other in one run, each with fresh databases
//! served by the same database server program, so that only northd
//! differs. The Northbound is the incrementality scenario
//! (`tests/scale`): 200 switches, 10,000 ports, a port group of 500 ACLs
//! over 50 address sets.
//!
//! For each northd:
//! - full compile: the Northbound already loaded (`NB_Global:nb_cfg` is
//!   1), the Southbound empty; the clock starts when northd is spawned and
//!   stops when `SB_Global:nb_cfg` reaches 1, which northd writes with (or
//!   after) the Southbound contents it computed. Wall time and northd's CPU
//!   time (`/proc/PID/stat`); the Southbound's row counts as a check.
//!   `COMPILES` (3) times, each on fresh databases, the northds taking
//!   turns so that both see the same drift of the machine; the median is
//!   reported.
//! - one-port change, on the converged system, `ROUNDS` times (median
//!   and 90th percentile): `ovn-nbctl --wait=sb lsp-add SW P --
//!   lsp-set-addresses P "MAC IP"` from the command's start to its exit,
//!   with what it reports as northd's completion (`--print-wait-time`:
//!   from its commit to the `sb_cfg_timestamp` northd wrote); and the same
//!   change through a connected client (the port, the switch's `ports`
//!   and the `nb_cfg` increment in one transaction, then until `sb_cfg`
//!   follows), since ovn-nbctl itself first fetches the 10,000 ports
//!   (`ovn-nbctl lsp-list` alone is timed too).
//!
//! ```sh
//! cargo bench -p ovn-northd --bench vs_debian
//! ROUNDS=40 cargo bench -p ovn-northd --bench vs_debian      # more rounds
//! COMPILES=5 cargo bench -p ovn-northd --bench vs_debian     # more full compiles
//! NORTHD_BENCH_DB=rovn cargo bench -p ovn-northd --bench vs_debian
//!     # databases served by rovsdb-server (built by cargo) instead
//! NORTHD_BENCH_ONLY=rovn cargo bench -p ovn-northd --bench vs_debian
//!     # one northd only (debian | rovn), e.g. under perf
//! ROVN_NORTHD=PATH cargo bench -p ovn-northd --bench vs_debian
//!     # another rovn-northd binary (a build to compare)
//! ```
//!
//! `cargo bench` builds `rovn-northd` with the bench profile (release
//! settings) into `target/release/rovn-northd`, which is what runs.

#[path = "../tests/nbgen/mod.rs"]
mod nbgen;
#[path = "../tests/scale/mod.rs"]
mod scale;
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ovsdb::db::Database;
use ovsdb_client::{Clause, Client, Config, Remote, Transaction, nb, sb};
use sandbox::db;
use sandbox::process::Registry;
use sandbox::{Component, Impl, Programs, tool};
use serde_json::json;

/// One `ovn-nbctl` command's limit.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(120);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A northd to measure.
struct Northd {
    label: &'static str,
    program: PathBuf,
}

/// What one northd did.
struct Figures {
    /// The full compile (the median of `COMPILES`).
    compile: Compile,
    /// Southbound row counts after the full compile.
    counts: Vec<(&'static str, usize)>,
    /// One-port changes by `ovn-nbctl --wait=sb`, sorted.
    changes: Vec<Duration>,
    /// Their "ovn-northd completion" (`--print-wait-time`), sorted.
    reported: Vec<Duration>,
    /// One-port changes by a connected client, sorted.
    direct: Vec<Duration>,
    /// Northd's CPU time per change.
    change_cpu: Duration,
    /// Median of `ovn-nbctl lsp-list` (the client alone).
    nbctl_alone: Duration,
}

const COUNTED: [&str; 5] = [
    "Logical_Flow",
    "Logical_DP_Group",
    "Port_Binding",
    "Datapath_Binding",
    "Multicast_Group",
];

fn main() {
    let rounds = env_usize("ROUNDS", 20).max(1);
    let compile_timeout = Duration::from_secs(env_usize("NORTHD_BENCH_TIMEOUT", 600) as u64);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let server = match std::env::var("NORTHD_BENCH_DB").as_deref() {
        Ok("rovn") => Programs::cargo_built(&workspace)
            .path(Component::DbServer, Impl::Ours)
            .expect("rovsdb-server"),
        _ => tool::debian_program("ovsdb-server").expect("ovsdb-server"),
    };
    let mut northds = vec![
        Northd {
            label: "Debian ovn-northd",
            program: tool::debian_program("ovn-northd").expect("ovn-northd"),
        },
        Northd {
            label: "rovn-northd",
            program: std::env::var_os("ROVN_NORTHD")
                .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rovn-northd")), PathBuf::from),
        },
    ];
    match std::env::var("NORTHD_BENCH_ONLY").as_deref() {
        Ok("debian") => northds.truncate(1),
        Ok("rovn") => {
            northds.remove(0);
        }
        _ => {}
    }

    let t = Instant::now();
    let mut nb = scale::build(&scale::FULL);
    // nb_cfg is already 1: a northd is done with its first compile when
    // it has copied that to the Southbound.
    nbgen::transact(
        &mut nb,
        vec![json!({"op": "insert", "table": "NB_Global", "row": {"nb_cfg": 1}})],
    );
    println!(
        "Northbound: 200 switches, 10,000 ports, port group of 500 ACLs over 50 address sets (built in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    println!("database server: {}", server.display());
    for n in &northds {
        println!("{}: {}", n.label, n.program.display());
    }
    println!("{rounds} one-port rounds");

    // Full compiles alone, taking turns; each northd's last one is the
    // start of its one-port rounds.
    let compiles = env_usize("COMPILES", 3).max(1);
    let mut extra: Vec<Vec<Compile>> = northds.iter().map(|_| Vec::new()).collect();
    for _ in 1..compiles {
        for (n, list) in northds.iter().zip(&mut extra) {
            eprintln!("== {}", n.label);
            let (running, compile) = full_compile(n, &server, &nb, compile_timeout);
            drop(running);
            list.push(compile);
        }
    }
    let figures: Vec<Figures> = northds
        .iter()
        .zip(extra)
        .map(|(n, mut compiles)| {
            let mut f = measure(n, &server, &nb, rounds, compile_timeout);
            compiles.push(f.compile);
            f.compile = median_compile(compiles);
            f
        })
        .collect();
    report(&northds, &figures);
}

/// One full compile's figures.
#[derive(Clone, Copy)]
struct Compile {
    wall: Duration,
    /// northd's CPU time.
    cpu: Duration,
    /// Both database servers' CPU time meanwhile.
    server_cpu: Duration,
}

/// Each figure's median over the runs (so not necessarily one run's).
fn median_compile(runs: Vec<Compile>) -> Compile {
    let median = |f: fn(&Compile) -> Duration| {
        let mut v: Vec<Duration> = runs.iter().map(f).collect();
        v.sort();
        v[v.len() / 2]
    };
    Compile { wall: median(|c| c.wall), cpu: median(|c| c.cpu), server_cpu: median(|c| c.server_cpu) }
}

/// A northd with its databases, after its full compile.
struct Running {
    registry: Registry,
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    pid: u32,
    nb_remote: String,
}

/// Starts fresh databases and `northd`, and times its full compile.
fn full_compile(northd: &Northd, server: &Path, nb: &Database, compile_timeout: Duration) -> (Running, Compile) {
    let (mut registry, dir) = support::start_databases_with("vs-debian-", server, Some(nb));
    let (nb_remote, sb_remote) = (remote(dir.path(), "nb"), remote(dir.path(), "sb"));
    let servers = [pid_of(&registry, "nb"), pid_of(&registry, "sb")];

    // Follows SB_Global from before northd starts.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sb_client = connect::<sb::SBGlobal>(&rt, sb::DATABASE, &sb_remote);

    let server_cpu0: Duration = servers.iter().map(|p| cpu(*p)).sum();
    let start = Instant::now();
    let pid = registry
        .start(support::northd_spec(northd.program.clone(), dir.path(), &nb_remote, &sb_remote))
        .expect("start northd")
        .pid();
    let done = rt.block_on(async {
        tokio::time::timeout(
            compile_timeout,
            sb_client.wait_for(|r| r.iter::<sb::SBGlobal>().any(|g| g.nb_cfg >= 1)),
        )
        .await
    });
    let wall = start.elapsed();
    let compile_cpu = cpu(pid);
    let server_cpu = servers.iter().map(|p| cpu(*p)).sum::<Duration>() - server_cpu0;
    if !matches!(done, Ok(Ok(()))) {
        panic!(
            "{} did not compile within {compile_timeout:?}:\n{}",
            northd.label,
            registry.get("northd").map(|d| d.tail()).unwrap_or_default()
        );
    }
    drop(sb_client);
    eprintln!("   full compile {:.2} s wall, {:.2} s CPU", wall.as_secs_f64(), compile_cpu.as_secs_f64());
    let running = Running { registry, dir, rt, pid, nb_remote };
    (running, Compile { wall, cpu: compile_cpu, server_cpu })
}

fn remote(dir: &Path, name: &str) -> String {
    format!("unix:{}", db::socket(&dir.join(name)).display())
}

fn measure(northd: &Northd, server: &Path, nb: &Database, rounds: usize, compile_timeout: Duration) -> Figures {
    eprintln!("== {}", northd.label);
    let (running, compile) = full_compile(northd, server, nb, compile_timeout);
    let Running { mut registry, dir, rt, pid, nb_remote } = running;
    let counts = count_rows(&dir.path().join("sb").join("ovn-sb.db"));
    let nbctl = |args: &[&str]| {
        let t = Instant::now();
        let out = tool::ctl("ovn-nbctl", &nb_remote, args, CHANGE_TIMEOUT)
            .unwrap_or_else(|e| panic!("{}: ovn-nbctl {args:?}: {e:#}", northd.label));
        (t.elapsed(), out)
    };
    // Settle: whatever northd still does after its first commit (the
    // Northbound write-backs and what they trigger).
    nbctl(&["--wait=sb", "sync"]);
    let mut nbctl_alone: Vec<Duration> = (0..5).map(|_| nbctl(&["lsp-list", "sw0"]).0).collect();

    let nb_client = connect::<nb::NBGlobal>(&rt, nb::DATABASE, &nb_remote);

    let cpu0 = cpu(pid);
    let (mut changes, mut reported, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        let sw = format!("sw{}", (i * 37) % scale::FULL.switches);
        let port = format!("bench-p{i}");
        let (hi, lo) = (i / 250, i % 250 + 1);
        let addresses = format!("0a:00:02:00:{hi:02x}:{lo:02x} 10.254.{hi}.{lo}");
        let (took, out) = nbctl(&[
            "--wait=sb",
            "--print-wait-time",
            "lsp-add",
            &sw,
            &port,
            "--",
            "lsp-set-addresses",
            &port,
            &addresses,
        ]);
        changes.push(took);
        reported.push(northd_completion(&out).unwrap_or_else(|| panic!("no wait time in {out:?}")));
        let port = format!("bench-q{i}");
        let addresses = format!("0a:00:03:00:{hi:02x}:{lo:02x} 10.253.{hi}.{lo}");
        direct.push(rt.block_on(add_port(&nb_client, &sw, &port, &addresses)));
    }
    let change_cpu = (cpu(pid) - cpu0) / (2 * rounds) as u32;
    registry.check_running().expect("daemons still running");
    for v in [&mut changes, &mut reported, &mut direct, &mut nbctl_alone] {
        v.sort();
    }
    eprintln!(
        "   one-port change median {:.1} ms (ovn-nbctl), {:.1} ms (connected client)",
        quantile(&changes, 0.5).as_secs_f64() * 1e3,
        quantile(&direct, 0.5).as_secs_f64() * 1e3
    );
    Figures {
        compile,
        counts,
        changes,
        reported,
        direct,
        change_cpu,
        nbctl_alone: quantile(&nbctl_alone, 0.5),
    }
}

/// "ovn-northd completion" of `ovn-nbctl --print-wait-time`: from the
/// command's commit to the `sb_cfg_timestamp` northd wrote.
fn northd_completion(out: &str) -> Option<Duration> {
    let line = out.lines().find(|l| l.contains("ovn-northd completion:"))?;
    let ms = line.split(':').nth(1)?.trim().strip_suffix("ms")?;
    Some(Duration::from_millis(ms.trim().parse().ok()?))
}

/// Adds a port through a connected client, as one transaction with the
/// `nb_cfg` increment, and waits until `sb_cfg` reaches it: what
/// `ovn-nbctl --wait=sb` does, without fetching the Northbound first.
async fn add_port(client: &Client, switch: &str, port: &str, addresses: &str) -> Duration {
    let start = Instant::now();
    let global = client.replica().iter::<nb::NBGlobal>().next().expect("NB_Global").uuid;
    let mut txn = Transaction::new(nb::DATABASE);
    let row = json!({"name": port, "addresses": addresses});
    let lsp = txn.insert("Logical_Switch_Port", row.as_object().cloned().unwrap_or_default());
    txn.mutate(
        "Logical_Switch",
        &[Clause::eq("name", switch)],
        vec![json!(["ports", "insert", ["set", [["uuid", lsp.to_string()]]]])],
    );
    txn.increment("NB_Global", global, "nb_cfg");
    let done = tokio::time::timeout(CHANGE_TIMEOUT, async {
        let outcome = client.transact(&txn).await.expect("add port");
        let cfg = outcome.increment.expect("nb_cfg");
        client
            .wait_for(|r| r.iter::<nb::NBGlobal>().any(|g| g.sb_cfg >= cfg))
            .await
            .expect("sb_cfg");
    })
    .await;
    done.unwrap_or_else(|_| panic!("adding {port} took over {CHANGE_TIMEOUT:?}"));
    start.elapsed()
}

/// A client of `database` at `remote` following table `T`, connected.
fn connect<T: ovsdb_client::typed::Table>(rt: &tokio::runtime::Runtime, database: &str, remote: &str) -> Client {
    let client = {
        let _guard = rt.enter();
        let remotes = Remote::parse_list(remote).expect("remote");
        Client::start(Config::new(database, remotes).monitor_typed::<T>())
    };
    rt.block_on(async { tokio::time::timeout(support::TIMEOUT, client.wait_connected()).await })
        .unwrap_or_else(|_| panic!("no connection to {remote} in time"))
        .expect("connection");
    client
}

fn pid_of(registry: &Registry, name: &str) -> u32 {
    registry.get(name).expect("daemon").pid()
}

/// Rows of the counted tables in the Southbound's file (the server writes
/// a transaction to it before it sends the updates we waited for).
fn count_rows(file: &Path) -> Vec<(&'static str, usize)> {
    let sb = ovsdb_storage::log::Log::open(file, ovsdb_storage::log::OpenMode::ReadOnly)
        .expect("read Southbound file")
        .db;
    COUNTED
        .iter()
        .map(|t| (*t, sb.table_by_name(t).map_or(0, |(_, _, rows)| rows.rows.len())))
        .collect()
}

/// The `q` quantile of sorted samples (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// User plus system CPU time of a process so far (zero once it is gone).
fn cpu(pid: u32) -> Duration {
    sandbox::process::cpu_time(pid).unwrap_or_default()
}

fn report(northds: &[Northd], figures: &[Figures]) {
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    let mut rows: Vec<(String, Vec<String>, Option<f64>, &str)> = Vec::new();
    let ratio = |f: &dyn Fn(&Figures) -> Duration| {
        (figures.len() == 2).then(|| f(&figures[0]).as_secs_f64() / f(&figures[1]).as_secs_f64().max(1e-9))
    };
    let mut row = |name: &str, f: &dyn Fn(&Figures) -> Duration, show: &dyn Fn(Duration) -> String, target: &'static str| {
        rows.push((name.to_string(), figures.iter().map(|x| show(f(x))).collect(), ratio(f), target));
    };
    row("full compile, wall, median", &|x| x.compile.wall, &secs, "rovn >= 3x faster");
    row("full compile, northd CPU, median", &|x| x.compile.cpu, &secs, "");
    row("full compile, servers' CPU, median", &|x| x.compile.server_cpu, &secs, "");
    let n = figures.first().map_or(0, |f| f.changes.len());
    let q = |v: &[Duration], p: f64| quantile(v, p);
    row(&format!("one port, ovn-nbctl --wait=sb, median of {n}"), &|x| q(&x.changes, 0.5), &ms, "");
    row("one port, ovn-nbctl --wait=sb, p90", &|x| q(&x.changes, 0.9), &ms, "");
    row("  its northd completion, median", &|x| q(&x.reported, 0.5), &ms, "");
    row("  its northd completion, p90", &|x| q(&x.reported, 0.9), &ms, "");
    row("  ovn-nbctl lsp-list alone, median", &|x| x.nbctl_alone, &ms, "");
    row(&format!("one port, connected client, median of {n}"), &|x| q(&x.direct, 0.5), &ms, "rovn <= 50 ms");
    row("one port, connected client, p90", &|x| q(&x.direct, 0.9), &ms, "");
    row("one port, northd CPU", &|x| x.change_cpu, &ms, "");

    let mut header = vec![String::new()];
    header.extend(northds.iter().map(|n| n.label.to_string()));
    if figures.len() == 2 {
        header.push("Debian/rovn".into());
    }
    header.push("target".into());
    let mut table = vec![header];
    for (name, values, r, target) in rows {
        let mut line = vec![name];
        line.extend(values);
        if let Some(r) = r {
            line.push(format!("{r:.1}x"));
        }
        line.push(target.to_string());
        table.push(line);
    }
    for t in COUNTED {
        let mut line = vec![format!("Southbound {t} rows")];
        line.extend(figures.iter().map(|f| {
            let n = f.counts.iter().find(|(n, _)| *n == t).map_or(0, |(_, c)| *c);
            n.to_string()
        }));
        table.push(line);
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|c| table.iter().map(|l| l.get(c).map_or(0, String::len)).max().unwrap_or(0))
        .collect();
    println!();
    for line in &table {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(c, s)| format!("{s:<w$}", w = widths[c]))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
    if figures.len() == 2 {
        let (d, r) = (&figures[0], &figures[1]);
        let speedup = d.compile.wall.as_secs_f64() / r.compile.wall.as_secs_f64();
        let (direct, nbctl) = (quantile(&r.direct, 0.5), quantile(&r.changes, 0.5));
        println!();
        println!(
            "full compile: rovn {speedup:.1}x faster than Debian (target 3x): {}",
            if speedup >= 3.0 { "met" } else { "MISSED" }
        );
        println!(
            "one-port change: rovn median {} through a connected client (target 50 ms): {}; \
             {} through ovn-nbctl, which first fetches the Northbound ({} alone)",
            ms(direct),
            if direct <= Duration::from_millis(50) { "met" } else { "MISSED" },
            ms(nbctl),
            ms(r.nbctl_alone),
        );
    }
    for f in figures {
        let flows = f.counts[0].1;
        assert!(
            flows >= 10_000,
            "only {flows} logical flows after the full compile: the Southbound is not complete"
        );
    }
}
