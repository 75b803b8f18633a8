//! The commands that keep a connection open: `monitor`, `monitor-cond`,
//! `monitor-cond-since` (print the initial contents, then every change
//! until interrupted), `lock`, `steal`, `unlock` (print replies and lock
//! notifications) and `wait` (until a database is added, connected or
//! removed, reconnecting as needed).

use std::time::Duration;

use ovsdb::Uuid;

use super::daemonize::Daemon;
use super::{Context, fetch_schema, need_rpc, parse_json_arg, send_db_change_aware};
use crate::cli::{self, Result, fatal, puts};
use crate::jsonrpc::{Connection, Message};
use crate::ovs_json::Json;
use crate::schema::{Column, Schema, TableSchema};
use crate::table::{Cell, Table};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    /// `monitor`, `update` notifications.
    V1,
    /// `monitor_cond`, `update2`.
    V2,
    /// `monitor_cond_since`, `update3`.
    V3,
}

/// A table being monitored and the columns shown for it, in the order
/// they were asked for.
struct Monitored {
    table: TableSchema,
    columns: Vec<Column>,
}

pub(super) fn do_monitor(ctx: &mut Context, rpc: Option<&mut Connection>, db: &str, args: &[String]) -> Result<()> {
    monitor(ctx, need_rpc(rpc)?, db, Version::V1, args, None, None)
}

pub(super) fn do_monitor_cond(
    ctx: &mut Context,
    rpc: Option<&mut Connection>,
    db: &str,
    args: &[String],
) -> Result<()> {
    monitor_cond(ctx, need_rpc(rpc)?, db, Version::V2, None, args)
}

pub(super) fn do_monitor_cond_since(
    ctx: &mut Context,
    rpc: Option<&mut Connection>,
    db: &str,
    args: &[String],
) -> Result<()> {
    let (last_id, args) = match Uuid::parse(&args[0]) {
        Some(u) => (u, &args[1..]),
        None => (Uuid::ZERO, args),
    };
    monitor_cond(ctx, need_rpc(rpc)?, db, Version::V3, Some(last_id), args)
}

/// Checks the condition (first argument) against the table (second), then
/// monitors with it.
fn monitor_cond(
    ctx: &mut Context,
    conn: &mut Connection,
    db: &str,
    version: Version,
    last_id: Option<Uuid>,
    args: &[String],
) -> Result<()> {
    if args.len() < 2 {
        return Err(fatal(format!(
            "invalid syntax for 'monitor-cond{}' (use --help for help)",
            if version == Version::V3 { "-since" } else { "" }
        )));
    }
    let schema = fetch_schema(ctx, conn, db)?;
    let table = schema
        .engine
        .table(&args[1])
        .ok_or_else(|| fatal(format!("{db} does not have a table named \"{}\"", args[1])))?;
    let condition = parse_json_arg(&args[0])?;
    ovsdb::condition::Condition::from_json(table, &condition.to_serde(), None)
        .map_err(|e| fatal(crate::data::error_text(&e)))?;
    monitor(ctx, conn, db, version, &args[1..], Some(condition), last_id)
}

/// Parses one `COLUMN,COLUMN,!initial,...` argument into a monitor request
/// for `table`, adding its columns to `columns`.
fn parse_monitor_columns(
    arg: &str,
    server: &str,
    db: &str,
    table: &TableSchema,
    columns: &mut Vec<Column>,
) -> Result<Json> {
    let mut names = Vec::new();
    let (mut initial, mut insert, mut delete, mut modify) = (true, true, true, true);
    let add = |c: &Column, names: &mut Vec<Json>, columns: &mut Vec<Column>| -> Result<()> {
        if columns.iter().any(|x| x.index == c.index) {
            return Err(fatal(format!(
                "{server}: column \"{}\" mentioned multiple times",
                c.name
            )));
        }
        columns.push(c.clone());
        names.push(Json::string(&c.name));
        Ok(())
    };
    for token in arg.split(',').filter(|t| !t.is_empty()) {
        match token {
            "!initial" => initial = false,
            "!insert" => insert = false,
            "!delete" => delete = false,
            "!modify" => modify = false,
            name => {
                let c = table.columns.get(name).ok_or_else(|| {
                    fatal(format!(
                        "{server}: table \"{}\" in {db} does not have a column named \"{name}\"",
                        table.name
                    ))
                })?;
                add(c, &mut names, columns)?;
            }
        }
    }
    if names.is_empty() {
        for (_, c) in table.columns.sorted() {
            if c.index >= 2 {
                add(c, &mut names, columns)?;
            }
        }
        if let Some(v) = table.columns.get("_version") {
            add(v, &mut names, columns)?;
        }
    }
    let mut mr = Json::object();
    mr.put("columns", Json::Array(names));
    if !(initial && insert && delete && modify) {
        let mut select = Json::object();
        select.put("initial", Json::bool(initial));
        select.put("insert", Json::bool(insert));
        select.put("delete", Json::bool(delete));
        select.put("modify", Json::bool(modify));
        mr.put("select", select);
    }
    Ok(mr)
}

