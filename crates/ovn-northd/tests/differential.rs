//! The same Northbound compiled by Debian's ovn-northd and by rovn's
//! compiler: every logical flow (canonically printed, datapath groups
//! flattened) and every other Southbound table must agree. One test per
//! topology; each starts its own Debian databases and northd.

mod support;

use ovn_northd::diff::Differ;
use support::{Debian, compare, lflow_check};

/// Builds `script` (ovn-nbctl commands, arguments separated by `|`),
/// lets Debian's northd compile it, compiles it ourselves and compares.
fn check(name: &str, script: &[&str]) {
    check_with(name, &[], script);
}

/// Like [`check`], with ovn-sbctl commands run first (chassis).
fn check_with(name: &str, sb_script: &[&str], script: &[&str]) {
    let debian = Debian::start();
    for l in sb_script {
        let args: Vec<&str> = l.split('|').collect();
        debian.sbctl(&args);
    }
    debian.script(script);
    debian.sync();
    let (cmp, mut compiler) = compare(&debian);
    println!("{}", cmp.summary(name));
    let failures = lflow_check(&compiler);
    assert!(
        failures.is_empty(),
        "{name}: flows that ovn-lflow rejects:\n{}",
        failures.join("\n")
    );
    assert!(cmp.is_clean(), "{}\n{}", cmp.summary(name), cmp.details());
    // Taking over from Debian's northd: nothing to write.
    let dirty = compiler.take_dirty();
    let ops = Differ::new()
        .diff(compiler.desired(), &dirty, &debian.sb_db(), &debian.nb_db())
        .expect("diff");
    assert!(
        ops.is_empty(),
        "{name}: rovn would still write {}",
        serde_json::to_string_pretty(&[ops.sb_json(), ops.nb_json()].concat()).unwrap()
    );
}

#[test]
fn vifs_and_addresses() {
    check(
        "vifs_and_addresses",
        &[
            "ls-add|sw0",
            "ls-add|sw1",
            "lsp-add|sw0|p1",
            "lsp-set-addresses|p1|50:54:00:00:00:01 10.0.0.11 fd00::11",
            "lsp-set-port-security|p1|50:54:00:00:00:01 10.0.0.11 fd00::11",
            "lsp-add|sw0|p2",
            "lsp-set-addresses|p2|50:54:00:00:00:02 10.0.0.12|50:54:00:00:00:22 10.0.0.22 10.0.0.23",
            "lsp-set-port-security|p2|50:54:00:00:00:02 10.0.0.12/24",
            "lsp-add|sw0|p3",
            "lsp-set-addresses|p3|unknown",
            "lsp-add|sw0|p4",
            "lsp-set-addresses|p4|50:54:00:00:00:04 10.0.0.14|unknown",
            "lsp-add|sw0|p5",
            "lsp-set-addresses|p5|50:54:00:00:00:05",
            "lsp-set-enabled|p5|disabled",
            "lsp-add|sw1|q1",
            "lsp-set-addresses|q1|50:54:00:00:01:01 20.0.0.11 fd01::11",
            "lsp-add|sw1|q2",
            "lsp-set-addresses|q2|50:54:00:00:01:02 20.0.0.12 fd01::12",
            "lsp-add|sw1|q3",
            "lsp-set-type|q3|localport",
            "lsp-set-addresses|q3|50:54:00:00:01:03 20.0.0.2",
        ],
    );
}

