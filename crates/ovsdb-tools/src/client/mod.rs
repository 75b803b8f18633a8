//! `rovsdb-client`: the commands of `ovsdb-client`, each connecting to a
//! server, asking it something and printing the answer as `ovsdb-client`
//! 3.1 prints it.
//!
//! Commands take an optional server (`unix:PATH`, `tcp:IP:PORT`; the
//! default is `unix:$OVS_RUNDIR/db.sock`) and, most of them, an optional
//! database, which defaults as ovsdb-client's does: `Open_vSwitch` if the
//! server has it, else the only database whose name does not begin with
//! `_`. [`run`] parses the command line, [`open_rpc`] settles server and
//! database, and each command is a function of the connection, the
//! database and its remaining arguments. Monitors and locks are in
//! [`monitor`], backups in [`backup`].

mod backup;
mod daemonize;
mod monitor;

use daemon::options::{self, Arg, Spec};

use crate::cli::{self, Result, fatal, puts};
use crate::jsonrpc::Connection;
use crate::ovs_json::Json;
use crate::schema::Schema;
use crate::table::{Cell, Printer, Style, Table};

/// What a command needs before it runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Nothing: the command connects by itself, if at all.
    None,
    /// A connection.
    Rpc,
    /// A connection and a database name.
    Database,
}

type Handler = fn(&mut Context, Option<&mut Connection>, &str, &[String]) -> Result<()>;

struct Command {
    name: &'static str,
    need: Need,
    min_args: usize,
    max_args: usize,
    handler: Handler,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "list-dbs",
        need: Need::Rpc,
        min_args: 0,
        max_args: 0,
        handler: do_list_dbs,
    },
    Command {
        name: "get-schema",
        need: Need::Database,
        min_args: 0,
        max_args: 0,
        handler: do_get_schema,
    },
    Command {
        name: "get-schema-version",
        need: Need::Database,
        min_args: 0,
        max_args: 0,
        handler: do_get_schema_version,
    },
    Command {
        name: "get-schema-cksum",
        need: Need::Database,
        min_args: 0,
        max_args: 0,
        handler: do_get_schema_cksum,
    },
    Command {
        name: "list-tables",
        need: Need::Database,
        min_args: 0,
        max_args: 0,
        handler: do_list_tables,
    },
    Command {
        name: "list-columns",
        need: Need::Database,
        min_args: 0,
        max_args: 1,
        handler: do_list_columns,
    },
    Command {
        name: "transact",
        need: Need::None,
        min_args: 1,
        max_args: 2,
        handler: do_transact,
    },
    Command {
        name: "query",
        need: Need::None,
        min_args: 1,
        max_args: 2,
        handler: do_query,
    },
    Command {
        name: "monitor",
        need: Need::Database,
        min_args: 1,
        max_args: usize::MAX,
        handler: monitor::do_monitor,
    },
    Command {
        name: "monitor-cond",
        need: Need::Database,
        min_args: 2,
        max_args: 3,
        handler: monitor::do_monitor_cond,
    },
    Command {
        name: "monitor-cond-since",
        need: Need::Database,
        min_args: 2,
        max_args: 4,
        handler: monitor::do_monitor_cond_since,
    },
    Command {
        name: "wait",
        need: Need::None,
        min_args: 2,
        max_args: 3,
        handler: monitor::do_wait,
    },
    Command {
        name: "convert",
        need: Need::None,
        min_args: 1,
        max_args: 2,
        handler: do_convert,
    },
    Command {
        name: "needs-conversion",
        need: Need::None,
        min_args: 1,
        max_args: 2,
        handler: do_needs_conversion,
    },
    Command {
        name: "dump",
        need: Need::Database,
        min_args: 0,
        max_args: usize::MAX,
        handler: do_dump,
    },
    Command {
        name: "backup",
        need: Need::Database,
        min_args: 0,
        max_args: 0,
        handler: backup::do_backup,
    },
    Command {
        name: "restore",
        need: Need::Database,
        min_args: 0,
        max_args: 0,
        handler: backup::do_restore,
    },
    Command {
        name: "lock",
        need: Need::Rpc,
        min_args: 1,
        max_args: 1,
        handler: monitor::do_lock,
    },
    Command {
        name: "steal",
        need: Need::Rpc,
        min_args: 1,
        max_args: 1,
        handler: monitor::do_steal,
    },
    Command {
        name: "unlock",
        need: Need::Rpc,
        min_args: 1,
        max_args: 1,
        handler: monitor::do_unlock,
    },
    Command {
        name: "help",
        need: Need::None,
        min_args: 0,
        max_args: usize::MAX,
        handler: do_help,
    },
];

