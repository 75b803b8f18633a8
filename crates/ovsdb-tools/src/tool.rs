//! `rovsdb-tool`: the commands of `ovsdb-tool` for standalone database
//! files: create, compact and convert them, report their schema, run
//! transactions against them, and print their records.
//!
//! Files are read and written with `ovsdb-storage`, so that whatever this
//! writes Open vSwitch's tools and server read, and the reverse; the
//! records `show-log` prints are read with [`crate::dbfile`], which keeps
//! Open vSwitch's member order and messages. Clustered files are
//! recognised (`db-name`, `db-is-clustered`) but not otherwise handled.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use daemon::options::{self, Arg, Spec};
use ovsdb_storage::lockfile::LockFile;
use ovsdb_storage::log::{Log, OpenMode};

use crate::cli::{self, Result, fatal, puts};
use crate::data;
use crate::dbfile::{self, LogReader};
use crate::ovs_json::{self, Json};
use crate::schema::Schema;

type Handler = fn(&Context, &[String]) -> Result<()>;

struct Command {
    name: &'static str,
    min_args: usize,
    max_args: usize,
    handler: Handler,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "create",
        min_args: 0,
        max_args: 2,
        handler: do_create,
    },
    Command {
        name: "compact",
        min_args: 0,
        max_args: 2,
        handler: do_compact,
    },
    Command {
        name: "convert",
        min_args: 0,
        max_args: 3,
        handler: do_convert,
    },
    Command {
        name: "needs-conversion",
        min_args: 0,
        max_args: 2,
        handler: do_needs_conversion,
    },
    Command {
        name: "db-name",
        min_args: 0,
        max_args: 1,
        handler: do_db_name,
    },
    Command {
        name: "db-version",
        min_args: 0,
        max_args: 1,
        handler: do_db_version,
    },
    Command {
        name: "db-cksum",
        min_args: 0,
        max_args: 1,
        handler: do_db_cksum,
    },
    Command {
        name: "db-is-clustered",
        min_args: 1,
        max_args: 1,
        handler: do_db_is_clustered,
    },
    Command {
        name: "db-is-standalone",
        min_args: 1,
        max_args: 1,
        handler: do_db_is_standalone,
    },
    Command {
        name: "schema-name",
        min_args: 0,
        max_args: 1,
        handler: do_schema_name,
    },
    Command {
        name: "schema-version",
        min_args: 0,
        max_args: 1,
        handler: do_schema_version,
    },
    Command {
        name: "schema-cksum",
        min_args: 0,
        max_args: 1,
        handler: do_schema_cksum,
    },
    Command {
        name: "query",
        min_args: 1,
        max_args: 2,
        handler: do_query,
    },
    Command {
        name: "transact",
        min_args: 1,
        max_args: 2,
        handler: do_transact,
    },
    Command {
        name: "show-log",
        min_args: 0,
        max_args: 1,
        handler: do_show_log,
    },
    Command {
        name: "calculate-schema-cksum",
        min_args: 0,
        max_args: 1,
        handler: do_calculate_schema_cksum,
    },
    Command {
        name: "compare-versions",
        min_args: 3,
        max_args: 3,
        handler: do_compare_versions,
    },
    Command {
        name: "help",
        min_args: 0,
        max_args: usize::MAX,
        handler: do_help,
    },
    Command {
        name: "list-commands",
        min_args: 0,
        max_args: usize::MAX,
        handler: do_list_commands,
    },
];

/// Clustered-database commands of ovsdb-tool that this one lacks.
const CLUSTER_COMMANDS: &[&str] = &[
    "create-cluster",
    "join-cluster",
    "db-cid",
    "db-sid",
    "db-local-address",
    "check-cluster",
    "cluster-to-standalone",
];

const TOOL_OPTIONS: &[Spec] = &[
    options::short("more", 'm', Arg::None),
    options::opt("rbac-role", Arg::Required),
    options::opt("cid", Arg::Required),
    options::opt("election-timer", Arg::Required),
    options::short("verbose", 'v', Arg::Optional),
    options::short("help", 'h', Arg::None),
    options::short("option", 'o', Arg::None),
    options::short("version", 'V', Arg::None),
];

struct Context {
    /// `-m` given this many times (`show-log` detail).
    verbosity: usize,
}

