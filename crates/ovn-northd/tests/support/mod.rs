//! The oracle: Debian's ovsdb-server and ovn-northd in a private
//! directory, a Northbound topology built with ovn-nbctl, the database
//! files read back with `ovsdb-storage`; and the comparison of what
//! Debian's northd wrote with what rovn's compiler wants, table by table,
//! flows compared after canonical printing by `ovn-lflow`.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use ovn_lflow::symtab::SymbolTable;
use ovn_northd::compile::Compiler;
use ovn_northd::nb::Source;
use ovsdb::Uuid;
use ovsdb::atom::Atom;
use ovsdb::db::Database;
use ovsdb::row::Row;
use ovsdb::schema::TableSchema;
use sandbox::db::{self, Schema};
use sandbox::process::{DaemonSpec, Registry, Unixctl};
use sandbox::tool;

pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Debian's ovsdb-server with empty Northbound and Southbound databases
/// in a private directory (`nb/`, `sb/`), stopped when the registry drops.
pub fn start_databases(prefix: &str) -> (Registry, tempfile::TempDir) {
    let server = tool::debian_program("ovsdb-server").expect("ovsdb-server");
    start_databases_with(prefix, &server, None)
}

/// Like [`start_databases`], served by `server` (Debian's ovsdb-server or
/// rovsdb-server: same command line), the Northbound holding `nb` when
/// given: written as one snapshot record by `ovsdb-storage`, as if loaded
/// and compacted, so that a large Northbound costs no transaction.
pub fn start_databases_with(
    prefix: &str,
    server: &std::path::Path,
    nb: Option<&Database>,
) -> (Registry, tempfile::TempDir) {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("temp dir");
    let mut registry = Registry::default();
    for (name, schema) in [("nb", Schema::Northbound), ("sb", Schema::Southbound)] {
        let d = dir.path().join(name);
        let file = match (schema, nb) {
            (Schema::Northbound, Some(nb)) => {
                std::fs::create_dir_all(&d).expect("database directory");
                let file = d.join(format!("{}.db", schema.stem()));
                ovsdb_storage::log::write_database(&file, nb, None).expect("write Northbound");
                file
            }
            _ => db::create(&d, schema, TIMEOUT).expect("create database"),
        };
        db::start_server(&mut registry, name, server, &d, &[file], TIMEOUT).expect("start database server");
    }
    (registry, dir)
}

/// A northd (Debian's or rovn's: same command line) in `DIR/northd`,
/// registered as "northd".
pub fn northd_spec(program: PathBuf, dir: &std::path::Path, nb: &str, sb: &str) -> DaemonSpec {
    DaemonSpec {
        name: "northd".into(),
        program,
        dir: dir.join("northd"),
        stem: "ovn-northd".into(),
        args: vec![
            format!("--ovnnb-db={nb}").into(),
            format!("--ovnsb-db={sb}").into(),
            "-vconsole:off".into(),
        ],
        unixctl: Unixctl::Explicit,
    }
}

/// Debian's databases and northd.
pub struct Debian {
    /// Dropped first: daemons stop before their directory goes.
    registry: Registry,
    dir: tempfile::TempDir,
}

impl Debian {
    pub fn start() -> Debian {
        let (mut registry, dir) = start_databases("northd-");
        let nb = format!("unix:{}", db::socket(&dir.path().join("nb")).display());
        let sb = format!("unix:{}", db::socket(&dir.path().join("sb")).display());
        let program = tool::debian_program("ovn-northd").expect("ovn-northd");
        registry
            .start(northd_spec(program, dir.path(), &nb, &sb))
            .expect("start ovn-northd");
        let d = Debian { registry, dir };
        d.sync();
        d
    }

    fn remote(&self, name: &str) -> String {
        format!("unix:{}", db::socket(&self.dir.path().join(name)).display())
    }

    /// One ovn-nbctl command (arguments as a list).
    pub fn nbctl(&self, args: &[&str]) -> String {
        tool::ctl("ovn-nbctl", &self.remote("nb"), args, TIMEOUT)
            .unwrap_or_else(|e| panic!("ovn-nbctl {args:?}: {e:#}"))
    }

    pub fn sbctl(&self, args: &[&str]) -> String {
        tool::ctl("ovn-sbctl", &self.remote("sb"), args, TIMEOUT)
            .unwrap_or_else(|e| panic!("ovn-sbctl {args:?}: {e:#}"))
    }