const CLIENT_OPTIONS: &[Spec] = &[
    options::short("help", 'h', Arg::None),
    options::short("version", 'V', Arg::None),
    options::opt("timestamp", Arg::None),
    options::opt("force", Arg::None),
    options::short("timeout", 't', Arg::Required),
    options::opt("db-change-aware", Arg::None),
    options::opt("no-db-change-aware", Arg::None),
    options::opt("leader-only", Arg::None),
    options::opt("no-leader-only", Arg::None),
    // Daemon options (monitors and locks run in the foreground here).
    options::opt("pidfile", Arg::Optional),
    options::opt("overwrite-pidfile", Arg::None),
    options::opt("detach", Arg::None),
    options::opt("no-chdir", Arg::None),
    options::opt("monitor", Arg::None),
    options::opt("no-self-confinement", Arg::None),
    options::opt("user", Arg::Required),
    // SSL options: accepted; ssl: remotes are not supported.
    options::short("private-key", 'p', Arg::Required),
    options::short("certificate", 'c', Arg::Required),
    options::short("ca-cert", 'C', Arg::Required),
    options::opt("bootstrap-ca-cert", Arg::Required),
    options::opt("ssl-protocols", Arg::Required),
    options::opt("ssl-ciphers", Arg::Required),
    // Table options.
    options::short("format", 'f', Arg::Required),
    options::short("data", 'd', Arg::Required),
    options::opt("no-headings", Arg::None),
    options::opt("pretty", Arg::None),
    options::opt("bare", Arg::None),
    options::opt("max-column-width", Arg::Required),
    // Replay options.
    options::opt("record", Arg::Optional),
    options::opt("replay", Arg::Optional),
];

/// What the options chose, shared by every command.
pub(crate) struct Context {
    printer: Printer,
    timestamp: bool,
    force: bool,
    /// `--db-change-aware` (Some(true)), `--no-db-change-aware` (Some(false)).
    db_change_aware: Option<bool>,
    daemon: daemonize::Options,
}

impl Context {
    fn json_flags(&self) -> u32 {
        self.printer.style.json_flags
    }

    fn print_table(&mut self, table: &Table) {
        let text = self.printer.format(table);
        cli::out(&text);
    }

    fn print_json(&self, json: &Json) {
        puts(&json.to_text(self.json_flags()));
    }
}