/// Runs `rovsdb-tool` with `args` (without the program name).
pub fn run(args: &[String]) -> Result<()> {
    let parsed = cli::parse_options(args, &[TOOL_OPTIONS])?;
    let mut verbosity = 0;
    for (name, value) in &parsed.options {
        match name.as_str() {
            "more" => verbosity += 1,
            "help" => {
                print_usage();
                return Ok(());
            }
            "option" => {
                for spec in TOOL_OPTIONS {
                    let arg = match spec.arg {
                        Arg::None => "",
                        Arg::Optional => "[=ARG]",
                        Arg::Required => "=ARG",
                    };
                    puts(&format!("--{}{arg}", spec.long));
                    if let Some(c) = spec.short {
                        puts(&format!("-{c}"));
                    }
                }
                return Ok(());
            }
            "version" => {
                cli::print_version();
                return Ok(());
            }
            "cid" => {
                let v = value.as_deref().unwrap_or("");
                if ovsdb::Uuid::parse(v).is_none_or(|u| u.is_zero()) {
                    return Err(fatal(format!("{v}: not a valid UUID")));
                }
            }
            _ => {}
        }
    }
    let ctx = Context { verbosity };
    let Some((name, rest)) = parsed.positional.split_first() else {
        return Err(fatal("missing command name; use --help for help"));
    };
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        if CLUSTER_COMMANDS.contains(&name.as_str()) {
            return Err(fatal(format!(
                "'{name}': clustered databases are not supported by this ovsdb-tool"
            )));
        }
        return Err(fatal(format!("unknown command '{name}'; use --help for help")));
    };
    if rest.len() < command.min_args {
        return Err(fatal(format!(
            "'{}' command requires at least {} arguments",
            command.name, command.min_args
        )));
    }
    if rest.len() > command.max_args {
        return Err(fatal(format!(
            "'{}' command takes at most {} arguments",
            command.name, command.max_args
        )));
    }
    // Handlers see the command name as argument 0, as in ovsdb-tool.
    (command.handler)(&ctx, &parsed.positional)
}

fn default_db() -> String {
    let dir = match std::env::var("OVS_DBDIR") {
        Ok(d) if !d.is_empty() => d,
        _ => match std::env::var("OVS_SYSCONFDIR") {
            Ok(s) => format!("{s}/openvswitch"),
            Err(_) => "/etc/openvswitch".into(),
        },
    };
    format!("{dir}/conf.db")
}

fn default_schema() -> String {
    let dir = std::env::var("OVS_PKGDATADIR").unwrap_or_else(|_| "/usr/share/openvswitch".into());
    format!("{dir}/vswitch.ovsschema")
}

/// Argument `i`, or `default` if there are not that many.
fn arg_or(args: &[String], i: usize, default: impl FnOnce() -> String) -> String {
    args.get(i).cloned().unwrap_or_else(default)
}

fn read_schema_file(path: &str) -> Result<Schema> {
    Schema::from_file(path).map_err(fatal)
}

/// The schema of a standalone database file.
fn read_db_schema(path: &str) -> Result<Schema> {
    let mut reader = LogReader::open(path, &[dbfile::STANDALONE, dbfile::CLUSTERED]).map_err(fatal)?;
    if reader.magic() != dbfile::STANDALONE {
        return Err(fatal(format!(
            "ovsdb error: {path}: cannot apply this operation to clustered database file"
        )));
    }
    match reader.read().map_err(fatal)? {
        Some(json) => Schema::from_json(&json).map_err(|e| fatal(data::error_text(&e))),
        None => Err(fatal("unexpected end of file reading schema")),
    }
}

/// The database in a standalone file, through `ovsdb-storage`, after
/// checking the file as ovsdb-tool would (for its messages).
fn open_db(path: &str, mode: OpenMode) -> Result<ovsdb_storage::log::Opened> {
    read_db_schema(path)?;
    let opened = Log::open(path, mode).map_err(|e| storage_error(path, e))?;
    if let Some(tail) = &opened.torn_tail {
        return Err(fatal(format!("syntax error: {path}: {tail}")));
    }
    Ok(opened)
}

