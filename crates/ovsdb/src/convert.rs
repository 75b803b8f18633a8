//! Converting a database to another schema (the `convert` method of
//! ovsdb-server(1), `ovsdb-tool convert`): rows keep their UUIDs and are
//! carried over column by column; tables and columns the new schema lacks
//! are dropped, columns it adds take their default values, and every value
//! must be valid under the new schema, constraints included.
//!
//! The converted rows are inserted into an empty database of the new
//! schema as one transaction, so the commit-time checks of [`crate::txn`]
//! apply in full: references to missing rows are errors (strong) or
//! vanish (weak), unreferenced rows of non-root tables are collected, and
//! `maxRows` and indexes hold.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::datum::Datum;
use crate::db::Database;
use crate::error::{Error, ErrorKind};
use crate::schema::DatabaseSchema;
use crate::txn::{self, ExecContext, Outcome};

/// Why a database could not be converted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConvertError {
    /// The schemas are of different databases.
    #[error("cannot convert database {from} to a schema for database {to}")]
    WrongDatabase { from: String, to: String },
    /// A value does not fit its column's type in the new schema.
    #[error("table {table}, row {row}, column {column}: {source}")]
    Value {
        table: String,
        row: String,
        column: String,
        source: Box<Error>,
    },
    /// The converted rows, taken together, break a rule of the new schema
    /// (a reference, `maxRows`, an index).
    #[error("{0}")]
    Commit(Error),
}

impl ConvertError {
    /// The error as the protocol reports it (for the `convert` method).
    pub fn to_error(&self) -> Error {
        match self {
            ConvertError::WrongDatabase { .. } => Error::syntax(self.to_string()),
            ConvertError::Value { source, .. } => Error {
                details: self.to_string(),
                ..(**source).clone()
            },
            ConvertError::Commit(e) => e.clone(),
        }
    }
}

/// Converts `db` to `schema`. `db` is not changed.
pub fn convert(db: &Database, schema: Arc<DatabaseSchema>) -> Result<Database, ConvertError> {
    if db.schema.name != schema.name {
        return Err(ConvertError::WrongDatabase {
            from: db.schema.name.clone(),
            to: schema.name.clone(),
        });
    }
    let mut ops = vec![Json::String(schema.name.clone())];
    for (old_id, old_table) in db.schema.tables.iter().enumerate() {
        let Some(new_table) = schema.table(&old_table.name) else {
            continue;
        };
        // Columns present in both schemas: (old id, new column).
        let shared: Vec<_> = old_table
            .user_columns()
            .filter_map(|(old_col, c)| new_table.column(&c.name).map(|nc| (old_col, nc)))
            .collect();
        for row in db.tables[old_id].rows.values() {
            let mut values = Map::new();
            for (old_col, new_col) in &shared {
                let json = row.field(*old_col).to_json();
                let datum = Datum::from_json(&new_col.ty, &json, None).map_err(|source| ConvertError::Value {
                    table: old_table.name.clone(),
                    row: row.uuid.to_string(),
                    column: new_col.name.clone(),
                    source: Box::new(source),
                })?;
                if !datum.is_default(&new_col.ty) {
                    values.insert(new_col.name.clone(), json);
                }
            }
            let mut op = Map::new();
            op.insert("op".into(), "insert".into());
            op.insert("table".into(), new_table.name.clone().into());
            op.insert("uuid".into(), row.uuid.to_string().into());
            op.insert("row".into(), Json::Object(values));
            ops.push(Json::Object(op));
        }
    }

    let mut converted = Database::new(schema);
    match txn::execute(&converted, &Json::Array(ops), &ExecContext::simple()) {
        Outcome::Done { results, commit } => {
            if let Some(e) = first_error(&results) {
                return Err(ConvertError::Commit(e));
            }
            if let Some(commit) = commit {
                converted.apply(&commit);
            }
            Ok(converted)
        }
        // Only `wait` operations block, and there are none.
        Outcome::Blocked { .. } => Err(ConvertError::Commit(Error::new(
            ErrorKind::Internal,
            "conversion blocked",
        ))),
    }
}

/// The first error object among a transaction's results.
fn first_error(results: &Json) -> Option<Error> {
    let error_of = |r: &Json| {
        let tag = r.get("error")?.as_str()?;
        let kind = ALL_KINDS
            .iter()
            .copied()
            .find(|k| k.tag() == tag)
            .unwrap_or(ErrorKind::Generic);
        let details = r.get("details").and_then(Json::as_str).unwrap_or("").to_string();
        let syntax = r.get("syntax").and_then(Json::as_str).map(str::to_string);
        Some(Error { kind, details, syntax })
    };
    match results {
        Json::Array(a) => a.iter().find_map(error_of),
        other => error_of(other),
    }
}