/// Runs `rovsdb-client` with `args` (without the program name).
pub fn run(args: &[String]) -> Result<()> {
    let parsed = cli::parse_options(args, &[CLIENT_OPTIONS, cli::VLOG_OPTIONS])?;
    let mut style = Style::default();
    let mut ctx_timestamp = false;
    let mut force = false;
    let mut db_change_aware = None;
    let mut daemon = daemonize::Options::default();
    for (name, value) in &parsed.options {
        if style.apply_option(name, value.as_deref()).map_err(fatal)? {
            continue;
        }
        match name.as_str() {
            "help" => {
                print_usage();
                return Ok(());
            }
            "version" => {
                cli::print_version();
                return Ok(());
            }
            "timestamp" => ctx_timestamp = true,
            "force" => force = true,
            "db-change-aware" => db_change_aware = Some(true),
            "no-db-change-aware" => db_change_aware = Some(false),
            "timeout" => {
                let v = value.as_deref().unwrap_or("");
                match v.parse::<u32>() {
                    Ok(secs) if secs > 0 && v.bytes().all(|b| b.is_ascii_digit()) => set_alarm(secs),
                    _ => return Err(fatal(format!("value {v} on -t or --timeout is invalid"))),
                }
            }
            "detach" => daemon.detach = true,
            "no-chdir" => daemon.no_chdir = true,
            "pidfile" => daemon.pidfile = Some(value.clone()),
            "overwrite-pidfile" => daemon.overwrite_pidfile = true,
            _ => {}
        }
    }
    let mut ctx = Context {
        printer: Printer::new(style),
        timestamp: ctx_timestamp,
        force,
        db_change_aware,
        daemon,
    };

    let Some((name, rest)) = parsed.positional.split_first() else {
        return Err(fatal("missing command name; use --help for help"));
    };
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        return Err(fatal(format!("unknown command '{name}'; use --help for help")));
    };
    let mut args: &[String] = rest;
    let mut rpc = None;
    let mut database = String::new();
    if command.need != Need::None {
        let (n, conn, db) = open_rpc(command.min_args, command.need, args, None)?;
        args = &args[n..];
        rpc = Some(conn);
        database = db.unwrap_or_default();
    }
    if args.len() < command.min_args || args.len() > command.max_args {
        return Err(fatal(format!(
            "invalid syntax for '{}' (use --help for help)",
            command.name
        )));
    }
    (command.handler)(&mut ctx, rpc.as_mut(), &database, args)
}

/// `alarm(secs)`: the process dies of SIGALRM when time runs out, as
/// ovsdb-client's `--timeout` does.
fn set_alarm(secs: u32) {
    // SAFETY: alarm() has no memory-safety preconditions.
    unsafe {
        libc::alarm(secs);
    }
}

fn default_remote() -> String {
    let rundir = std::env::var("OVS_RUNDIR").unwrap_or_else(|_| "/var/run/openvswitch".into());
    format!("unix:{rundir}/db.sock")
}

/// Whether an argument names a server: a letter first, and a colon.
fn is_remote(arg: &str) -> bool {
    arg.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && arg.contains(':')
}

/// Connects to the server named by the first argument, or the default one,
/// and settles the database for [`Need::Database`] commands. Returns how
/// many arguments were used, the connection and the database.
fn open_rpc(
    min_args: usize,
    need: Need,
    args: &[String],
    database: Option<String>,
) -> Result<(usize, Connection, Option<String>)> {
    let mut idx = 0;
    let remote = if args.len() > min_args && is_remote(&args[0]) {
        idx = 1;
        args[0].clone()
    } else {
        default_remote()
    };
    let mut conn = connect_any(&remote)?;
    let mut database = database;
    if need == Need::Database && database.is_none() {
        let dbs = fetch_dbs(&mut conn)?;
        if args.len() - idx > min_args && dbs.contains(&args[idx]) {
            database = Some(args[idx].clone());
            idx += 1;
        } else if dbs.iter().any(|d| d == "Open_vSwitch") {
            database = Some("Open_vSwitch".into());
        } else {
            let candidates: Vec<&String> = dbs.iter().filter(|d| !d.starts_with('_')).collect();
            match candidates.as_slice() {
                [one] => database = Some((*one).clone()),
                _ => {
                    return Err(fatal(
                        "could not find a default database, please specify a database name",
                    ));
                }
            }
        }
    }
    Ok((idx, conn, database))
}

/// Connects to one remote, or to the first of a comma-separated list that
/// accepts the connection.
fn connect_any(remote: &str) -> Result<Connection> {
    let remotes: Vec<&str> = remote.split(',').map(str::trim).filter(|r| !r.is_empty()).collect();
    if remotes.len() <= 1 {
        return Connection::open(remote);
    }
    remotes
        .iter()
        .find_map(|r| Connection::open(r).ok())
        .ok_or_else(|| fatal("no servers were available"))
}

fn fetch_dbs(conn: &mut Connection) -> Result<Vec<String>> {
    let result = conn.transact_checked("list_dbs", Json::Array(vec![]), crate::ovs_json::SORT)?;
    let Json::Array(names) = result else {
        return Err(fatal("list_dbs response is not array"));
    };
    let mut dbs = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let Json::String(s) = n else {
            return Err(fatal(format!("list_dbs response {i} is not string")));
        };
        dbs.push(s.clone());
    }
    dbs.sort();
    Ok(dbs)
}