fn add_monitored_table(
    args: &[String],
    server: &str,
    db: &str,
    condition: Option<&Json>,
    table: &TableSchema,
    requests: &mut Json,
    monitored: &mut Vec<Monitored>,
) -> Result<()> {
    let mut columns = Vec::new();
    let groups: Vec<&str> = if args.len() > 1 {
        args[1..].iter().map(String::as_str).collect()
    } else {
        vec![""]
    };
    let mut array = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let mut mr = parse_monitor_columns(group, server, db, table, &mut columns)?;
        if i == 0
            && let Some(c) = condition
        {
            mr.put("where", c.clone());
        }
        array.push(mr);
    }
    requests.put(&table.name, Json::Array(array));
    monitored.push(Monitored {
        table: table.clone(),
        columns,
    });
    Ok(())
}

fn monitor(
    ctx: &mut Context,
    conn: &mut Connection,
    db: &str,
    version: Version,
    args: &[String],
    condition: Option<Json>,
    last_id: Option<Uuid>,
) -> Result<()> {
    let server = conn.name().to_string();
    let mut daemon = Daemon::start(&ctx.daemon, true)?;
    let schema: Schema = fetch_schema(ctx, conn, db)?;
    let mut requests = Json::object();
    let mut monitored = Vec::new();
    let table_name = &args[0];
    if table_name != "ALL" {
        let table = schema
            .tables
            .get(table_name)
            .ok_or_else(|| fatal(format!("{server}: {db} does not have a table named \"{table_name}\"")))?;
        add_monitored_table(
            args,
            &server,
            db,
            condition.as_ref(),
            table,
            &mut requests,
            &mut monitored,
        )?;
    } else {
        if condition.is_some() {
            return Err(fatal("ALL tables are not allowed with condition"));
        }
        for table in schema.tables_sorted() {
            add_monitored_table(args, &server, db, None, table, &mut requests, &mut monitored)?;
        }
    }
    send_db_change_aware(ctx, conn)?;

    let mut params = vec![Json::string(db), Json::Null, requests];
    let method = match version {
        Version::V1 => "monitor",
        Version::V2 => "monitor_cond",
        Version::V3 => {
            params.push(Json::string(last_id.unwrap_or(Uuid::ZERO).to_string()));
            "monitor_cond_since"
        }
    };
    let request_id = conn
        .send_request(method, Json::Array(params))
        .map_err(|e| receive_failed(&server, &cli::strerror(&e)))?;
    loop {
        let msg = conn
            .recv_answering_echo()
            .map_err(|e| receive_failed(&server, &e.text()))?;
        match msg {
            Message::Reply { result, id } if id.equal(&request_id) => {
                match version {
                    Version::V1 => print_updates(ctx, &result, &monitored, true),
                    Version::V2 => print_updates2(ctx, &result, &monitored),
                    Version::V3 => print_updates3(ctx, &result, &monitored),
                }
                cli::flush();
                daemon.complete();
            }
            Message::Notify { method, params } => {
                let p = params.as_array().map(Vec::as_slice).unwrap_or(&[]);
                match (method.as_str(), p) {
                    ("update", [Json::Null, updates]) => print_updates(ctx, updates, &monitored, false),
                    ("update2", [Json::Null, updates]) if version == Version::V2 => {
                        print_updates2(ctx, updates, &monitored)
                    }
                    ("update3", [Json::Null, last_id, updates]) if version == Version::V3 => {
                        cli::out(&format!("\nlast_id: {}", last_id.as_str().unwrap_or("")));
                        print_updates2(ctx, updates, &monitored);
                    }
                    ("monitor_canceled", _) => {
                        return Err(fatal(format!("{server}: {db} database was removed")));
                    }
                    _ => continue,
                }
                cli::flush();
            }
            _ => {}
        }
    }
}

