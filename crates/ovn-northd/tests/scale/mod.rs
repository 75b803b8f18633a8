//! The scale scenario of the incrementality measurement, shared by the
//! test (which asserts what is recomputed) and the benchmark (which
//! times it): 10,000 ports on 200 switches, one port group spanning every
//! switch with 500 stateful ACLs over 50 address sets.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use ovn_northd::compile::{Compiler, Report, SbChange};
use ovn_northd::diff::Differ;
use ovn_northd::nb::{NbChange, NbTable};
use ovn_northd::sb::SbTable;
use ovsdb::Uuid;
use ovsdb::db::Database;
use serde_json::json;

use crate::nbgen::{Nb, apply, empty_nb, empty_sb, transact};

pub struct Scale {
    pub switches: usize,
    pub ports_per_switch: usize,
    pub acls: usize,
    pub address_sets: usize,
    /// Ports of each switch that are in the port group.
    pub pg_ports_per_switch: usize,
}

pub const FULL: Scale = Scale {
    switches: 200,
    ports_per_switch: 50,
    acls: 500,
    address_sets: 50,
    pg_ports_per_switch: 5,
};

fn mac(sw: usize, p: usize) -> String {
    format!("0a:00:00:{:02x}:{:02x}:{:02x}", sw >> 8, sw & 0xff, p)
}

fn ip(sw: usize, p: usize) -> String {
    format!("10.{}.{}.{}", sw >> 8, sw & 0xff, p + 10)
}

/// The Northbound database of the scenario.
pub fn build(s: &Scale) -> Database {
    let mut db = empty_nb();
    let mut pg_ports = Vec::new();
    for sw in 0..s.switches {
        let mut nb = Nb::default();
        let mut ports = Vec::new();
        for p in 0..s.ports_per_switch {
            let addr = format!("{} {}", mac(sw, p), ip(sw, p));
            let n = nb.port(&format!("sw{sw}-p{p}"), &[&addr]);
            ports.push(n);
        }
        nb.switch(&format!("sw{sw}"), &ports, &[]);
        let results = nb.run(&mut db);
        for r in results.iter().take(s.pg_ports_per_switch) {
            pg_ports.push(crate::nbgen::uuid_of(r));
        }
    }
    let mut nb = Nb::default();
    for a in 0..s.address_sets {
        let addrs: Vec<String> = (0..20).map(|i| format!("192.168.{a}.{i}")).collect();
        nb.address_set(&format!("as{a}"), &addrs);
    }
    let mut acls = Vec::new();
    for i in 0..s.acls {
        let m = format!(
            "outport == @pg_big && ip4.src == $as{} && tcp.dst == {}",
            i % s.address_sets,
            1000 + i
        );
        acls.push(nb.acl(
            "to-lport",
            1000 + (i as i64 % 1000),
            &m,
            if i % 10 == 0 { "drop" } else { "allow-related" },
        ));
    }
    let acl_refs: Vec<serde_json::Value> = acls.iter().map(|a| json!(["named-uuid", a])).collect();
    let port_refs: Vec<serde_json::Value> = pg_ports.iter().map(|u| json!(["uuid", u.to_string()])).collect();
    nb.ops.push(json!({"op": "insert", "table": "Port_Group", "row": {"name": "pg_big", "ports": ["set", port_refs], "acls": ["set", acl_refs]}}));
    nb.run(&mut db);
    db
}

/// What one incremental step did and cost.
pub struct Step {
    pub report: Report,
    pub compile: Duration,
    pub diff: Duration,
    pub sb_ops: usize,
    pub nb_ops: usize,
    pub ops: Vec<serde_json::Value>,
}

/// The compiler and the databases it keeps in step.
pub struct World {
    pub nb: Database,
    pub sb: Database,
    pub compiler: Compiler,
    pub differ: Differ,
}

