//! Runs Debian's ovsdb-server (Northbound and Southbound) and ovn-northd
//! in a private temporary directory, builds a Northbound topology with
//! ovn-nbctl and dumps what northd wrote. Shared by the corpus test and
//! the throughput benchmark.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    children: Vec<Child>,
}

const TIMEOUT: Duration = Duration::from_secs(30);

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < TIMEOUT, "{} did not appear within {TIMEOUT:?}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Sandbox {
    pub fn start() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().to_path_buf();
        let mut sb = Sandbox { dir, children: Vec::new() };
        for (db, schema) in [("nb", "/usr/share/ovn/ovn-nb.ovsschema"), ("sb", "/usr/share/ovn/ovn-sb.ovsschema")] {
            let file = d.join(format!("{db}.db"));
            run(Command::new("ovsdb-tool").arg("create").arg(&file).arg(schema));
            sb.spawn(
                Command::new("ovsdb-server")
                    .arg(format!("--remote=punix:{}", d.join(format!("{db}.sock")).display()))
                    .arg(format!("--pidfile={}", d.join(format!("{db}.pid")).display()))
                    .arg(format!("--unixctl={}", d.join(format!("{db}.ctl")).display()))
                    .arg(format!("--log-file={}", d.join(format!("{db}.log")).display()))
                    .arg("--no-chdir")
                    .arg(&file),
            );
        }
        wait_for(&d.join("nb.sock"));
        wait_for(&d.join("sb.sock"));
        sb.spawn(
            Command::new("ovn-northd")
                .arg(format!("--ovnnb-db=unix:{}", d.join("nb.sock").display()))
                .arg(format!("--ovnsb-db=unix:{}", d.join("sb.sock").display()))
                .arg(format!("--pidfile={}", d.join("northd.pid").display()))
                .arg(format!("--unixctl={}", d.join("northd.ctl").display()))
                .arg(format!("--log-file={}", d.join("northd.log").display()))
                .arg("--no-chdir"),
        );
        sb
    }

    fn spawn(&mut self, cmd: &mut Command) {
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        self.children.push(child);
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs one ovn-nbctl command line (arguments as a list).
    pub fn nbctl(&self, args: &[&str]) -> String {
        run(Command::new("ovn-nbctl").arg(format!("--db=unix:{}", self.path("nb.sock").display())).arg("--timeout=30").args(args))
    }

    /// Waits until northd has caught up with the Northbound database.
    pub fn sync(&self) {
        self.nbctl(&["--wait=sb", "sync"]);
    }

    /// The whole Southbound database as `ovsdb-client dump -f json`
    /// prints it.
    pub fn dump_sb(&self) -> String {
        run(Command::new("ovsdb-client").arg("--timeout=30").arg("dump").arg("-f").arg("json").arg(format!("unix:{}", self.path("sb.sock").display())).arg("OVN_Southbound"))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Builds a topology exercising most of northd: port security, ACLs over
/// port groups and address sets, reject and log ACLs, routers with static
/// and ECMP routes and policies, a gateway router with NAT, a distributed
/// gateway port, IPv4 and IPv6 load balancers (with affinity and without
/// backends), localnet, DHCPv4/v6, DNS, IPv6 RA, multicast snooping,
/// forwarding groups, virtual ports and gateway MTU.
pub fn build_topology(sb: &Sandbox) {
    let nb = |cmd: &str| {
        let args: Vec<&str> = cmd.split('\u{1}').collect();
        sb.nbctl(&args);
    };
    // Arguments are separated by \x01 so they may contain spaces.
    let script = [
        "set\u{1}NB_Global\u{1}.\u{1}options:controller_event=true\u{1}options:svc_monitor_mac=\"0a:00:00:00:00:01\"",
        "ls-add\u{1}sw0",
        "ls-add\u{1}sw1",
        "lsp-add\u{1}sw0\u{1}sw0-p1",
        "lsp-set-addresses\u{1}sw0-p1\u{1}50:54:00:00:00:01 10.0.0.11 fd00::11",
        "lsp-set-port-security\u{1}sw0-p1\u{1}50:54:00:00:00:01 10.0.0.11 fd00::11",
        "lsp-add\u{1}sw0\u{1}sw0-p2",
        "lsp-set-addresses\u{1}sw0-p2\u{1}50:54:00:00:00:02 10.0.0.12",
        "lsp-set-port-security\u{1}sw0-p2\u{1}50:54:00:00:00:02 10.0.0.12/24",
        "lsp-add\u{1}sw0\u{1}sw0-p3",
        "lsp-set-addresses\u{1}sw0-p3\u{1}dynamic",
        "set\u{1}Logical_Switch\u{1}sw0\u{1}other_config:subnet=10.0.0.0/24\u{1}other_config:ipv6_prefix=fd00::",
        "lsp-add\u{1}sw0\u{1}sw0-vip",
        "lsp-set-type\u{1}sw0-vip\u{1}virtual",
        "lsp-set-addresses\u{1}sw0-vip\u{1}50:54:00:00:00:10 10.0.0.10",
        "lsp-set-options\u{1}sw0-vip\u{1}virtual-ip=10.0.0.10\u{1}virtual-parents=sw0-p1,sw0-p2",
        "lsp-add\u{1}sw1\u{1}sw1-p1",
        "lsp-set-addresses\u{1}sw1-p1\u{1}50:54:00:00:01:01 20.0.0.11 fd01::11",
        "lsp-add\u{1}sw1\u{1}ln1",
        "lsp-set-type\u{1}ln1\u{1}localnet",
        "lsp-set-addresses\u{1}ln1\u{1}unknown",
        "lsp-set-options\u{1}ln1\u{1}network_name=phys",
        "set\u{1}Logical_Switch\u{1}sw1\u{1}other_config:mcast_snoop=true\u{1}other_config:mcast_querier=true\u{1}other_config:mcast_ip4_src=20.0.0.254\u{1}other_config:mcast_eth_src=00:00:00:00:20:fe",
        // ACLs over port groups and address sets; reject and log ACLs.
        "pg-add\u{1}pg_web\u{1}sw0-p1\u{1}sw0-p2",
        "pg-add\u{1}pg_db\u{1}sw1-p1",
        "create\u{1}Address_Set\u{1}name=as_clients\u{1}addresses=\"10.0.0.0/24\",\"20.0.0.11\",\"192.168.7.7\"",
        "create\u{1}Address_Set\u{1}name=as_clients6\u{1}addresses=\"fd00::/64\",\"fd01::11\"",
        "create\u{1}Address_Set\u{1}name=as_macs\u{1}addresses=\"50:54:00:00:00:01\",\"50:54:00:00:00:02\"",
        "create\u{1}Address_Set\u{1}name=as_empty",
        "--type=port-group\u{1}acl-add\u{1}pg_web\u{1}to-lport\u{1}1002\u{1}outport == @pg_web && ip4.src == $as_clients && tcp.dst == {80, 443}\u{1}allow-related",
        "--type=port-group\u{1}acl-add\u{1}pg_web\u{1}to-lport\u{1}1001\u{1}outport == @pg_web && ip6.src == $as_clients6 && tcp.dst >= 8000 && tcp.dst <= 8080\u{1}allow-related",
        "--type=port-group\u{1}acl-add\u{1}pg_web\u{1}from-lport\u{1}1000\u{1}inport == @pg_web && ip4.dst == $pg_db_ip4 && eth.src == $as_macs\u{1}allow",
        "--type=port-group\u{1}--log\u{1}--severity=alert\u{1}--name=drop-web\u{1}acl-add\u{1}pg_web\u{1}to-lport\u{1}900\u{1}outport == @pg_web && ip\u{1}drop",
        "--type=port-group\u{1}acl-add\u{1}pg_db\u{1}to-lport\u{1}1000\u{1}outport == @pg_db && ip4.src == $pg_web_ip4 && ip4.src != $as_empty && udp.dst == 5432\u{1}allow-stateless",
        "--log\u{1}--meter=acl-meter\u{1}acl-add\u{1}sw0\u{1}from-lport\u{1}1003\u{1}inport == \"sw0-p2\" && udp && !(udp.dst == 53)\u{1}reject",
        "acl-add\u{1}sw0\u{1}from-lport\u{1}1004\u{1}inport == \"sw0-p1\" && tcp && tcp.flags[1] == 1\u{1}reject",
        "acl-add\u{1}sw1\u{1}to-lport\u{1}1000\u{1}ip4 && 1024 <= tcp.src <= 4000 && !(ip4.src == 10.0.0.0/8) && ip.ttl == {64, 128}\u{1}allow-related",
        "acl-add\u{1}sw1\u{1}to-lport\u{1}999\u{1}ip6 && icmp6 && is_chassis_resident(\"sw1-p1\")\u{1}drop",
        "meter-add\u{1}acl-meter\u{1}drop\u{1}10\u{1}pktps",
        // Routers.
        "lr-add\u{1}lr0",
        "lrp-add\u{1}lr0\u{1}lr0-sw0\u{1}00:00:00:00:ff:01\u{1}10.0.0.1/24\u{1}fd00::1/64",
        "lrp-add\u{1}lr0\u{1}lr0-sw1\u{1}00:00:00:00:ff:02\u{1}20.0.0.1/24\u{1}fd01::1/64",
        "lsp-add\u{1}sw0\u{1}sw0-lr0",
        "lsp-set-type\u{1}sw0-lr0\u{1}router",
        "lsp-set-addresses\u{1}sw0-lr0\u{1}router",
        "lsp-set-options\u{1}sw0-lr0\u{1}router-port=lr0-sw0",
        "lsp-add\u{1}sw1\u{1}sw1-lr0",
        "lsp-set-type\u{1}sw1-lr0\u{1}router",
        "lsp-set-addresses\u{1}sw1-lr0\u{1}router",
        "lsp-set-options\u{1}sw1-lr0\u{1}router-port=lr0-sw1",
        "set\u{1}Logical_Router_Port\u{1}lr0-sw0\u{1}ipv6_ra_configs:address_mode=slaac\u{1}ipv6_ra_configs:send_periodic=true\u{1}ipv6_ra_configs:mtu=1400\u{1}ipv6_ra_configs:rdnss=fd00::53",
        "set\u{1}Logical_Router_Port\u{1}lr0-sw1\u{1}ipv6_ra_configs:address_mode=dhcpv6_stateful",
        "lr-route-add\u{1}lr0\u{1}192.168.0.0/24\u{1}20.0.0.100",
        "lr-route-add\u{1}lr0\u{1}::/0\u{1}fd01::100",
        "--ecmp-symmetric-reply\u{1}lr-route-add\u{1}lr0\u{1}172.31.0.0/16\u{1}20.0.0.101",
        "--ecmp-symmetric-reply\u{1}lr-route-add\u{1}lr0\u{1}172.31.0.0/16\u{1}20.0.0.102",
        "--policy=src-ip\u{1}lr-route-add\u{1}lr0\u{1}10.0.0.128/25\u{1}20.0.0.103",
        "lr-policy-add\u{1}lr0\u{1}100\u{1}ip4.src == 10.0.0.11 && ip4.dst == 192.168.9.0/24\u{1}reroute\u{1}20.0.0.100",
        "lr-policy-add\u{1}lr0\u{1}90\u{1}ip4.dst == 1.1.1.1\u{1}drop",
        "lr-policy-add\u{1}lr0\u{1}80\u{1}ip6.src == fd00::/64\u{1}allow",
        "lr-policy-add\u{1}lr0\u{1}70\u{1}ip4.src == 10.0.0.12\u{1}reroute\u{1}20.0.0.100,20.0.0.101",
        // Distributed gateway port with NAT and gateway MTU.
        "lrp-add\u{1}lr0\u{1}lr0-ext\u{1}00:00:00:00:ff:03\u{1}172.16.0.1/24\u{1}2001:db8::1/64",
        "lrp-set-gateway-chassis\u{1}lr0-ext\u{1}hv1\u{1}10",
        "set\u{1}Logical_Router_Port\u{1}lr0-ext\u{1}options:gateway_mtu=1400",
        "lr-nat-add\u{1}lr0\u{1}snat\u{1}172.16.0.1\u{1}10.0.0.0/24",
        "lr-nat-add\u{1}lr0\u{1}dnat_and_snat\u{1}172.16.0.110\u{1}10.0.0.11\u{1}sw0-p1\u{1}30:54:00:00:00:11",
        "lr-nat-add\u{1}lr0\u{1}dnat_and_snat\u{1}2001:db8::110\u{1}fd00::11",
        // Gateway router with NAT.
        "lr-add\u{1}gw0",
        "set\u{1}Logical_Router\u{1}gw0\u{1}options:chassis=hv1\u{1}options:lb_force_snat_ip=router_ip",
        "lrp-add\u{1}gw0\u{1}gw0-ext\u{1}00:00:00:00:ee:01\u{1}172.16.1.1/24",
        "lrp-add\u{1}gw0\u{1}gw0-sw1\u{1}00:00:00:00:ee:02\u{1}20.0.0.254/24",
        "lr-nat-add\u{1}gw0\u{1}snat\u{1}172.16.1.1\u{1}20.0.0.0/24",
        "lr-nat-add\u{1}gw0\u{1}dnat\u{1}172.16.1.100\u{1}20.0.0.11",
        "--portrange\u{1}lr-nat-add\u{1}gw0\u{1}dnat\u{1}172.16.1.102\u{1}20.0.0.12\u{1}1000-2000",
        "lr-route-add\u{1}gw0\u{1}0.0.0.0/0\u{1}172.16.1.254",
        // Load balancers.
        "lb-add\u{1}lb0\u{1}10.0.0.100:80\u{1}10.0.0.11:8080,10.0.0.12:8080\u{1}tcp",
        "lb-add\u{1}lb-udp\u{1}10.0.0.101:53\u{1}10.0.0.11:53\u{1}udp",
        "lb-add\u{1}lb6\u{1}[fd00::100]:80\u{1}[fd00::11]:8080,[fd00::12]:8080\u{1}tcp",
        "lb-add\u{1}lb-aff\u{1}10.0.0.102:443\u{1}10.0.0.11:443,10.0.0.12:443\u{1}tcp",
        "set\u{1}Load_Balancer\u{1}lb-aff\u{1}options:affinity_timeout=60",
        "lb-add\u{1}lb-empty\u{1}10.0.0.103:80\u{1}\u{1}tcp",
        "lb-add\u{1}lb-novip-port\u{1}10.0.0.104\u{1}10.0.0.11",
        "lb-add\u{1}lb-gw\u{1}172.16.1.200:80\u{1}20.0.0.11:80\u{1}tcp",
        "set\u{1}Load_Balancer\u{1}lb-gw\u{1}selection_fields=ip_src,ip_dst",
        "set\u{1}Load_Balancer\u{1}lb0\u{1}options:hairpin_snat_ip=\"169.254.0.1\"",
        "ls-lb-add\u{1}sw0\u{1}lb0",
        "ls-lb-add\u{1}sw0\u{1}lb-udp",
        "ls-lb-add\u{1}sw0\u{1}lb6",
        "ls-lb-add\u{1}sw0\u{1}lb-aff",
        "ls-lb-add\u{1}sw0\u{1}lb-empty",
        "ls-lb-add\u{1}sw0\u{1}lb-novip-port",
        "lr-lb-add\u{1}lr0\u{1}lb0",
        "lr-lb-add\u{1}lr0\u{1}lb6",
        "lr-lb-add\u{1}lr0\u{1}lb-aff",
        "lr-lb-add\u{1}gw0\u{1}lb-gw",
        // Forwarding group.
        "--liveness\u{1}fwd-group-add\u{1}fg0\u{1}sw0\u{1}10.0.0.250\u{1}00:00:00:00:00:fa\u{1}sw0-p1\u{1}sw0-p2",
        // QoS.
        "qos-add\u{1}sw0\u{1}from-lport\u{1}100\u{1}ip4.src == 10.0.0.11\u{1}dscp=12\u{1}rate=1000\u{1}burst=100",
    ];
    for cmd in script {
        nb(cmd);
    }
    // DHCP and DNS need the UUIDs of rows they create.
    sb.nbctl(&["dhcp-options-create", "10.0.0.0/24"]);
    let v4 = sb.nbctl(&["--bare", "--columns=_uuid", "find", "DHCP_Options", "cidr=\"10.0.0.0/24\""]).trim().to_string();
    sb.nbctl(&["dhcp-options-set-options", &v4, "lease_time=3600", "router=10.0.0.1", "server_id=10.0.0.1", "server_mac=c0:ff:ee:00:00:01", "dns_server={8.8.8.8,7.7.7.7}", "domain_name=\"ovn.org\"", "classless_static_route={30.0.0.0/24,10.0.0.10,0.0.0.0/0,10.0.0.1}", "mtu=1442"]);
    sb.nbctl(&["lsp-set-dhcpv4-options", "sw0-p1", &v4]);
    sb.nbctl(&["dhcp-options-create", "fd00::/64"]);
    let v6 = sb.nbctl(&["--bare", "--columns=_uuid", "find", "DHCP_Options", "cidr=\"fd00::/64\""]).trim().to_string();
    sb.nbctl(&["dhcp-options-set-options", &v6, "server_id=00:00:00:00:10:02", "dns_server={fd00::53}"]);
    sb.nbctl(&["lsp-set-dhcpv6-options", "sw0-p1", &v6]);
    let dns = sb.nbctl(&["create", "DNS", "records={\"vm1.ovn.org\"=\"10.0.0.11 fd00::11\",\"vm2.ovn.org\"=\"10.0.0.12\"}"]).trim().to_string();
    sb.nbctl(&["add", "Logical_Switch", "sw0", "dns_records", &dns]);
    sb.sync();
}

/// Starts a sandbox, builds the topology and returns the Southbound dump.
pub fn corpus_dump() -> String {
    let sb = Sandbox::start();
    build_topology(&sb);
    sb.dump_sb()
}