fn fetch_schema(ctx: &Context, conn: &mut Connection, database: &str) -> Result<Schema> {
    let result = conn.transact_checked(
        "get_schema",
        Json::Array(vec![Json::string(database)]),
        ctx.json_flags(),
    )?;
    Schema::from_json(&result).map_err(|e| fatal(crate::data::error_text(&e)))
}

fn need_rpc(rpc: Option<&mut Connection>) -> Result<&mut Connection> {
    rpc.ok_or_else(|| fatal("internal error: no connection"))
}

/// `set_db_change_aware`, unless `--no-db-change-aware`; its failure is
/// fatal only with `--db-change-aware`.
fn send_db_change_aware(ctx: &Context, conn: &mut Connection) -> Result<()> {
    if ctx.db_change_aware == Some(false) {
        return Ok(());
    }
    match conn.transact("set_db_change_aware", Json::Array(vec![Json::True])) {
        Ok(crate::jsonrpc::Message::Error { error, .. }) if ctx.db_change_aware == Some(true) => Err(fatal(format!(
            "{}: set_db_change_aware failed ({})",
            conn.name(),
            error.to_text(0)
        ))),
        Ok(_) => Ok(()),
        Err(e) => Err(fatal(format!(
            "{}: error setting db_change_aware ({})",
            conn.name(),
            e.text()
        ))),
    }
}

fn do_list_dbs(_ctx: &mut Context, rpc: Option<&mut Connection>, _db: &str, _args: &[String]) -> Result<()> {
    for db in fetch_dbs(need_rpc(rpc)?)? {
        puts(&db);
    }
    Ok(())
}

fn do_get_schema(ctx: &mut Context, rpc: Option<&mut Connection>, db: &str, _args: &[String]) -> Result<()> {
    let schema = fetch_schema(ctx, need_rpc(rpc)?, db)?;
    ctx.print_json(&schema.to_json());
    Ok(())
}

fn do_get_schema_version(ctx: &mut Context, rpc: Option<&mut Connection>, db: &str, _args: &[String]) -> Result<()> {
    puts(&fetch_schema(ctx, need_rpc(rpc)?, db)?.version);
    Ok(())
}

fn do_get_schema_cksum(ctx: &mut Context, rpc: Option<&mut Connection>, db: &str, _args: &[String]) -> Result<()> {
    puts(&fetch_schema(ctx, need_rpc(rpc)?, db)?.cksum);
    Ok(())
}

fn do_list_tables(ctx: &mut Context, rpc: Option<&mut Connection>, db: &str, _args: &[String]) -> Result<()> {
    let schema = fetch_schema(ctx, need_rpc(rpc)?, db)?;
    let mut t = Table::new(["Table"]);
    for name in schema.tables.keys() {
        t.add_row(vec![Cell::Text(name.to_string())]);
    }
    ctx.print_table(&t);
    Ok(())
}

fn do_list_columns(ctx: &mut Context, rpc: Option<&mut Connection>, db: &str, args: &[String]) -> Result<()> {
    let schema = fetch_schema(ctx, need_rpc(rpc)?, db)?;
    let only = args.first();
    let mut t = Table::new(if only.is_some() {
        vec!["Column", "Type"]
    } else {
        vec!["Table", "Column", "Type"]
    });
    for (tname, ts) in schema.tables.iter() {
        if only.is_some_and(|o| o != tname) {
            continue;
        }
        for (cname, col) in ts.columns.iter() {
            let mut row = Vec::new();
            if only.is_none() {
                row.push(Cell::Text(tname.to_string()));
            }
            row.push(Cell::Text(cname.to_string()));
            row.push(Cell::Data(crate::schema::type_to_json(&col.ty), None));
            t.add_row(row);
        }
    }
    ctx.print_table(&t);
    Ok(())
}

/// `parse_json`: a JSON argument, or a fatal error quoting it.
fn parse_json_arg(s: &str) -> Result<Json> {
    Json::parse(s.as_bytes()).map_err(|e| fatal(format!("\"{s}\": {e}")))
}

