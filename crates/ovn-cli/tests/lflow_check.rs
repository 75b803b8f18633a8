//! `rovn-lflow check` on a live Southbound database (served by
//! rovsdb-server, written by Debian's ovn-northd) and on a dump of it: the
//! same verdict both ways, and a bad flow is reported with exit status 1.

use std::process::Command;

use sandbox::{Programs, Sandbox};

fn check(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rovn-lflow")).arg("check").args(args).output().expect("runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn check_live_database_and_dump_agree() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sb = Sandbox::builder().programs(Programs::cargo_built(&workspace)).start().expect("sandbox");
    for args in [
        &["ls-add", "ls1"][..],
        &["lsp-add", "ls1", "p1"],
        &["lsp-set-addresses", "p1", "50:54:00:00:00:01 10.0.0.1"],
        &["lsp-set-port-security", "p1", "50:54:00:00:00:01 10.0.0.1"],
        &["lsp-add", "ls1", "p2"],
        &["lsp-set-addresses", "p2", "unknown"],
        &["create", "Address_Set", "name=clients", "addresses=\"10.0.0.1\",\"10.0.0.7\""],
        &["pg-add", "pg_web", "p1", "p2"],
        &["acl-add", "pg_web", "to-lport", "1001", "ip4.src == $clients && tcp.dst == 80", "allow-related"],
        &["acl-add", "ls1", "from-lport", "900", "udp", "reject"],
    ] {
        sb.nbctl(args).expect("nbctl");
    }
    sb.nbctl(&["--wait=sb", "sync"]).expect("sync");

    let (ok, live) = check(&["--db", &sb.sb_remote()]);
    assert!(ok, "{live}");
    let summary = live.lines().last().unwrap().to_string();
    assert!(summary.contains(" 0 failures"), "{live}");

    let dump = Command::new("ovsdb-client").args(["dump", "-f", "json", &sb.sb_remote(), "OVN_Southbound"]).output().unwrap();
    assert!(dump.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sb.json");
    std::fs::write(&file, &dump.stdout).unwrap();
    let (ok, from_file) = check(&["--file", file.to_str().unwrap()]);
    assert!(ok, "{from_file}");
    assert_eq!(from_file.lines().last().unwrap(), summary, "live and dumped databases give the same verdict");

    // A flow northd would never write: reported, exit status 1.
    sb.appctl("northd", &["pause"]).expect("pause northd");
    let dp = sb.sbctl(&["--bare", "--columns=_uuid", "find", "Datapath_Binding", "external_ids:name=ls1"]).unwrap();
    sb.sbctl(&["create", "Logical_Flow", &format!("logical_datapath={}", dp.trim()), "pipeline=ingress", "table_id=0",
        "priority=5", "match=\"ip.ttl > 1\"", "actions=\"next;\""]).expect("insert a bad flow");
    let (ok, out) = check(&["--db", &sb.sb_remote()]);
    assert!(!ok, "{out}");
    assert!(out.contains("ip.ttl") || out.contains("1 failures"), "{out}");
    assert!(out.lines().last().unwrap().contains(" 1 failures"), "{out}");

    let (ok, out) = check(&["--db", "unix:/nonexistent/sb.sock", "--timeout=1"]);
    assert!(!ok);
    assert!(out.contains("rovn-lflow:"), "{out}");
}