#[test]
fn acls_stateful_over_port_groups() {
    check(
        "acls_stateful_over_port_groups",
        &[
            "ls-add|sw0",
            "ls-add|sw1",
            "ls-add|sw2",
            "lsp-add|sw0|p1",
            "lsp-set-addresses|p1|50:54:00:00:00:01 10.0.0.11 fd00::11",
            "lsp-add|sw0|p2",
            "lsp-set-addresses|p2|50:54:00:00:00:02 10.0.0.12",
            "lsp-add|sw1|q1",
            "lsp-set-addresses|q1|50:54:00:00:01:01 20.0.0.11 fd01::11",
            "lsp-add|sw1|q2",
            "lsp-set-addresses|q2|dynamic",
            "lsp-add|sw2|r1",
            "lsp-set-addresses|r1|50:54:00:00:02:01 30.0.0.11",
            "pg-add|pg_web|p1|q1",
            "pg-add|pg_db|p2",
            "pg-add|pg_empty",
            "create|Address_Set|name=as_clients|addresses=\"10.0.0.0/24\",\"20.0.0.11\",\"192.168.7.7\"",
            "create|Address_Set|name=as_clients6|addresses=\"fd00::/64\",\"fd01::11\"",
            "create|Address_Set|name=as_empty",
            "meter-add|m-plain|drop|10|pktps",
            "--fair|meter-add|m-fair|drop|20|pktps|5",
            "--type=port-group|acl-add|pg_web|to-lport|1002|outport == @pg_web && ip4.src == $as_clients && tcp.dst == {80, 443}|allow-related",
            "--type=port-group|--label=1234|acl-add|pg_web|to-lport|1001|outport == @pg_web && ip6.src == $as_clients6 && tcp.dst >= 8000 && tcp.dst <= 8080|allow-related",
            "--type=port-group|acl-add|pg_web|from-lport|1000|inport == @pg_web && ip4.dst == $pg_db_ip4|allow",
            "--type=port-group|--log|--severity=alert|--name=drop-web|acl-add|pg_web|to-lport|900|outport == @pg_web && ip|drop",
            "--type=port-group|--log|--meter=m-fair|acl-add|pg_web|from-lport|950|inport == @pg_web && udp|reject",
            "--type=port-group|acl-add|pg_db|to-lport|1000|outport == @pg_db && ip4.src == $pg_web_ip4 && ip4.src != $as_empty && udp.dst == 5432|allow-stateless",
            "--type=port-group|--apply-after-lb|acl-add|pg_db|from-lport|800|inport == @pg_db && tcp|allow-related",
            "--log|--meter=m-plain|acl-add|sw0|from-lport|1003|inport == \"p2\" && udp && !(udp.dst == 53)|reject",
            "acl-add|sw0|from-lport|1004|inport == \"p1\" && tcp && tcp.flags[1] == 1|reject",
            "--id=@a|create|ACL|direction=to-lport|priority=1000|match=\"ip4 && 1024 <= tcp.src <= 4000 && !(ip4.src == 10.0.0.0/8)\"|action=allow-related|log=true|label=77|options:log-related=true|--|add|Logical_Switch|sw1|acls|@a",
            "acl-add|sw1|to-lport|999|ip6 && icmp6|drop",
            "acl-add|sw2|from-lport|500|ip4|allow",
            "acl-add|sw2|to-lport|400|tcp|drop",
            "acl-add|sw2|to-lport|401|udp|reject",
            "--log|acl-add|sw2|from-lport|600|icmp4|allow-stateless",
        ],
    );
}

#[test]
fn acls_options_and_defaults() {
    check(
        "acls_options_and_defaults",
        &[
            "set|NB_Global|.|options:default_acl_drop=true|options:use_ct_inv_match=false",
            "ls-add|sw0",
            "ls-add|sw1",
            "lsp-add|sw0|p1",
            "lsp-set-addresses|p1|50:54:00:00:00:01 10.0.0.11",
            "lsp-add|sw1|q1",
            "lsp-set-addresses|q1|50:54:00:00:01:01 20.0.0.11",
            "acl-add|sw0|from-lport|1000|ip4|allow-related",
            "acl-add|sw0|to-lport|1000|ip4 && tcp|drop",
            "acl-add|sw1|to-lport|1000|ip4|allow",
        ],
    );
}

