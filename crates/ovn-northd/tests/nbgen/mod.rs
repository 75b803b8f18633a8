//! Northbound and Southbound databases built in memory with transactions
//! (no server): for engine tests, fuzzing and the benchmark.

#![allow(dead_code)]

pub mod random;

use std::collections::BTreeMap;
use std::sync::Arc;

use ovn_northd::compile::{Compiler, SbChange};
use ovn_northd::diff::Differ;
use ovn_northd::nb::NbChange;
use ovn_northd::sb::SbTable;
use ovsdb::Uuid;
use ovsdb::db::Database;
use ovsdb::schema::DatabaseSchema;
use serde_json::{Value as Json, json};

/// The schemas are compiled in (the fuzz target shares this module from
/// another package) and parsed once.
fn schema(text: &str, cell: &'static std::sync::OnceLock<Arc<DatabaseSchema>>) -> Arc<DatabaseSchema> {
    cell.get_or_init(|| DatabaseSchema::from_json(&serde_json::from_str(text).expect("schema JSON")).expect("schema"))
        .clone()
}

pub fn empty_nb() -> Database {
    static NB: std::sync::OnceLock<Arc<DatabaseSchema>> = std::sync::OnceLock::new();
    Database::new(schema(include_str!("../../../../schemas/ovn-nb.ovsschema"), &NB))
}

pub fn empty_sb() -> Database {
    static SB: std::sync::OnceLock<Arc<DatabaseSchema>> = std::sync::OnceLock::new();
    Database::new(schema(include_str!("../../../../schemas/ovn-sb.ovsschema"), &SB))
}

/// Runs `ops` on `db`; panics on any error. Returns the results.
pub fn transact(db: &mut Database, ops: Vec<Json>) -> Vec<Json> {
    let mut params = vec![json!(db.schema.name.clone())];
    params.extend(ops);
    let r = ovsdb::txn::transact(db, &Json::Array(params.clone()));
    let results = r
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("transaction failed: {r}"));
    for x in &results {
        assert!(x.get("error").is_none(), "transaction {params:?} failed: {r}");
    }
    results
}

/// Applies the params of a `transact` request (`[db, op...]`); returns
/// the rows it changed as (table, uuid).
pub fn apply(db: &mut Database, params: &Json) -> Vec<(String, Uuid)> {
    match ovsdb::txn::execute(db, params, &ovsdb::txn::ExecContext::simple()) {
        ovsdb::txn::Outcome::Done { results, commit } => {
            for x in results.as_array().into_iter().flatten() {
                assert!(x.get("error").is_none(), "transaction failed: {results}\n{params}");
            }
            let Some(c) = commit else { return Vec::new() };
            let changed = c
                .tables
                .iter()
                .flat_map(|(t, rows)| {
                    let name = db.schema.tables[*t].name.clone();
                    rows.iter().map(move |r| (name.clone(), r.uuid))
                })
                .collect();
            db.apply(&c);
            changed
        }
        ovsdb::txn::Outcome::Blocked { .. } => panic!("blocked"),
    }
}

pub fn uuid_of(result: &Json) -> Uuid {
    let u = result["uuid"][1].as_str().expect("uuid");
    Uuid::parse(u).expect("uuid")
}

/// A builder of Northbound insert operations with named rows.
#[derive(Default)]
pub struct Nb {
    pub ops: Vec<Json>,
    n: usize,
}

impl Nb {
    pub fn name(&mut self) -> String {
        self.n += 1;
        format!("r{}", self.n)
    }

    pub fn insert(&mut self, table: &str, row: Json) -> String {
        let n = self.name();
        self.ops
            .push(json!({"op": "insert", "table": table, "uuid-name": n, "row": row}));
        n
    }

    /// A switch with the given ports (already inserted, by uuid-name) and
    /// ACLs.
    pub fn switch(&mut self, name: &str, ports: &[String], acls: &[String]) -> String {
        let ports: Vec<Json> = ports.iter().map(|p| json!(["named-uuid", p])).collect();
        let acls: Vec<Json> = acls.iter().map(|p| json!(["named-uuid", p])).collect();
        self.insert(
            "Logical_Switch",
            json!({"name": name, "ports": ["set", ports], "acls": ["set", acls]}),
        )
    }

    pub fn port(&mut self, name: &str, addresses: &[&str]) -> String {
        self.insert(
            "Logical_Switch_Port",
            json!({"name": name, "addresses": ["set", addresses]}),
        )
    }

    pub fn acl(&mut self, direction: &str, priority: i64, m: &str, action: &str) -> String {
        self.insert(
            "ACL",
            json!({"direction": direction, "priority": priority, "match": m, "action": action}),
        )
    }

    pub fn port_group(&mut self, name: &str, ports: &[String], acls: &[String]) -> String {
        let ports: Vec<Json> = ports.iter().map(|p| json!(["named-uuid", p])).collect();
        let acls: Vec<Json> = acls.iter().map(|p| json!(["named-uuid", p])).collect();
        self.insert(
            "Port_Group",
            json!({"name": name, "ports": ["set", ports], "acls": ["set", acls]}),
        )
    }

    pub fn address_set(&mut self, name: &str, addresses: &[String]) -> String {
        self.insert("Address_Set", json!({"name": name, "addresses": ["set", addresses]}))
    }

    pub fn run(self, db: &mut Database) -> Vec<Json> {
        transact(db, self.ops)
    }
}

