//! The transaction parser and executor: any JSON as `transact` params,
//! against a database with every kind of column, must give an answer
//! (never a panic), and a committed transaction must leave a database on
//! which later transactions still work.
//!
//! The same params also run as text (`execute_text`, the server's way for
//! requests it does not parse into a tree): the replies and the database
//! must be the same, UUIDs aside (they are random).
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use ovsdb::db::Database;
use ovsdb::schema::DatabaseSchema;
use ovsdb::testing::{apply_outcome, contents};
use ovsdb::txn::{ExecContext, execute, execute_text};
use serde_json::{Value as Json, json};

fn schema() -> Arc<DatabaseSchema> {
    static S: OnceLock<Arc<DatabaseSchema>> = OnceLock::new();
    Arc::clone(S.get_or_init(|| {
        DatabaseSchema::from_json(&json!({
            "name": "F", "version": "1.0.0",
            "tables": {
                "A": {"columns": {
                    "i": {"type": {"key": {"type": "integer", "minInteger": -5, "maxInteger": 5}, "min": 0, "max": 3}},
                    "r": {"type": "real"}, "b": {"type": "boolean"}, "s": {"type": {"key": {"type": "string", "enum": ["set", ["x", "y"]]}}},
                    "m": {"type": {"key": "string", "value": "integer", "min": 0, "max": "unlimited"}},
                    "strong": {"type": {"key": {"type": "uuid", "refTable": "B"}, "min": 0, "max": "unlimited"}},
                    "weak": {"type": {"key": {"type": "uuid", "refTable": "A", "refType": "weak"}, "min": 0, "max": "unlimited"}},
                    "k": {"type": "string", "mutable": false}},
                    "isRoot": true, "indexes": [["k"]], "maxRows": 20},
                "B": {"columns": {"n": {"type": "integer"},
                    "back": {"type": {"key": "string", "value": {"type": "uuid", "refTable": "A", "refType": "weak"}, "min": 1, "max": 2}}}}
            }
        }))
        .expect("fuzz schema is valid")
    }))
}

fuzz_target!(|data: &[u8]| {
    let Ok(ops) = serde_json::from_slice::<Json>(data) else { return };
    let mut db = Database::new(schema());
    let mut text_db = Database::new(schema());
    let params = match ops {
        Json::Array(mut a) => {
            a.insert(0, json!("F"));
            Json::Array(a)
        }
        other => other,
    };
    let text = params.to_string();
    for _ in 0..2 {
        let tree = execute(&db, &params, &ExecContext::simple());
        // Its elements found by the request reader when it finds them.
        let request = format!("{{\"id\":0,\"method\":\"transact\",\"params\":{text}}}");
        let found = ovsdb::rpc::transact_request(request.as_bytes()).map(|r| r.found);
        let direct = execute_text(&text_db, &text, found.as_ref(), &ExecContext::simple());
        let reply = apply_outcome(&mut db, tree);
        assert!(reply.is_array() || reply.is_object());
        assert_eq!(apply_outcome(&mut text_db, direct), reply, "{text}");
        assert_eq!(contents(&text_db), contents(&db), "{text}");
    }
    // Integrity: every strong reference points at a row that exists.
    let s = schema();
    let (a_id, b_id) = (s.table_id("A").unwrap(), s.table_id("B").unwrap());
    let strong = s.tables[a_id].column_id("strong").unwrap();
    for row in db.tables[a_id].rows.values() {
        for target in row.field(strong).keys() {
            let u = target.as_uuid().unwrap();
            assert!(db.tables[b_id].rows.contains_key(&u), "dangling strong reference");
        }
    }
});
