//! Debian's OVN (ovn-northd, ovn-controller, ovn-nbctl, ovn-sbctl) with its
//! Northbound and Southbound databases, and every hypervisor's
//! Open_vSwitch database, on rovsdb-server (issue 2, point b): logical
//! ports get bound, `ovn-nbctl --wait=hv sync` returns, and a packet sent
//! into one VIF comes out of the other, on one hypervisor and across a
//! Geneve tunnel between two; and all of it carries on after the database
//! servers are killed and restarted.
//!
//! rovsdb-server is built by cargo at the start of the run (a no-op when
//! it is up to date), so the test never runs a stale server.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use sandbox::packet;
use sandbox::{Programs, Sandbox, Vif};

/// A sandbox with hypervisors `hv1`.. `hvN`, hvI's tunnel endpoint being
/// 192.0.2.I.
fn start(n_hypervisors: u8) -> Result<Sandbox> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut sandbox =
        Sandbox::builder().programs(Programs::cargo_built(&workspace)).timeout(Duration::from_secs(20)).start()?;
    for idx in 1..=n_hypervisors {
        sandbox.add_hypervisor(&format!("hv{idx}"), Ipv4Addr::new(192, 0, 2, idx))?;
    }
    Ok(sandbox)
}

/// A logical switch `sw0` with ports `p1` and `p2`, bound to VIFs `vif1`
/// on `hv_a` and `vif2` on `hv_b`, up and seen by every controller.
fn two_port_switch(sandbox: &Sandbox, hv_a: &str, hv_b: &str) -> Result<[Vif; 2]> {
    let vifs = [Vif::numbered(1, hv_a, "p1"), Vif::numbered(2, hv_b, "p2")];
    sandbox.add_logical_switch("sw0", &vifs)?;
    Ok(vifs)
}

#[test]
fn packet_between_two_vifs_on_one_hypervisor() -> Result<()> {
    let mut sandbox = start(1)?;
    let [a, b] = two_port_switch(&sandbox, "hv1", "hv1")?;
    let chassis = sandbox.sbctl(&["--bare", "--columns=chassis", "find", "Port_Binding", "logical_port=p2"])?;
    let hv1 = sandbox.sbctl(&["--bare", "--columns=_uuid", "find", "Chassis", "name=hv1"])?;
    assert_eq!(chassis.trim(), hv1.trim(), "p2 is bound to hv1's chassis");

    sandbox.send_udp(&a, &b, b"one hypervisor")?;
    // And back the other way.
    let reply = sandbox.send_udp(&b, &a, b"reply")?;
    assert_eq!(sandbox.read_pcap("hv1", "vif1")?, vec![reply], "vif1 got its reply and nothing else");
    sandbox.check_running()
}

#[test]
fn packet_crosses_geneve_between_two_hypervisors() -> Result<()> {
    let mut sandbox = start(2)?;
    let [a, b] = two_port_switch(&sandbox, "hv1", "hv2")?;
    // Each controller made a Geneve tunnel to the other.
    let remote = sandbox.vsctl("hv1", &["--bare", "--columns=options", "find", "Interface", "type=geneve"])?;
    assert!(remote.contains("remote_ip=192.0.2.2"), "hv1's tunnel: {remote}");

    let frame = sandbox.send_udp(&a, &b, b"across the tunnel")?;
    // On the cable to hv2 it travelled encapsulated: UDP to port 6081 from
    // hv1's tunnel endpoint to hv2's, the frame inside.
    let on_cable = sandbox.read_pcap("main", "hv2-phys")?;
    let geneve = on_cable
        .iter()
        .find(|p| p.windows(frame.len()).any(|w| w == frame.as_slice()))
        .unwrap_or_else(|| panic!("no encapsulated copy on the cable: {on_cable:02x?}"));
    let summary = packet::describe(geneve);
    assert!(summary.contains("IPv4 192.0.2.1 > 192.0.2.2") && summary.contains("> 6081"), "{summary}");

    sandbox.send_udp(&b, &a, b"and back")?;
    sandbox.check_running()
}

#[test]
fn ovn_carries_on_after_its_database_servers_restart() -> Result<()> {
    let mut sandbox = start(2)?;
    let [a, _] = two_port_switch(&sandbox, "hv1", "hv2")?;

    // Crashes of every kind of server: northd, both controllers and hv2's
    // ovs-vswitchd must reconnect (and northd take its lock again) on their
    // own.
    for server in ["nb", "sb", "hv2/db"] {
        sandbox.restart_db_server(server)?;
    }
    let c = Vif::numbered(3, "hv2", "p3");
    sandbox.add_logical_ports("sw0", std::slice::from_ref(&c))?;
    sandbox.send_udp(&a, &c, b"after the restarts")?;
    assert!(sandbox.appctl("northd", &["status"])?.contains("active"), "northd holds its lock again");
    sandbox.check_running()
}
