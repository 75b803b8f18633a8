//! The commands that change or wait on a server: backup, restore, convert,
//! needs-conversion, lock/steal/unlock and wait, each run by ovsdb-client
//! and by rovsdb-client.

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::{Env, POPULATE_TYPES, Side, normalize, poll_until, populated, test_schema_path, wait_until};

/// A backup's records with what differs from run to run taken out: the
/// time (`"_date":N` becomes 0) and with it the record's SHA-1.
fn normalize_backup(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("OVSDB JSON ") {
            let len = rest.split(' ').next().unwrap_or("");
            out.push_str(&format!("OVSDB JSON {len} SHA1\n"));
        } else {
            let mut l = line.to_string();
            if let Some(i) = l.find("\"_date\":") {
                let start = i + "\"_date\":".len();
                let end = l[start..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(l.len(), |n| start + n);
                l.replace_range(start..end, "0");
            }
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

fn backups(side: Side) {
    let (env, r) = populated(side);
    for db in ["Types", "OVN_Northbound"] {
        let c = env.run(Side::C, "ovsdb-client", &["backup", &r, db]);
        let ours = env.run(Side::Rust, "ovsdb-client", &["backup", &r, db]);
        assert_eq!((c.status, &c.stderr), (0, &String::new()));
        assert_eq!((ours.status, &ours.stderr), (0, &String::new()));
        // The schema record is exactly the same; the data record too, but
        // for its time.
        let (c_schema, ours_schema) = (
            c.stdout.lines().take(2).collect::<Vec<_>>(),
            ours.stdout.lines().take(2).collect::<Vec<_>>(),
        );
        assert_eq!(c_schema, ours_schema, "schema record of {db}");
        assert_eq!(
            normalize_backup(&c.stdout),
            normalize_backup(&ours.stdout),
            "backup of {db}"
        );

        // Each backup is a database file Open vSwitch reads.
        let file = env.path(&format!("{db}.backup"));
        std::fs::write(&file, &ours.stdout).unwrap();
        let f = file.to_str().unwrap();
        env.same("ovsdb-tool", &["db-name", f]);
        env.same("ovsdb-tool", &["-mm", "show-log", f]);
    }
}

#[test]
fn backups_on_ovsdb_server() {
    backups(Side::C);
}

#[test]
fn backups_on_rovsdb_server() {
    backups(Side::Rust);
}

/// What a restore leaves in the database, without the UUIDs (a restore
/// makes new ones).
fn contents(env: &Env, remote: &str) -> String {
    let mut text = String::new();
    for (table, columns) in [
        ("Scalars", "name i r b u opt_i small ratio short color fixed"),
        ("Collections", "name ints reals bools strs uuids smap imap bmap"),
        ("Child", "name n"),
        ("Limited", "x"),
    ] {
        let mut args = vec!["dump", remote, "Types", table];
        args.extend(columns.split(' '));
        let out = env.run(Side::C, "ovsdb-client", &args);
        assert_eq!(out.status, 0, "{}", out.stderr);
        text += &out.stdout;
    }
    text
}

fn restores(side: Side) {
    let (mut env, r) = populated(side);
    let backup = env.path("types.backup");
    let out = env.run(Side::C, "ovsdb-client", &["backup", &r, "Types"]);
    std::fs::write(&backup, &out.stdout).unwrap();
    let expected = contents(&env, &r);

    // Into empty databases on two fresh servers, one restore each.
    for (i, client) in [Side::C, Side::Rust].into_iter().enumerate() {
        let db = env.create_db(&format!("empty{i}"), &test_schema_path("types.ovsschema"));
        let remote = env.start_server(&format!("s{i}"), side, &[db]);
        let cmd = env.command(client, "ovsdb-client", &["restore", &remote, "Types"]);
        let out = common::run_with_input(cmd, Some(&backup));
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (0, "", ""),
            "restore by {client:?}"
        );
        assert_eq!(
            contents(&env, &remote),
            expected,
            "contents after restore by {client:?}"
        );
        // The references were restored too: both kids, the weak map, the favorite.
        let refs = env.run(
            Side::C,
            "ovsdb-client",
            &[
                "--bare",
                "dump",
                &remote,
                "Types",
                "Collections",
                "name",
                "kids",
                "named",
                "favorite",
            ],
        );
        assert_eq!(refs.stdout.matches('-').count(), 4 * 4, "{}", refs.stdout);
    }

    // A backup of another schema version is refused, unless forced.
    let v2 = env.create_db("v2", &test_schema_path("types-v2.ovsschema"));
    let remote = env.start_server("v2server", side, &[v2]);
    env.same_with_input("ovsdb-client", &["restore", &remote, "Types"], &backup);
    let bad = env.path("bad.backup");
    std::fs::write(&bad, "OVSDB JSON 3 0000000000000000000000000000000000000000\n{}\n").unwrap();
    env.same_with_input("ovsdb-client", &["restore", &remote, "Types"], &bad);
}

#[test]
fn restores_on_ovsdb_server() {
    restores(Side::C);
}

#[test]
fn restores_on_rovsdb_server() {
    restores(Side::Rust);
}

/// Converts copies of one database file, served by two servers of `side`,
/// with ovsdb-client on one and rovsdb-client on the other: the results
/// (UUIDs included, since both start from the same file) must agree.
fn conversions(side: Side) {
    let mut env = Env::new();
    let db = env.create_db("types", &test_schema_path("types.ovsschema"));
    let out = env.run(
        Side::C,
        "ovsdb-tool",
        &["transact", db.to_str().unwrap(), POPULATE_TYPES],
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    let mut remotes = Vec::new();
    for name in ["a", "b"] {
        let copy = env.path(&format!("{name}.db"));
        std::fs::copy(&db, &copy).unwrap();
        remotes.push(env.start_server(name, side, &[copy]));
    }
    let v2 = test_schema_path("types-v2.ovsschema");
    let bad = test_schema_path("types-bad.ovsschema");
    let v2 = v2.to_str().unwrap();

    // A conversion the data does not survive fails alike (on rovsdb-server:
    // Debian's ovsdb-server 3.1 exits when it happens).
    if side == Side::Rust {
        let out = env.same("ovsdb-client", &["convert", &remotes[0], bad.to_str().unwrap()]);
        assert!(
            out.stderr
                .contains("column ints: syntax error: set must have 0 to 2 members"),
            "{}",
            out.stderr
        );
    }
    env.same("ovsdb-client", &["needs-conversion", &remotes[0], v2]);

    for (remote, side) in remotes.iter().zip([Side::C, Side::Rust]) {
        let out = env.run(side, "ovsdb-client", &["convert", remote, v2]);
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (0, "", ""),
            "convert by {side:?}"
        );
    }
    env.same("ovsdb-client", &["needs-conversion", &remotes[0], v2]);
    let dump = |remote: &str| env.run(Side::C, "ovsdb-client", &["dump", remote, "Types"]);
    let (a, b) = (dump(&remotes[0]), dump(&remotes[1]));
    assert_eq!(a, b, "contents after conversion");
    assert!(
        a.stdout.contains("added") && !a.stdout.contains("Limited"),
        "{}",
        a.stdout
    );
    let version = |remote: &str| {
        env.run(Side::C, "ovsdb-client", &["get-schema-version", remote, "Types"])
            .stdout
    };
    assert_eq!(
        (version(&remotes[0]), version(&remotes[1])),
        ("1.3.0\n".into(), "1.3.0\n".into())
    );
}

#[test]
fn conversions_on_ovsdb_server() {
    conversions(Side::C);
}

#[test]
fn conversions_on_rovsdb_server() {
    conversions(Side::Rust);
}

/// A client left running, its output in a file.
struct Background {
    child: Child,
    out: std::path::PathBuf,
}

impl Background {
    fn start(env: &Env, side: Side, tag: &str, args: &[&str]) -> Background {
        let out = env.path(tag);
        let mut cmd = env.command(side, "ovsdb-client", args);
        let file = std::fs::File::create(&out).unwrap();
        cmd.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
        Background {
            child: cmd.spawn().expect("ovsdb-client"),
            out,
        }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn wait_for(&self, what: &str) {
        wait_until(
            &format!("{what:?} in {}", self.out.display()),
            Duration::from_secs(10),
            || self.text().contains(what),
        );
    }

    fn stop(mut self) -> String {
        // SAFETY: kill(2) on the pid of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        poll_until(Duration::from_secs(5), || !matches!(self.child.try_wait(), Ok(None)));
        let _ = self.child.kill();
        let _ = self.child.wait();
        normalize(&self.text())
    }
}

/// One client takes a lock, a second waits for it, a third steals it and
/// leaves; the lock goes back to the first, and when that one leaves, to
/// the second: what each printed.
fn lock_scenario(env: &Env, remote: &str, side: Side) -> Vec<String> {
    let holder = Background::start(env, side, "holder", &["lock", remote, "L"]);
    holder.wait_for("{\"locked\":true}");
    let waiter = Background::start(env, side, "waiter", &["lock", remote, "L"]);
    waiter.wait_for("{\"locked\":false}");
    let thief = Background::start(env, side, "thief", &["steal", remote, "L"]);
    thief.wait_for("{\"locked\":true}");
    holder.wait_for("stolen");
    // Unlocking a lock this connection does not hold is an error reply,
    // which ovsdb-client does not print. (When the signal comes before
    // the program is ready for it, it dies without a word: its output is
    // not compared.)
    let unlock = Background::start(env, side, "unlock", &["unlock", remote, "L"]);
    std::thread::sleep(Duration::from_millis(200));
    let unlocked = unlock.stop();
    assert!(unlocked.lines().all(|l| l.contains("fatal_signal")), "{unlocked}");
    let mut outs = vec![thief.stop()];
    // With the thief gone, the lock goes back to the first holder, which
    // stayed in line for it. (Both servers announce a held lock again
    // whenever a waiter leaves, so the holder goes before the waiter.)
    holder.wait_for("stolen\n[\"L\"]\nlocked\n[\"L\"]");
    outs.push(holder.stop());
    waiter.wait_for("locked\n[\"L\"]");
    outs.push(waiter.stop());
    outs
}

fn locks(side: Side) {
    let (env, r) = populated(side);
    let c = lock_scenario(&env, &r, Side::C);
    let ours = lock_scenario(&env, &r, Side::Rust);
    assert_eq!(c, ours);
}

#[test]
fn locks_on_ovsdb_server() {
    locks(Side::C);
}

#[test]
fn locks_on_rovsdb_server() {
    locks(Side::Rust);
}

fn waits(side: Side) {
    let (env, r) = populated(side);
    for args in [
        ["wait", &r, "Types", "added"],
        ["wait", &r, "Types", "connected"],
        ["wait", &r, "Nope", "removed"],
    ] {
        env.same("ovsdb-client", &args);
    }
    // A database that is not there yet: both keep waiting.
    for client in [Side::C, Side::Rust] {
        let w = Background::start(
            &env,
            client,
            &format!("wait-{client:?}"),
            &["wait", &r, "Nope", "added"],
        );
        w.wait_for("connected");
        std::thread::sleep(Duration::from_millis(100));
        let mut child = w.child;
        assert!(matches!(child.try_wait(), Ok(None)), "{client:?} wait returned early");
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn waits_on_ovsdb_server() {
    waits(Side::C);
}

#[test]
fn waits_on_rovsdb_server() {
    waits(Side::Rust);
}