#[test]
fn dynamic_addresses() {
    check(
        "dynamic_addresses",
        &[
            "set|NB_Global|.|options:mac_prefix=0a:0b:0c",
            "ls-add|sw0",
            "set|Logical_Switch|sw0|other_config:subnet=10.0.0.0/24|other_config:exclude_ips=10.0.0.2..10.0.0.5 10.0.0.7",
            "lsp-add|sw0|d1",
            "lsp-set-addresses|d1|dynamic",
            "lsp-add|sw0|d2",
            "lsp-set-addresses|d2|0a:00:00:00:00:42 dynamic",
            "lsp-add|sw0|d3",
            "lsp-set-addresses|d3|dynamic 10.0.0.100",
            "lsp-add|sw0|s1",
            "lsp-set-addresses|s1|0a:0b:0c:00:00:09 10.0.0.9",
            "ls-add|sw1",
            "set|Logical_Switch|sw1|other_config:ipv6_prefix=fd11::",
            "lsp-add|sw1|e1",
            "lsp-set-addresses|e1|dynamic",
            "ls-add|sw2",
            "set|Logical_Switch|sw2|other_config:subnet=192.168.1.0/24|other_config:ipv6_prefix=fd22::/64",
            "lsp-add|sw2|f1",
            "lsp-set-addresses|f1|dynamic",
            "lsp-add|sw2|f2",
            "lsp-set-addresses|f2|dynamic 192.168.1.50 fd22::50",
            "ls-add|sw3",
            "set|Logical_Switch|sw3|other_config:mac_only=true",
            "lsp-add|sw3|g1",
            "lsp-set-addresses|g1|dynamic",
            "ls-add|sw4",
            "lsp-add|sw4|h1",
            "lsp-set-addresses|h1|dynamic",
            "pg-add|pg_dyn|d1|f1",
        ],
    );
}

#[test]
fn localnet_localport_external_virtual() {
    check(
        "localnet_localport_external_virtual",
        &[
            "ls-add|pub",
            "lsp-add|pub|ln-pub",
            "lsp-set-type|ln-pub|localnet",
            "lsp-set-addresses|ln-pub|unknown",
            "lsp-set-options|ln-pub|network_name=phys",
            "set|Logical_Switch_Port|ln-pub|tag_request=101",
            "lsp-add|pub|vm1",
            "lsp-set-addresses|vm1|50:54:00:00:00:01 172.16.0.11",
            "lsp-add|pub|lp",
            "lsp-set-type|lp|localport",
            "lsp-set-addresses|lp|50:54:00:00:00:fe 172.16.0.2",
            "ls-add|prov",
            "lsp-add|prov|ln-prov",
            "lsp-set-type|ln-prov|localnet",
            "lsp-set-addresses|ln-prov|unknown",
            "lsp-set-options|ln-prov|network_name=phys2|localnet_learn_fdb=true",
            "lsp-add|prov|ext1",
            "lsp-set-type|ext1|external",
            "lsp-set-addresses|ext1|50:54:00:00:00:31 172.17.0.31",
            "--id=@c1|create|HA_Chassis|chassis_name=hv1|priority=30|--|--id=@c2|create|HA_Chassis|chassis_name=hv2|priority=20|--|--id=@g|create|HA_Chassis_Group|name=hagrp|ha_chassis=[@c1,@c2]|--|set|Logical_Switch_Port|ext1|ha_chassis_group=@g",
            "lsp-add|prov|vm2",
            "lsp-set-addresses|vm2|50:54:00:00:00:02 172.17.0.12",
            "lsp-add|prov|vm3",
            "lsp-set-addresses|vm3|50:54:00:00:00:03 172.17.0.13",
            "lsp-add|prov|vip",
            "lsp-set-type|vip|virtual",
            "lsp-set-addresses|vip|50:54:00:00:00:10 172.17.0.10",
            "lsp-set-options|vip|virtual-ip=172.17.0.10|virtual-parents=vm2,vm3,nosuch",
            "lsp-add|prov|vip6",
            "lsp-set-type|vip6|virtual",
            "lsp-set-options|vip6|virtual-ip=fd17::10|virtual-parents=vm2",
            "lsp-add|prov|vm4",
            "lsp-set-addresses|vm4|50:54:00:00:00:04 172.17.0.14",
            "lsp-set-options|vm4|requested-chassis=hv1",
        ],
    );
}

