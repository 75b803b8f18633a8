//! Northbound and Southbound databases built in memory with transactions
//! (no server): for engine tests, fuzzing and the benchmark.

#![allow(dead_code)]

use std::sync::Arc;

use ovsdb::Uuid;
use ovsdb::db::Database;
use ovsdb::schema::DatabaseSchema;
use serde_json::{Value as Json, json};

pub fn schema(stem: &str) -> Arc<DatabaseSchema> {
    let path = format!("{}/../../schemas/{stem}.ovsschema", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    DatabaseSchema::from_json(&serde_json::from_str(&text).expect("schema JSON")).expect("schema")
}

pub fn empty_nb() -> Database {
    Database::new(schema("ovn-nb"))
}

pub fn empty_sb() -> Database {
    Database::new(schema("ovn-sb"))
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