    /// One Northbound transaction (operations in RFC 7047 JSON) through
    /// Debian's ovsdb-client; the server's error if it refused it.
    pub fn nb_transact(&self, ops: &[serde_json::Value]) -> Result<(), String> {
        let mut params = vec![serde_json::json!("OVN_Northbound")];
        params.extend(ops.iter().cloned());
        let client = tool::debian_program("ovsdb-client").map_err(|e| e.to_string())?;
        let mut cmd = std::process::Command::new(client);
        cmd.arg("transact")
            .arg(self.remote("nb"))
            .arg(serde_json::Value::Array(params).to_string());
        let out = tool::run(&mut cmd, TIMEOUT).map_err(|e| format!("{e:#}"))?;
        let reply: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
        match reply
            .as_array()
            .and_then(|r| r.iter().find(|x| x.get("error").is_some()))
        {
            Some(e) => Err(e.to_string()),
            None => Ok(()),
        }
    }

    /// Runs a script: one ovn-nbctl command per line, arguments separated
    /// by `|` so that they may hold spaces.
    pub fn script(&self, lines: &[&str]) {
        for l in lines {
            let args: Vec<String> = l.split('|').map(|a| self.expand(a)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.nbctl(&args);
        }
    }

    /// Replaces `{uuid:TABLE:NAME}` in an argument by the UUID of the row
    /// of TABLE named NAME.
    fn expand(&self, arg: &str) -> String {
        let mut out = arg.to_string();
        while let Some(start) = out.find("{uuid:") {
            let Some(len) = out[start..].find('}') else { break };
            let spec = out[start + 6..start + len].to_string();
            let (table, name) = spec.split_once(':').expect("{uuid:TABLE:NAME}");
            let uuid = self.nbctl(&["--bare", "--columns=_uuid", "find", table, &format!("name={name}")]);
            out.replace_range(start..start + len + 1, uuid.trim());
        }
        out
    }

    /// Waits until northd has processed the Northbound contents.
    pub fn sync(&self) {
        self.nbctl(&["--wait=sb", "sync"]);
    }

    /// Like [`Debian::sync`] within `timeout`; false if northd did not
    /// get there (its Southbound transactions keep failing, say).
    pub fn try_sync(&self, timeout: Duration) -> bool {
        tool::ctl("ovn-nbctl", &self.remote("nb"), &["--wait=sb", "sync"], timeout).is_ok()
    }

    fn file(&self, name: &str, stem: &str) -> PathBuf {
        self.dir.path().join(name).join(format!("{stem}.db"))
    }

    pub fn nb_db(&self) -> Database {
        ovsdb_storage::log::Log::open(self.file("nb", "ovn-nb"), ovsdb_storage::log::OpenMode::ReadOnly)
            .expect("read nb")
            .db
    }

    pub fn sb_db(&self) -> Database {
        ovsdb_storage::log::Log::open(self.file("sb", "ovn-sb"), ovsdb_storage::log::OpenMode::ReadOnly)
            .expect("read sb")
            .db
    }

    pub fn northd_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("northd").join("ovn-northd.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn check_running(&mut self) {
        self.registry.check_running().expect("daemons running");
    }
}

// ---------------------------------------------------------------------------
// Reading rows generically.

pub struct Rows<'a> {
    pub ts: &'a TableSchema,
    pub rows: Vec<&'a Row>,
}

pub fn rows<'a>(db: &'a Database, table: &str) -> Rows<'a> {
    let (ts, rows) = db.rows(table).unwrap_or_else(|| panic!("no table {table}"));
    Rows { ts, rows }
}

pub fn col<'a>(ts: &TableSchema, row: &'a Row, name: &str) -> &'a ovsdb::Datum {
    row.field(ts.column_id(name).unwrap_or_else(|| panic!("no column {name}")))
}

pub fn s(a: &Atom) -> String {
    match a {
        Atom::String(s) => s.to_string(),
        Atom::Uuid(u) => u.to_string(),
        Atom::Integer(i) => i.to_string(),
        Atom::Boolean(b) => b.to_string(),
        Atom::Real(r) => r.to_string(),
    }
}