#[test]
fn dhcp_and_dns() {
    check(
        "dhcp_and_dns",
        &[
            "ls-add|sw0",
            "lsp-add|sw0|p1",
            "lsp-set-addresses|p1|50:54:00:00:00:01 10.0.0.11 fd00::11",
            "lsp-add|sw0|p2",
            "lsp-set-addresses|p2|50:54:00:00:00:02 10.0.0.12 fd00::12",
            "lsp-set-options|p2|hostname=\"myhost\"",
            "lsp-add|sw0|p3",
            "lsp-set-addresses|p3|50:54:00:00:00:03 192.168.99.3",
            "lsp-add|sw0|p4",
            "lsp-set-addresses|p4|50:54:00:00:00:04 10.0.0.14",
            "--id=@d4|create|DHCP_Options|cidr=10.0.0.0/24|options:server_id=10.0.0.1|options:server_mac=c0:ff:ee:00:00:01|options:lease_time=3600|options:router=10.0.0.1|options:dns_server={8.8.8.8,1.1.1.1}|options:domain_name=\"\\\"ovn.org\\\"\"|--|set|Logical_Switch_Port|p1|dhcpv4_options=@d4|--|set|Logical_Switch_Port|p2|dhcpv4_options=@d4|--|set|Logical_Switch_Port|p3|dhcpv4_options=@d4",
            "--id=@d6|create|DHCP_Options|cidr=\"fd00::/64\"|options:server_id=c0:ff:ee:00:00:02|options:dns_server=\"fd00::53\"|--|set|Logical_Switch_Port|p1|dhcpv6_options=@d6",
            "--id=@d6s|create|DHCP_Options|cidr=\"fd00::/64\"|options:server_id=c0:ff:ee:00:00:03|options:dhcpv6_stateless=true|--|set|Logical_Switch_Port|p2|dhcpv6_options=@d6s",
            "--id=@dbad|create|DHCP_Options|cidr=10.0.0.0/24|options:server_id=10.0.0.1|--|set|Logical_Switch_Port|p4|dhcpv4_options=@dbad",
            "acl-add|sw0|to-lport|1000|ip|allow-related",
            "ls-add|sw1",
            "lsp-add|sw1|q1",
            "lsp-set-addresses|q1|50:54:00:00:01:01 20.0.0.11",
            "--id=@dns1|create|DNS|records={\"vm1.ovn.org\"=\"10.0.0.11\",\"VM2.OVN.ORG\"=\"10.0.0.12 FD00::12\"}|--|add|Logical_Switch|sw0|dns_records|@dns1|--|add|Logical_Switch|sw1|dns_records|@dns1",
            "--id=@dns2|create|DNS|records={}|--|add|Logical_Switch|sw1|dns_records|@dns2",
        ],
    );
}

