//! `rovn-northd`: the daemon around the compiler, with ovn-northd's
//! command line (`--ovnnb-db`, `--ovnsb-db`, `--unixctl`, `--pidfile`,
//! `--log-file`, `--detach`, `--dry-run`), its control commands (`exit`,
//! `pause`, `resume`, `is-paused`, `status`, ...) and its active/standby
//! scheme: only the holder of the `ovn_northd` lock on the Southbound
//! database writes.
//!
//! One task runs the loop: wait for a change (either database, the lock, a
//! control command, a signal), take the replicas' tracked changes into the
//! mirrors, compile incrementally (fully after a reconnection, a lost lock
//! or a failed transaction), diff, and commit the Southbound then the
//! Northbound transaction.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use daemon::options::{Arg, DAEMON_OPTIONS, Parsed, Spec, opt};
use daemon::process;
use daemon::unixctl::{COMMON_COMMANDS, Command, CommandSpec, command};
use ovn_northd::compile::{Compiler, NORTHD_INTERNAL_VERSION};
use ovn_northd::diff::Differ;
use ovn_northd::mirror::{self, Mirror};
use ovsdb_client::core::Phase;
use ovsdb_client::{Client, Config, Remote};
use tokio::sync::mpsc;
use tracing::{info, warn};

const PROGRAM: &str = "rovn-northd";
const LOCK: &str = "ovn_northd";

const NORTHD_OPTIONS: &[Spec] = &[
    opt("ovnnb-db", Arg::Required),
    opt("ovnsb-db", Arg::Required),
    opt("dry-run", Arg::None),
    opt("n-threads", Arg::Required),
    opt("private-key", Arg::Required),
    opt("certificate", Arg::Required),
    opt("ca-cert", Arg::Required),
    opt("options", Arg::None),
];

const NORTHD_COMMANDS: &[CommandSpec] = &[
    command("pause", "", 0, 0),
    command("resume", "", 0, 0),
    command("is-paused", "", 0, 0),
    command("status", "", 0, 0),
    command("nb-connection-status", "", 0, 0),
    command("sb-connection-status", "", 0, 0),
    command("sb-cluster-state-reset", "", 0, 0),
    command("nb-cluster-state-reset", "", 0, 0),
    command("parallel-build/set-n-threads", "N_THREADS", 1, 1),
    command("parallel-build/get-n-threads", "", 0, 0),
];

fn rundir() -> PathBuf {
    std::env::var_os("OVN_RUNDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/run/ovn"))
}

fn default_db(env: &str, sock: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| format!("unix:{}", rundir().join(sock).display()))
}

fn usage() -> String {
    format!(
        "{PROGRAM}: OVN northbound management daemon (rovn)
usage: {PROGRAM} [OPTIONS]

Options:
  --ovnnb-db=DATABASE       connect to ovn-nb database at DATABASE
                            (default: {})
  --ovnsb-db=DATABASE       connect to ovn-sb database at DATABASE
                            (default: {})
  --dry-run                 start in paused state (do not commit db changes)
  --n-threads=N             accepted for compatibility (one thread compiles)
  --unixctl=SOCKET          override default control socket name
  -h, --help                display this help message
  -V, --version             display version information

Daemon options:
  --detach  --no-chdir  --pidfile[=FILE]  --overwrite-pidfile
  --log-file[=FILE]  -v, --verbose[=SPEC]
",
        default_db("OVN_NB_DB", "ovnnb_db.sock"),
        default_db("OVN_SB_DB", "ovnsb_db.sock"),
    )
}

fn version() -> String {
    format!(
        "{PROGRAM} (rovn) {}, compatible with ovn-northd (Open vSwitch) 23.03.1",
        env!("CARGO_PKG_VERSION")
    )
}

// Replicas, the compiler's units and the transactions it builds are many
// small allocations; glibc's allocator spent a good part of a first compile
// consolidating them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    process::disable_transparent_huge_pages();
    daemon::main(PROGRAM, &[DAEMON_OPTIONS, NORTHD_OPTIONS], usage, version, run)
}

/// What reaches the main loop besides database changes.
enum Event {
    Control(Command),
    Shutdown,
}