/// A datum as text: `a,b,c` for sets, `k=v,...` for maps, with UUIDs of
/// known rows replaced by names.
pub fn text(d: &ovsdb::Datum, names: &BTreeMap<Uuid, String>) -> String {
    let atom = |a: &Atom| match a {
        Atom::Uuid(u) => names.get(u).cloned().unwrap_or_else(|| format!("<{}>", u)),
        a => s(a),
    };
    match d {
        ovsdb::Datum::Set(v) => {
            let mut x: Vec<String> = v.iter().map(atom).collect();
            x.sort();
            x.join(",")
        }
        ovsdb::Datum::Map(v) => v
            .iter()
            .map(|(k, v)| format!("{}={}", atom(k), atom(v)))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// A string map as [`text`] prints a map column.
pub fn smap_text(m: &BTreeMap<String, String>) -> String {
    m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

// ---------------------------------------------------------------------------
// Canonical forms.

/// A match printed canonically by ovn-lflow (or as is, marked, if it does
/// not parse).
pub fn canon_match(m: &str) -> String {
    let t = SymbolTable::ovn();
    match ovn_lflow::expr::parse_with(m, t) {
        Ok(e) => e.display(t).to_string(),
        Err(_) => format!("UNPARSED {m}"),
    }
}

pub fn canon_actions(a: &str) -> String {
    let t = SymbolTable::ovn();
    match ovn_lflow::actions::parse_with(a, t) {
        Ok(x) => ovn_lflow::actions::display(&x, t).to_string(),
        Err(_) => format!("UNPARSED {a}"),
    }
}

/// One logical flow on one datapath, every part canonical.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    pub dp: String,
    pub pipeline: String,
    pub table: i64,
    pub priority: i64,
    pub match_: String,
    pub actions: String,
    pub meter: String,
}

impl std::fmt::Display for FlowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} table={} priority={} match=({}) actions=({}){}",
            self.dp,
            self.pipeline,
            self.table,
            self.priority,
            self.match_,
            self.actions,
            if self.meter.is_empty() {
                String::new()
            } else {
                format!(" meter={}", self.meter)
            }
        )
    }
}

/// Datapath UUIDs of a Southbound database to their names.
pub fn dp_names(sb: &Database) -> BTreeMap<Uuid, String> {
    let r = rows(sb, "Datapath_Binding");
    r.rows
        .iter()
        .map(|row| {
            let ids = col(r.ts, row, "external_ids");
            let name = ids.get(&Atom::string("name")).map(s).unwrap_or_default();
            (row.uuid, name)
        })
        .collect()
}

/// Every flow of a Southbound database, datapath groups flattened.
pub fn sb_flows(sb: &Database) -> BTreeMap<FlowKey, usize> {
    let names = dp_names(sb);
    let g = rows(sb, "Logical_DP_Group");
    let groups: BTreeMap<Uuid, Vec<Uuid>> = g
        .rows
        .iter()
        .map(|r| {
            (
                r.uuid,
                col(g.ts, r, "datapaths")
                    .as_set()
                    .iter()
                    .filter_map(Atom::as_uuid)
                    .collect(),
            )
        })
        .collect();
    let f = rows(sb, "Logical_Flow");
    let mut out = BTreeMap::new();
    for row in &f.rows {
        let mut dps: Vec<Uuid> = col(f.ts, row, "logical_datapath")
            .as_set()
            .iter()
            .filter_map(Atom::as_uuid)
            .collect();
        if let Some(g) = col(f.ts, row, "logical_dp_group")
            .as_set()
            .first()
            .and_then(Atom::as_uuid)
        {
            dps.extend(groups.get(&g).cloned().unwrap_or_default());
        }
        let m = canon_match(&s(col(f.ts, row, "match").as_set().first().expect("match")));
        let a = canon_actions(&s(col(f.ts, row, "actions").as_set().first().expect("actions")));
        for dp in dps {
            let k = FlowKey {
                dp: names.get(&dp).cloned().unwrap_or_else(|| dp.to_string()),
                pipeline: s(col(f.ts, row, "pipeline").as_set().first().expect("pipeline")),
                table: col(f.ts, row, "table_id")
                    .as_set()
                    .first()
                    .and_then(Atom::as_integer)
                    .unwrap_or(-1),
                priority: col(f.ts, row, "priority")
                    .as_set()
                    .first()
                    .and_then(Atom::as_integer)
                    .unwrap_or(-1),
                match_: m.clone(),
                actions: a.clone(),
                meter: col(f.ts, row, "controller_meter")
                    .as_set()
                    .first()
                    .map(s)
                    .unwrap_or_default(),
            };
            *out.entry(k).or_default() += 1;
        }
    }
    out
}

