//! `backup`: a server's database written to stdout as a standalone
//! database file (schema record, then one record with every row), and
//! `restore`: such a file read from stdin and put in place of a database's
//! contents in one transaction.

use std::io::{IsTerminal as _, Read as _};

use ovsdb::{Atom, Datum};

use super::{Context, fetch_schema, need_rpc};
use crate::cli::{self, Result, fatal};
use crate::dbfile::{self, LogReader};
use crate::jsonrpc::Connection;
use crate::ovs_json::Json;
use crate::schema::Schema;

pub(super) fn do_backup(ctx: &mut Context, rpc: Option<&mut Connection>, db: &str, _args: &[String]) -> Result<()> {
    if std::io::stdout().is_terminal() {
        return Err(fatal(
            "not writing backup to a terminal; please redirect stdout to a file",
        ));
    }
    let conn = need_rpc(rpc)?;
    let schema = fetch_schema(ctx, conn, db)?;

    // Every table, every persistent column (ephemeral ones do not survive
    // a restart by design); tables whose columns are all ephemeral still
    // count, since other rows may refer to theirs.
    let mut txn = vec![Json::string(db)];
    for (name, table) in schema.tables.iter() {
        let columns = table
            .columns
            .values()
            .filter(|c| c.persistent)
            .map(|c| Json::string(&c.name))
            .collect();
        let mut op = Json::object();
        op.put("op", Json::string("select"));
        op.put("table", Json::string(name));
        op.put("where", Json::Array(vec![]));
        op.put("columns", Json::Array(columns));
        txn.push(op);
    }
    let result = conn.transact_checked("transact", Json::Array(txn), ctx.json_flags())?;

    cli::out_bytes(&crate::dbfile::record(&schema.to_json()));

    let results = match &result {
        Json::Array(r) if r.len() == schema.tables.len() => r,
        _ => {
            return Err(fatal(format!(
                "reply is not array of {} elements: {}",
                schema.tables.len(),
                result.to_text(0)
            )));
        }
    };
    let mut output = Json::object();
    for ((name, _), op_result) in schema.tables.iter().zip(results) {
        let Some(rows) = op_result.get("rows").and_then(Json::as_array) else {
            return Err(fatal(format!(
                "{name} table reply is not an object with a \"rows\" member array: {}",
                op_result.to_text(0)
            )));
        };
        if rows.is_empty() {
            continue;
        }
        let mut out_rows = Json::object();
        for row in rows {
            let mut row = row.clone();
            let Some(obj) = row.as_object_mut() else {
                return Err(fatal(format!(
                    "{name} table reply row is not an object: {}",
                    row.to_text(0)
                )));
            };
            let Some(uuid_json) = obj.remove("_uuid") else {
                return Err(fatal(format!(
                    "{name} table reply row lacks _uuid member: {}",
                    row.to_text(0)
                )));
            };
            let uuid = crate::data::datum_from_json(&ovsdb::types::Type::scalar(ovsdb::AtomicType::Uuid), &uuid_json)
                .ok()
                .and_then(|d| d.as_scalar().and_then(Atom::as_uuid))
                .ok_or_else(|| {
                    fatal(format!(
                        "syntax \"{}\": syntax error: expected [\"uuid\", <string>]",
                        uuid_json.to_text(crate::ovs_json::SORT)
                    ))
                })?;
            out_rows.put(&uuid.to_string(), row);
        }
        output.put(name, out_rows);
    }
    output.put("_comment", Json::string("produced by \"ovsdb-client backup\""));
    output.put("_is_diff", Json::True);
    output.put("_date", Json::Integer(now_ms()));
    cli::out_bytes(&crate::dbfile::record(&output));
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(super) fn do_restore(ctx: &mut Context, rpc: Option<&mut Connection>, db: &str, _args: &[String]) -> Result<()> {
    if std::io::stdin().is_terminal() {
        return Err(fatal(
            "not reading backup from a terminal; please redirect stdin from a file",
        ));
    }
    let conn = need_rpc(rpc)?;
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| fatal(format!("/dev/stdin: read failed ({})", cli::strerror(&e))))?;
    let backup_schema = read_schema_record(&bytes, "/dev/stdin")?;
    let loaded = ovsdb_storage::load::load(&bytes).map_err(|e| fatal(format!("/dev/stdin: {e}")))?;

    let online = fetch_schema(ctx, conn, db)?;
    if !backup_schema.equal(&online) {
        let why = if backup_schema.version != online.version {
            format!(
                "backup schema has version \"{}\" but database schema has version \"{}\"",
                backup_schema.version, online.version
            )
        } else {
            format!(
                "backup schema and database schema are both version {} but still differ",
                backup_schema.version
            )
        };
        if !ctx.force {
            return Err(fatal(format!(
                "{why} (use --force to override differences, or \"ovsdb-client convert\" to change the schema)"
            )));
        }
    }

    let engine = &loaded.db;
    let mut txn = vec![Json::string(&backup_schema.name)];
    for (name, table) in backup_schema.tables.rebuilt().iter() {
        let mut del = Json::object();
        del.put("op", Json::string("delete"));
        del.put("table", Json::string(name));
        del.put("where", Json::Array(vec![]));
        txn.push(del);
        let Some((_, ts, rows)) = engine.table_by_name(name) else {
            continue;
        };
        for row in rows.rows.values() {
            let mut row_json = Json::object();
            for (col_id, col) in ts.user_columns() {
                let persistent = table.columns.get(&col.name).is_some_and(|c| c.persistent);
                let datum = row.field(col_id);
                if persistent && !datum.is_default(&col.ty) {
                    row_json.put(&col.name, datum_with_row_names(datum, col));
                }
            }
            let mut ins = Json::object();
            ins.put("op", Json::string("insert"));
            ins.put("table", Json::string(name));
            ins.put("uuid-name", Json::string(row_name(row.uuid)));
            ins.put("row", row_json);
            txn.push(ins);
        }
    }
    let result = conn.transact_checked("transact", Json::Array(txn), ctx.json_flags())?;
    super::monitor::check_transaction_reply(&result)
}