/// Open vSwitch's warning when another process holds a database's lock.
fn log_lock_holder(path: &str, e: &ovsdb_storage::error::Error) {
    if let ovsdb_storage::error::Error::Locked { pid: Some(pid), .. } = e {
        let lock = ovsdb_storage::lockfile::lock_path(Path::new(path));
        cli::log(
            "lockfile",
            "WARN",
            &format!(
                "{}: cannot lock file because it is already locked by pid {pid}",
                lock.display()
            ),
        );
    }
}

fn storage_error(path: &str, e: ovsdb_storage::error::Error) -> cli::Fatal {
    use ovsdb_storage::error::Error as E;
    log_lock_holder(path, &e);
    match e {
        E::Locked { .. } | E::AlreadyOpen { .. } => fatal(format!(
            "I/O error: {path}: failed to lock lockfile ({})",
            cli::errno_text(libc::EAGAIN)
        )),
        E::Io { op, path: p, source } => fatal(format!(
            "I/O error: {}: {op} failed ({})",
            p.display(),
            cli::strerror(&source)
        )),
        other => fatal(format!("ovsdb error: {path}: {other}")),
    }
}

fn do_create(_ctx: &Context, args: &[String]) -> Result<()> {
    let db = arg_or(args, 1, default_db);
    let schema = read_schema_file(&arg_or(args, 2, default_schema))?;
    let _lock = LockFile::lock(Path::new(&db)).map_err(|e| storage_error(&db, e))?;
    let record = dbfile::record(&schema.to_json());
    write_new_file(&db, &record)
}

/// Creates `path` (which must not exist; a dangling symbolic link is
/// followed) holding `bytes`, and makes it durable.
fn write_new_file(path: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let p = Path::new(path);
    let dangling = p.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) && !p.exists();
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).mode(0o660);
    if dangling {
        opts.create(true)
    } else {
        opts.create_new(true)
    };
    let mut file = opts
        .open(p)
        .map_err(|e| fatal(format!("I/O error: {path}: create failed ({})", cli::strerror(&e))))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| fatal(format!("I/O error: {path}: write failed ({})", cli::strerror(&e))))?;
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

fn do_compact(_ctx: &Context, args: &[String]) -> Result<()> {
    let db = arg_or(args, 1, default_db);
    let comment = format!("compacted by {} {}", cli::program_name(), env!("CARGO_PKG_VERSION"));
    rewrite(&db, args.get(2).map(String::as_str), None, &comment)
}

fn do_convert(_ctx: &Context, args: &[String]) -> Result<()> {
    let db = arg_or(args, 1, default_db);
    let schema = read_schema_file(&arg_or(args, 2, default_schema))?;
    let comment = format!("converted by {} {}", cli::program_name(), env!("CARGO_PKG_VERSION"));
    rewrite(&db, args.get(3).map(String::as_str), Some(schema), &comment)
}

/// Writes `src`'s database (converted to `new_schema`, if given) as one
/// snapshot to `dst`, or in place of `src` (through `SRC.tmp` and a
/// rename, with `src` locked throughout).
fn rewrite(src: &str, dst: Option<&str>, new_schema: Option<Schema>, comment: &str) -> Result<()> {
    let src_path = follow_symlinks(Path::new(src));
    let src_name = src_path.to_string_lossy().into_owned();
    let dst_path = match dst {
        Some(d) => follow_symlinks(Path::new(d)),
        None => Path::new(&format!("{src_name}.tmp")).to_path_buf(),
    };
    let dst_name = dst_path.to_string_lossy().into_owned();
    let lock = |path: &Path, name: &str| {
        LockFile::lock(path).map_err(|e| {
            log_lock_holder(name, &e);
            fatal(format!(
                "{name}: failed to lock lockfile ({})",
                cli::errno_text(libc::EAGAIN)
            ))
        })
    };
    let _src_lock = match dst {
        None => Some(lock(&src_path, &src_name)?),
        Some(_) => None,
    };
    let _dst_lock = lock(&dst_path, &dst_name)?;

    let opened = open_db(&src_name, OpenMode::ReadOnly)?;
    let db = match new_schema {
        None => opened.db,
        Some(schema) => ovsdb::convert::convert(&opened.db, Arc::clone(&schema.engine))
            .map_err(|e| fatal(data::error_text(&e.to_error())))?,
    };
    match std::fs::remove_file(&dst_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(fatal(format!(
                "I/O error: {dst_name}: remove failed ({})",
                cli::strerror(&e)
            )));
        }
        _ => {}
    }
    ovsdb_storage::log::write_database(&dst_path, &db, Some(comment)).map_err(|e| storage_error(&dst_name, e))?;
    if dst.is_none() {
        std::fs::rename(&dst_path, &src_path).map_err(|e| {
            fatal(format!(
                "failed to rename \"{dst_name}\" to \"{src_name}\" ({})",
                cli::strerror(&e)
            ))
        })?;
        if let Some(dir) = src_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
    }
    Ok(())
}

