//! `rovn-northd` against Debian's ovsdb-server: `ovn-nbctl --wait=sb`
//! returns (nb_cfg reaches sb_cfg), the Southbound it writes equals what
//! Debian's ovn-northd writes for the same Northbound, control commands
//! answer as ovn-northd's do, and two instances share the work through
//! the `ovn_northd` lock (one active, one standby, fail-over when the
//! active one dies, leaving the Southbound as it was); it reconnects to
//! restarted database servers, and detaches with a pidfile and a log file.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sandbox::db;
use sandbox::process::{DaemonSpec, Registry, Unixctl};
use sandbox::tool;
use support::{TIMEOUT, canon_actions, canon_match, sb_flows};

/// Database servers (Debian's), and rovn-northd instances.
struct Central {
    registry: Registry,
    dir: tempfile::TempDir,
}

impl Central {
    fn start() -> Central {
        let (registry, dir) = support::start_databases("rnorthd-");
        Central { registry, dir }
    }

    fn remote(&self, name: &str) -> String {
        format!("unix:{}", db::socket(&self.dir.path().join(name)).display())
    }

    fn northd(&mut self, name: &str) -> PathBuf {
        let spec = DaemonSpec {
            name: name.into(),
            program: PathBuf::from(env!("CARGO_BIN_EXE_rovn-northd")),
            dir: self.dir.path().join(name),
            stem: "ovn-northd".into(),
            args: vec![
                format!("--ovnnb-db={}", self.remote("nb")).into(),
                format!("--ovnsb-db={}", self.remote("sb")).into(),
            ],
            unixctl: Unixctl::Explicit,
        };
        let d = self.registry.start(spec).expect("start rovn-northd");
        d.ctl()
    }

    fn nbctl(&self, args: &[&str]) -> String {
        tool::ctl("ovn-nbctl", &self.remote("nb"), args, TIMEOUT)
            .unwrap_or_else(|e| panic!("ovn-nbctl {args:?}: {e:#}"))
    }

    fn sb_db(&self) -> ovsdb::db::Database {
        let f = self.dir.path().join("sb").join("ovn-sb.db");
        ovsdb_storage::log::Log::open(f, ovsdb_storage::log::OpenMode::ReadOnly)
            .expect("read sb")
            .db
    }

    /// The Southbound as `ovsdb-client dump` prints it (rows sorted,
    /// UUIDs included), without SB_Global, whose `nb_cfg` every `--wait`
    /// moves.
    fn sb_dump(&self) -> String {
        let remote = self.remote("sb");
        let args = ["dump", "--timeout=20", &remote, "OVN_Southbound"];
        let dump = tool::run(std::process::Command::new("ovsdb-client").args(args), TIMEOUT)
            .unwrap_or_else(|e| panic!("ovsdb-client dump: {e:#}"));
        dump.split("\n\n").filter(|t| !t.starts_with("SB_Global table")).collect::<Vec<_>>().join("\n\n")
    }

    /// The logical ports that have a Port_Binding, sorted.
    fn bound_ports(&self) -> Vec<String> {
        let sb = self.sb_db();
        let (_, ts, t) = sb.table_by_name("Port_Binding").expect("table");
        let lp = ts.column_id("logical_port").expect("column");
        let mut ports: Vec<String> =
            t.rows.values().filter_map(|r| r.field(lp).as_set()[0].as_str().map(str::to_string)).collect();
        ports.sort();
        ports
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name).join("ovn-northd.log")).unwrap_or_default()
    }
}

fn appctl(ctl: &Path, args: &[&str]) -> String {
    tool::appctl(ctl, args, TIMEOUT).unwrap_or_else(|e| panic!("ovs-appctl {args:?}: {e:#}"))
}

