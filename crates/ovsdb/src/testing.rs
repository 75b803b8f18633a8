//! Comparing what two runs of the engine did when their UUIDs differ
//! (new rows get random ones): for tests and fuzz targets that run the
//! same transactions two ways.

use serde_json::{Value as Json, json};

use crate::db::{Commit, Database};
use crate::schema::ColumnId;
use crate::txn::{ExecContext, Outcome, execute};
use crate::uuid::Uuid;

/// `json` with every UUID replaced by `*`: `["uuid", ...]` values, and
/// UUIDs named in text (error details).
pub fn masked(json: &Json) -> Json {
    match json {
        Json::Array(a) if a.len() == 2 && a[0] == "uuid" => json!(["uuid", "*"]),
        Json::Array(a) => Json::Array(a.iter().map(masked).collect()),
        Json::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), masked(v))).collect()),
        Json::String(s) => Json::String(
            s.split(' ')
                .map(|w| if Uuid::parse(w.trim_end_matches('.')).is_some() { "*" } else { w })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => other.clone(),
    }
}

/// Every row of every table as text, UUIDs masked, sorted.
pub fn contents(db: &Database) -> Vec<String> {
    let mut rows: Vec<String> = db
        .schema
        .tables
        .iter()
        .enumerate()
        .flat_map(|(id, ts)| {
            let columns: Vec<ColumnId> = ts.user_columns().map(|(c, _)| c).collect();
            db.tables[id].rows.values().map(move |r| format!("{} {}", ts.name, masked(&r.to_json(ts, &columns))))
        })
        .collect();
    rows.sort();
    rows
}

/// The reply of an outcome, UUIDs masked; its commit, if any, is applied
/// to `db`.
pub fn apply_outcome(db: &mut Database, done: Outcome) -> Json {
    match done {
        Outcome::Done { results, commit } => {
            if let Some(c) = commit {
                db.apply(&c);
            }
            masked(&results)
        }
        Outcome::Blocked { timeout_ms } => json!({"blocked": timeout_ms}),
    }
}

/// Runs `ops` (a JSON array of operations) on `db`, which must succeed
/// with a change, applies the commit and returns it.
pub fn commit(db: &mut Database, ops: Json) -> Commit {
    let mut params = vec![json!(db.schema.name)];
    params.extend(ops.as_array().expect("an array of operations").iter().cloned());
    match execute(db, &Json::Array(params), &ExecContext::simple()) {
        Outcome::Done { commit: Some(c), .. } => {
            db.apply(&c);
            c
        }
        other => panic!("{other:?}"),
    }
}