/// `path` with symbolic links followed, so that a link's target is
/// replaced rather than the link.
fn follow_symlinks(path: &Path) -> std::path::PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..10 {
        match std::fs::read_link(&p) {
            Ok(t) if t.is_absolute() => p = t,
            Ok(t) => p = p.parent().unwrap_or(Path::new("")).join(t),
            Err(_) => break,
        }
    }
    p
}

fn do_needs_conversion(_ctx: &Context, args: &[String]) -> Result<()> {
    let db = read_db_schema(&arg_or(args, 1, default_db))?;
    let schema = read_schema_file(&arg_or(args, 2, default_schema))?;
    puts(if db.equal(&schema) { "no" } else { "yes" });
    Ok(())
}

fn do_db_name(_ctx: &Context, args: &[String]) -> Result<()> {
    let path = arg_or(args, 1, default_db);
    let mut reader = LogReader::open(&path, &[dbfile::STANDALONE, dbfile::CLUSTERED]).map_err(fatal)?;
    let first = reader.read().map_err(fatal)?;
    if reader.magic() == dbfile::STANDALONE {
        let json = first.ok_or_else(|| fatal(format!("ovsdb error: {path}: database file contains no schema")))?;
        let schema = Schema::from_json(&json).map_err(|e| fatal(data::error_text(&e)))?;
        puts(&schema.name);
    } else {
        // A clustered file starts with its Raft header, which names the
        // database.
        let name = first.as_ref().and_then(|j| j.get("name")).and_then(Json::as_str);
        puts(name.ok_or_else(|| fatal(format!("ovsdb error: {path}: clustered database header lacks a name")))?);
    }
    Ok(())
}

fn do_db_version(_ctx: &Context, args: &[String]) -> Result<()> {
    puts(&read_db_schema(&arg_or(args, 1, default_db))?.version);
    Ok(())
}

fn do_db_cksum(_ctx: &Context, args: &[String]) -> Result<()> {
    puts(&read_db_schema(&arg_or(args, 1, default_db))?.cksum);
    Ok(())
}

/// Exits with status 2 unless the file's magic is `magic`.
fn db_has_magic(path: &str, magic: &str) -> Result<()> {
    let reader = LogReader::open(path, &[dbfile::STANDALONE, dbfile::CLUSTERED]).map_err(fatal)?;
    if reader.magic() == magic {
        Ok(())
    } else {
        Err(cli::Fatal {
            message: None,
            status: 2,
        })
    }
}

fn do_db_is_clustered(_ctx: &Context, args: &[String]) -> Result<()> {
    db_has_magic(&args[1], dbfile::CLUSTERED)
}

fn do_db_is_standalone(_ctx: &Context, args: &[String]) -> Result<()> {
    db_has_magic(&args[1], dbfile::STANDALONE)
}

fn do_schema_name(_ctx: &Context, args: &[String]) -> Result<()> {
    puts(&read_schema_file(&arg_or(args, 1, default_schema))?.name);
    Ok(())
}

fn do_schema_version(_ctx: &Context, args: &[String]) -> Result<()> {
    puts(&read_schema_file(&arg_or(args, 1, default_schema))?.version);
    Ok(())
}

fn do_schema_cksum(_ctx: &Context, args: &[String]) -> Result<()> {
    puts(&read_schema_file(&arg_or(args, 1, default_schema))?.cksum);
    Ok(())
}

/// Not in ovsdb-tool: the checksum a schema file should state, as Open
/// vSwitch's build computes it (`build-aux/calculate-schema-cksum`).
fn do_calculate_schema_cksum(_ctx: &Context, args: &[String]) -> Result<()> {
    let path = arg_or(args, 1, default_schema);
    let text = std::fs::read(&path).map_err(|e| fatal(format!("{path}: read failed ({})", cli::strerror(&e))))?;
    puts(&crate::cksum::schema_cksum(&text));
    Ok(())
}