/// Every flow rovn's compiler wants, datapath groups flattened.
pub fn our_flows(c: &Compiler) -> BTreeMap<FlowKey, usize> {
    let mut out = BTreeMap::new();
    for (f, e) in c.desired().flows.iter() {
        let m = canon_match(&f.match_);
        let a = canon_actions(&f.actions);
        for dp in e.datapaths() {
            let name = c
                .northbound()
                .logical_switches
                .get(dp)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| dp.to_string());
            let k = FlowKey {
                dp: name,
                pipeline: f.stage.pipeline().name().to_string(),
                table: i64::from(f.stage.table()),
                priority: i64::from(f.priority),
                match_: m.clone(),
                actions: a.clone(),
                meter: f.controller_meter.as_deref().unwrap_or("").to_string(),
            };
            *out.entry(k).or_default() += 1;
        }
    }
    out
}

/// A table's rows by a key, each row as column → text.
pub type TableView = BTreeMap<String, BTreeMap<String, String>>;

/// Differences between two views of one table.
pub fn diff_views(what: &str, theirs: &TableView, ours: &TableView, out: &mut Vec<String>) {
    for (k, t) in theirs {
        match ours.get(k) {
            None => out.push(format!("{what} {k}: missing (Debian has {t:?})")),
            Some(o) => {
                for (c, tv) in t {
                    let ov = o.get(c).cloned().unwrap_or_default();
                    if *tv != ov {
                        out.push(format!("{what} {k}: column {c}: Debian {tv:?}, rovn {ov:?}"));
                    }
                }
                for (c, ov) in o {
                    if !t.contains_key(c) {
                        out.push(format!("{what} {k}: column {c}: Debian has none, rovn {ov:?}"));
                    }
                }
            }
        }
    }
    for k in ours.keys() {
        if !theirs.contains_key(k) {
            out.push(format!("{what} {k}: extra (rovn has {:?})", ours[k]));
        }
    }
}

/// The outcome of comparing one topology.
#[derive(Default)]
pub struct Comparison {
    pub flows_matched: usize,
    pub flows_missing: Vec<String>,
    pub flows_extra: Vec<String>,
    /// Debian's flows that ovn-controller cannot parse (so they forward
    /// nothing) and rovn does not write.
    pub flows_unparseable: Vec<String>,
    pub tables: Vec<String>,
}

impl Comparison {
    pub fn is_clean(&self) -> bool {
        self.flows_missing.is_empty() && self.flows_extra.is_empty() && self.tables.is_empty()
    }

    pub fn summary(&self, name: &str) -> String {
        format!(
            "{name}: flows matched {}, missing {}, extra {}{}; other table differences {}",
            self.flows_matched,
            self.flows_missing.len(),
            self.flows_extra.len(),
            if self.flows_unparseable.is_empty() {
                String::new()
            } else {
                format!(
                    " (Debian's unparseable flows left out: {})",
                    self.flows_unparseable.len()
                )
            },
            self.tables.len()
        )
    }

    pub fn details(&self) -> String {
        let mut s = String::new();
        for m in &self.flows_missing {
            s.push_str(&format!("  missing: {m}\n"));
        }
        for m in &self.flows_extra {
            s.push_str(&format!("  extra:   {m}\n"));
        }
        for m in &self.tables {
            s.push_str(&format!("  table:   {m}\n"));
        }
        for m in &self.flows_unparseable {
            s.push_str(&format!("  left out (does not parse): {m}\n"));
        }
        s
    }
}

fn multiset_diff(
    theirs: &BTreeMap<FlowKey, usize>,
    ours: &BTreeMap<FlowKey, usize>,
    only_dps: Option<&BTreeSet<String>>,
    cmp: &mut Comparison,
) {
    let keep = |k: &FlowKey| only_dps.is_none_or(|s| s.contains(&k.dp));
    for (k, n) in theirs.iter().filter(|(k, _)| keep(k)) {
        let m = ours.get(k).copied().unwrap_or(0);
        cmp.flows_matched += (*n).min(m);
        let unparseable = k.match_.starts_with("UNPARSED") || k.actions.starts_with("UNPARSED");
        for _ in m..*n {
            if unparseable {
                cmp.flows_unparseable.push(k.to_string());
            } else {
                cmp.flows_missing.push(k.to_string());
            }
        }
    }
    for (k, m) in ours.iter().filter(|(k, _)| keep(k)) {
        let n = theirs.get(k).copied().unwrap_or(0);
        for _ in n..*m {
            cmp.flows_extra.push(k.to_string());
        }
    }
}

