//! Open vSwitch's Python IDL (Debian's python3-openvswitch) against
//! rovsdb-server (issue 2, point c): the IDL keeps a replica of the
//! Northbound database that follows other clients' changes, commits its
//! own transactions, and after the server is killed and restarted on the
//! same file, reconnects and resynchronises, changes made while it was
//! away included.
//!
//! The IDL runs in `tests/python_idl/driver.py` (our code), under
//! `/usr/bin/python3`, where Debian installs the `ovs` module. The truth
//! it is compared with is the server's contents as Open vSwitch's
//! `ovsdb-client` reads them.
//!
//! Run: `cargo test -p ovsdb-server --test python_idl`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use sandbox::db::{self, Schema};
use sandbox::process::Registry;
use sandbox::tool;
use serde_json::{Value as Json, json};

const TIMEOUT: Duration = Duration::from_secs(10);

fn rovsdb_server() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rovsdb-server"))
}

/// The driver process; killed when dropped.
struct Idl {
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::Receiver<String>,
}

impl Idl {
    fn start(remote: &str, schema: &Path) -> Result<Idl> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python_idl/driver.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(remote)
            .arg(schema)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting /usr/bin/python3 (Debian's python3-openvswitch)")?;
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        // A reader thread, so that every answer is awaited with a bound.
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Idl { child, stdin, answers })
    }

    /// Sends `cmd` with a `timeout` member added and returns the answer.
    fn ask(&mut self, cmd: Json) -> Result<Json> {
        self.send(cmd)?;
        self.answer()
    }

    /// Sends `cmd`, with a `timeout` member added, without awaiting the
    /// answer: the IDL runs while the test does something else.
    fn send(&mut self, mut cmd: Json) -> Result<()> {
        cmd["timeout"] = json!(TIMEOUT.as_secs());
        writeln!(self.stdin, "{cmd}").context("the driver is gone")
    }

    fn answer(&mut self) -> Result<Json> {
        // The driver gives up on its own after TIMEOUT; a little more for it
        // to say so.
        let line =
            self.answers.recv_timeout(TIMEOUT + Duration::from_secs(5)).context("no answer from the IDL driver")?;
        Ok(serde_json::from_str(&line)?)
    }

    /// Runs the IDL until its replica equals `expect`.
    fn wait_equal(&mut self, expect: &Json, when: &str) -> Result<()> {
        let answer = self.ask(json!({"cmd": "wait_equal", "expect": expect}))?;
        ensure!(
            answer["ok"] == json!(true),
            "{when}: the IDL's replica never matched the server's contents\n  server: {expect}\n  replica: {}",
            answer["replica"]
        );
        Ok(())
    }

    fn txn(&mut self, ops: Json) -> Result<()> {
        let answer = self.ask(json!({"cmd": "txn", "ops": ops}))?;
        ensure!(answer["status"] == "success", "IDL transaction {ops}: {answer}");
        Ok(())
    }
}

impl Drop for Idl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Northbound server the test talks to.
struct Nb {
    registry: Registry,
    dir: PathBuf,
    file: PathBuf,
}

impl Nb {
    fn start(dir: &Path) -> Result<Nb> {
        let file = db::create(dir, Schema::Northbound, TIMEOUT)?;
        let mut nb = Nb { registry: Registry::default(), dir: dir.to_path_buf(), file };
        nb.serve()?;
        Ok(nb)
    }

    fn serve(&mut self) -> Result<()> {
        db::start_server(
            &mut self.registry,
            "nb",
            rovsdb_server(),
            &self.dir,
            std::slice::from_ref(&self.file),
            TIMEOUT,
        )?;
        Ok(())
    }

    fn remote(&self) -> String {
        format!("unix:{}", db::socket(&self.dir).display())
    }

    fn nbctl(&self, args: &[&str]) -> Result<String> {
        tool::ctl("ovn-nbctl", &self.remote(), args, TIMEOUT)
    }

    /// The contents, in the driver's shape, as `ovsdb-client` reads them.
    fn contents(&self) -> Result<Json> {
        let query = json!(["OVN_Northbound",
            {"op": "select", "table": "Logical_Switch", "where": [],
             "columns": ["name", "external_ids", "ports"]},
            {"op": "select", "table": "Logical_Switch_Port", "where": [],
             "columns": ["_uuid", "name", "addresses", "external_ids"]}]);
        let mut cmd = Command::new(tool::debian_program("ovsdb-client")?);
        cmd.arg("transact").arg(self.remote()).arg(query.to_string());
        let reply: Json = serde_json::from_str(&tool::run(&mut cmd, TIMEOUT)?)?;
        let rows = |idx: usize| reply[idx]["rows"].as_array().cloned().unwrap_or_default();
        let mut port_names = std::collections::HashMap::new();
        let mut ports = serde_json::Map::new();
        for row in rows(1) {
            port_names.insert(row["_uuid"][1].as_str().unwrap_or_default().to_string(), row["name"].clone());
            let mut addresses: Vec<String> =
                set(&row["addresses"]).iter().map(|a| a.as_str().unwrap_or_default().to_string()).collect();
            addresses.sort();
            ports.insert(
                row["name"].as_str().unwrap_or_default().to_string(),
                json!({"addresses": addresses, "external_ids": map(&row["external_ids"])}),
            );
        }
        let mut switches = serde_json::Map::new();
        for row in rows(0) {
            let mut names: Vec<String> = set(&row["ports"])
                .iter()
                .map(|uuid| port_names.get(uuid[1].as_str().unwrap_or_default()).and_then(Json::as_str))
                .map(|name| name.unwrap_or("?").to_string())
                .collect();
            names.sort();
            switches.insert(
                row["name"].as_str().unwrap_or_default().to_string(),
                json!({"external_ids": map(&row["external_ids"]), "ports": names}),
            );
        }
        Ok(json!({"Logical_Switch": switches, "Logical_Switch_Port": ports}))
    }
}