/// The schema in the first record of a database file's bytes.
fn read_schema_record(bytes: &[u8], name: &str) -> Result<Schema> {
    let mut reader = LogReader::from_bytes(name, bytes.to_vec(), &[dbfile::STANDALONE]).map_err(fatal)?;
    match reader.read().map_err(fatal)? {
        Some(json) => Schema::from_json(&json).map_err(|e| fatal(crate::data::error_text(&e))),
        None => Err(fatal(format!("ovsdb error: {name}: cannot identify file type"))),
    }
}

/// `row` followed by the UUID with `_` for `-`: a name for `uuid-name`.
fn row_name(uuid: ovsdb::Uuid) -> String {
    format!("row{}", uuid.to_string().replace('-', "_"))
}

/// A datum whose references to rows are written as the names those rows
/// are inserted under.
fn datum_with_row_names(datum: &Datum, col: &ovsdb::schema::ColumnSchema) -> Json {
    let atom = |a: &Atom, is_ref: bool| match (a, is_ref) {
        (Atom::Uuid(u), true) => Json::Array(vec![Json::string("named-uuid"), Json::string(row_name(*u))]),
        _ => crate::data::atom_to_json(a),
    };
    let key_ref = col.ty.key.ref_table.is_some();
    let value_ref = col.ty.value.as_ref().is_some_and(|v| v.ref_table.is_some());
    match datum {
        Datum::Set(a) if a.len() == 1 => atom(&a[0], key_ref),
        Datum::Set(a) => Json::Array(vec![
            Json::string("set"),
            Json::Array(a.iter().map(|x| atom(x, key_ref)).collect()),
        ]),
        Datum::Map(p) => Json::Array(vec![
            Json::string("map"),
            Json::Array(
                p.iter()
                    .map(|(k, v)| Json::Array(vec![atom(k, key_ref), atom(v, value_ref)]))
                    .collect(),
            ),
        ]),
    }
}