/// Sends a `transact` request built from the command line and returns
/// the result.
fn transact_args(ctx: &Context, args: &[String], transaction: Json) -> Result<Json> {
    let db_name = match &transaction {
        Json::Array(a) if matches!(a.first(), Some(Json::String(_))) => a[0].as_str().unwrap_or("").to_string(),
        _ => return Err(fatal("not a valid OVSDB query")),
    };
    let (_, mut conn, _) = open_rpc(1, Need::Database, args, Some(db_name))?;
    if ctx.db_change_aware == Some(true) {
        send_db_change_aware(ctx, &mut conn)?;
    }
    conn.transact_checked("transact", transaction, ctx.json_flags())
}

fn do_transact(ctx: &mut Context, _rpc: Option<&mut Connection>, _db: &str, args: &[String]) -> Result<()> {
    let transaction = parse_json_arg(&args[args.len() - 1])?;
    let result = transact_args(ctx, args, transaction)?;
    ctx.print_json(&result);
    Ok(())
}

fn do_query(ctx: &mut Context, _rpc: Option<&mut Connection>, _db: &str, args: &[String]) -> Result<()> {
    let mut transaction = parse_json_arg(&args[args.len() - 1])?;
    let Json::Array(ops) = &mut transaction else {
        return Err(fatal("not a valid OVSDB query"));
    };
    let mut abort = Json::object();
    abort.put("op", Json::string("abort"));
    ops.push(abort);
    // Where the abort's result lands; an empty array wraps to a huge index
    // in C, which no reply matches.
    let abort_idx = ops.len().checked_sub(2);
    let mut result = transact_args(ctx, args, transaction)?;
    if let (Json::Array(results), Some(idx)) = (&mut result, abort_idx)
        && results.len() == idx + 1
        && results[idx].get("error").and_then(Json::as_str) == Some("aborted")
    {
        results.pop();
    }
    ctx.print_json(&result);
    Ok(())
}

/// Whether the server runs `database` clustered, from `_Server`.
fn is_database_clustered(conn: &mut Connection, database: &str) -> Result<bool> {
    let result = conn.transact_checked("transact", database_info_request(database), crate::ovs_json::SORT)?;
    let row = database_info_row(&result, database);
    Ok(row.and_then(|r| r.get("model")).and_then(Json::as_str) == Some("clustered"))
}

/// The `_Server` transaction selecting `database`'s row.
fn database_info_request(database: &str) -> Json {
    let mut op = Json::object();
    op.put("op", Json::string("select"));
    op.put("table", Json::string("Database"));
    let cond = Json::Array(vec![Json::string("name"), Json::string("=="), Json::string(database)]);
    op.put("where", Json::Array(vec![cond]));
    Json::Array(vec![Json::string("_Server"), op])
}

fn database_info_row<'a>(result: &'a Json, database: &str) -> Option<&'a Json> {
    let rows = result.as_array()?.first()?.get("rows")?.as_array()?;
    rows.iter()
        .find(|r| r.get("name").and_then(Json::as_str) == Some(database))
}

/// Reads the schema file named by the last argument; its database is the
/// one to work on.
fn schema_arg(args: &[String]) -> Result<Schema> {
    Schema::from_file(&args[args.len() - 1]).map_err(fatal)
}

/// Clusters keep no ephemeral columns: a schema bound for one has them
/// all made persistent, with a warning naming one of them.
fn persist_ephemeral_columns(schema: &mut Schema, file: &str) {
    let mut n = 0;
    let mut example = (String::new(), String::new());
    let names: Vec<String> = schema.tables.keys().map(String::from).collect();
    for tname in names {
        let Some(t) = schema.tables.get_mut(&tname) else {
            continue;
        };
        let cols: Vec<String> = t.columns.keys().map(String::from).collect();
        for c in cols {
            if let Some(col) = t.columns.get_mut(&c)
                && col.index >= 2
                && !col.persistent
            {
                col.persistent = true;
                example = (tname.clone(), c.clone());
                n += 1;
            }
        }
    }
    if n > 0 {
        cli::log(
            "ovsdb",
            "WARN",
            &format!(
                "{file}: changed {n} columns in '{}' database from ephemeral to persistent, including '{}' column \
                 in '{}' table, because clusters do not support ephemeral columns",
                schema.name, example.1, example.0
            ),
        );
    }
}