fn do_query(_ctx: &Context, args: &[String]) -> Result<()> {
    transact(args, false)
}

fn do_transact(_ctx: &Context, args: &[String]) -> Result<()> {
    transact(args, true)
}

/// Runs a transaction against the file; with `write`, a commit is appended
/// to it. The result is printed either way.
fn transact(args: &[String], write: bool) -> Result<()> {
    let path = if args.len() >= 3 { args[1].clone() } else { default_db() };
    let text = &args[args.len() - 1];
    let mut opened = open_db(&path, if write { OpenMode::ReadWrite } else { OpenMode::ReadOnly })?;
    let request = Json::parse(text.as_bytes()).map_err(|e| fatal(format!("\"{text}\": {e}")))?;
    let outcome = ovsdb::txn::execute(&opened.db, &request.to_serde(), &ovsdb::txn::ExecContext::simple());
    let (mut results, commit) = match outcome {
        ovsdb::txn::Outcome::Done { results, commit } => (Json::from_serde(&results), commit),
        // A "wait" that is not satisfied now never will be: nothing else
        // changes the file meanwhile.
        ovsdb::txn::Outcome::Blocked { .. } => {
            let e = ovsdb::Error::new(ovsdb::ErrorKind::TimedOut, "\"wait\" timed out");
            (Json::Array(vec![Json::from_serde(&e.to_json())]), None)
        }
    };
    let failure = match commit {
        Some(commit) if write => opened
            .log
            .append(&commit)
            .and_then(|_| opened.log.sync())
            .err()
            .map(|e| e.to_string()),
        // A read-only file cannot take the commit: ovsdb-tool reports the
        // write it could not start (at the end of the file's records).
        Some(_) => Some(format!("{path}: cannot truncate to length {}", opened.log.len())),
        None => None,
    };
    if let (Some(details), Json::Array(a)) = (failure, &mut results) {
        let mut err = Json::object();
        err.put("error", Json::string("I/O error"));
        err.put("details", Json::string(details));
        if !write {
            err.put("io-error", Json::string(cli::errno_text(libc::EINVAL)));
        }
        a.push(err);
    }
    puts(&results.to_text(ovs_json::SORT));
    Ok(())
}

fn do_show_log(ctx: &Context, args: &[String]) -> Result<()> {
    let path = arg_or(args, 1, default_db);
    let mut reader = LogReader::open(&path, &[dbfile::STANDALONE, dbfile::CLUSTERED]).map_err(fatal)?;
    if reader.magic() != dbfile::STANDALONE {
        return Err(fatal(format!(
            "{path}: clustered databases are not supported by this ovsdb-tool"
        )));
    }
    let mut schema: Option<Schema> = None;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut i = 0u32;
    while let Some(json) = reader.read().map_err(fatal)? {
        cli::out(&format!("record {i}:"));
        if i == 0 {
            let s = Schema::from_json(&json).map_err(|e| fatal(data::error_text(&e)))?;
            puts(&format!(
                " \"{}\" schema, version=\"{}\", cksum=\"{}\"",
                s.name, s.version, s.cksum
            ));
            schema = Some(s);
        } else {
            print_change_record(ctx, &json, schema.as_ref(), &mut names);
        }
        cli::out("\n");
        i += 1;
    }
    Ok(())
}

/// One transaction record: its time and comment, and with `-m` the rows
/// it touched (`-mm`: and their values).
fn print_change_record(ctx: &Context, json: &Json, schema: Option<&Schema>, names: &mut HashMap<String, String>) {
    if let Some(Json::Integer(t)) = json.get("_date") {
        // Old files stored seconds.
        let ms = if *t < i32::MAX as i64 { t * 1000 } else { *t };
        cli::out(&format!(" {}", crate::table::format_time_ms(ms)));
    }
    if let Some(Json::String(c)) = json.get("_comment") {
        cli::out(&format!(" \"{c}\""));
    }
    if ctx.verbosity > 0 {
        print_db_changes(ctx, json, schema, names);
    }
}

