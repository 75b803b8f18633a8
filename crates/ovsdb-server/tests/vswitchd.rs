//! Debian's ovs-vswitchd and ovs-vsctl with their Open_vSwitch database on
//! rovsdb-server (issue 2, point a): ovs-vsctl creates bridges, ports and
//! interfaces; ovs-vswitchd configures itself from them and writes back
//! what it did (ofport, link state, MACs, `cur_cfg`); `ovs-vsctl` without
//! `--no-wait` returns only once ovs-vswitchd has caught up, within the
//! bound given by `--timeout`. The switch also survives its database
//! server being killed and restarted on the same file.
//!
//! Run: `cargo test -p ovsdb-server --test vswitchd`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use sandbox::db;
use sandbox::process::Registry;
use sandbox::switch::Switch;

const TIMEOUT: Duration = Duration::from_secs(10);

fn rovsdb_server() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rovsdb-server"))
}

/// A switch named `sw` whose database rovsdb-server serves, in `dir`.
fn start(registry: &mut Registry, dir: &Path) -> Result<Switch> {
    Switch::start(registry, rovsdb_server(), "sw", &dir.join("sw"), TIMEOUT)
}

/// `ovs-vsctl get` of one column, unquoted.
fn get(switch: &Switch, table: &str, record: &str, column: &str) -> Result<String> {
    Ok(switch.vsctl(&["--no-wait", "get", table, record, column])?.trim().trim_matches('"').to_string())
}

#[test]
fn vsctl_builds_bridges_and_vswitchd_writes_back() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut registry = Registry::default();
    let switch = start(&mut registry, dir.path())?;

    // Waits (the default) for ovs-vswitchd to apply the change.
    let t = Instant::now();
    switch.vsctl(&[
        "add-br",
        "br0",
        "--",
        "add-port",
        "br0",
        "p1",
        "--",
        "set",
        "Interface",
        "p1",
        "type=dummy",
        "ofport_request=7",
        "--",
        "add-port",
        "br0",
        "p2",
        "--",
        "set",
        "Interface",
        "p2",
        "type=dummy",
        "--",
        "add-port",
        "br0",
        "int0",
        "--",
        "set",
        "Interface",
        "int0",
        "type=internal",
    ])?;
    ensure!(t.elapsed() < TIMEOUT, "ovs-vsctl --wait took {:?}", t.elapsed());
    let next_cfg = get(&switch, "Open_vSwitch", ".", "next_cfg")?;
    assert_eq!(get(&switch, "Open_vSwitch", ".", "cur_cfg")?, next_cfg, "vswitchd caught up");

    let ports = switch.vsctl(&["list-ports", "br0"])?;
    assert_eq!(ports.lines().collect::<Vec<_>>(), ["int0", "p1", "p2"]);
    assert_eq!(get(&switch, "Interface", "p1", "ofport")?, "7", "ofport_request honoured");
    assert_eq!(get(&switch, "Interface", "br0", "ofport")?, "65534", "the bridge's local port");
    let p2: i64 = get(&switch, "Interface", "p2", "ofport")?.parse()?;
    assert!(p2 > 0 && p2 != 7, "p2 got its own ofport: {p2}");
    for iface in ["p1", "p2", "int0", "br0"] {
        assert_eq!(get(&switch, "Interface", iface, "link_state")?, "up", "{iface} link_state");
        assert_eq!(get(&switch, "Interface", iface, "admin_state")?, "up", "{iface} admin_state");
        let mac = get(&switch, "Interface", iface, "mac_in_use")?;
        assert_eq!(mac.len(), 17, "{iface} mac_in_use {mac:?}");
    }
    assert!(!get(&switch, "Interface", "p1", "ifindex")?.is_empty());
    // What ovs-vswitchd reports about itself.
    assert!(get(&switch, "Open_vSwitch", ".", "iface_types")?.contains("geneve"));
    assert!(get(&switch, "Open_vSwitch", ".", "datapath_types")?.contains("netdev"));
    let dpid = get(&switch, "Bridge", "br0", "datapath_id")?;
    assert_eq!(dpid.len(), 16, "datapath_id {dpid:?}");
    assert!(!get(&switch, "Bridge", "br0", "datapath_version")?.is_empty());
    // And what it runs: the datapath has the ports.
    let dp = switch.appctl(&["dpif/show"])?;
    assert!(dp.contains("p1 7/") && dp.contains("p2 ") && dp.contains("int0 "), "dpif/show:\n{dp}");

    // Deleting is applied too, and removing an interface frees its ofport.
    switch.vsctl(&["del-port", "br0", "p2", "--", "set", "Interface", "p1", "admin_state=down"])?;
    assert_eq!(switch.vsctl(&["list-ports", "br0"])?.lines().collect::<Vec<_>>(), ["int0", "p1"]);
    let dp = switch.appctl(&["dpif/show"])?;
    assert!(!dp.contains("p2 "), "p2 left the datapath:\n{dp}");
    assert_eq!(switch.vsctl(&["list-br"])?.trim(), "br0");
    registry.check_running()
}

#[test]
fn vsctl_wait_times_out_without_vswitchd() -> Result<()> {
    // With no ovs-vswitchd to apply it, ovs-vsctl's wait must end at its
    // --timeout, having committed the change (the server returned its
    // result and sent the updates ovs-vsctl waits on).
    let dir = tempfile::tempdir()?;
    let mut registry = Registry::default();
    let db_dir = dir.path().join("db");
    let conf = db::create(&db_dir, db::Schema::OpenVswitch, TIMEOUT)?;
    db::start_server(&mut registry, "db", rovsdb_server(), &db_dir, &[conf], TIMEOUT)?;
    let remote = format!("unix:{}", db::socket(&db_dir).display());
    sandbox::tool::ctl("ovs-vsctl", &remote, &["--no-wait", "init"], TIMEOUT)?;
    let t = Instant::now();
    let err = sandbox::tool::ctl("ovs-vsctl", &remote, &["add-br", "br0"], Duration::from_secs(1))
        .expect_err("nobody applies the change");
    assert!(format!("{err:#}").contains("timeout"), "{err:#}");
    assert!(t.elapsed() < Duration::from_secs(5), "took {:?}", t.elapsed());
    let bridges = sandbox::tool::ctl("ovs-vsctl", &remote, &["--no-wait", "list-br"], TIMEOUT)?;
    assert_eq!(bridges.trim(), "br0");
    Ok(())
}

#[test]
fn vswitchd_reconnects_after_the_server_restarts() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut registry = Registry::default();
    let switch = start(&mut registry, dir.path())?;
    switch.vsctl(&["add-br", "br0", "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=dummy"])?;

    // A crash, then a new server on the same file and socket.
    db::restart_server(&mut registry, "sw/db", TIMEOUT)?;
    assert_eq!(switch.vsctl(&["list-ports", "br0"])?.trim(), "p1", "the file kept the committed change");

    // ovs-vswitchd reconnects and keeps applying changes (ovs-vsctl waits).
    switch
        .vsctl(&["add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=dummy"])
        .context("vswitchd did not pick up a change after the restart")?;
    let ofport: i64 = get(&switch, "Interface", "p2", "ofport")?.parse()?;
    assert!(ofport > 0, "ofport {ofport}");
    assert!(switch.appctl(&["dpif/show"])?.contains("p2 "));
    registry.check_running()
}