/// A broken connection ends a long-running command.
fn receive_failed(server: &str, why: &str) -> cli::Fatal {
    fatal(format!("{server}: receive failed ({why})"))
}

/// A table of updates: row, action, then the monitored columns.
fn update_table(ctx: &Context, m: &Monitored, caption: bool) -> Table {
    let mut t = Table::new(
        ["row", "action"]
            .into_iter()
            .map(String::from)
            .chain(m.columns.iter().map(|c| c.name.clone())),
    );
    t.timestamp = ctx.timestamp;
    if caption {
        t.caption = Some(m.table.name.clone());
    }
    t
}

/// Adds a row's line to an update table; messages (not fatal) for rows
/// that are missing or not objects.
fn add_row(t: &mut Table, m: &Monitored, row: Option<&Json>, action: &str, uuid: &str) {
    let Some(row) = row else {
        cli::error(&format!("missing {action} row"));
        return;
    };
    if row.as_object().is_none() {
        cli::error("<row> is not object");
        return;
    }
    let mut cells = vec![Cell::Text(uuid.to_string()), Cell::Text(action.to_string())];
    for c in &m.columns {
        cells.push(match row.get(&c.name) {
            Some(v) => Cell::Data(v.clone(), Some(Box::new(c.ty.clone()))),
            None => Cell::Empty,
        });
    }
    t.add_row(cells);
}

/// Prints a table for each monitored table that `updates` mentions,
/// `add` turning each row update (known to be an object) into lines.
/// `what` and `row_what` name the update and row update in messages.
fn print_table_updates(
    ctx: &mut Context,
    updates: &Json,
    monitored: &[Monitored],
    (what, row_what): (&str, &str),
    mut add: impl FnMut(&mut Table, &Monitored, &str, &Json),
) {
    if updates.as_object().is_none() {
        cli::error(&format!("{what} is not object"));
        return;
    }
    for m in monitored {
        let Some(tu) = updates.get(&m.table.name) else { continue };
        let Some(rows) = tu.as_object() else {
            cli::error(&format!("<table-update> for table {} is not object", m.table.name));
            continue;
        };
        let mut t = update_table(ctx, m, monitored.len() > 1);
        for (uuid, ru) in rows.iter() {
            if ru.as_object().is_none() {
                cli::error(&format!("{row_what} is not object"));
                continue;
            }
            add(&mut t, m, uuid, ru);
        }
        ctx.print_table(&t);
    }
}

/// `<table-updates>` of `monitor` (the initial reply and `update`).
fn print_updates(ctx: &mut Context, updates: &Json, monitored: &[Monitored], initial: bool) {
    let names = ("<table-updates>", "<row-update>");
    print_table_updates(ctx, updates, monitored, names, |t, m, uuid, ru| {
        let (old, new) = (ru.get("old"), ru.get("new"));
        if initial {
            add_row(t, m, new, "initial", uuid);
        } else if old.is_none() {
            add_row(t, m, new, "insert", uuid);
        } else if new.is_none() {
            add_row(t, m, old, "delete", uuid);
        } else {
            add_row(t, m, old, "old", uuid);
            add_row(t, m, new, "new", "");
        }
    });
}