fn do_convert(ctx: &mut Context, _rpc: Option<&mut Connection>, _db: &str, args: &[String]) -> Result<()> {
    let mut schema = schema_arg(args)?;
    let (_, mut conn, _) = open_rpc(1, Need::Database, args, Some(schema.name.clone()))?;
    if is_database_clustered(&mut conn, &schema.name)? {
        persist_ephemeral_columns(&mut schema, &args[args.len() - 1]);
    }
    send_db_change_aware(ctx, &mut conn)?;
    let params = Json::Array(vec![Json::string(&schema.name), schema.to_json()]);
    conn.transact_checked("convert", params, ctx.json_flags())?;
    Ok(())
}

fn do_needs_conversion(ctx: &mut Context, _rpc: Option<&mut Connection>, _db: &str, args: &[String]) -> Result<()> {
    let mut schema = schema_arg(args)?;
    let (_, mut conn, _) = open_rpc(1, Need::Database, args, Some(schema.name.clone()))?;
    if is_database_clustered(&mut conn, &schema.name)? {
        persist_ephemeral_columns(&mut schema, &args[args.len() - 1]);
    }
    let online = fetch_schema(ctx, &mut conn, &schema.name.clone())?;
    puts(if schema.equal(&online) { "no" } else { "yes" });
    Ok(())
}

fn do_dump(ctx: &mut Context, rpc: Option<&mut Connection>, db: &str, args: &[String]) -> Result<()> {
    let conn = need_rpc(rpc)?;
    let schema = fetch_schema(ctx, conn, db)?;
    let tables: Vec<&crate::schema::TableSchema> = match args.first() {
        Some(name) => vec![
            schema
                .tables
                .get(name)
                .ok_or_else(|| fatal(format!("No table \"{name}\" found.")))?,
        ],
        None => schema.tables_sorted(),
    };
    // Chosen columns, in a hash table as ovsdb-client keeps them (a
    // column named twice is there twice).
    let mut custom = crate::shash::Shash::new();
    if let Some(t) = tables.first().filter(|_| args.len() > 1) {
        for c in &args[1..] {
            let col = t
                .columns
                .get(c)
                .ok_or_else(|| fatal(format!("Table \"{}\" has no column {c}.", args[0])))?;
            custom.add(c.clone(), col.clone());
        }
    }
    let columns_of = |t: &crate::schema::TableSchema| -> Vec<crate::schema::Column> {
        let cols: Vec<crate::schema::Column> = if args.len() > 1 {
            custom.values().cloned().collect()
        } else {
            t.columns.values().cloned().collect()
        };
        cols.into_iter().filter(|c| c.name != "_version").collect()
    };

    let mut txn = vec![Json::string(db)];
    for t in &tables {
        let mut op = Json::object();
        op.put("op", Json::string("select"));
        op.put("table", Json::string(&t.name));
        op.put("where", Json::Array(vec![]));
        op.put(
            "columns",
            Json::Array(columns_of(t).iter().map(|c| Json::string(&c.name)).collect()),
        );
        txn.push(op);
    }
    let result = conn.transact_checked("transact", Json::Array(txn), ctx.json_flags())?;
    let results = match &result {
        Json::Array(r) if r.len() == tables.len() => r,
        _ => {
            return Err(fatal(format!(
                "reply is not array of {} elements: {}",
                tables.len(),
                result.to_text(0)
            )));
        }
    };
    for (t, op_result) in tables.iter().zip(results) {
        let Some(rows) = op_result.get("rows").and_then(Json::as_array) else {
            return Err(fatal(format!(
                "{} table reply is not an object with a \"rows\" member array: {}",
                t.name,
                op_result.to_text(0)
            )));
        };
        let table = dump_table(&t.name, columns_of(t), rows)?;
        ctx.print_table(&table);
    }
    Ok(())
}