/// Everything the compiler wants, in a comparable form.
pub fn snapshot(c: &Compiler) -> String {
    let d = c.desired();
    let mut flows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (f, e) in d.flows.iter() {
        let dps: Vec<String> = e
            .datapaths()
            .map(|u| {
                c.northbound()
                    .logical_switches
                    .get(u)
                    .map(|l| l.name.clone())
                    .unwrap_or_default()
            })
            .collect();
        flows.insert(
            format!(
                "{} {} {} {} {:?}",
                f.stage, f.priority, f.match_, f.actions, f.controller_meter
            ),
            dps,
        );
    }
    let mut out = String::new();
    for (k, v) in flows {
        out.push_str(&format!("flow {k} @ {v:?}\n"));
    }
    for (k, v) in &d.port_bindings {
        out.push_str(&format!("pb {k} {v:?}\n"));
    }
    for (k, v) in &d.datapaths {
        out.push_str(&format!("dp {k} {v:?}\n"));
    }
    for (k, v) in &d.multicast_groups {
        out.push_str(&format!("mc {k:?} {v:?}\n"));
    }
    for (k, v) in &d.address_sets {
        out.push_str(&format!("as {k} {v:?}\n"));
    }
    for (k, v) in &d.port_groups {
        out.push_str(&format!("pg {k} {v:?}\n"));
    }
    out.push_str(&format!(
        "ipm {:?}\ndns {:?}\nmeters {:?}\nha {:?}\n",
        d.ip_multicast, d.dns, d.meters, d.ha_chassis_groups
    ));
    out.push_str(&format!(
        "sbg {:?}\nnbg {:?}\n",
        d.sb_global_options, d.nb.global_options
    ));
    let mut up: Vec<_> = d.nb.lsp_up.iter().collect();
    up.sort();
    let mut dynamic: Vec<_> = d.nb.lsp_dynamic_addresses.iter().collect();
    dynamic.sort();
    out.push_str(&format!("up {up:?}\ndyn {dynamic:?}\n"));
    out
}

/// Compiles, diffs against the Southbound, applies the operations to
/// both databases and feeds the changes back, until nothing is left to
/// do. Returns how many rounds that took.
pub fn converge(c: &mut Compiler, differ: &mut Differ, nb: &mut Database, sb: &mut Database) -> usize {
    for round in 1..=4 {
        let dirty = c.take_dirty();
        let ops = differ.diff(c.desired(), &dirty, sb, nb).expect("diff");
        if ops.is_empty() {
            return round;
        }
        if round == 4 {
            panic!("did not converge in 4 rounds; still to do: {ops:#?}");
        }
        let sb_changed = if ops.sb.is_empty() {
            Vec::new()
        } else {
            apply(sb, &ops.sb_params())
        };
        let nb_changed = if ops.nb.is_empty() {
            Vec::new()
        } else {
            apply(nb, &ops.nb_params())
        };
        let refs: Vec<(&str, Uuid)> = sb_changed.iter().map(|(t, u)| (t.as_str(), *u)).collect();
        differ.sb_changed(sb, &refs).expect("index");
        let sbc: Vec<SbChange> = sb_changed
            .iter()
            .filter_map(|(t, u)| {
                Some(SbChange {
                    table: SbTable::from_name(t)?,
                    uuid: *u,
                })
            })
            .collect();
        let nbc: Vec<NbChange> = nb_changed
            .iter()
            .filter_map(|(t, u)| {
                Some(NbChange {
                    table: ovn_northd::nb::NbTable::from_name(t)?,
                    uuid: *u,
                })
            })
            .collect();
        c.update(nb, &nbc, sb, &sbc);
    }
    panic!("did not converge in 4 rounds");
}

/// Runs a transaction; false if the database refused it.
pub fn try_transact(db: &mut Database, ops: Vec<Json>) -> bool {
    let mut params = vec![json!(db.schema.name.clone())];
    params.extend(ops);
    let r = ovsdb::txn::transact(db, &Json::Array(params));
    r.as_array().is_some_and(|a| a.iter().all(|x| x.get("error").is_none()))
}

/// One random case: random contents compiled, the operations applied to
/// an empty Southbound (the database must accept them), then random
/// edits, each compiled incrementally and compared with a compilation
/// from scratch. Panics on any discrepancy.
pub fn random_case(bytes: &[u8]) {
    let mut t = random::Tape::new(bytes);
    let mut nb = empty_nb();
    let mut sb = empty_sb();
    if !try_transact(&mut nb, random::random_nb_ops(&mut t)) {
        return;
    }
    let mut c = Compiler::new(u64::from(t.byte()));
    c.load(&nb, &sb);
    let mut differ = Differ::new();
    converge(&mut c, &mut differ, &mut nb, &mut sb);
    for _ in 0..t.below(4) {
        let before = ovn_northd::nb::Northbound::load(&nb);
        if !try_transact(&mut nb, vec![random::random_edit(&mut t)]) {
            continue;
        }
        let changes = before.changes_from(&nb);
        c.update(&nb, &changes, &sb, &[]);
        converge(&mut c, &mut differ, &mut nb, &mut sb);
        let mut fresh = Compiler::new(0);
        fresh.load(&nb, &sb);
        let (inc, full) = (snapshot(&c), snapshot(&fresh));
        if inc != full {
            let a: std::collections::BTreeSet<&str> = inc.lines().collect();
            let b: std::collections::BTreeSet<&str> = full.lines().collect();
            let only_inc: Vec<&&str> = a.difference(&b).collect();
            let only_full: Vec<&&str> = b.difference(&a).collect();
            panic!(
                "incremental and full compilations differ:\nonly incremental: {only_inc:#?}\nonly full: {only_full:#?}"
            );
        }
    }
}