/// Compares Debian's Southbound (and Northbound write-backs) with what the
/// compiler, run on the same Northbound, wants. Flows are compared on
/// logical switches only.
pub fn compare(debian: &Debian) -> (Comparison, Compiler) {
    let nb = debian.nb_db();
    let sb = debian.sb_db();
    let mut c = Compiler::new(1);
    c.load(&nb, &sb);
    let switches: BTreeSet<String> = c
        .northbound()
        .logical_switches
        .iter()
        .map(|(_, l)| l.name.clone())
        .collect();
    let mut cmp = Comparison::default();
    multiset_diff(&sb_flows(&sb), &our_flows(&c), Some(&switches), &mut cmp);
    compare_tables(&c, &nb, &sb, &switches, &mut cmp.tables);
    (cmp, c)
}

fn compare_tables(c: &Compiler, nb: &Database, sb: &Database, switches: &BTreeSet<String>, out: &mut Vec<String>) {
    let mut names = dp_names(sb);
    let d = c.desired();
    let ls_name = |u: &Uuid| {
        c.northbound()
            .logical_switches
            .get(u)
            .map(|l| l.name.clone())
            .unwrap_or_default()
    };
    let pbr = rows(sb, "Port_Binding");
    for r in &pbr.rows {
        names.insert(
            r.uuid,
            s(col(pbr.ts, r, "logical_port").as_set().first().expect("logical_port")),
        );
    }
    let chr = rows(sb, "Chassis");
    for r in &chr.rows {
        names.insert(
            r.uuid,
            format!("chassis:{}", s(col(chr.ts, r, "name").as_set().first().expect("name"))),
        );
    }
    let hag = rows(sb, "HA_Chassis_Group");
    for r in &hag.rows {
        names.insert(r.uuid, s(col(hag.ts, r, "name").as_set().first().expect("name")));
    }
    let chassis_name = |u: &Uuid| names.get(u).cloned().unwrap_or_default();

    // Datapath_Binding.
    let mut theirs = TableView::new();
    let r = rows(sb, "Datapath_Binding");
    for row in &r.rows {
        let name = names[&row.uuid].clone();
        if !switches.contains(&name) {
            continue;
        }
        let mut cols = BTreeMap::new();
        cols.insert("tunnel_key".into(), text(col(r.ts, row, "tunnel_key"), &names));
        cols.insert("external_ids".into(), text(col(r.ts, row, "external_ids"), &names));
        theirs.insert(name, cols);
    }
    let mut ours = TableView::new();
    for (u, db) in &d.datapaths {
        let mut cols = BTreeMap::new();
        cols.insert("tunnel_key".into(), db.tunnel_key.to_string());
        cols.insert("external_ids".into(), smap_text(&db.external_ids));
        ours.insert(ls_name(u), cols);
    }
    diff_views("Datapath_Binding", &theirs, &ours, out);

    // Port_Binding.
    let mut theirs = TableView::new();
    let switch_dps: BTreeSet<Uuid> = r
        .rows
        .iter()
        .filter(|row| switches.contains(&names[&row.uuid]))
        .map(|row| row.uuid)
        .collect();
    for row in &pbr.rows {
        let dp = col(pbr.ts, row, "datapath")
            .as_set()
            .first()
            .and_then(Atom::as_uuid)
            .unwrap_or_default();
        if !switch_dps.contains(&dp) {
            continue;
        }
        let mut cols = BTreeMap::new();
        for cname in [
            "datapath",
            "tunnel_key",
            "type",
            "options",
            "mac",
            "port_security",
            "parent_port",
            "tag",
            "external_ids",
            "nat_addresses",
            "requested_chassis",
            "requested_additional_chassis",
            "ha_chassis_group",
        ] {
            cols.insert(cname.to_string(), text(col(pbr.ts, row, cname), &names));
        }
        theirs.insert(names[&row.uuid].clone(), cols);
    }
    let mut ours = TableView::new();
    for (n, pb) in &d.port_bindings {
        let mut cols = BTreeMap::new();
        let set = |v: &Vec<String>| {
            let mut v = v.clone();
            v.sort();
            v.join(",")
        };
        let map = smap_text;
        cols.insert("datapath".into(), ls_name(&pb.datapath));
        cols.insert("tunnel_key".into(), pb.tunnel_key.to_string());
        cols.insert("type".into(), pb.type_.clone());
        cols.insert("options".into(), map(&pb.options));
        cols.insert("mac".into(), set(&pb.mac));
        cols.insert("port_security".into(), set(&pb.port_security));
        cols.insert("parent_port".into(), pb.parent_port.clone().unwrap_or_default());
        cols.insert("tag".into(), pb.tag.map(|t| t.to_string()).unwrap_or_default());
        cols.insert("external_ids".into(), map(&pb.external_ids));
        cols.insert("nat_addresses".into(), set(&pb.nat_addresses));
        cols.insert(
            "requested_chassis".into(),
            pb.requested_chassis.map(|u| chassis_name(&u)).unwrap_or_default(),
        );
        let mut rac: Vec<String> = pb.requested_additional_chassis.iter().map(chassis_name).collect();
        rac.sort();
        cols.insert("requested_additional_chassis".into(), rac.join(","));
        cols.insert(
            "ha_chassis_group".into(),
            pb.ha_chassis_group.clone().unwrap_or_default(),
        );
        ours.insert(n.clone(), cols);
    }
    diff_views("Port_Binding", &theirs, &ours, out);

    // Multicast_Group.
    let mut theirs = TableView::new();
    let r = rows(sb, "Multicast_Group");
    for row in &r.rows {
        let dp = col(r.ts, row, "datapath")
            .as_set()
            .first()
            .and_then(Atom::as_uuid)
            .unwrap_or_default();
        if !switch_dps.contains(&dp) {
            continue;
        }
        let key = format!(
            "{}/{}",
            names[&dp],
            s(col(r.ts, row, "name").as_set().first().expect("name"))
        );
        let mut cols = BTreeMap::new();
        cols.insert("tunnel_key".into(), text(col(r.ts, row, "tunnel_key"), &names));
        cols.insert("ports".into(), text(col(r.ts, row, "ports"), &names));
        theirs.insert(key, cols);
    }
    let mut ours = TableView::new();
    for ((dp, name), g) in &d.multicast_groups {
        let mut cols = BTreeMap::new();
        cols.insert("tunnel_key".into(), g.tunnel_key.to_string());
        let mut p = g.ports.clone();
        p.sort();
        cols.insert("ports".into(), p.join(","));
        ours.insert(format!("{}/{name}", ls_name(dp)), cols);
    }
    diff_views("Multicast_Group", &theirs, &ours, out);

    // Address_Set and Port_Group: name → members.
    for (table, member_col, ours_map) in [
        ("Address_Set", "addresses", &d.address_sets),
        ("Port_Group", "ports", &d.port_groups),
    ] {
        let mut theirs = TableView::new();
        let r = rows(sb, table);
        for row in &r.rows {
            let name = s(col(r.ts, row, "name").as_set().first().expect("name"));
            theirs.insert(
                name,
                BTreeMap::from([(member_col.to_string(), text(col(r.ts, row, member_col), &names))]),
            );
        }
        let mut ours = TableView::new();
        for (n, v) in ours_map {
            let v: Vec<String> = v.iter().cloned().collect();
            ours.insert(n.clone(), BTreeMap::from([(member_col.to_string(), v.join(","))]));
        }
        // Port groups are named after datapath keys; compare by key.
        diff_views(table, &theirs, &ours, out);
    }

    // IP_Multicast.
    let mut theirs = TableView::new();
    let r = rows(sb, "IP_Multicast");
    for row in &r.rows {
        let dp = col(r.ts, row, "datapath")
            .as_set()
            .first()
            .and_then(Atom::as_uuid)
            .unwrap_or_default();
        let mut cols = BTreeMap::new();
        for cname in [
            "enabled",
            "querier",
            "table_size",
            "idle_timeout",
            "query_interval",
            "query_max_resp",
            "eth_src",
            "ip4_src",
            "ip6_src",
        ] {
            cols.insert(cname.to_string(), text(col(r.ts, row, cname), &names));
        }
        theirs.insert(names.get(&dp).cloned().unwrap_or_default(), cols);
    }
    let mut ours = TableView::new();
    for (dp, m) in &d.ip_multicast {
        let mut cols = BTreeMap::new();
        cols.insert("enabled".into(), m.enabled.to_string());
        cols.insert("querier".into(), m.querier.to_string());
        cols.insert("table_size".into(), m.table_size.to_string());
        cols.insert("idle_timeout".into(), m.idle_timeout.to_string());
        cols.insert("query_interval".into(), m.query_interval.to_string());
        cols.insert("query_max_resp".into(), m.query_max_resp.to_string());
        // Unset means "leave what is there" (northd never clears them).
        let name = ls_name(dp);
        for (k, v) in [
            ("eth_src", &m.eth_src),
            ("ip4_src", &m.ip4_src),
            ("ip6_src", &m.ip6_src),
        ] {
            let there = theirs.get(&name).and_then(|c| c.get(k)).cloned().unwrap_or_default();
            cols.insert(k.into(), v.clone().unwrap_or(there));
        }
        ours.insert(name, cols);
    }
    diff_views("IP_Multicast", &theirs, &ours, out);

    // DNS.
    let mut theirs = TableView::new();
    let r = rows(sb, "DNS");
    for row in &r.rows {
        let id = col(r.ts, row, "external_ids")
            .get(&Atom::string("dns_id"))
            .map(s)
            .unwrap_or_default();
        let mut cols = BTreeMap::new();
        cols.insert("datapaths".into(), text(col(r.ts, row, "datapaths"), &names));
        cols.insert("records".into(), text(col(r.ts, row, "records"), &names));
        theirs.insert(id, cols);
    }
    let mut ours = TableView::new();
    for (u, dns) in &d.dns {
        let mut dps: Vec<String> = dns.datapaths.iter().map(ls_name).collect();
        dps.sort();
        let mut cols = BTreeMap::new();
        cols.insert("datapaths".into(), dps.join(","));
        cols.insert("records".into(), smap_text(&dns.records));
        ours.insert(u.to_string(), cols);
    }
    diff_views("DNS", &theirs, &ours, out);

    // Meter.
    let mut theirs = TableView::new();
    let r = rows(sb, "Meter");
    let b = rows(sb, "Meter_Band");
    let bands: BTreeMap<Uuid, String> = b
        .rows
        .iter()
        .map(|row| {
            (
                row.uuid,
                format!(
                    "{}:{}:{}",
                    text(col(b.ts, row, "action"), &names),
                    text(col(b.ts, row, "rate"), &names),
                    text(col(b.ts, row, "burst_size"), &names)
                ),
            )
        })
        .collect();
    for row in &r.rows {
        let mut bs: Vec<String> = col(r.ts, row, "bands")
            .as_set()
            .iter()
            .filter_map(Atom::as_uuid)
            .map(|u| bands[&u].clone())
            .collect();
        bs.sort();
        let mut cols = BTreeMap::new();
        cols.insert("unit".into(), text(col(r.ts, row, "unit"), &names));
        cols.insert("bands".into(), bs.join(","));
        theirs.insert(s(col(r.ts, row, "name").as_set().first().expect("name")), cols);
    }
    let mut ours = TableView::new();
    for (n, m) in &d.meters {
        let mut bs: Vec<String> = m.bands.iter().map(|(a, r, b)| format!("{a}:{r}:{b}")).collect();
        bs.sort();
        let mut cols = BTreeMap::new();
        cols.insert("unit".into(), m.unit.clone());
        cols.insert("bands".into(), bs.join(","));
        ours.insert(n.clone(), cols);
    }
    diff_views("Meter", &theirs, &ours, out);

    // Load_Balancer.
    let mut theirs = TableView::new();
    let r = rows(sb, "Load_Balancer");
    let g = rows(sb, "Logical_DP_Group");
    let groups: BTreeMap<Uuid, String> = g
        .rows
        .iter()
        .map(|row| (row.uuid, text(col(g.ts, row, "datapaths"), &names)))
        .collect();
    for row in &r.rows {
        let id = col(r.ts, row, "external_ids")
            .get(&Atom::string("lb_id"))
            .map(s)
            .unwrap_or_default();
        let mut cols = BTreeMap::new();
        for c in ["name", "vips", "protocol", "options"] {
            cols.insert(c.to_string(), text(col(r.ts, row, c), &names));
        }
        let group = col(r.ts, row, "datapath_group")
            .as_set()
            .first()
            .and_then(Atom::as_uuid);
        cols.insert(
            "datapaths".into(),
            group.and_then(|g| groups.get(&g).cloned()).unwrap_or_default(),
        );
        theirs.insert(id, cols);
    }
    let mut ours = TableView::new();
    for (u, lb) in &d.load_balancers {
        let mut cols = BTreeMap::new();
        let map = smap_text;
        cols.insert("name".into(), lb.name.clone());
        cols.insert("vips".into(), map(&lb.vips));
        cols.insert("protocol".into(), lb.protocol.clone().unwrap_or_default());
        cols.insert("options".into(), map(&lb.options));
        let mut dps: Vec<String> = lb.datapaths.iter().map(ls_name).collect();
        dps.sort();
        cols.insert("datapaths".into(), dps.join(","));
        ours.insert(u.to_string(), cols);
    }
    diff_views("Load_Balancer", &theirs, &ours, out);

    // SB_Global options.
    let r = rows(sb, "SB_Global");
    if let Some(row) = r.rows.first() {
        let theirs = TableView::from([(
            "SB_Global".to_string(),
            BTreeMap::from([("options".to_string(), text(col(r.ts, row, "options"), &names))]),
        )]);
        let o = smap_text(&d.sb_global_options);
        let ours = TableView::from([("SB_Global".to_string(), BTreeMap::from([("options".to_string(), o)]))]);
        diff_views("SB_Global", &theirs, &ours, out);
    }

    // Northbound write-backs.
    let r = rows(nb, "NB_Global");
    if let Some(row) = r.rows.first() {
        let theirs = TableView::from([(
            "NB_Global".to_string(),
            BTreeMap::from([("options".to_string(), text(col(r.ts, row, "options"), &names))]),
        )]);
        let o = smap_text(&d.nb.global_options);
        let ours = TableView::from([("NB_Global".to_string(), BTreeMap::from([("options".to_string(), o)]))]);
        diff_views("NB_Global", &theirs, &ours, out);
    }
    let r = rows(nb, "Logical_Switch_Port");
    let mut theirs = TableView::new();
    let mut ours = TableView::new();
    for row in &r.rows {
        let name = s(col(r.ts, row, "name").as_set().first().expect("name"));
        let mut cols = BTreeMap::new();
        cols.insert(
            "dynamic_addresses".into(),
            text(col(r.ts, row, "dynamic_addresses"), &names),
        );
        cols.insert("tag".into(), text(col(r.ts, row, "tag"), &names));
        theirs.insert(name.clone(), cols);
        let mut cols = BTreeMap::new();
        let dynamic = match d.nb.lsp_dynamic_addresses.get(&row.uuid) {
            Some(v) => v.clone().unwrap_or_default(),
            None => text(col(r.ts, row, "dynamic_addresses"), &names),
        };
        cols.insert("dynamic_addresses".into(), dynamic);
        let tag = d
            .port_bindings
            .get(&name)
            .and_then(|p| p.tag)
            .map(|t| t.to_string())
            .unwrap_or_else(|| text(col(r.ts, row, "tag"), &names));
        cols.insert("tag".into(), tag);
        ours.insert(name, cols);
    }
    diff_views("Logical_Switch_Port", &theirs, &ours, out);
}