/// One table of `dump`: columns by name, rows sorted by their values
/// (UUID columns only break ties, since their values are random).
fn dump_table(name: &str, mut columns: Vec<crate::schema::Column>, rows: &[Json]) -> Result<Table> {
    columns.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut data: Vec<Vec<ovsdb::Datum>> = Vec::with_capacity(rows.len());
    for (y, row) in rows.iter().enumerate() {
        if row.as_object().is_none() {
            return Err(fatal(format!(
                "row {y} in table {name} response is not a JSON object: {}",
                row.to_text(0)
            )));
        }
        let mut values = Vec::with_capacity(columns.len());
        for c in &columns {
            let json = row
                .get(&c.name)
                .ok_or_else(|| fatal(format!("row {y} in table {name} response lacks {} column", c.name)))?;
            let datum = crate::data::unconstrained_datum_from_json(&c.ty, json)
                .map_err(|e| fatal(crate::data::error_text(&e)))?;
            values.push(datum);
        }
        data.push(values);
    }
    let is_uuid = |c: &crate::schema::Column| c.ty.key.atomic == ovsdb::AtomicType::Uuid;
    data.sort_by(|a, b| {
        let pass = |uuid: bool| {
            columns
                .iter()
                .enumerate()
                .filter(|(_, c)| is_uuid(c) == uuid)
                .map(|(x, _)| crate::data::compare_datums(&a[x], &b[x]))
                .find(|o| o.is_ne())
        };
        pass(false).or_else(|| pass(true)).unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut t = Table::new(columns.iter().map(|c| c.name.clone()));
    t.caption = Some(format!("{name} table"));
    for values in data {
        let cells = values
            .iter()
            .zip(&columns)
            .map(|(d, c)| Cell::Data(crate::data::datum_to_json(d), Some(Box::new(c.ty.clone()))))
            .collect();
        t.add_row(cells);
    }
    Ok(t)
}

fn do_help(_ctx: &mut Context, _rpc: Option<&mut Connection>, _db: &str, _args: &[String]) -> Result<()> {
    print_usage();
    Ok(())
}

fn print_usage() {
    let p = cli::program_name();
    let remote = default_remote();
    puts(&format!(
        "{p}: Open vSwitch database JSON-RPC client (rovn)
usage: {p} [OPTIONS] COMMAND [ARG...]

Commands (SERVER defaults to {remote}, DATABASE to Open_vSwitch
or the server's only database):
  list-dbs [SERVER]
  get-schema [SERVER] [DATABASE]
  get-schema-version [SERVER] [DATABASE]
  get-schema-cksum [SERVER] [DATABASE]
  list-tables [SERVER] [DATABASE]
  list-columns [SERVER] [DATABASE] [TABLE]
  transact [SERVER] TRANSACTION
  query [SERVER] TRANSACTION
  monitor [SERVER] [DATABASE] TABLE [COLUMN,...]...
  monitor [SERVER] [DATABASE] ALL
  monitor-cond [SERVER] [DATABASE] CONDITION TABLE [COLUMN,...]...
  monitor-cond-since [SERVER] [DATABASE] [LASTID] CONDITION TABLE [COLUMN,...]...
  convert [SERVER] SCHEMA
  needs-conversion [SERVER] SCHEMA
  wait [SERVER] DATABASE added|connected|removed
  dump [SERVER] [DATABASE] [TABLE [COLUMN]...]
  backup [SERVER] [DATABASE] > SNAPSHOT
  [--force] restore [SERVER] [DATABASE] < SNAPSHOT
  lock|steal|unlock [SERVER] LOCK
  (COLUMNs of monitors may include !initial, !insert, !delete, !modify)

Output options:
  -f, --format=table|list|html|csv|json
  -d, --data=string|bare|json
  --no-headings, --pretty, --bare, --max-column-width=N
  --timestamp                 timestamp monitor output
  -t, --timeout=SECS          give up after SECS seconds
  -h, --help, -V, --version"
    ));
}