fn run(
    opts: &Parsed,
    logger: &std::sync::Arc<daemon::log::Logger>,
    notifier: &mut process::DetachNotifier,
) -> Result<(), String> {
    let logger = logger.clone();
    let nb_remote = opts
        .last("ovnnb-db")
        .flatten()
        .map(str::to_string)
        .unwrap_or_else(|| default_db("OVN_NB_DB", "ovnnb_db.sock"));
    let sb_remote = opts
        .last("ovnsb-db")
        .flatten()
        .map(str::to_string)
        .unwrap_or_else(|| default_db("OVN_SB_DB", "ovnsb_db.sock"));
    let nb_remotes = Remote::parse_list(&nb_remote).map_err(|e| format!("--ovnnb-db: {e}"))?;
    let sb_remotes = Remote::parse_list(&sb_remote).map_err(|e| format!("--ovnsb-db: {e}"))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("rovn-northd")
        .build()
        .map_err(|e| format!("could not start runtime: {e}"))?;
    let unixctl_path = match opts.last("unixctl") {
        Some(Some(p)) => PathBuf::from(p),
        _ => process::default_unixctl_path(PROGRAM),
    };
    let (events_tx, events_rx) = mpsc::unbounded_channel::<Event>();
    let (_unixctl, mut commands) = {
        let _guard = runtime.enter();
        let specs: Vec<CommandSpec> = COMMON_COMMANDS.iter().chain(NORTHD_COMMANDS).cloned().collect();
        daemon::unixctl::UnixctlServer::start(&unixctl_path, specs)
            .map_err(|e| format!("{}: could not initialize control socket ({e})", unixctl_path.display()))?
    };
    let tx = events_tx.clone();
    runtime.spawn(async move {
        while let Some(cmd) = commands.recv().await {
            if tx.send(Event::Control(cmd)).is_err() {
                break;
            }
        }
    });
    let tx = events_tx;
    runtime.spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(Event::Shutdown);
    });
    let _pidfile = match opts.last("pidfile") {
        Some(v) => {
            let path = process::pidfile_path(PROGRAM, v);
            Some(process::Pidfile::create(&path, opts.has("overwrite-pidfile")).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    info!(target: "northd", "OVN internal version is : [{NORTHD_INTERNAL_VERSION}]");
    notifier.ready(!opts.has("no-chdir"));
    let paused = opts.has("dry-run");
    let res = runtime.block_on(async move {
        let nb = Client::start(nb_config(nb_remotes));
        let sb = Client::start(sb_config(sb_remotes));
        let mut northd = Northd::new(nb, sb, paused, logger);
        northd.run(events_rx).await
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    res
}

fn nb_config(remotes: Vec<Remote>) -> Config {
    let mut c = Config::new("OVN_Northbound", remotes);
    for t in ovn_northd::nb::NbTable::ALL {
        c = c.monitor(t.name(), &[]);
    }
    c
}

/// Every Southbound table northd reads or writes.
const SB_TABLES: &[&str] = &[
    "SB_Global",
    "Chassis",
    "Chassis_Private",
    "Encap",
    "Datapath_Binding",
    "Port_Binding",
    "Logical_Flow",
    "Logical_DP_Group",
    "Multicast_Group",
    "Address_Set",
    "Port_Group",
    "DHCP_Options",
    "DHCPv6_Options",
    "DNS",
    "IP_Multicast",
    "Load_Balancer",
    "Meter",
    "Meter_Band",
    "HA_Chassis_Group",
    "HA_Chassis",
    "RBAC_Role",
    "RBAC_Permission",
    "MAC_Binding",
    "Static_MAC_Binding",
];

fn sb_config(remotes: Vec<Remote>) -> Config {
    let mut c = Config::new("OVN_Southbound", remotes);
    for t in SB_TABLES {
        c = c.monitor(t, &[]);
    }
    c
}

struct Northd {
    nb: Client,
    sb: Client,
    nb_mirror: Option<Mirror>,
    sb_mirror: Option<Mirror>,
    compiler: Compiler,
    differ: Differ,
    /// Compile everything next round (first round, reconnection, lock
    /// regained, failed transaction).
    recompute: bool,
    paused: bool,
    had_lock: bool,
    /// The `nb_cfg` of the last Southbound transaction that committed.
    committed_cfg: i64,
    exiting: bool,
    logger: std::sync::Arc<daemon::log::Logger>,
}

/// Rows a mirror update changed: (table, UUID).
type ChangedRows = Vec<(String, ovsdb::Uuid)>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Northd {
    fn new(nb: Client, sb: Client, paused: bool, logger: std::sync::Arc<daemon::log::Logger>) -> Northd {
        let seed = now_ms() as u64 ^ u64::from(std::process::id()) << 32;
        Northd {
            nb,
            sb,
            nb_mirror: None,
            sb_mirror: None,
            compiler: Compiler::new(seed),
            differ: Differ::new(),
            recompute: true,
            paused,
            had_lock: false,
            committed_cfg: 0,
            exiting: false,
            logger,
        }
    }

    async fn run(&mut self, mut events: mpsc::UnboundedReceiver<Event>) -> Result<(), String> {
        let mut nb_status = self.nb.watch();
        let mut sb_status = self.sb.watch();
        while !self.exiting {
            self.step().await;
            if self.exiting {
                break;
            }
            tokio::select! {
                r = nb_status.changed() => if r.is_err() { return Err("Northbound client stopped".into()) },
                r = sb_status.changed() => if r.is_err() { return Err("Southbound client stopped".into()) },
                ev = events.recv() => match ev {
                    Some(Event::Control(cmd)) => self.control(cmd),
                    Some(Event::Shutdown) | None => self.exiting = true,
                },
            }
        }
        info!(target: "northd", "exiting");
        // Let the control socket deliver the reply to "exit".
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }

    fn control(&mut self, cmd: Command) {
        let reply = match cmd.name.as_str() {
            "exit" => {
                self.exiting = true;
                Ok(String::new())
            }
            "version" => Ok(format!("{}\n", version())),
            "vlog/set" => {
                let mut r = Ok(String::new());
                for a in &cmd.args {
                    if let Err(e) = self.logger.set(a) {
                        r = Err(e);
                    }
                }
                r
            }
            "vlog/list" => Ok(self.logger.list()),
            "vlog/reopen" => self.logger.reopen().map(|_| String::new()),
            "memory/show" => Ok(format!(
                "flows:{} ports:{}\n",
                self.compiler.desired().flows.len(),
                self.compiler.desired().port_bindings.len()
            )),
            "pause" => {
                self.paused = true;
                Ok(String::new())
            }
            "resume" => {
                self.paused = false;
                Ok(String::new())
            }
            "is-paused" => Ok(if self.paused { "true".into() } else { "false".into() }),
            "status" => {
                let s = if self.paused {
                    "paused"
                } else if self.had_lock {
                    "active"
                } else {
                    "standby"
                };
                Ok(format!("Status: {s}\n"))
            }
            "nb-connection-status" => Ok(connection_status(&self.nb)),
            "sb-connection-status" => Ok(connection_status(&self.sb)),
            "sb-cluster-state-reset" | "nb-cluster-state-reset" => Ok(String::new()),
            "parallel-build/set-n-threads" => match cmd.args.first().and_then(|n| n.parse::<i64>().ok()) {
                Some(n) if (1..=256).contains(&n) => Ok(String::new()),
                _ => Err(format!(
                    "invalid n_threads: {}\n",
                    cmd.args.first().cloned().unwrap_or_default()
                )),
            },
            "parallel-build/get-n-threads" => Ok("1\n".into()),
            other => Err(format!("\"{other}\" is not a valid command")),
        };
        let _ = cmd.reply.send(reply);
    }

    /// Follows the replicas into the mirrors; returns the changed rows.
    fn sync_mirrors(&mut self) -> (ChangedRows, ChangedRows) {
        let mut out = (Vec::new(), Vec::new());
        for (client, mirror, changed) in [
            (&self.nb, &mut self.nb_mirror, &mut out.0),
            (&self.sb, &mut self.sb_mirror, &mut out.1),
        ] {
            let mut replica = client.replica();
            let changes = replica.take_changes();
            match mirror {
                Some(m)
                    if !changes.reset && m.db.schema.tables.len() == replica.schema().map_or(0, |s| s.tables.len()) =>
                {
                    *changed = m.apply(&changes);
                }
                _ => {
                    *mirror = Mirror::from_replica(&replica);
                    self.recompute = true;
                }
            }
        }
        out
    }

    async fn step(&mut self) {
        if self.paused {
            if self.had_lock || self.sb.lock_status().name.is_some() {
                info!(target: "northd", "This ovn-northd instance is now paused.");
                self.sb.set_lock(None);
                self.had_lock = false;
            }
            self.sync_mirrors();
            self.recompute = true;
            return;
        }
        if self.sb.lock_status().name.is_none() {
            self.sb.set_lock(Some(LOCK));
        }
        let (nb_rows, sb_rows) = self.sync_mirrors();
        let connected = self.nb.status().phase == Phase::Monitoring && self.sb.status().phase == Phase::Monitoring;
        let held = self.sb.lock_status().held;
        if held && !self.had_lock {
            info!(target: "northd", "ovn-northd lock acquired. This ovn-northd instance is now active.");
            self.had_lock = true;
            self.recompute = true;
        } else if !held && self.had_lock {
            info!(target: "northd", "ovn-northd lock lost. This ovn-northd instance is now on standby.");
            self.had_lock = false;
        }
        if !connected || !held {
            self.recompute = true;
            return;
        }
        let (Some(nbm), Some(sbm)) = (&self.nb_mirror, &self.sb_mirror) else {
            return;
        };
        if self.recompute {
            self.compiler.load(&nbm.db, &sbm.db);
            if let Err(e) = self.differ.load(&sbm.db) {
                warn!(target: "northd", "{e}");
                return;
            }
            self.recompute = false;
        } else {
            let refs: Vec<(&str, ovsdb::Uuid)> = sb_rows.iter().map(|(t, u)| (t.as_str(), *u)).collect();
            if let Err(e) = self.differ.sb_changed(&sbm.db, &refs) {
                warn!(target: "northd", "{e}");
            }
            self.compiler.update(
                &nbm.db,
                &mirror::nb_changes(&nb_rows),
                &sbm.db,
                &mirror::sb_changes(&sb_rows),
            );
        }
        let dirty = self.compiler.take_dirty();
        let mut ops = match self.differ.diff(self.compiler.desired(), &dirty, &sbm.db, &nbm.db) {
            Ok(o) => o,
            Err(e) => {
                warn!(target: "northd", "{e}");
                self.recompute = true;
                return;
            }
        };
        let cfg = ovn_northd::cfg::sequence_numbers(&nbm.db, &sbm.db, self.committed_cfg, now_ms());
        ops.sb.extend(cfg.sb.iter().map(ToString::to_string));
        let sb_txn = ovn_northd::diff::to_transaction("OVN_Southbound", std::mem::take(&mut ops.sb));
        if !sb_txn.is_empty() {
            match self.sb.transact_owned(sb_txn).await {
                Ok(_) => self.committed_cfg = cfg.next_cfg,
                Err(e) => {
                    info!(target: "northd", "OVNSB commit failed, force recompute next time: {e}");
                    self.recompute = true;
                    return;
                }
            }
        } else {
            self.committed_cfg = cfg.next_cfg;
        }
        // The Northbound write-backs, with sb_cfg now that the Southbound
        // transaction committed.
        let (Some(nbm), Some(sbm)) = (&self.nb_mirror, &self.sb_mirror) else {
            return;
        };
        let cfg = ovn_northd::cfg::sequence_numbers(&nbm.db, &sbm.db, self.committed_cfg, now_ms());
        ops.nb.extend(cfg.nb.iter().map(ToString::to_string));
        let nb_txn = ovn_northd::diff::to_transaction("OVN_Northbound", ops.nb);
        if !nb_txn.is_empty()
            && let Err(e) = self.nb.transact_owned(nb_txn).await
        {
            info!(target: "northd", "OVNNB commit failed, force recompute next time: {e}");
            self.recompute = true;
        }
    }
}

fn connection_status(c: &Client) -> String {
    if c.status().phase == Phase::Monitoring {
        "connected".into()
    } else {
        "not connected".into()
    }
}
