//! `rovsdb-server [DATABASE]... [--remote=REMOTE]...`: the daemon, with
//! ovsdb-server's command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, mpsc};

use daemon::options::{Arg, DAEMON_OPTIONS, Spec, opt};
use daemon::process;
use ovsdb_server::remote::Remote;
use ovsdb_server::server::Server;
use ovsdb_server::{Event, LoopContext, Remotes};

const PROGRAM: &str = "rovsdb-server";

// Rows and datums are many small allocations made on one thread and freed
// on others; glibc's allocator spent a fifth of the server's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SERVER_OPTIONS: &[Spec] = &[
    opt("remote", Arg::Required),
    opt("run", Arg::Required),
    opt("private-key", Arg::Required),
    opt("certificate", Arg::Required),
    opt("ca-cert", Arg::Required),
    opt("bootstrap-ca-cert", Arg::Required),
    opt("peer-ca-cert", Arg::Required),
    opt("ssl-protocols", Arg::Required),
    opt("ssl-ciphers", Arg::Required),
    opt("disable-file-column-diff", Arg::None),
    opt("no-dbs", Arg::None),
    opt("fsync", Arg::Required),
];

fn usage() -> String {
    format!(
        "{PROGRAM}: Open vSwitch compatible database server (rovn)
usage: {PROGRAM} [OPTIONS] [DATABASE...]
where each DATABASE is a database file in ovsdb format.
The default DATABASE, if none is given, is
  {}

Remotes:
  --remote=REMOTE          connect or listen to REMOTE:
      punix:FILE  ptcp:PORT[:IP]  unix:FILE  tcp:IP:PORT  db:DB,TABLE,COLUMN

Durability:
  --fsync=requested        write every commit to its file before acknowledging
                           it, and sync those that ask for \"durable\": true;
                           the rest are synced in the background (default)
  --fsync=always           sync every commit before acknowledging it

Daemon options:
  --detach  --no-chdir  --pidfile[=FILE]  --overwrite-pidfile
  --log-file[=FILE]  -v, --verbose[=SPEC]  --unixctl=SOCKET
  -h, --help  -V, --version
",
        default_db().display()
    )
}

fn default_db() -> PathBuf {
    std::env::var_os("OVS_DBDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/openvswitch"))
        .join("conf.db")
}

fn version() -> String {
    format!("{PROGRAM} (rovn) {}, compatible with ovsdb-server (Open vSwitch) 3.1.0", env!("CARGO_PKG_VERSION"))
}

fn main() -> ExitCode {
    process::disable_transparent_huge_pages();
    daemon::main(PROGRAM, &[DAEMON_OPTIONS, SERVER_OPTIONS], usage, version, run)
}

fn run(
    opts: &daemon::options::Parsed,
    logger: &Arc<daemon::log::Logger>,
    notifier: &mut process::DetachNotifier,
) -> Result<(), String> {
    let mut server = Server::new(ovsdb_server::server_schema());
    match opts.last("fsync") {
        None | Some(Some("requested")) => {}
        Some(Some("always")) => server.set_fsync_policy(ovsdb_server::server::FsyncPolicy::Always),
        Some(other) => return Err(format!("--fsync={}: expected \"requested\" or \"always\"", other.unwrap_or(""))),
    }
    let files: Vec<PathBuf> = if opts.positional.is_empty() && !opts.has("no-dbs") {
        vec![default_db()]
    } else {
        opts.positional.iter().map(PathBuf::from).collect()
    };
    for file in &files {
        let opened = ovsdb_server::storage::open(file)?;
        server.add_db(opened.db, Some(opened.storage), opened.history)?;
    }
    // Reading a file needs its whole text and parsing scratch, freed by
    // now: give that memory back to the system rather than keep it.
    // SAFETY: mi_collect only releases memory the allocator no longer uses.
    unsafe { libmimalloc_sys::mi_collect(true) };

    // Connection workers (framing, parsing, writing): one per core unless
    // ROVSDB_WORKERS says otherwise (for measuring; ovsdb-server has no
    // such option, so it is not one here either).
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = std::env::var("ROVSDB_WORKERS").ok().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0) {
        builder.worker_threads(n);
    }
    let runtime = builder
        .enable_all()
        .thread_name("rovsdb-worker")
        .build()
        .map_err(|e| format!("could not start runtime: {e}"))?;
    let (events_tx, events_rx) = mpsc::channel::<Event>();
    let mut remotes = Remotes::new(runtime.handle().clone(), events_tx.clone());
    for r in opts.all("remote") {
        let remote = Remote::parse(r).map_err(|e| e.to_string())?;
        remotes.add(remote).map_err(|e| format!("{r}: {e}"))?;
    }

    let unixctl_path = match opts.last("unixctl") {
        Some(Some(p)) => PathBuf::from(p),
        _ => process::default_unixctl_path(PROGRAM),
    };
    let (_unixctl, mut commands) = {
        let _guard = runtime.enter();
        daemon::unixctl::UnixctlServer::start(&unixctl_path, ovsdb_server::unixctl_commands())
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
    let tx = events_tx.clone();
    runtime.spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
            (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
        else {
            return;
        };
        let sig = tokio::select! {
            _ = term.recv() => libc::SIGTERM,
            _ = int.recv() => libc::SIGINT,
            _ = hup.recv() => libc::SIGHUP,
        };
        let _ = tx.send(Event::Shutdown(Some(sig)));
    });
    drop(events_tx);

    let _pidfile = match opts.last("pidfile") {
        Some(v) => {
            let path = process::pidfile_path(PROGRAM, v);
            Some(process::Pidfile::create(&path, opts.has("overwrite-pidfile")).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    tracing::info!(target: "ovsdb_server", "{} serving {}", version(), server.db_names().join(", "));
    notifier.ready(!opts.has("no-chdir"));
    let ctx = LoopContext { remotes, logger: Some(Arc::clone(logger)), version: version() };
    let res = ovsdb_server::run_loop(server, events_rx, ctx).map_err(|e| format!("database I/O error: {e}"));
    runtime.shutdown_background();
    res
}