impl World {
    /// Full compilation of `nb` against an empty Southbound, with its
    /// operations applied. Returns the timings (compile, diff, apply) and
    /// the report.
    pub fn start(nb: Database) -> (World, Report, Duration, Duration, usize) {
        let sb = empty_sb();
        let mut compiler = Compiler::new(1);
        let t = Instant::now();
        let report = compiler.load(&nb, &sb);
        let compile = t.elapsed();
        let mut w = World {
            nb,
            sb,
            compiler,
            differ: Differ::new(),
        };
        let t = Instant::now();
        let dirty = w.compiler.take_dirty();
        let ops = w.differ.diff(w.compiler.desired(), &dirty, &w.sb, &w.nb).expect("diff");
        let diff = t.elapsed();
        let n = ops.sb.len();
        let (sbc, nbc) = w.apply(ops);
        // Let the compiler see its own writes (keys, write-backs).
        w.compiler.update(&w.nb, &nbc, &w.sb, &sbc);
        w.settle();
        (w, report, compile, diff, n)
    }

    fn apply(&mut self, ops: ovn_northd::diff::Ops) -> (Vec<SbChange>, Vec<NbChange>) {
        let sbc = if ops.sb.is_empty() {
            Vec::new()
        } else {
            apply(&mut self.sb, &ops.sb_params())
        };
        let nbc = if ops.nb.is_empty() {
            Vec::new()
        } else {
            apply(&mut self.nb, &ops.nb_params())
        };
        let refs: Vec<(&str, Uuid)> = sbc.iter().map(|(t, u)| (t.as_str(), *u)).collect();
        self.differ.sb_changed(&self.sb, &refs).expect("index");
        (
            sbc.iter()
                .filter_map(|(t, u)| {
                    Some(SbChange {
                        table: SbTable::from_name(t)?,
                        uuid: *u,
                    })
                })
                .collect(),
            nbc.iter()
                .filter_map(|(t, u)| {
                    Some(NbChange {
                        table: NbTable::from_name(t)?,
                        uuid: *u,
                    })
                })
                .collect(),
        )
    }

    /// Feeds our own writes back until nothing is left to write.
    pub fn settle(&mut self) {
        for _ in 0..3 {
            let dirty = self.compiler.take_dirty();
            let ops = self
                .differ
                .diff(self.compiler.desired(), &dirty, &self.sb, &self.nb)
                .expect("diff");
            if ops.is_empty() {
                return;
            }
            let (sbc, nbc) = self.apply(ops);
            self.compiler.update(&self.nb, &nbc, &self.sb, &sbc);
        }
    }

    /// Changes one port's addresses (a member of the big port group) and
    /// runs the incremental compile and diff.
    pub fn change_port(&mut self, name: &str, addresses: &str) -> Step {
        let changed = {
            let (_, ts, t) = self.nb.table_by_name("Logical_Switch_Port").expect("table");
            let col = ts.column_id("name").expect("column");
            *t.rows
                .iter()
                .find(|(_, r)| r.field(col).as_set()[0].as_str() == Some(name))
                .expect("port")
                .0
        };
        transact(
            &mut self.nb,
            vec![
                json!({"op": "update", "table": "Logical_Switch_Port", "where": [["_uuid", "==", ["uuid", changed.to_string()]]], "row": {"addresses": addresses}}),
            ],
        );
        let t = Instant::now();
        let report = self.compiler.update(
            &self.nb,
            &[NbChange {
                table: NbTable::LogicalSwitchPort,
                uuid: changed,
            }],
            &self.sb,
            &[],
        );
        let compile = t.elapsed();
        let t = Instant::now();
        let dirty = self.compiler.take_dirty();
        let ops = self
            .differ
            .diff(self.compiler.desired(), &dirty, &self.sb, &self.nb)
            .expect("diff");
        let diff = t.elapsed();
        let step = Step {
            report,
            compile,
            diff,
            sb_ops: ops.sb.len(),
            nb_ops: ops.nb.len(),
            ops: ops.sb_json(),
        };
        let (sbc, nbc) = self.apply(ops);
        self.compiler.update(&self.nb, &nbc, &self.sb, &sbc);
        self.settle();
        step
    }
}