/// `<table-updates2>` of `monitor_cond` and `monitor_cond_since`.
fn print_updates2(ctx: &mut Context, updates: &Json, monitored: &[Monitored]) {
    let names = ("<table-updates2>", "<row-update2>");
    print_table_updates(ctx, updates, monitored, names, |t, m, uuid, ru| {
        let Some((op, row)) = ["delete", "initial", "modify", "insert"]
            .iter()
            .find_map(|op| ru.get(op).map(|r| (*op, r)))
        else {
            return;
        };
        if op == "delete" {
            if row.is_null() {
                t.add_row(vec![Cell::Text(uuid.to_string()), Cell::Text(op.to_string())]);
            } else {
                cli::error("delete method does not expect <row>");
            }
        } else if row.as_object().is_none() {
            cli::error("<row> is not object");
        } else {
            add_row(t, m, Some(row), op, uuid);
        }
    });
}

/// The reply to `monitor_cond_since`: `[found, last_id, updates]`.
fn print_updates3(ctx: &mut Context, result: &Json, monitored: &[Monitored]) {
    let Some(parts) = result.as_array() else {
        cli::error("<result> is not array");
        return;
    };
    if parts.len() != 3 {
        cli::error(&format!("<result> should have 3 elements, but has {}.", parts.len()));
        return;
    }
    let found = matches!(parts[0], Json::True);
    cli::out(&format!(
        "found: {found}, last_id: {}\n",
        parts[1].as_str().unwrap_or("")
    ));
    print_updates2(ctx, &parts[2], monitored);
}

pub(super) fn do_lock(ctx: &mut Context, rpc: Option<&mut Connection>, _db: &str, args: &[String]) -> Result<()> {
    lock(ctx, need_rpc(rpc)?, "lock", &args[0])
}

pub(super) fn do_steal(ctx: &mut Context, rpc: Option<&mut Connection>, _db: &str, args: &[String]) -> Result<()> {
    lock(ctx, need_rpc(rpc)?, "steal", &args[0])
}

pub(super) fn do_unlock(ctx: &mut Context, rpc: Option<&mut Connection>, _db: &str, args: &[String]) -> Result<()> {
    lock(ctx, need_rpc(rpc)?, "unlock", &args[0])
}

/// Sends one lock request, then prints its reply and every notification
/// (`locked`, `stolen`) until interrupted.
fn lock(ctx: &mut Context, conn: &mut Connection, method: &str, name: &str) -> Result<()> {
    let server = conn.name().to_string();
    let mut daemon = Daemon::start(&ctx.daemon, false)?;
    let id = conn
        .send_request(method, Json::Array(vec![Json::string(name)]))
        .map_err(|e| receive_failed(&server, &cli::strerror(&e)))?;
    loop {
        let msg = conn
            .recv_answering_echo()
            .map_err(|e| receive_failed(&server, &e.text()))?;
        match msg {
            Message::Reply { result, id: rid } if rid.equal(&id) => {
                ctx.print_json(&result);
                cli::flush();
                daemon.complete();
            }
            Message::Notify { method, params } => {
                puts(&method);
                ctx.print_json(&params);
            }
            _ => continue,
        }
        cli::flush();
    }
}

pub(super) fn do_wait(_ctx: &mut Context, _rpc: Option<&mut Connection>, _db: &str, args: &[String]) -> Result<()> {
    let database = &args[args.len() - 2];
    let state = &args[args.len() - 1];
    let until_connected = match state.as_str() {
        "connected" => true,
        "added" | "removed" => false,
        _ => return Err(fatal(format!("{state}: unknown state"))),
    };
    let remote = if args.len() > 2 {
        args[0].clone()
    } else {
        super::default_remote()
    };

    let mut op = Json::object();
    op.put("op", Json::string("wait"));
    op.put("table", Json::string("Database"));
    let cond = Json::Array(vec![
        Json::string("name"),
        Json::string("=="),
        Json::string(database.clone()),
    ]);
    op.put("where", Json::Array(vec![cond]));
    if until_connected {
        op.put("columns", Json::Array(vec![Json::string("connected")]));
        op.put("until", Json::string("=="));
        let mut row = Json::object();
        row.put("connected", Json::True);
        op.put("rows", Json::Array(vec![row]));
    } else {
        op.put("columns", Json::Array(vec![]));
        op.put("until", Json::string("=="));
        op.put(
            "rows",
            Json::Array(if state == "added" { vec![Json::object()] } else { vec![] }),
        );
    }
    let txn = Json::Array(vec![Json::string("_Server"), op]);

    // Connect, ask, and start over whenever the connection fails, backing
    // off and logging as Open vSwitch's reconnection does.
    let mut backoff = Backoff::default();
    loop {
        backoff.connecting(&remote);
        match Connection::open(&remote) {
            Err(f) => backoff.failed(&remote, f.message.as_deref().and_then(paren_reason).unwrap_or("")),
            Ok(mut conn) => {
                cli::log("reconnect", "INFO", &format!("{remote}: connected"));
                let sdca = conn.send_request("set_db_change_aware", Json::Array(vec![Json::True]));
                let txn_id = conn.send_request("transact", txn.clone());
                let why = match (sdca, txn_id) {
                    (Ok(sdca), Ok(txn_id)) => loop {
                        match conn.recv_answering_echo() {
                            Ok(Message::Error { error, id }) if id.equal(&sdca) => {
                                return Err(fatal(format!(
                                    "{remote}: set_db_change_aware failed ({})",
                                    error.to_text(0)
                                )));
                            }
                            Ok(Message::Reply { result, id }) if id.equal(&txn_id) => {
                                return check_transaction_reply(&result);
                            }
                            Ok(_) => {}
                            Err(e) => break e,
                        }
                    },
                    (Err(e), _) | (_, Err(e)) => crate::jsonrpc::RecvError::Io(e),
                };
                backoff.dropped(&remote, &why);
            }
        }
        std::thread::sleep(backoff.delay());
    }
}