/// Every error kind, to map a result's tag back to its kind.
const ALL_KINDS: [ErrorKind; 21] = [
    ErrorKind::SyntaxError,
    ErrorKind::UnknownColumn,
    ErrorKind::UnknownMutator,
    ErrorKind::UnknownFunction,
    ErrorKind::UnknownDatabase,
    ErrorKind::ConstraintViolation,
    ErrorKind::ReferentialIntegrity,
    ErrorKind::DuplicateUuidName,
    ErrorKind::DuplicateUuid,
    ErrorKind::DomainError,
    ErrorKind::RangeError,
    ErrorKind::TimedOut,
    ErrorKind::NotSupported,
    ErrorKind::Aborted,
    ErrorKind::NotOwner,
    ErrorKind::NotAllowed,
    ErrorKind::ResourcesExhausted,
    ErrorKind::IoError,
    ErrorKind::PermissionError,
    ErrorKind::Generic,
    ErrorKind::Internal,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Uuid;
    use serde_json::json;

    fn schema(j: Json) -> Arc<DatabaseSchema> {
        DatabaseSchema::from_json(&j).unwrap()
    }

    fn db_with(s: &Arc<DatabaseSchema>, ops: Json) -> Database {
        let mut db = Database::new(Arc::clone(s));
        let Outcome::Done { results, commit } = txn::execute(&db, &ops, &ExecContext::simple()) else {
            panic!()
        };
        assert!(first_error(&results).is_none(), "{results}");
        db.apply(&commit.unwrap());
        db
    }

    fn v1() -> Arc<DatabaseSchema> {
        schema(json!({"name": "D", "version": "1.0.0", "tables": {
            "A": {"isRoot": true, "columns": {
                "name": {"type": "string"},
                "n": {"type": {"key": "integer", "min": 0, "max": "unlimited"}},
                "gone": {"type": "string"},
                "kid": {"type": {"key": {"type": "uuid", "refTable": "B"}, "min": 0, "max": 1}}}},
            "B": {"columns": {"x": {"type": "integer"}}},
            "Old": {"isRoot": true, "columns": {"y": {"type": "integer"}}}}}))
    }

    fn sample(s: &Arc<DatabaseSchema>) -> Database {
        db_with(
            s,
            json!(["D",
            {"op": "insert", "table": "B", "row": {"x": 7}, "uuid-name": "b"},
            {"op": "insert", "table": "A", "uuid": "00000000-0000-0000-0000-000000000001",
             "row": {"name": "a1", "n": ["set", [1, 2]], "gone": "g", "kid": ["named-uuid", "b"]}},
            {"op": "insert", "table": "A", "row": {"name": "a2", "n": 5}},
            {"op": "insert", "table": "Old", "row": {"y": 1}}]),
        )
    }

    #[test]
    fn carries_rows_over_drops_and_defaults() {
        let old = sample(&v1());
        let v2 = schema(json!({"name": "D", "version": "2.0.0", "tables": {
            "A": {"isRoot": true, "columns": {
                "name": {"type": "string"},
                "n": {"type": {"key": "integer", "min": 0, "max": 3}},
                "added": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
                "flag": {"type": "boolean"},
                "kid": {"type": {"key": {"type": "uuid", "refTable": "B"}, "min": 0, "max": 1}}}},
            "B": {"columns": {"x": {"type": "integer"}, "z": {"type": "real"}}}}}));
        let Ok(new) = convert(&old, Arc::clone(&v2)) else {
            panic!("not converted")
        };
        assert_eq!(new.n_rows(), 3);
        let (_, ts, a) = new.table_by_name("A").unwrap();
        let a1 = a
            .get(&Uuid::parse("00000000-0000-0000-0000-000000000001").unwrap())
            .unwrap();
        let col = |n: &str| ts.column_id(n).unwrap();
        assert_eq!(a1.field(col("n")).to_json(), json!(["set", [1, 2]]));
        assert_eq!(a1.field(col("added")).to_json(), json!(["map", []]));
        assert_eq!(a1.field(col("flag")).to_json(), json!(false));
        assert!(ts.column("gone").is_none());
        // The reference still points at the same B row, which survives.
        let kid = a1.field(col("kid")).as_scalar().and_then(|x| x.as_uuid()).unwrap();
        assert!(new.table_by_name("B").unwrap().2.get(&kid).is_some());
        assert!(new.table_by_name("Old").is_none());
    }

    #[test]
    fn constraint_violations_name_the_value() {
        let old = sample(&v1());
        let v2 = schema(json!({"name": "D", "tables": {
            "A": {"isRoot": true, "columns": {"n": {"type": {"key": {"type": "integer", "maxInteger": 1}, "min": 0, "max": "unlimited"}}}}}}));
        let Err(e) = convert(&old, v2) else { panic!("converted") };
        let ConvertError::Value {
            table, column, source, ..
        } = &e
        else {
            panic!("{e}")
        };
        assert_eq!((table.as_str(), column.as_str()), ("A", "n"));
        assert_eq!(source.kind, ErrorKind::ConstraintViolation);
        assert!(e.to_string().starts_with("table A, row "), "{e}");
    }

    #[test]
    fn commit_rules_apply() {
        let old = sample(&v1());
        // The two A rows share the new column's default, which an index
        // then forbids.
        let v2 = schema(json!({"name": "D", "tables": {
            "A": {"isRoot": true, "indexes": [["k"]], "columns": {"k": {"type": "integer"}}}}}));
        let Err(e) = convert(&old, v2) else { panic!("converted") };
        assert!(
            matches!(&e, ConvertError::Commit(err) if err.kind == ErrorKind::ConstraintViolation),
            "{e}"
        );

        // Rows of non-root tables nobody refers to any more are collected.
        let v3 = schema(json!({"name": "D", "tables": {
            "A": {"isRoot": true, "columns": {"name": {"type": "string"}}},
            "B": {"columns": {"x": {"type": "integer"}}}}}));
        let Ok(new) = convert(&old, v3) else {
            panic!("not converted")
        };
        assert_eq!(new.table_by_name("B").unwrap().2.len(), 0);
    }

    #[test]
    fn other_database_is_refused() {
        let old = sample(&v1());
        let other = schema(json!({"name": "E", "tables": {}}));
        assert!(matches!(convert(&old, other), Err(ConvertError::WrongDatabase { .. })));
    }
}