/// Runs ovn-lflow's whole check (parse, type-check, normalise with the
/// address sets and port groups, print and parse again) on every flow the
/// compiler wants. Returns the failures.
pub fn lflow_check(c: &Compiler) -> Vec<String> {
    let d = c.desired();
    let mut south = ovn_lflow::sb::Southbound::default();
    for (dp, key) in d.datapaths.iter().map(|(u, db)| (u.to_string(), db.tunnel_key)) {
        south.datapath_keys.insert(dp, key);
    }
    for (n, addrs) in &d.address_sets {
        south.address_sets.insert(
            n.clone(),
            addrs.iter().filter_map(|a| ovn_lflow::sb::parse_address(a)).collect(),
        );
    }
    for (n, ports) in &d.port_groups {
        south.port_groups.insert(n.clone(), ports.iter().cloned().collect());
    }
    for (i, (f, e)) in d.flows.iter().enumerate() {
        south.flows.push(ovn_lflow::sb::LogicalFlow {
            uuid: i.to_string(),
            pipeline: f.stage.pipeline().name().to_string(),
            table_id: i64::from(f.stage.table()),
            priority: i64::from(f.priority),
            match_: f.match_.to_string(),
            actions: f.actions.to_string(),
            datapaths: e.datapaths().map(|u| u.to_string()).collect(),
        });
    }
    let report = ovn_lflow::sb::check(SymbolTable::ovn(), &south);
    report
        .failures
        .iter()
        .map(|f| {
            format!(
                "{:?} `{}` / `{}`: {}",
                f.stage, f.flow.match_, f.flow.actions, f.message
            )
        })
        .collect()
}