#[test]
fn switch_options_mcast_qos_copp() {
    check(
        "switch_options_mcast_qos_copp",
        &[
            "ls-add|sw0",
            "set|Logical_Switch|sw0|other_config:vlan-passthru=true|other_config:requested-tnl-key=77",
            "lsp-add|sw0|p1",
            "lsp-set-addresses|p1|50:54:00:00:00:01 10.0.0.11",
            "set|Logical_Switch_Port|p1|options:requested-tnl-key=9",
            "lsp-add|sw0|p2",
            "lsp-set-addresses|p2|50:54:00:00:00:02 10.0.0.12",
            "lsp-add|sw0|c1|p1|42",
            "lsp-set-addresses|c1|50:54:00:00:00:c1 10.0.0.101",
            "lsp-add|sw0|c2|p1|0",
            "lsp-set-addresses|c2|50:54:00:00:00:c2 10.0.0.102",
            "ls-add|sw1",
            "set|Logical_Switch|sw1|other_config:mcast_snoop=true|other_config:mcast_querier=false|other_config:mcast_table_size=100|other_config:mcast_idle_timeout=10|other_config:mcast_eth_src=00:00:00:00:20:fe|other_config:mcast_ip4_src=20.0.0.254",
            "lsp-add|sw1|q1",
            "lsp-set-addresses|q1|50:54:00:00:01:01 20.0.0.11",
            "lsp-set-options|q1|mcast_flood=true|mcast_flood_reports=true",
            "lsp-add|sw1|q2",
            "lsp-set-addresses|q2|50:54:00:00:01:02 20.0.0.12",
            "ls-add|sw2",
            "set|Logical_Switch|sw2|other_config:mcast_snoop=true|other_config:mcast_flood_unregistered=true|other_config:mcast_query_interval=40",
            "lsp-add|sw2|r1",
            "lsp-set-addresses|r1|50:54:00:00:02:01 30.0.0.11",
            "ls-add|sw3",
            "set|Logical_Switch|sw3|other_config:mcast_snoop=true",
            "lsp-add|sw3|t1",
            "lsp-set-addresses|t1|50:54:00:00:03:01 40.0.0.11",
            "qos-add|sw2|from-lport|100|ip4|dscp=10",
            "qos-add|sw2|to-lport|200|udp|rate=1000|burst=100",
            "qos-add|sw2|from-lport|300|tcp|rate=500",
            "meter-add|cm|drop|100|pktps",
            "copp-add|copp2|dns|cm",
            "copp-add|copp2|reject|cm",
            "copp-add|copp2|igmp|cm",
            "copp-add|copp2|svc-monitor|cm",
            "copp-add|copp2|nd-na|cm",
            "copp-add|copp2|dhcpv4-opts|cm",
            "copp-add|copp2|arp|nosuchmeter",
            "ls-copp-add|copp2|sw2",
            "acl-add|sw2|from-lport|100|udp|reject",
            "--id=@dns|create|DNS|records={\"a.b\"=\"30.0.0.11\"}|--|add|Logical_Switch|sw2|dns_records|@dns",
            "lsp-set-addresses|r1|50:54:00:00:02:01 30.0.0.11 fd30::11",
            "--id=@d|create|DHCP_Options|cidr=30.0.0.0/24|options:server_id=30.0.0.1|options:server_mac=c0:ff:ee:00:00:01|options:lease_time=3600|--|set|Logical_Switch_Port|r1|dhcpv4_options=@d",
            "--liveness|fwd-group-add|fg1|sw2|30.0.0.100|00:00:00:00:30:64|r1",
        ],
    );
}

#[test]
fn chassis_without_features() {
    check_with(
        "chassis_without_features",
        &["chassis-add|hv1|geneve|192.0.2.1", "chassis-add|hv2|geneve|192.0.2.2"],
        &[
            "ls-add|sw0",
            "lsp-add|sw0|p1",
            "lsp-set-addresses|p1|50:54:00:00:00:01 10.0.0.11",
            "lsp-set-options|p1|requested-chassis=hv1,hv2,nosuch",
            "lsp-add|sw0|p2",
            "lsp-set-addresses|p2|50:54:00:00:00:02 10.0.0.12",
            "acl-add|sw0|from-lport|1000|ip4|allow-related",
            "acl-add|sw0|to-lport|900|ip4 && udp|drop",
        ],
    );
}

#[test]
fn router_ports_switch_side() {
    check(
        "router_ports_switch_side",
        &[
            "ls-add|sw0",
            "lsp-add|sw0|p1",
            "lsp-set-addresses|p1|50:54:00:00:00:01 10.0.0.11",
            "lr-add|lr0",
            "lrp-add|lr0|lr0-sw0|00:00:00:00:ff:01|10.0.0.1/24|fd00::1/64",
            "lsp-add|sw0|sw0-lr0",
            "lsp-set-type|sw0-lr0|router",
            "lsp-set-addresses|sw0-lr0|router",
            "lsp-set-options|sw0-lr0|router-port=lr0-sw0",
            "ls-add|sw1",
            "lrp-add|lr0|lr0-sw1|00:00:00:00:ff:02|20.0.0.1/24",
            "lsp-add|sw1|sw1-lr0",
            "lsp-set-type|sw1-lr0|router",
            "lsp-set-addresses|sw1-lr0|router",
            "lsp-set-options|sw1-lr0|router-port=lr0-sw1|arp_proxy=20.0.0.100 20.0.0.101",
            "acl-add|sw1|to-lport|1000|ip4|allow-related",
            "lsp-add|sw1|ln1",
            "lsp-set-type|ln1|localnet",
            "lsp-set-addresses|ln1|unknown",
            "lsp-set-options|ln1|network_name=phys",
            "lr-nat-add|lr0|dnat_and_snat|20.0.0.50|10.0.0.11",
        ],
    );
}

