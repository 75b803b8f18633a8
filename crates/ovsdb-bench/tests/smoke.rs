//! Every workload at a tiny scale against both servers: the benchmark
//! runs, every result validates, and every figure is a number. Ratios are
//! not checked here (a smoke run is too small, and CI machines vary).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sandbox::{Component, Impl, Programs};
use serde_json::Value as Json;

#[test]
fn every_workload_validates_on_both_servers() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let rovsdb_server = Programs::cargo_built(&workspace)
        .path(Component::DbServer, Impl::Ours)
        .expect("build rovsdb-server");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rovsdb-bench"));
    cmd.arg("--scale=0.002")
        .arg("--timeout=60")
        .arg("--json")
        .arg(format!("--rovsdb-server={}", rovsdb_server.display()));
    // Fails with the benchmark's stderr if it exits non-zero, which it does
    // when any workload fails or does not validate.
    let out = sandbox::tool::run(&mut cmd, Duration::from_secs(120)).expect("rovsdb-bench");

    let lines: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let workloads: BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l["workload"].as_str())
        .collect();
    assert_eq!(
        workloads,
        BTreeSet::from([
            "bulk",
            "condmon",
            "fanout",
            "memory",
            "reconnect",
            "startup",
            "txn"
        ]),
        "workloads reported:\n{out}"
    );
    for line in &lines {
        assert!(line.get("error").is_none(), "{line}");
        for side in ["ovs", "rovn"] {
            let v = line[side]
                .as_f64()
                .unwrap_or_else(|| panic!("{side} is not a number in {line}"));
            assert!(v.is_finite() && v >= 0.0, "{side} = {v} in {line}");
        }
    }
    let figure = |workload: &str, metric: &str| {
        lines
            .iter()
            .find(|l| {
                l["workload"] == workload
                    && l["metric"].as_str().is_some_and(|m| m.starts_with(metric))
            })
            .unwrap_or_else(|| panic!("no {workload} {metric} in\n{out}"))
    };
    // Quantities that cannot be zero if anything was measured at all.
    for (workload, metric) in [
        ("txn", "SB Port_Binding.chassis: throughput"),
        ("bulk", "initial monitor reply"),
        ("startup", "start until"),
        ("memory", "peak RSS"),
        ("reconnect", "full resend, all clients"),
    ] {
        let l = figure(workload, metric);
        assert!(
            l["ovs"].as_f64() > Some(0.0) && l["rovn"].as_f64() > Some(0.0),
            "{l}"
        );
    }
}