/// The elements of an OVSDB set in RFC 7047 notation.
fn set(datum: &Json) -> Vec<Json> {
    match datum {
        Json::Array(a) if a.len() == 2 && a[0] == "set" => a[1].as_array().cloned().unwrap_or_default(),
        atom => vec![atom.clone()],
    }
}

/// An OVSDB map of strings as a JSON object.
fn map(datum: &Json) -> Json {
    let pairs = datum[1].as_array().cloned().unwrap_or_default();
    Json::Object(pairs.iter().map(|p| (p[0].as_str().unwrap_or_default().to_string(), p[1].clone())).collect())
}

/// Fails unless `contents` has row `name` in `table`: a comparison must
/// not pass only because both sides lost what the test just made.
fn holds(contents: &Json, table: &str, name: &str) -> Result<()> {
    if contents[table].get(name).is_none() {
        bail!("the server has no {table} {name}: {contents}");
    }
    Ok(())
}

#[test]
fn python_idl_replicates_commits_and_resyncs_after_restart() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut nb = Nb::start(dir.path())?;
    let schema = dir.path().join("ovn-nb.ovsschema");
    let mut idl = Idl::start(&nb.remote(), &schema)?;
    idl.wait_equal(&nb.contents()?, "empty database")?;

    // Another client's changes reach the replica.
    nb.nbctl(&["ls-add", "sw0", "--", "lsp-add", "sw0", "p0", "--", "lsp-set-addresses", "p0", "00:00:00:00:00:01"])?;
    let contents = nb.contents()?;
    holds(&contents, "Logical_Switch_Port", "p0")?;
    idl.wait_equal(&contents, "after ovn-nbctl ls-add")?;

    // The IDL's own transactions commit, and other clients see them.
    idl.txn(json!([
        {"op": "insert", "table": "Logical_Switch_Port", "as": "p1",
         "set": {"name": "p1", "addresses": ["00:00:00:00:00:02 10.0.0.2"]}},
        {"op": "insert", "table": "Logical_Switch", "as": "sw1",
         "set": {"name": "sw1", "external_ids": {"made-by": "python-idl"}, "ports": ["@p1"]}},
        {"op": "setkey", "table": "Logical_Switch", "name": "sw0", "column": "external_ids",
         "key": "touched", "value": "yes"},
    ]))?;
    assert_eq!(nb.nbctl(&["get", "Logical_Switch", "sw1", "external_ids:made-by"])?.trim(), "python-idl");
    assert_eq!(nb.nbctl(&["lsp-list", "sw1"])?.split_whitespace().nth(1), Some("(p1)"));
    assert_eq!(nb.nbctl(&["get", "Logical_Switch", "sw0", "external_ids:touched"])?.trim(), "yes");
    idl.wait_equal(&nb.contents()?, "after the IDL's transaction")?;

    // The server crashes; the IDL notices.
    nb.registry.take("nb")?.kill();
    let answer = idl.ask(json!({"cmd": "wait_disconnected"}))?;
    ensure!(answer["ok"] == json!(true), "the IDL did not notice the server going away: {answer}");

    // A new server on the same file; while the IDL is not running, other
    // clients change the database.
    nb.serve()?;
    nb.nbctl(&["ls-del", "sw0"])?;
    nb.nbctl(&["ls-add", "sw2", "--", "set", "Logical_Switch", "sw2", "external_ids:while=away"])?;
    nb.nbctl(&["lsp-set-addresses", "p1", "00:00:00:00:00:22 10.0.0.22"])?;
    let contents = nb.contents()?;
    holds(&contents, "Logical_Switch", "sw2")?;
    assert!(contents["Logical_Switch"].get("sw0").is_none() && contents["Logical_Switch_Port"].get("p0").is_none());
    idl.wait_equal(&contents, "after the restart")?;

    // And it commits again on the new connection.
    idl.txn(json!([
        {"op": "update", "table": "Logical_Switch", "name": "sw2", "set": {"external_ids": {"back": "yes"}}},
        {"op": "delete", "table": "Logical_Switch", "name": "sw1"},
    ]))?;
    let contents = nb.contents()?;
    assert_eq!(contents["Logical_Switch"], json!({"sw2": {"external_ids": {"back": "yes"}, "ports": []}}));
    assert_eq!(contents["Logical_Switch_Port"], json!({}), "p1 went with sw1 (garbage collection)");
    idl.wait_equal(&contents, "after the IDL's transaction on the new server")?;

    // A second crash, this time with the IDL running (and retrying) while
    // the server is down and when it comes back.
    nb.registry.take("nb")?.kill();
    let mut expect = contents;
    expect["Logical_Switch"]["sw3"] = json!({"external_ids": {}, "ports": []});
    idl.send(json!({"cmd": "wait_equal", "expect": expect}))?;
    std::thread::sleep(Duration::from_millis(300));
    nb.serve()?;
    nb.nbctl(&["ls-add", "sw3"])?;
    assert_eq!(nb.contents()?, expect);
    let answer = idl.answer()?;
    ensure!(answer["ok"] == json!(true), "after a second restart: replica {}", answer["replica"]);

    let _ = idl.ask(json!({"cmd": "quit"}));
    nb.registry.check_running()
}