fn print_db_changes(ctx: &Context, json: &Json, schema: Option<&Schema>, names: &mut HashMap<String, String>) {
    let Some(tables) = json.as_object() else { return };
    let diff = matches!(tables.get("_is_diff"), Some(Json::True));
    let mut first = true;
    for (table, rows) in tables.iter() {
        let Some(rows) = rows.as_object().filter(|_| !table.starts_with('_')) else {
            continue;
        };
        if first {
            cli::out("\n");
            first = false;
        }
        let table_schema = schema.and_then(|s| s.tables.get(table));
        for (uuid, columns) in rows.iter() {
            let short: String = uuid.chars().take(8).collect();
            let old_name = names.get(uuid).cloned();
            let new_name = columns.get("name").map(|n| n.to_text(ovs_json::SORT));
            let mut line = format!("  table {table}");
            match (&old_name, &new_name) {
                (None, Some(n)) => line += &format!(" insert row {n} ({short}):"),
                (None, None) => line += &format!(" insert row {short}:"),
                (Some(o), _) => line += &format!(" row {o} ({short}){}:", if diff { " diff" } else { "" }),
            }
            puts(&line);
            if let Some(cols) = columns.as_object() {
                if ctx.verbosity > 1 {
                    for (column, value) in cols.iter() {
                        let ty = table_schema.and_then(|t| t.columns.get(column)).map(|c| &c.ty);
                        let text = ty
                            .and_then(|ty| {
                                data::datum_from_json(ty, value)
                                    .ok()
                                    .map(|d| ovsdb::display::datum_to_string(&d, ty))
                            })
                            .unwrap_or_else(|| value.to_text(ovs_json::SORT));
                        puts(&format!("    {column}={text}"));
                    }
                }
                match new_name {
                    Some(n) if old_name.as_ref() != Some(&n) => {
                        names.insert(uuid.to_string(), n);
                    }
                    _ if old_name.is_none() => {
                        names.insert(uuid.to_string(), short);
                    }
                    _ => {}
                }
            } else if columns.is_null() {
                puts("    delete row");
                names.remove(uuid);
            }
        }
    }
}

fn do_compare_versions(_ctx: &Context, args: &[String]) -> Result<()> {
    let parse = |s: &str| {
        ovsdb::schema::parse_version(s)
            .ok_or_else(|| fatal(format!("{s}: not an OVSDB version number in format x.y.z")))
    };
    let (a, op, b) = (parse(&args[1])?, args[2].as_str(), parse(&args[3])?);
    let holds = match op {
        "<" => a < b,
        "<=" => a <= b,
        "==" => a == b,
        ">=" => a >= b,
        ">" => a > b,
        "!=" => a != b,
        _ => return Err(fatal(format!("{op}: not a relational operator"))),
    };
    if holds {
        Ok(())
    } else {
        Err(cli::Fatal {
            message: None,
            status: 2,
        })
    }
}

fn do_help(_ctx: &Context, _args: &[String]) -> Result<()> {
    print_usage();
    Ok(())
}

fn do_list_commands(_ctx: &Context, _args: &[String]) -> Result<()> {
    puts("The available commands are:");
    for c in COMMANDS {
        puts(&format!("  {}", c.name));
    }
    Ok(())
}

fn print_usage() {
    let p = cli::program_name();
    puts(&format!(
        "{p}: Open vSwitch database management utility (rovn, standalone databases)
usage: {p} [OPTIONS] COMMAND [ARG...]
  create [DB [SCHEMA]]          create DB holding SCHEMA and no rows
  compact [DB [DST]]            compact DB in place (or into DST)
  convert [DB [SCHEMA [DST]]]   convert DB to SCHEMA (in place or into DST)
  needs-conversion [DB [SCHEMA]]  \"yes\" if DB's schema differs from SCHEMA
  db-name|db-version|db-cksum [DB]        DB's schema name, version, checksum
  db-is-clustered|db-is-standalone DB     exit status 0 if so, 2 if not
  schema-name|schema-version|schema-cksum [SCHEMA]
  calculate-schema-cksum [SCHEMA]   the checksum SCHEMA should state
  compare-versions A OP B       exit status 0 if version A OP B holds, else 2
  query [DB] TRANSACTION        run TRANSACTION on DB without saving it
  transact [DB] TRANSACTION     run TRANSACTION on DB and save its changes
  [-m]... show-log [DB]         print DB's records (-m rows, -mm values)
The default DB is {}.
The default SCHEMA is {}.
  -m, --more                    more show-log detail
  -h, --help, -V, --version",
        default_db(),
        default_schema()
    ));
}