#[test]
fn load_balancers_on_switches() {
    check(
        "load_balancers_on_switches",
        &[
            "set|NB_Global|.|options:svc_monitor_mac=\"0a:00:00:00:00:01\"",
            "ls-add|sw0",
            "lsp-add|sw0|p1",
            "lsp-set-addresses|p1|50:54:00:00:00:01 10.0.0.11 fd00::11",
            "lsp-add|sw0|p2",
            "lsp-set-addresses|p2|50:54:00:00:00:02 10.0.0.12 fd00::12",
            "lsp-add|sw0|ln0",
            "lsp-set-type|ln0|localnet",
            "lsp-set-addresses|ln0|unknown",
            "lsp-set-options|ln0|network_name=phys",
            "ls-add|sw1",
            "lsp-add|sw1|q1",
            "lsp-set-addresses|q1|50:54:00:00:01:01 20.0.0.11",
            "ls-add|sw2",
            "lsp-add|sw2|r1",
            "lsp-set-addresses|r1|50:54:00:00:02:01 30.0.0.11",
            "acl-add|sw1|from-lport|1000|ip4|allow",
            "lb-add|lb0|10.0.0.100:80|10.0.0.11:8080,10.0.0.12:8080|tcp",
            "lb-add|lb-udp|10.0.0.101:53|10.0.0.11:53|udp",
            "lb-add|lb6|[fd00::100]:80|[fd00::11]:8080,[fd00::12]:8080|tcp",
            "lb-add|lb-aff|10.0.0.102:443|10.0.0.11:443,10.0.0.12:443|tcp",
            "set|Load_Balancer|lb-aff|options:affinity_timeout=60",
            "lb-add|lb-empty|10.0.0.103:80||tcp",
            "set|Load_Balancer|lb-empty|options:event=true",
            "lb-add|lb-reject|10.0.0.104:80||tcp",
            "set|Load_Balancer|lb-reject|options:reject=true",
            "lb-add|lb-noport|10.0.0.105|10.0.0.11",
            "lb-add|lb-sel|10.0.0.106:80|10.0.0.11:80|tcp",
            "set|Load_Balancer|lb-sel|selection_fields=ip_src,tp_dst",
            "lb-add|lb6-aff|[fd00::101]:80|[fd00::11]:8080|tcp",
            "set|Load_Balancer|lb6-aff|options:affinity_timeout=30",
            "ls-lb-add|sw0|lb0",
            "ls-lb-add|sw0|lb-udp",
            "ls-lb-add|sw0|lb6",
            "ls-lb-add|sw0|lb-aff",
            "ls-lb-add|sw0|lb-empty",
            "ls-lb-add|sw0|lb-reject",
            "ls-lb-add|sw0|lb-noport",
            "ls-lb-add|sw0|lb-sel",
            "ls-lb-add|sw0|lb6-aff",
            "ls-lb-add|sw2|lb-reject",
            "ls-lb-add|sw2|lb0",
            "--id=@g|create|Load_Balancer_Group|name=lbg|load_balancer={uuid:Load_Balancer:lb0}|--|add|Logical_Switch|sw1|load_balancer_group|@g",
            "meter-add|cm|drop|100|pktps",
            "copp-add|copp2|reject|cm",
            "copp-add|copp2|event-elb|cm",
            "ls-copp-add|copp2|sw2",
            "lb-add|lb-unused|10.9.9.9:80|10.0.0.11:80|tcp",
        ],
    );
}