fn wait_status(ctl: &Path, want: &str) {
    let start = Instant::now();
    loop {
        let s = tool::appctl(ctl, &["status"], TIMEOUT).unwrap_or_default();
        if s.trim() == format!("Status: {want}") {
            return;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "{} did not become {want} (status {s:?})",
            ctl.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const SCRIPT: &[&str] = &[
    "ls-add|sw0",
    "lsp-add|sw0|p1",
    "lsp-set-addresses|p1|50:54:00:00:00:01 10.0.0.11 fd00::11",
    "lsp-add|sw0|p2",
    "lsp-set-addresses|p2|50:54:00:00:00:02 10.0.0.12|unknown",
    "ls-add|sw1",
    "lsp-add|sw1|q1",
    "lsp-set-addresses|q1|50:54:00:00:01:01 20.0.0.11",
    "pg-add|pg1|p1|q1",
    "create|Address_Set|name=as1|addresses=\"10.0.0.0/24\"",
    "--type=port-group|acl-add|pg1|to-lport|1000|outport == @pg1 && ip4.src == $as1|allow-related",
    "acl-add|sw1|from-lport|900|udp|drop",
];

fn run_script(nbctl: impl Fn(&[&str]) -> String) {
    for l in SCRIPT {
        let args: Vec<&str> = l.split('|').collect();
        nbctl(&args);
    }
}

#[test]
fn writes_what_debian_writes() {
    let mut ours = Central::start();
    let ctl = ours.northd("northd");
    run_script(|a| ours.nbctl(a));
    // nb_cfg goes round: sb_cfg follows, so --wait=sb returns.
    ours.nbctl(&["--wait=sb", "sync"]);
    wait_status(&ctl, "active");

    let debian = support::Debian::start();
    debian.script(SCRIPT);
    debian.sync();

    let theirs = sb_flows(&debian.sb_db());
    assert_same_flows(&theirs, &sb_flows(&ours.sb_db()));
    assert!(theirs.len() > 150, "{} flows", theirs.len());

    // An incremental change reaches the Southbound too.
    ours.nbctl(&["lsp-set-addresses", "p1", "50:54:00:00:00:a1 10.0.0.21"]);
    ours.nbctl(&["--wait=sb", "sync"]);
    let mine = sb_flows(&ours.sb_db());
    let m = canon_match("eth.dst == 50:54:00:00:00:a1");
    let a = canon_actions("outport = \"p1\"; output;");
    assert!(
        mine.keys().any(|k| k.match_ == m && k.actions == a),
        "no L2 lookup flow for p1's new MAC"
    );
    assert!(!ours.log("northd").contains("ERR"), "{}", ours.log("northd"));
}

#[test]
fn control_commands_and_active_standby() {
    let mut c = Central::start();
    let a = c.northd("northd-a");
    wait_status(&a, "active");
    let b = c.northd("northd-b");
    wait_status(&b, "standby");
    assert_eq!(appctl(&a, &["is-paused"]).trim(), "false");

    appctl(&a, &["pause"]);
    assert_eq!(appctl(&a, &["is-paused"]).trim(), "true");
    wait_status(&a, "paused");
    // The paused one let go of the lock: the other takes over.
    wait_status(&b, "active");
    c.nbctl(&["ls-add", "sw9"]);
    c.nbctl(&["--wait=sb", "sync"]);
    appctl(&a, &["resume"]);
    wait_status(&a, "standby");

    // The active one dies: the standby one takes over without touching
    // what is already right in the Southbound (same rows, same UUIDs and
    // tunnel keys), and keeps serving.
    run_script(|args| c.nbctl(args));
    c.nbctl(&["--wait=sb", "sync"]);
    let before = c.sb_dump();
    assert!(before.contains("Logical_Flow table") && before.contains("outport == @pg1"), "{before}");
    c.registry.take("northd-b").expect("northd-b").kill();
    wait_status(&a, "active");
    c.nbctl(&["--wait=sb", "sync"]);
    assert_eq!(c.sb_dump(), before, "the Southbound changed on take-over");
    c.nbctl(&["lsp-add", "sw9", "p9"]);
    c.nbctl(&["--wait=sb", "sync"]);
    assert!(c.bound_ports().contains(&"p9".to_string()));

    assert!(appctl(&a, &["version"]).contains("rovn"));
    assert_eq!(appctl(&a, &["nb-connection-status"]).trim(), "connected");
    appctl(&a, &["exit"]);
    let start = Instant::now();
    while a.exists() {
        assert!(start.elapsed() < TIMEOUT, "rovn-northd did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Dynamic addresses, allocated one port at a time by Debian's northd and
/// by ours from the same commands, come out the same (and so do the
/// flows that use them).
#[test]
fn dynamic_addresses_as_debian_assigns_them() {
    let script: &[&str] = &[
        "set|NB_Global|.|options:mac_prefix=0a:0b:0c",
        "ls-add|sw0",
        "set|Logical_Switch|sw0|other_config:subnet=10.0.0.0/24|other_config:exclude_ips=10.0.0.2..10.0.0.5",
        "lsp-add|sw0|d1",
        "lsp-set-addresses|d1|dynamic",
        "lsp-add|sw0|s1",
        "lsp-set-addresses|s1|0a:0b:0c:00:00:07 10.0.0.8",
        "lsp-add|sw0|d2",
        "lsp-set-addresses|d2|dynamic",
        "lsp-add|sw0|d3",
        "lsp-set-addresses|d3|0a:00:00:00:00:42 dynamic",
        "lsp-add|sw0|d4",
        "lsp-set-addresses|d4|dynamic 10.0.0.100",
        "ls-add|sw1",
        "set|Logical_Switch|sw1|other_config:ipv6_prefix=fd11::|other_config:subnet=192.168.0.0/28",
        "lsp-add|sw1|e1",
        "lsp-set-addresses|e1|dynamic",
        "lsp-add|sw1|e2",
        "lsp-set-addresses|e2|dynamic",
        "lsp-set-addresses|d2|dynamic 10.0.0.200",
        "lsp-del|d1",
        "lsp-add|sw0|d5",
        "lsp-set-addresses|d5|dynamic",
        // One port's address becomes excluded: it gets a new one. (When
        // several need one in the same round, OVN serves them in hash
        // order, so that is not compared.)
        "set|Logical_Switch|sw0|other_config:exclude_ips=10.0.0.2..10.0.0.6",
    ];
    let mut ours = Central::start();
    ours.northd("northd");
    let debian = support::Debian::start();
    for l in script {
        let args: Vec<&str> = l.split('|').collect();
        ours.nbctl(&args);
        ours.nbctl(&["--wait=sb", "sync"]);
        debian.nbctl(&args);
        debian.sync();
    }
    let dynamic = |out: String| -> Vec<String> {
        let mut v: Vec<String> = out
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    let list = [
        "--bare",
        "--columns=name,dynamic_addresses",
        "list",
        "Logical_Switch_Port",
    ];
    let theirs = dynamic(debian.nbctl(&list));
    let mine = dynamic(ours.nbctl(&list));
    assert_eq!(mine, theirs);
    assert_same_flows(&sb_flows(&debian.sb_db()), &sb_flows(&ours.sb_db()));
}

/// Debian's northd's flows and rovn-northd's are the same set.
fn assert_same_flows<K: Ord + std::fmt::Display, V>(
    theirs: &std::collections::BTreeMap<K, V>,
    mine: &std::collections::BTreeMap<K, V>,
) {
    let only = |a: &std::collections::BTreeMap<K, V>, b: &std::collections::BTreeMap<K, V>| {
        a.keys()
            .filter(|k| !b.contains_key(*k))
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
    };
    let (missing, extra) = (only(theirs, mine), only(mine, theirs));
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing:\n{}\nextra:\n{}",
        missing.join("\n"),
        extra.join("\n")
    );
}

/// Either database server may go away and come back: rovn-northd
/// reconnects by itself, and what changed in the Northbound while the
/// Southbound was away reaches it afterwards.
#[test]
fn reconnects_to_restarted_databases() {
    let mut c = Central::start();
    let a = c.northd("northd-a");
    wait_status(&a, "active");
    c.nbctl(&["ls-add", "sw0", "--", "lsp-add", "sw0", "p1"]);
    c.nbctl(&["--wait=sb", "sync"]);
    let sb_remote = c.remote("sb");
    let key_of_p1 = || {
        tool::ctl("ovn-sbctl", &sb_remote, &["get", "Port_Binding", "p1", "tunnel_key"], TIMEOUT)
            .expect("p1's tunnel key")
    };
    let key = key_of_p1();

    // The Southbound goes away; the Northbound changes meanwhile.
    let mut sb = c.registry.take("sb").expect("sb server");
    sb.kill();
    let spec = sb.spec().clone();
    drop(sb);
    c.nbctl(&["lsp-add", "sw0", "p2"]);
    c.registry.start(spec).expect("restart sb");
    c.nbctl(&["--wait=sb", "sync"]);
    assert_eq!(c.bound_ports(), ["p1", "p2"]);
    assert_eq!(key_of_p1(), key, "p1 kept its tunnel key");

    // The Northbound restarts.
    db::restart_server(&mut c.registry, "nb", TIMEOUT).expect("restart nb");
    c.nbctl(&["--wait=sb", "lsp-add", "sw0", "p3"]);
    assert_eq!(c.bound_ports(), ["p1", "p2", "p3"]);
    assert_eq!(tool::appctl(&a, &["status"], TIMEOUT).expect("status").trim(), "Status: active");
}

/// `--detach`, `--pidfile`, `--log-file` and `--unixctl` as ovn-northd
/// takes them: the command returns once the daemon runs in the background,
/// the pidfile names it, it logs to the file, and `exit` stops it.
#[test]
fn detaches_with_pidfile_and_log_file() {
    let c = Central::start();
    let dir = c.dir.path().join("detached");
    std::fs::create_dir_all(&dir).expect("directory");
    let (pidfile, log, ctl) = (dir.join("northd.pid"), dir.join("northd.log"), dir.join("northd.ctl"));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_rovn-northd"))
        .arg(format!("--ovnnb-db={}", c.remote("nb")))
        .arg(format!("--ovnsb-db={}", c.remote("sb")))
        .arg(format!("--pidfile={}", pidfile.display()))
        .arg(format!("--log-file={}", log.display()))
        .arg(format!("--unixctl={}", ctl.display()))
        .arg("--detach")
        .arg("--no-chdir")
        .status()
        .expect("run rovn-northd");
    assert!(status.success(), "rovn-northd --detach: {status}");
    let pid: i32 = std::fs::read_to_string(&pidfile).expect("pidfile").trim().parse().expect("pid");
    // Whatever happens below, the detached daemon does not outlive the test.
    struct Kill(i32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill").args(["-KILL", &self.0.to_string()]).status();
        }
    }
    let guard = Kill(pid);
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} from the pidfile runs");
    wait_status(&ctl, "active");
    c.nbctl(&["--wait=sb", "ls-add", "sw0"]);
    appctl(&ctl, &["exit"]);
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}/status")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default().contains("State:\tZ")
    {
        assert!(start.elapsed() < TIMEOUT, "rovn-northd did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::mem::forget(guard);
    assert!(!pidfile.exists(), "the pidfile is removed on exit");
    let log = std::fs::read_to_string(&log).expect("log file");
    assert!(!log.is_empty(), "the log file is written");
}