/// The text in the last parentheses of a message: the reason of a failed
/// connection.
fn paren_reason(msg: &str) -> Option<&str> {
    let start = msg.rfind('(')?;
    msg[start + 1..].strip_suffix(')')
}

/// Open vSwitch's reconnection back-off (1 s, then doubling up to 8 s)
/// and the log lines it writes on the way.
#[derive(Default)]
struct Backoff {
    /// Milliseconds to wait before the next attempt.
    ms: u64,
}

const MIN_BACKOFF_MS: u64 = 1000;
const MAX_BACKOFF_MS: u64 = 8000;

impl Backoff {
    fn connecting(&self, remote: &str) {
        if self.ms < MAX_BACKOFF_MS {
            cli::log("reconnect", "INFO", &format!("{remote}: connecting..."));
        }
    }

    fn failed(&mut self, remote: &str, reason: &str) {
        if self.ms < MAX_BACKOFF_MS {
            cli::log(
                "reconnect",
                "INFO",
                &format!("{remote}: connection attempt failed ({reason})"),
            );
        }
        if self.ms < MIN_BACKOFF_MS {
            self.ms = MIN_BACKOFF_MS;
        } else if self.ms < MAX_BACKOFF_MS / 2 {
            self.ms *= 2;
            cli::log(
                "reconnect",
                "INFO",
                &format!("{remote}: waiting {} seconds before reconnect", self.ms / 1000),
            );
        } else {
            if self.ms < MAX_BACKOFF_MS {
                cli::log(
                    "reconnect",
                    "INFO",
                    &format!("{remote}: continuing to reconnect in the background but suppressing further logging"),
                );
            }
            self.ms = MAX_BACKOFF_MS;
        }
    }

    fn dropped(&mut self, remote: &str, why: &crate::jsonrpc::RecvError) {
        match why {
            crate::jsonrpc::RecvError::Eof => {
                cli::log("reconnect", "INFO", &format!("{remote}: connection closed by peer"))
            }
            other => cli::log(
                "reconnect",
                "WARN",
                &format!("{remote}: connection dropped ({})", other.text()),
            ),
        }
        self.ms = MIN_BACKOFF_MS;
    }

    fn delay(&self) -> Duration {
        Duration::from_millis(self.ms)
    }
}

/// Every operation's result must be an object without "error".
pub(super) fn check_transaction_reply(result: &Json) -> Result<()> {
    let Some(results) = result.as_array() else {
        return Err(fatal("result is not array"));
    };
    for r in results {
        if r.as_object().is_none() {
            return Err(fatal("result array element is not object"));
        }
        if r.get("error").is_some() {
            return Err(fatal(format!(
                "server returned error reply: {}",
                r.to_text(crate::ovs_json::SORT)
            )));
        }
    }
    Ok(())
}
