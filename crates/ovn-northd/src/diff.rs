//! The diff step: the desired Southbound contents ([`Desired`]) against
//! the database as it is, turned into the operations of one transaction
//! (RFC 7047 `insert`/`update`/`delete`), and the same for what northd
//! writes back into the Northbound database.
//!
//! A [`Differ`] keeps an index of the Southbound rows it compares with
//! (logical flows by content, datapath groups by members, datapaths by
//! their switch), updated from the rows the replica reports changed, so
//! that an incremental run looks only at the keys the compiler marked
//! dirty ([`Dirty`]) plus the rows that changed under it. Columns northd
//! does not own (a binding's `chassis`, `up` once set...) are never
//! written.

use std::io::Write as _;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher as _;
use std::sync::Arc;

use ovsdb::Uuid;
use ovsdb::atom::Atom;
use ovsdb::datum::Datum;
use ovsdb::json;
use ovsdb::db::{Database, UuidMap};
use ovsdb::row::Row;
use ovsdb::schema::TableSchema;
use serde_json::{Value as Json, json};

use crate::compile::Dirty;
use crate::error::DiffError;
use crate::flow::{DpId, Flow, FlowEntry};
use crate::nb::Smap;
use crate::sb::Desired;
use crate::switch::dhcp::{DHCPV4_OPTIONS, DHCPV6_OPTIONS};

// Maps and sets keyed by what northd computes (flows, names, UUIDs) hash
// with the quick hasher, not the DoS-resistant default.
use ovsdb::db::{FastMap as HashMap, FastSet as HashSet};

/// Permissions northd grants ovn-controller (`RBAC_Role` "ovn-controller"):
/// table, authorization columns, insert/delete allowed, updatable columns.
pub const RBAC_PERMISSIONS: &[(&str, &[&str], bool, &[&str])] = &[
    ("BFD", &[""], false, &["status"]),
    (
        "Chassis",
        &["name"],
        true,
        &[
            "encaps",
            "external_ids",
            "nb_cfg",
            "other_config",
            "transport_zones",
            "vtep_logical_switches",
        ],
    ),
    (
        "Chassis_Private",
        &["name"],
        true,
        &["chassis", "external_ids", "nb_cfg", "nb_cfg_timestamp"],
    ),
    (
        "Controller_Event",
        &[""],
        true,
        &["chassis", "event_info", "event_type", "seq_num"],
    ),
    ("Encap", &["chassis_name"], true, &["ip", "options", "type"]),
    ("FDB", &[""], true, &["dp_key", "mac", "port_key"]),
    ("IGMP_Group", &[""], true, &["address", "chassis", "datapath", "ports"]),
    (
        "MAC_Binding",
        &[""],
        true,
        &["datapath", "ip", "logical_port", "mac", "timestamp"],
    ),
    (
        "Port_Binding",
        &[""],
        false,
        &[
            "additional_chassis",
            "additional_encap",
            "chassis",
            "encap",
            "options",
            "up",
            "virtual_parent",
        ],
    ),
    ("Service_Monitor", &[""], false, &["status"]),
];

/// The content that identifies a Southbound logical flow apart from its
/// datapaths.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FlowContent {
    pipeline: Arc<str>,
    table: i64,
    priority: i64,
    match_: Arc<str>,
    actions: Arc<str>,
    meter: Option<Arc<str>>,
}

impl FlowContent {
    /// Shares the flow's strings (and the Southbound rows' when read
    /// from them): a first compile has 30,000 of each.
    fn of(f: &Flow) -> FlowContent {
        FlowContent {
            pipeline: ovsdb::intern::intern(f.stage.pipeline().name()),
            table: i64::from(f.stage.table()),
            priority: i64::from(f.priority),
            match_: Arc::clone(&f.match_),
            actions: Arc::clone(&f.actions),
            meter: f.controller_meter.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FlowRow {
    content: FlowContent,
    datapath: Option<Uuid>,
    group: Option<Uuid>,
    tags: Datum,
    stage_name: Option<String>,
}

/// What the differ knows of the Southbound database.
#[derive(Clone, Debug, Default)]
struct SbIndex {
    flows: HashMap<FlowContent, BTreeSet<Uuid>>,
    flow_rows: UuidMap<FlowRow>,
    groups: UuidMap<BTreeSet<Uuid>>,
    group_by_set: HashMap<Vec<Uuid>, BTreeSet<Uuid>>,
    /// Datapath_Binding: Northbound switch or router → Southbound rows.
    dp_by_nb: HashMap<Uuid, BTreeSet<Uuid>>,
    nb_of_dp: UuidMap<Uuid>,
    /// Port_Binding: `logical_port` of each row.
    pb_names: UuidMap<String>,
}

fn col<'a>(ts: &TableSchema, row: &'a Row, name: &'static str) -> Result<&'a Datum, DiffError> {
    let id = ts.column_id(name).ok_or(DiffError::NoColumn {
        table: "?",
        column: name,
    })?;
    Ok(row.field(id))
}

fn str_of(d: &Datum) -> String {
    match d.as_set().first() {
        Some(Atom::String(s)) => s.to_string(),
        _ => String::new(),
    }
}

/// A string column's value, sharing the row's string.
fn arc_of(d: &Datum) -> Arc<str> {
    match d.as_set().first() {
        Some(Atom::String(s)) => Arc::clone(s),
        _ => ovsdb::intern::intern(""),
    }
}

fn int_of(d: &Datum) -> i64 {
    d.as_set().first().and_then(Atom::as_integer).unwrap_or(0)
}

fn uuid_of(d: &Datum) -> Option<Uuid> {
    d.as_set().first().and_then(Atom::as_uuid)
}

fn table<'a>(db: &'a Database, name: &'static str) -> Result<(&'a TableSchema, &'a ovsdb::db::Table), DiffError> {
    let (_, ts, t) = db.table_by_name(name).ok_or_else(|| DiffError::NoTable {
        db: db.schema.name.clone(),
        table: name,
    })?;
    Ok((ts, t))
}

impl SbIndex {
    fn read_flow(ts: &TableSchema, row: &Row) -> Result<FlowRow, DiffError> {
        let meter = col(ts, row, "controller_meter")?;
        Ok(FlowRow {
            content: FlowContent {
                pipeline: arc_of(col(ts, row, "pipeline")?),
                table: int_of(col(ts, row, "table_id")?),
                priority: int_of(col(ts, row, "priority")?),
                match_: arc_of(col(ts, row, "match")?),
                actions: arc_of(col(ts, row, "actions")?),
                meter: if meter.is_empty() { None } else { Some(arc_of(meter)) },
            },
            datapath: uuid_of(col(ts, row, "logical_datapath")?),
            group: uuid_of(col(ts, row, "logical_dp_group")?),
            tags: col(ts, row, "tags")?.clone(),
            stage_name: col(ts, row, "external_ids")?
                .get(&Atom::string("stage-name"))
                .and_then(|a| a.as_str().map(str::to_string)),
        })
    }

    fn set_flow(&mut self, uuid: Uuid, row: Option<FlowRow>) {
        if let Some(old) = self.flow_rows.remove(&uuid)
            && let Some(s) = self.flows.get_mut(&old.content)
        {
            s.remove(&uuid);
            if s.is_empty() {
                self.flows.remove(&old.content);
            }
        }
        if let Some(r) = row {
            self.flows.entry(r.content.clone()).or_default().insert(uuid);
            self.flow_rows.insert(uuid, r);
        }
    }

    fn set_group(&mut self, uuid: Uuid, dps: Option<BTreeSet<Uuid>>) {
        if let Some(old) = self.groups.remove(&uuid) {
            let k: Vec<Uuid> = old.into_iter().collect();
            if let Some(s) = self.group_by_set.get_mut(&k) {
                s.remove(&uuid);
                if s.is_empty() {
                    self.group_by_set.remove(&k);
                }
            }
        }
        if let Some(d) = dps {
            self.group_by_set
                .entry(d.iter().copied().collect())
                .or_default()
                .insert(uuid);
            self.groups.insert(uuid, d);
        }
    }

    fn set_dp(&mut self, uuid: Uuid, nb: Option<Uuid>) {
        if let Some(old) = self.nb_of_dp.remove(&uuid)
            && let Some(s) = self.dp_by_nb.get_mut(&old)
        {
            s.remove(&uuid);
            if s.is_empty() {
                self.dp_by_nb.remove(&old);
            }
        }
        if let Some(n) = nb {
            self.dp_by_nb.entry(n).or_default().insert(uuid);
            self.nb_of_dp.insert(uuid, n);
        }
    }
}

fn dp_nb_uuid(ts: &TableSchema, row: &Row) -> Result<Option<Uuid>, DiffError> {
    let ids = col(ts, row, "external_ids")?;
    Ok(ids
        .get(&Atom::string("logical-switch"))
        .or_else(|| ids.get(&Atom::string("logical-router")))
        .and_then(|a| a.as_str())
        .and_then(Uuid::parse))
}

/// Builds one transaction's operations, each written as JSON text (a
/// first compile writes 40,000 rows). New rows get placeholder UUIDs that
/// stand for their `uuid-name` wherever they are referenced.
#[derive(Default)]
struct TxnBuilder {
    ops: Vec<String>,
    /// Placeholders handed out: `rowN` for N below this.
    rows: u64,
}

/// Placeholders never collide with real UUIDs: their upper half would be
/// a version-0 UUID's, and real ones are version 4.
const PLACEHOLDER: u128 = 0xffff_ffff_0000_0000_0000_0000_0000_0000;

impl TxnBuilder {
    fn new_row(&mut self) -> Uuid {
        let u = Uuid(PLACEHOLDER | u128::from(self.rows));
        self.rows += 1;
        u
    }

    /// N of the placeholder's `rowN`.
    fn row_number(&self, u: Uuid) -> Option<u64> {
        let n = u.0 as u64;
        (u.0 >> 64 == PLACEHOLDER >> 64 && n < self.rows).then_some(n)
    }

    fn atom(&self, out: &mut Vec<u8>, a: &Atom) {
        match a {
            Atom::Uuid(u) if let Some(n) = self.row_number(*u) => {
                let _ = write!(out, "[\"named-uuid\",\"row{n}\"]");
            }
            a => json::write_atom(out, a),
        }
    }

    fn datum(&self, out: &mut Vec<u8>, d: &Datum) {
        json::write_datum_with(out, d, |out, a| self.atom(out, a));
    }

    fn row(&self, out: &mut Vec<u8>, cols: &[(&str, Datum)]) {
        let mut row = json::Object::open(out);
        for (c, d) in cols {
            self.datum(row.key(c), d);
        }
        row.close();
    }

    /// Starts an operation: `{"op":OP,"table":TABLE`.
    fn op(op: &str, table: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"{\"op\":");
        json::write_str(&mut out, op);
        out.extend_from_slice(b",\"table\":");
        json::write_str(&mut out, table);
        out
    }

    /// Ends an operation with `"where"` naming one row.
    fn where_uuid(out: &mut Vec<u8>, uuid: Uuid) {
        out.extend_from_slice(b",\"where\":[[\"_uuid\",\"==\",[\"uuid\",\"");
        out.extend_from_slice(&uuid.to_ascii());
        out.extend_from_slice(b"\"]]]");
    }

    fn push(&mut self, out: Vec<u8>) {
        self.ops.push(Self::finish(out));
    }

    /// Ends an operation's text.
    fn finish(mut out: Vec<u8>) -> String {
        out.push(b'}');
        // Written from &strs and ASCII, so always UTF-8.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Inserts a row. Empty values are left out: an empty set or map is
    /// the default of every column that may hold one, and the server
    /// has less to read.
    fn insert(&mut self, table: &str, placeholder: Uuid, cols: &[(&str, Datum)]) {
        self.insert_with(table, placeholder, |tx, row| {
            for (c, d) in cols.iter().filter(|(_, d)| !d.is_empty()) {
                tx.datum(row.key(c), d);
            }
        });
    }

    /// Inserts a row whose columns `cols` writes.
    fn insert_with(&mut self, table: &str, placeholder: Uuid, cols: impl FnOnce(&Self, &mut json::Object)) {
        let out = self.insert_text(table, Some(placeholder), cols);
        self.ops.push(out);
    }

    /// The text of an insert (named by `placeholder`, if any), without
    /// adding it: inserts nothing refers to can be written on several
    /// threads and added afterwards.
    fn insert_text(&self, table: &str, placeholder: Option<Uuid>, cols: impl FnOnce(&Self, &mut json::Object)) -> String {
        let mut out = Self::op("insert", table);
        if let Some(n) = placeholder.and_then(|p| self.row_number(p)) {
            let _ = write!(out, ",\"uuid-name\":\"row{n}\"");
        }
        out.extend_from_slice(b",\"row\":");
        let mut row = json::Object::open(&mut out);
        cols(self, &mut row);
        row.close();
        Self::finish(out)
    }

    /// Makes the rows one key has (normally one) a single row with
    /// `cols`: the first is updated where it differs and the others
    /// deleted, or, with none, a row is inserted with `cols` and
    /// `identity` (the columns that found it).
    fn upsert<'a>(
        &mut self,
        (ts, t): (&TableSchema, &ovsdb::db::Table),
        rows: &[Uuid],
        cols: Vec<(&'a str, Datum)>,
        identity: Vec<(&'a str, Datum)>,
    ) {
        let table = ts.name.as_str();
        match rows.split_first() {
            Some((keep, extra)) => {
                if let Some(row) = t.get(keep) {
                    let c = changed(ts, row, cols);
                    self.update(table, *keep, &c);
                }
                for r in extra {
                    self.delete(table, *r);
                }
            }
            None => {
                let mut cols = cols;
                cols.extend(identity);
                let p = self.new_row();
                self.insert(table, p, &cols);
            }
        }
    }

    fn update(&mut self, table: &str, uuid: Uuid, cols: &[(&str, Datum)]) {
        if cols.is_empty() {
            return;
        }
        let mut out = Self::op("update", table);
        Self::where_uuid(&mut out, uuid);
        out.extend_from_slice(b",\"row\":");
        self.row(&mut out, cols);
        self.push(out);
    }

    /// Fails the transaction unless `table` is empty (for singleton rows
    /// that others may create at the same time).
    fn wait_empty(&mut self, table: &str) {
        let mut out = Self::op("wait", table);
        out.extend_from_slice(b",\"timeout\":0,\"where\":[],\"columns\":[\"_uuid\"],\"until\":\"==\",\"rows\":[]");
        self.push(out);
    }

    /// Removes `delete` from and adds `insert` to a set column.
    fn mutate_set(&mut self, table: &str, uuid: Uuid, column: &str, delete: Vec<Atom>, insert: Vec<Atom>) {
        if delete.is_empty() && insert.is_empty() {
            return;
        }
        let mut out = Self::op("mutate", table);
        Self::where_uuid(&mut out, uuid);
        out.extend_from_slice(b",\"mutations\":[");
        for (mutator, atoms) in [("delete", delete), ("insert", insert)] {
            if atoms.is_empty() {
                continue;
            }
            if out.last() == Some(&b']') {
                out.push(b',');
            }
            out.push(b'[');
            json::write_str(&mut out, column);
            out.push(b',');
            json::write_str(&mut out, mutator);
            out.push(b',');
            self.datum(&mut out, &Datum::Set(atoms.into()));
            out.push(b']');
        }
        out.push(b']');
        self.push(out);
    }

    fn delete(&mut self, table: &str, uuid: Uuid) {
        let mut out = Self::op("delete", table);
        Self::where_uuid(&mut out, uuid);
        self.push(out);
    }
}

fn s(v: &str) -> Atom {
    Atom::string(v)
}

fn dstr(v: &str) -> Datum {
    Datum::scalar(s(v))
}

fn dint(v: i64) -> Datum {
    Datum::scalar(Atom::Integer(v))
}

fn dbool(v: bool) -> Datum {
    Datum::scalar(Atom::Boolean(v))
}

fn dopt_str(v: Option<&str>) -> Datum {
    Datum::set(v.map(s).into_iter().collect())
}

fn dstrs<'a>(v: impl IntoIterator<Item = &'a String>) -> Datum {
    // Datum::set sorts; callers may pass sorted sets or vectors.
    Datum::set(v.into_iter().map(|x| s(x)).collect())
}

fn dmap(m: &Smap) -> Datum {
    Datum::map(m.iter().map(|(k, v)| (s(k), s(v))).collect())
}

fn duuids(v: impl IntoIterator<Item = Uuid>) -> Datum {
    Datum::set(v.into_iter().map(Atom::Uuid).collect())
}

/// The number of the schema index over exactly `columns`.
fn index_id(ts: &TableSchema, columns: &[&str]) -> Option<usize> {
    let ids: Vec<usize> = columns.iter().map(|c| ts.column_id(c)).collect::<Option<_>>()?;
    ts.indexes.iter().position(|ix| *ix == ids)
}

/// The rows of a table that name their Northbound row by UUID in
/// `external_ids:<key>`, grouped by it; rows naming none, or one that is
/// not `wanted`, are deleted.
fn rows_by_id(
    (ts, t): (&TableSchema, &ovsdb::db::Table),
    key: &str,
    wanted: impl Fn(&Uuid) -> bool,
    tx: &mut TxnBuilder,
) -> Result<BTreeMap<Uuid, Vec<Uuid>>, DiffError> {
    let mut out: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (u, row) in &t.rows {
        match col(ts, row, "external_ids")?
            .get(&s(key))
            .and_then(|a| a.as_str())
            .and_then(Uuid::parse)
        {
            Some(id) if wanted(&id) => out.entry(id).or_default().push(*u),
            _ => tx.delete(&ts.name, *u),
        }
    }
    Ok(out)
}

/// The columns of `cols` whose value differs from `row`'s.
fn changed<'a>(ts: &TableSchema, row: &Row, cols: Vec<(&'a str, Datum)>) -> Vec<(&'a str, Datum)> {
    cols.into_iter()
        .filter(|(c, d)| ts.column_id(c).is_none_or(|id| row.field(id) != d))
        .collect()
}

/// Operations for both databases, each an RFC 7047 operation written as
/// JSON text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ops {
    /// `transact` operations on `OVN_Southbound`.
    pub sb: Vec<String>,
    /// `transact` operations on `OVN_Northbound`.
    pub nb: Vec<String>,
}

impl Ops {
    pub fn is_empty(&self) -> bool {
        self.sb.is_empty() && self.nb.is_empty()
    }

    /// The Southbound operations as JSON trees (for tests and logs).
    pub fn sb_json(&self) -> Vec<Json> {
        trees(&self.sb)
    }

    pub fn nb_json(&self) -> Vec<Json> {
        trees(&self.nb)
    }

    /// The `transact` params: `[db-name, op...]`.
    pub fn sb_params(&self) -> Json {
        let mut v = vec![json!("OVN_Southbound")];
        v.extend(self.sb_json());
        Json::Array(v)
    }

    pub fn nb_params(&self) -> Json {
        let mut v = vec![json!("OVN_Northbound")];
        v.extend(self.nb_json());
        Json::Array(v)
    }
}

/// Operations as trees; text that is not JSON stays a string (the
/// server would refuse it the same way).
fn trees(ops: &[String]) -> Vec<Json> {
    ops.iter().map(|op| serde_json::from_str(op).unwrap_or_else(|_| Json::String(op.clone()))).collect()
}

/// Our operations as a client transaction, as they are: their
/// `uuid-name`s and `named-uuid` references go to the server unchanged.
pub fn to_transaction(db: &str, ops: Vec<String>) -> ovsdb_client::Transaction {
    let mut txn = ovsdb_client::Transaction::new(db);
    for op in ops {
        txn.raw_text(op);
    }
    txn
}

/// Keys whose Southbound rows changed under the differ (written by someone
/// else, or by our own transaction): compared again next time.
#[derive(Default, Debug)]
struct Pending {
    flows: HashSet<FlowContent>,
    datapaths: BTreeSet<DpId>,
    port_bindings: BTreeSet<String>,
    /// Small tables compared whole next time.
    tables: BTreeSet<String>,
    all: bool,
}

/// Southbound tables whose rows northd owns, besides those indexed.
const OWNED_TABLES: [&str; 15] = [
    "Load_Balancer",
    "Multicast_Group",
    "Address_Set",
    "Port_Group",
    "IP_Multicast",
    "DNS",
    "Meter",
    "Meter_Band",
    "HA_Chassis_Group",
    "HA_Chassis",
    "SB_Global",
    "DHCP_Options",
    "DHCPv6_Options",
    "RBAC_Role",
    "RBAC_Permission",
];

/// The diff step. See the module documentation.
#[derive(Default)]
pub struct Differ {
    index: SbIndex,
    pending: Pending,
    loaded: bool,
}

impl Differ {
    pub fn new() -> Differ {
        Differ::default()
    }

    /// Reads the whole Southbound database into the index.
    pub fn load(&mut self, sb: &Database) -> Result<(), DiffError> {
        self.index = SbIndex::default();
        let (ts, t) = table(sb, "Logical_Flow")?;
        for (u, r) in &t.rows {
            let fr = SbIndex::read_flow(ts, r)?;
            self.index.set_flow(*u, Some(fr));
        }
        let (ts, t) = table(sb, "Logical_DP_Group")?;
        for (u, r) in &t.rows {
            let d: BTreeSet<Uuid> = col(ts, r, "datapaths")?
                .as_set()
                .iter()
                .filter_map(Atom::as_uuid)
                .collect();
            self.index.set_group(*u, Some(d));
        }
        let (ts, t) = table(sb, "Datapath_Binding")?;
        for (u, r) in &t.rows {
            self.index.set_dp(*u, dp_nb_uuid(ts, r)?);
        }
        let (ts, t) = table(sb, "Port_Binding")?;
        for (u, r) in &t.rows {
            self.index.pb_names.insert(*u, str_of(col(ts, r, "logical_port")?));
        }
        self.loaded = true;
        self.pending.all = true;
        Ok(())
    }

    /// Takes note of Southbound rows that changed (table name, row UUID),
    /// as a replica reports them, including the effects of our own
    /// transactions.
    pub fn sb_changed(&mut self, sb: &Database, changes: &[(&str, Uuid)]) -> Result<(), DiffError> {
        for (t, u) in changes {
            match *t {
                "Logical_Flow" => {
                    let (ts, tab) = table(sb, "Logical_Flow")?;
                    if let Some(old) = self.index.flow_rows.get(u) {
                        self.pending.flows.insert(old.content.clone());
                    }
                    let new = match tab.get(u) {
                        Some(r) => Some(SbIndex::read_flow(ts, r)?),
                        None => None,
                    };
                    if let Some(n) = &new {
                        self.pending.flows.insert(n.content.clone());
                    }
                    self.index.set_flow(*u, new);
                }
                "Logical_DP_Group" => {
                    let (ts, tab) = table(sb, "Logical_DP_Group")?;
                    let new = match tab.get(u) {
                        Some(r) => Some(
                            col(ts, r, "datapaths")?
                                .as_set()
                                .iter()
                                .filter_map(Atom::as_uuid)
                                .collect(),
                        ),
                        None => None,
                    };
                    if self.index.groups.get(u) != new.as_ref() {
                        // Flows using the group now cover other datapaths.
                        for fr in self.index.flow_rows.values() {
                            if fr.group == Some(*u) {
                                self.pending.flows.insert(fr.content.clone());
                            }
                        }
                    }
                    self.index.set_group(*u, new);
                }
                "Datapath_Binding" => {
                    let (ts, tab) = table(sb, "Datapath_Binding")?;
                    if let Some(n) = self.index.nb_of_dp.get(u) {
                        self.pending.datapaths.insert(*n);
                    }
                    let nb = match tab.get(u) {
                        Some(r) => dp_nb_uuid(ts, r)?,
                        None => None,
                    };
                    if let Some(n) = nb {
                        self.pending.datapaths.insert(n);
                    }
                    self.index.set_dp(*u, nb);
                }
                "Port_Binding" => {
                    let (ts, tab) = table(sb, "Port_Binding")?;
                    if let Some(old) = self.index.pb_names.remove(u) {
                        self.pending.port_bindings.insert(old);
                    }
                    if let Some(r) = tab.get(u) {
                        let n = str_of(col(ts, r, "logical_port")?);
                        self.index.pb_names.insert(*u, n.clone());
                        self.pending.port_bindings.insert(n);
                    }
                }
                t if OWNED_TABLES.contains(&t) => {
                    self.pending.tables.insert(t.to_string());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The operations that make `sb` and `nb` hold `desired`. With
    /// `dirty.all` (or after [`Differ::load`]) every row is compared;
    /// otherwise only the dirty keys and the rows reported changed.
    pub fn diff(&mut self, desired: &Desired, dirty: &Dirty, sb: &Database, nb: &Database) -> Result<Ops, DiffError> {
        if !self.loaded {
            self.load(sb)?;
        }
        let pending = std::mem::take(&mut self.pending);
        let all = dirty.all || pending.all;
        let full = |t: &str| all || pending.tables.contains(t);
        let mut tx = TxnBuilder::default();
        let dp_refs = self.datapaths(desired, dirty, &pending, all, sb, &mut tx)?;
        let ha_refs = self.ha_chassis_groups(
            desired,
            dirty,
            full("HA_Chassis_Group") || full("HA_Chassis"),
            sb,
            &mut tx,
        )?;
        let pb_refs = self.port_bindings(desired, dirty, &pending, all, sb, &dp_refs, &ha_refs, &mut tx)?;
        self.multicast_groups(desired, dirty, full("Multicast_Group"), sb, &dp_refs, &pb_refs, &mut tx)?;
        self.flows(desired, dirty, &pending, all, &dp_refs, &mut tx)?;
        self.named_sets(desired, dirty, full("Address_Set"), full("Port_Group"), sb, &mut tx)?;
        self.ip_multicast(desired, dirty, full("IP_Multicast"), sb, &dp_refs, &mut tx)?;
        if full("Load_Balancer") || !dirty.load_balancers.is_empty() {
            self.load_balancers(desired, sb, &dp_refs, &mut tx)?;
        }
        if full("DNS") || dirty.dns {
            self.dns(desired, sb, &dp_refs, &mut tx)?;
        }
        if full("Meter") || full("Meter_Band") || dirty.meters {
            self.meters(desired, sb, &mut tx)?;
        }
        if full("SB_Global") || dirty.global {
            self.sb_global(desired, sb, &mut tx)?;
        }
        if ["DHCP_Options", "DHCPv6_Options", "RBAC_Role", "RBAC_Permission"]
            .iter()
            .any(|t| full(t))
        {
            self.static_tables(sb, &mut tx)?;
        }
        let nb_ops = nb_diff(desired, dirty, all, nb)?;
        Ok(Ops { sb: tx.ops, nb: nb_ops })
    }

    /// Datapath_Binding: one per switch, found by `external_ids`. Returns
    /// every desired switch's row (existing or placeholder).
    fn datapaths(
        &mut self,
        d: &Desired,
        dirty: &Dirty,
        pending: &Pending,
        all: bool,
        sb: &Database,
        tx: &mut TxnBuilder,
    ) -> Result<UuidMap<Uuid>, DiffError> {
        let (ts, t) = table(sb, "Datapath_Binding")?;
        let mut refs = UuidMap::default();
        let keys: BTreeSet<DpId> = if all {
            d.datapaths
                .keys()
                .copied()
                .chain(self.index.dp_by_nb.keys().copied())
                .collect()
        } else {
            dirty
                .datapaths
                .iter()
                .chain(pending.datapaths.iter())
                .copied()
                .collect()
        };
        for (nb, rows) in &self.index.dp_by_nb {
            if let Some(first) = rows.iter().next() {
                refs.insert(*nb, *first);
            }
        }
        let mut deleted = Vec::new();
        for nb in keys {
            let rows: Vec<Uuid> = self
                .index
                .dp_by_nb
                .get(&nb)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            let Some(want) = d.datapaths.get(&nb) else {
                // Only our own kind: routers are not compiled yet.
                for r in rows {
                    if t.get(&r).is_some_and(|row| {
                        col(ts, row, "external_ids").is_ok_and(|e| e.contains_key(&s("logical-switch")))
                    }) {
                        deleted.push(r);
                    }
                }
                refs.remove(&nb);
                continue;
            };
            let cols = vec![
                ("external_ids", dmap(&want.external_ids)),
                ("tunnel_key", dint(want.tunnel_key)),
            ];
            match rows.split_first() {
                Some((keep, extra)) => {
                    if let Some(row) = t.get(keep) {
                        let c = changed(ts, row, cols);
                        tx.update("Datapath_Binding", *keep, &c);
                    }
                    deleted.extend(extra.iter().copied());
                    refs.insert(nb, *keep);
                }
                None => {
                    let p = tx.new_row();
                    tx.insert("Datapath_Binding", p, &cols);
                    refs.insert(nb, p);
                }
            }
        }
        if all {
            // Rows that belong to no switch or router at all.
            for (u, row) in &t.rows {
                if dp_nb_uuid(ts, row)?.is_none() {
                    deleted.push(*u);
                }
            }
        }
        for u in deleted {
            self.delete_datapath(sb, u, tx)?;
        }
        Ok(refs)
    }

    /// Deletes a datapath and every row that refers to it (the diff of
    /// the dirty keys deletes most of them too; deleting twice is harmless
    /// and missing one would fail the whole transaction).
    fn delete_datapath(&mut self, sb: &Database, u: Uuid, tx: &mut TxnBuilder) -> Result<(), DiffError> {
        tx.delete("Datapath_Binding", u);
        for (r, fr) in &self.index.flow_rows {
            if fr.datapath == Some(u) {
                tx.delete("Logical_Flow", *r);
            }
        }
        for t in [
            "MAC_Binding",
            "Static_MAC_Binding",
            "Port_Binding",
            "Multicast_Group",
            "IP_Multicast",
        ] {
            let (ts, tab) = table(sb, t)?;
            for (r, row) in &tab.rows {
                if uuid_of(col(ts, row, "datapath")?) == Some(u) {
                    tx.delete(t, *r);
                }
            }
        }
        Ok(())
    }

    fn ha_chassis_groups(
        &mut self,
        d: &Desired,
        dirty: &Dirty,
        all: bool,
        sb: &Database,
        tx: &mut TxnBuilder,
    ) -> Result<BTreeMap<String, Uuid>, DiffError> {
        let (ts, t) = table(sb, "HA_Chassis_Group")?;
        let (hts, ht) = table(sb, "HA_Chassis")?;
        let (cts, ct) = table(sb, "Chassis")?;
        let mut refs = BTreeMap::new();
        let mut existing: BTreeMap<String, Uuid> = BTreeMap::new();
        for (u, row) in &t.rows {
            existing.entry(str_of(col(ts, row, "name")?)).or_insert(*u);
        }
        let chassis_by_name: BTreeMap<String, Uuid> = ct
            .rows
            .iter()
            .map(|(u, r)| Ok((str_of(col(cts, r, "name")?), *u)))
            .collect::<Result<_, DiffError>>()?;
        for (name, u) in &existing {
            refs.insert(name.clone(), *u);
        }
        if !(all || dirty.ha_chassis_groups) {
            return Ok(refs);
        }
        for (name, g) in &d.ha_chassis_groups {
            // Members as they should be: (chassis name, priority, chassis).
            let want: BTreeSet<(String, i64, Option<Uuid>)> = g
                .members
                .iter()
                .map(|(c, p)| (c.clone(), *p, chassis_by_name.get(c).copied()))
                .collect();
            let current: Option<BTreeSet<(String, i64, Option<Uuid>)>> = match existing.get(name).and_then(|u| t.get(u))
            {
                Some(row) => {
                    let mut cur = BTreeSet::new();
                    for h in col(ts, row, "ha_chassis")?.as_set().iter().filter_map(Atom::as_uuid) {
                        if let Some(hr) = ht.get(&h) {
                            let cname = col(hts, hr, "external_ids")?
                                .get(&s("chassis-name"))
                                .and_then(|a| a.as_str().map(str::to_string))
                                .unwrap_or_default();
                            cur.insert((
                                cname,
                                int_of(col(hts, hr, "priority")?),
                                uuid_of(col(hts, hr, "chassis")?),
                            ));
                        }
                    }
                    Some(cur)
                }
                None => None,
            };
            if current.as_ref() == Some(&want) {
                continue;
            }
            let mut members = Vec::new();
            for (c, p, ch) in &want {
                let hu = tx.new_row();
                let mut ids = Smap::new();
                ids.insert("chassis-name".into(), c.clone());
                tx.insert(
                    "HA_Chassis",
                    hu,
                    &[
                        ("chassis", duuids(*ch)),
                        ("priority", dint(*p)),
                        ("external_ids", dmap(&ids)),
                    ],
                );
                members.push(hu);
            }
            match existing.get(name) {
                Some(u) => tx.update("HA_Chassis_Group", *u, &[("ha_chassis", duuids(members))]),
                None => {
                    let gu = tx.new_row();
                    tx.insert(
                        "HA_Chassis_Group",
                        gu,
                        &[("name", dstr(name)), ("ha_chassis", duuids(members))],
                    );
                    refs.insert(name.clone(), gu);
                }
            }
        }
        Ok(refs)
    }

    #[allow(clippy::too_many_arguments)]
    fn port_bindings(
        &mut self,
        d: &Desired,
        dirty: &Dirty,
        pending: &Pending,
        all: bool,
        sb: &Database,
        dp_refs: &UuidMap<Uuid>,
        ha_refs: &BTreeMap<String, Uuid>,
        tx: &mut TxnBuilder,
    ) -> Result<BTreeMap<String, Uuid>, DiffError> {
        // New and recreated bindings; others are found by name.
        let (ts, t) = table(sb, "Port_Binding")?;
        let dpc = ts.column_id("datapath").ok_or(DiffError::NoColumn {
            table: "Port_Binding",
            column: "datapath",
        })?;
        let by_lp = index_id(ts, &["logical_port"]).ok_or(DiffError::NoColumn {
            table: "Port_Binding",
            column: "logical_port",
        })?;
        let find = |name: &str| t.index_lookup(by_lp, &[dstr(name)]);
        let mut refs = BTreeMap::new();
        let switch_rows: BTreeSet<Uuid> = dp_refs.values().copied().collect();
        let keys: BTreeSet<String> = if all {
            let lp = ts.column_id("logical_port").ok_or(DiffError::NoColumn {
                table: "Port_Binding",
                column: "logical_port",
            })?;
            d.port_bindings
                .keys()
                .cloned()
                .chain(t.rows.values().map(|r| str_of(r.field(lp))))
                .collect()
        } else {
            dirty
                .port_bindings
                .iter()
                .chain(&pending.port_bindings)
                .cloned()
                .collect()
        };
        for name in keys {
            let existing = find(&name).and_then(|u| t.get(&u));
            let Some(pb) = d.port_bindings.get(&name) else {
                // Ours to delete: bindings on switch datapaths, or on none.
                if let Some(row) = existing {
                    let dp = uuid_of(row.field(dpc));
                    let on_switch =
                        dp.is_none_or(|dp| switch_rows.contains(&dp) || !self.index.nb_of_dp.contains_key(&dp));
                    if on_switch {
                        tx.delete("Port_Binding", row.uuid);
                    }
                }
                continue;
            };
            let Some(dp) = dp_refs.get(&pb.datapath).copied() else {
                continue;
            };
            let mut cols = vec![
                ("datapath", duuids([dp])),
                ("tunnel_key", dint(pb.tunnel_key)),
                ("type", dstr(&pb.type_)),
                ("options", dmap(&pb.options)),
                ("mac", dstrs(&pb.mac)),
                ("port_security", dstrs(&pb.port_security)),
                ("parent_port", dopt_str(pb.parent_port.as_deref())),
                ("tag", Datum::set(pb.tag.map(Atom::Integer).into_iter().collect())),
                ("external_ids", dmap(&pb.external_ids)),
                ("nat_addresses", dstrs(&pb.nat_addresses)),
                ("requested_chassis", duuids(pb.requested_chassis)),
                (
                    "requested_additional_chassis",
                    duuids(pb.requested_additional_chassis.iter().copied()),
                ),
                (
                    "ha_chassis_group",
                    duuids(pb.ha_chassis_group.as_ref().and_then(|g| ha_refs.get(g).copied())),
                ),
                ("mirror_rules", Datum::Set(Default::default())),
            ];
            match existing {
                Some(row) if !pb.recreate => {
                    if col(ts, row, "up")?.is_empty() {
                        cols.push(("up", dbool(false)));
                    }
                    let c = changed(ts, row, cols);
                    tx.update("Port_Binding", row.uuid, &c);
                }
                other => {
                    if let Some(row) = other {
                        tx.delete("Port_Binding", row.uuid);
                    }
                    cols.push(("logical_port", dstr(&name)));
                    cols.push(("up", dbool(false)));
                    let p = tx.new_row();
                    tx.insert("Port_Binding", p, &cols);
                    refs.insert(name.clone(), p);
                }
            }
        }
        Ok(refs)
    }

    #[allow(clippy::too_many_arguments)]
    fn multicast_groups(
        &mut self,
        d: &Desired,
        dirty: &Dirty,
        all: bool,
        sb: &Database,
        dp_refs: &UuidMap<Uuid>,
        pb_refs: &BTreeMap<String, Uuid>,
        tx: &mut TxnBuilder,
    ) -> Result<(), DiffError> {
        let (ts, t) = table(sb, "Multicast_Group")?;
        let (pts, pt) = table(sb, "Port_Binding")?;
        let by_name = index_id(ts, &["datapath", "name"]).ok_or(DiffError::NoColumn {
            table: "Multicast_Group",
            column: "name",
        })?;
        let by_lp = index_id(pts, &["logical_port"]).ok_or(DiffError::NoColumn {
            table: "Port_Binding",
            column: "logical_port",
        })?;
        let pb_ref = |p: &str| pb_refs.get(p).copied().or_else(|| pt.index_lookup(by_lp, &[dstr(p)]));
        let switch_rows: BTreeSet<Uuid> = dp_refs.values().copied().collect();
        let mut keys: BTreeSet<(DpId, String)> = if all {
            d.multicast_groups.keys().cloned().collect()
        } else {
            dirty.multicast_groups.iter().cloned().collect()
        };
        if all {
            let nb_of: UuidMap<DpId> = dp_refs.iter().map(|(n, s)| (*s, *n)).collect();
            for row in t.rows.values() {
                if let Some(n) = uuid_of(col(ts, row, "datapath")?).and_then(|dp| nb_of.get(&dp)) {
                    keys.insert((*n, str_of(col(ts, row, "name")?)));
                }
            }
        }
        for (nb, name) in keys {
            let Some(dp) = dp_refs.get(&nb).copied() else { continue };
            let rows: Vec<Uuid> = t
                .index_lookup(by_name, &[duuids([dp]), dstr(&name)])
                .into_iter()
                .collect();
            match d.multicast_groups.get(&(nb, name.clone())) {
                None => {
                    if switch_rows.contains(&dp) {
                        for r in rows {
                            tx.delete("Multicast_Group", r);
                        }
                    }
                }
                Some(g) => {
                    let ports = duuids(g.ports.iter().filter_map(|p| pb_ref(p)));
                    let cols = vec![("tunnel_key", dint(g.tunnel_key)), ("ports", ports)];
                    let identity = vec![("datapath", duuids([dp])), ("name", dstr(&name))];
                    tx.upsert((ts, t), &rows, cols, identity);
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn flows(
        &mut self,
        d: &Desired,
        dirty: &Dirty,
        pending: &Pending,
        all: bool,
        dp_refs: &UuidMap<Uuid>,
        tx: &mut TxnBuilder,
    ) -> Result<(), DiffError> {
        // Desired flows by content; with `all`, in buckets by the
        // content's hash, grouped on every thread.
        let mut want: Vec<(FlowContent, Vec<(Arc<Flow>, &FlowEntry)>)>;
        // Contents the Southbound has that nothing wants any more.
        let unwanted: Vec<FlowContent>;
        if all {
            let buckets = by_content(d);
            let hasher = std::hash::BuildHasherDefault::<ovsdb::db::FastHasher>::default();
            unwanted = self
                .index
                .flows
                .keys()
                .filter(|c| !buckets[bucket_of(hasher.hash_one(*c))].contains_key(*c))
                .cloned()
                .collect();
            use rayon::prelude::*;
            want = buckets.into_par_iter().flat_map_iter(|b| b.into_iter()).collect();
        } else {
            let mut c: HashSet<FlowContent> = dirty.flows.iter().map(|f| FlowContent::of(f)).collect();
            c.extend(pending.flows.iter().cloned());
            want = c
                .into_iter()
                .map(|content| {
                    let flows = flows_with_content(d, &content);
                    (content, flows)
                })
                .collect();
            unwanted = Vec::new();
        }
        // Contents the Southbound has no row for, whose flows each apply
        // to one datapath: only inserts, which nothing in the transaction
        // refers to, so they are written in parallel (most of a first
        // compile). The rest go one by one below.
        if want.len() >= PARALLEL_MIN_CONTENTS {
            use rayon::prelude::*;
            let tx_ref = &*tx;
            let written: Vec<Option<Vec<String>>> = want
                .par_iter()
                .map(|(content, wanted)| {
                    if self.index.flows.contains_key(content) {
                        return None;
                    }
                    let mut ops = Vec::with_capacity(wanted.len());
                    for (flow, entry) in wanted {
                        let mut dps = entry.datapaths().filter_map(|dp| dp_refs.get(dp).copied());
                        let Some(dp) = dps.next() else { continue };
                        if dps.next().is_some() {
                            return None;
                        }
                        let meta = entry.meta().cloned().unwrap_or_default();
                        ops.push(tx_ref.insert_text("Logical_Flow", None, |tx, row| {
                            write_new_flow(tx, row, content, flow, &meta, &duuids([dp]), &Datum::Set(Default::default()));
                        }));
                    }
                    Some(ops)
                })
                .collect();
            // What was written is let go on every thread too.
            let (rest, written): (Vec<_>, Vec<_>) = want.into_par_iter().zip(written).partition_map(|(w, ops)| match ops {
                Some(ops) => rayon::iter::Either::Right(ops),
                None => rayon::iter::Either::Left(w),
            });
            tx.ops.extend(written.into_iter().flatten());
            want = rest;
        }
        let switch_rows: BTreeSet<Uuid> = dp_refs.values().copied().collect();
        let mut new_groups: HashMap<Vec<Uuid>, Uuid> = HashMap::default();
        for (content, wanted) in want.into_iter().chain(unwanted.into_iter().map(|c| (c, Vec::new()))) {
            let rows: Vec<Uuid> = self
                .index
                .flows
                .get(&content)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            // Existing rows that are on switch datapaths (routers are not
            // compiled yet, so their flows are left alone).
            let ours: Vec<Uuid> = rows
                .into_iter()
                .filter(|r| {
                    let Some(fr) = self.index.flow_rows.get(r) else {
                        return false;
                    };
                    let dps: Vec<Uuid> = match (fr.datapath, fr.group) {
                        (Some(dp), _) => vec![dp],
                        (None, Some(g)) => self
                            .index
                            .groups
                            .get(&g)
                            .map(|s| s.iter().copied().collect())
                            .unwrap_or_default(),
                        (None, None) => Vec::new(),
                    };
                    dps.is_empty()
                        || dps
                            .iter()
                            .any(|dp| switch_rows.contains(dp) || !self.index.nb_of_dp.contains_key(dp))
                })
                .collect();
            let mut unused: Vec<Uuid> = ours;
            for (flow, entry) in wanted {
                let flow = &flow;
                let dps: BTreeSet<Uuid> = entry.datapaths().filter_map(|dp| dp_refs.get(dp).copied()).collect();
                if dps.is_empty() {
                    continue;
                }
                // A row that already covers exactly these datapaths?
                let pos = unused.iter().position(|r| self.row_dps(r).as_ref() == Some(&dps));
                let meta = entry.meta().cloned().unwrap_or_default();
                let tags = flow_tags(&meta);
                if let Some(i) = pos {
                    let r = unused.swap_remove(i);
                    let fr = &self.index.flow_rows[&r];
                    let mut cols = Vec::new();
                    if fr.tags != tags {
                        cols.push(("tags", tags));
                    }
                    if fr.stage_name.as_deref() != Some(flow.stage.name()) {
                        cols.push(("external_ids", dmap(&flow_ids(flow, &meta))));
                    }
                    tx.update("Logical_Flow", r, &cols);
                    continue;
                }
                let (dp_col, group_col) = self.dp_columns(&dps, &mut new_groups, tx);
                if let Some(r) = unused.pop() {
                    let mut cols = vec![("logical_datapath", dp_col), ("logical_dp_group", group_col)];
                    let fr = &self.index.flow_rows[&r];
                    if fr.tags != tags {
                        cols.push(("tags", tags));
                    }
                    tx.update("Logical_Flow", r, &cols);
                } else {
                    // Written straight out: most of a first compile.
                    let p = tx.new_row();
                    tx.insert_with("Logical_Flow", p, |tx, row| {
                        write_new_flow(tx, row, &content, flow, &meta, &dp_col, &group_col);
                    });
                }
            }
            for r in unused {
                tx.delete("Logical_Flow", r);
            }
        }
        Ok(())
    }

    /// The Southbound datapaths a flow row applies to.
    fn row_dps(&self, r: &Uuid) -> Option<BTreeSet<Uuid>> {
        let fr = self.index.flow_rows.get(r)?;
        match (fr.datapath, fr.group) {
            (Some(dp), None) => Some(BTreeSet::from([dp])),
            (None, Some(g)) => self.index.groups.get(&g).cloned(),
            _ => None,
        }
    }

    /// `logical_datapath` and `logical_dp_group` for a set of datapaths:
    /// one datapath, or a group (existing, or inserted once per
    /// transaction).
    fn dp_columns(
        &self,
        dps: &BTreeSet<Uuid>,
        new_groups: &mut HashMap<Vec<Uuid>, Uuid>,
        tx: &mut TxnBuilder,
    ) -> (Datum, Datum) {
        if dps.len() == 1 {
            return (duuids(dps.iter().copied()), Datum::Set(Default::default()));
        }
        let key: Vec<Uuid> = dps.iter().copied().collect();
        let group = match self.index.group_by_set.get(&key).and_then(|s| s.iter().next()) {
            Some(g) => *g,
            None => *new_groups.entry(key).or_insert_with(|| {
                let p = tx.new_row();
                tx.insert("Logical_DP_Group", p, &[("datapaths", duuids(dps.iter().copied()))]);
                p
            }),
        };
        (Datum::Set(Default::default()), duuids([group]))
    }

    /// Address_Set and Port_Group: rows by name with one set column,
    /// changed with `mutate` so that a large set is not rewritten whole.
    #[allow(clippy::too_many_arguments)]
    fn named_sets(
        &mut self,
        d: &Desired,
        dirty: &Dirty,
        all_as: bool,
        all_pg: bool,
        sb: &Database,
        tx: &mut TxnBuilder,
    ) -> Result<(), DiffError> {
        for (tname, column, desired, dirty_keys, all) in [
            ("Address_Set", "addresses", &d.address_sets, &dirty.address_sets, all_as),
            ("Port_Group", "ports", &d.port_groups, &dirty.port_groups, all_pg),
        ] {
            let (ts, t) = table(sb, tname)?;
            let by_name = index_id(ts, &["name"]).ok_or(DiffError::NoColumn {
                table: "Address_Set",
                column: "name",
            })?;
            let set_col = ts.column_id(column).ok_or(DiffError::NoColumn {
                table: "Address_Set",
                column: "addresses",
            })?;
            let mut existing: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
            let keys: BTreeSet<String> = if all {
                for (u, row) in &t.rows {
                    existing.entry(str_of(col(ts, row, "name")?)).or_default().push(*u);
                }
                desired.keys().cloned().chain(existing.keys().cloned()).collect()
            } else {
                for n in dirty_keys {
                    if let Some(u) = t.index_lookup(by_name, &[dstr(n)]) {
                        existing.insert(n.clone(), vec![u]);
                    }
                }
                dirty_keys.clone()
            };
            for name in keys {
                let rows = existing.get(&name).cloned().unwrap_or_default();
                let Some(want) = desired.get(&name) else {
                    for r in rows {
                        tx.delete(tname, r);
                    }
                    continue;
                };
                match rows.split_first().and_then(|(keep, extra)| Some((t.get(keep)?, extra))) {
                    Some((row, extra)) => {
                        let have: BTreeSet<&str> =
                            row.field(set_col).as_set().iter().filter_map(Atom::as_str).collect();
                        let del: Vec<Atom> = have.iter().filter(|a| !want.contains(**a)).map(|a| s(a)).collect();
                        let ins: Vec<Atom> = want
                            .iter()
                            .filter(|a| !have.contains(a.as_str()))
                            .map(|a| s(a))
                            .collect();
                        tx.mutate_set(tname, row.uuid, column, del, ins);
                        for r in extra {
                            tx.delete(tname, *r);
                        }
                    }
                    None => {
                        let p = tx.new_row();
                        tx.insert(tname, p, &[(column, dstrs(want)), ("name", dstr(&name))]);
                    }
                }
            }
        }
        Ok(())
    }

    fn ip_multicast(
        &mut self,
        d: &Desired,
        dirty: &Dirty,
        all: bool,
        sb: &Database,
        dp_refs: &UuidMap<Uuid>,
        tx: &mut TxnBuilder,
    ) -> Result<(), DiffError> {
        let (ts, t) = table(sb, "IP_Multicast")?;
        let mut existing: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
        for (u, row) in &t.rows {
            if let Some(dp) = uuid_of(col(ts, row, "datapath")?) {
                existing.entry(dp).or_default().push(*u);
            }
        }
        let keys: BTreeSet<DpId> = if all {
            d.ip_multicast.keys().copied().collect()
        } else {
            dirty.ip_multicast.iter().copied().collect()
        };
        let wanted_rows: BTreeSet<Uuid> = d.ip_multicast.keys().filter_map(|k| dp_refs.get(k).copied()).collect();
        for nb in keys {
            let Some(dp) = dp_refs.get(&nb).copied() else { continue };
            let Some(m) = d.ip_multicast.get(&nb) else { continue };
            let mut cols = vec![
                ("enabled", dbool(m.enabled)),
                ("querier", dbool(m.querier)),
                ("table_size", dint(m.table_size)),
                ("idle_timeout", dint(m.idle_timeout)),
                ("query_interval", dint(m.query_interval)),
                ("query_max_resp", dint(m.query_max_resp)),
            ];
            // Like OVN's northd, set the query sources when configured and
            // never clear them.
            for (k, v) in [
                ("eth_src", &m.eth_src),
                ("ip4_src", &m.ip4_src),
                ("ip6_src", &m.ip6_src),
            ] {
                if let Some(v) = v {
                    cols.push((k, dstr(v)));
                }
            }
            let rows = existing.get(&dp).cloned().unwrap_or_default();
            tx.upsert((ts, t), &rows, cols, vec![("datapath", duuids([dp]))]);
        }
        if all {
            for (dp, rows) in &existing {
                let ours = self.index.nb_of_dp.contains_key(dp);
                if !wanted_rows.contains(dp) && (!ours || dp_refs.values().all(|v| v != dp)) {
                    let is_router = self
                        .index
                        .nb_of_dp
                        .get(dp)
                        .is_some_and(|n| !d.datapaths.contains_key(n))
                        && ours;
                    if !is_router {
                        for r in rows {
                            tx.delete("IP_Multicast", *r);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Load_Balancer rows of load balancers applied to switches, found by
    /// `external_ids:lb_id`, their switches in a datapath group.
    fn load_balancers(
        &mut self,
        d: &Desired,
        sb: &Database,
        dp_refs: &UuidMap<Uuid>,
        tx: &mut TxnBuilder,
    ) -> Result<(), DiffError> {
        let (ts, t) = table(sb, "Load_Balancer")?;
        let existing = rows_by_id((ts, t), "lb_id", |id| d.load_balancers.contains_key(id), tx)?;
        let mut new_groups = HashMap::default();
        for (id, want) in &d.load_balancers {
            let dps: BTreeSet<Uuid> = want
                .datapaths
                .iter()
                .filter_map(|dp| dp_refs.get(dp).copied())
                .collect();
            let rows = existing.get(id).cloned().unwrap_or_default();
            let current_group = rows
                .first()
                .and_then(|r| t.get(r))
                .and_then(|row| col(ts, row, "datapath_group").ok().and_then(uuid_of));
            let group = match current_group.filter(|g| self.index.groups.get(g) == Some(&dps)) {
                Some(g) => duuids([g]),
                None if dps.is_empty() => Datum::Set(Default::default()),
                None => {
                    let key: Vec<Uuid> = dps.iter().copied().collect();
                    let g = match self.index.group_by_set.get(&key).and_then(|s| s.iter().next()) {
                        Some(g) => *g,
                        None => *new_groups.entry(key).or_insert_with(|| {
                            let p = tx.new_row();
                            tx.insert("Logical_DP_Group", p, &[("datapaths", duuids(dps.iter().copied()))]);
                            p
                        }),
                    };
                    duuids([g])
                }
            };
            let mut ids = Smap::new();
            ids.insert("lb_id".into(), id.to_string());
            let cols = vec![
                ("name", dstr(&want.name)),
                ("vips", dmap(&want.vips)),
                ("protocol", dopt_str(want.protocol.as_deref())),
                ("options", dmap(&want.options)),
                ("datapath_group", group),
                ("datapaths", Datum::Set(Default::default())),
                ("external_ids", dmap(&ids)),
            ];
            tx.upsert((ts, t), &rows, cols, Vec::new());
        }
        Ok(())
    }

    fn dns(
        &mut self,
        d: &Desired,
        sb: &Database,
        dp_refs: &UuidMap<Uuid>,
        tx: &mut TxnBuilder,
    ) -> Result<(), DiffError> {
        let (ts, t) = table(sb, "DNS")?;
        let existing = rows_by_id((ts, t), "dns_id", |id| d.dns.contains_key(id), tx)?;
        for (id, want) in &d.dns {
            let mut ids = Smap::new();
            ids.insert("dns_id".into(), id.to_string());
            let cols = vec![
                (
                    "datapaths",
                    duuids(want.datapaths.iter().filter_map(|dp| dp_refs.get(dp).copied())),
                ),
                ("records", dmap(&want.records)),
                ("external_ids", dmap(&ids)),
            ];
            let rows = existing.get(id).map(Vec::as_slice).unwrap_or_default();
            tx.upsert((ts, t), rows, cols, Vec::new());
        }
        Ok(())
    }

    fn meters(&mut self, d: &Desired, sb: &Database, tx: &mut TxnBuilder) -> Result<(), DiffError> {
        let (ts, t) = table(sb, "Meter")?;
        let (bts, bt) = table(sb, "Meter_Band")?;
        let mut existing: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        for (u, row) in &t.rows {
            existing.entry(str_of(col(ts, row, "name")?)).or_default().push(*u);
        }
        for (name, rows) in &existing {
            if !d.meters.contains_key(name) {
                for r in rows {
                    tx.delete("Meter", *r);
                }
            }
        }
        for (name, m) in &d.meters {
            let mut want: Vec<(String, i64, i64)> = m.bands.clone();
            want.sort();
            let row = existing.get(name).and_then(|v| v.first()).and_then(|u| t.get(u));
            let current: Option<Vec<(String, i64, i64)>> = match row {
                Some(row) => {
                    let mut cur = Vec::new();
                    for b in col(ts, row, "bands")?.as_set().iter().filter_map(Atom::as_uuid) {
                        if let Some(br) = bt.get(&b) {
                            cur.push((
                                str_of(col(bts, br, "action")?),
                                int_of(col(bts, br, "rate")?),
                                int_of(col(bts, br, "burst_size")?),
                            ));
                        }
                    }
                    cur.sort();
                    Some(cur)
                }
                None => None,
            };
            let mut cols = vec![("unit", dstr(&m.unit))];
            if current.as_ref() != Some(&want) {
                let mut bands = Vec::new();
                for (a, r, b) in &m.bands {
                    let p = tx.new_row();
                    tx.insert(
                        "Meter_Band",
                        p,
                        &[("action", dstr(a)), ("rate", dint(*r)), ("burst_size", dint(*b))],
                    );
                    bands.push(p);
                }
                cols.push(("bands", duuids(bands)));
            }
            match row {
                Some(row) => {
                    let c = changed(ts, row, cols);
                    tx.update("Meter", row.uuid, &c);
                }
                None => {
                    cols.push(("name", dstr(name)));
                    let p = tx.new_row();
                    tx.insert("Meter", p, &cols);
                }
            }
        }
        Ok(())
    }

    fn sb_global(&mut self, d: &Desired, sb: &Database, tx: &mut TxnBuilder) -> Result<(), DiffError> {
        let (ts, t) = table(sb, "SB_Global")?;
        let cols = vec![
            ("options", dmap(&d.sb_global_options)),
            ("ipsec", dbool(d.sb_global_ipsec)),
        ];
        match t.rows.values().min_by_key(|r| r.uuid) {
            Some(row) => {
                let c = changed(ts, row, cols);
                tx.update("SB_Global", row.uuid, &c);
            }
            None => {
                let p = tx.new_row();
                tx.wait_empty("SB_Global");
                tx.insert("SB_Global", p, &cols);
            }
        }
        Ok(())
    }

    /// Tables whose contents are fixed: the DHCP option codes and the
    /// ovn-controller role.
    fn static_tables(&mut self, sb: &Database, tx: &mut TxnBuilder) -> Result<(), DiffError> {
        for (tname, opts) in [("DHCP_Options", DHCPV4_OPTIONS), ("DHCPv6_Options", DHCPV6_OPTIONS)] {
            let (ts, t) = table(sb, tname)?;
            let mut have: BTreeSet<(String, i64, String)> = BTreeSet::new();
            for (u, row) in &t.rows {
                let k = (
                    str_of(col(ts, row, "name")?),
                    int_of(col(ts, row, "code")?),
                    str_of(col(ts, row, "type")?),
                );
                if opts.iter().any(|(n, c, ty)| (n.to_string(), *c, ty.to_string()) == k) && !have.contains(&k) {
                    have.insert(k);
                } else {
                    tx.delete(tname, *u);
                }
            }
            for (n, c, ty) in opts {
                if !have.contains(&(n.to_string(), *c, ty.to_string())) {
                    let p = tx.new_row();
                    tx.insert(tname, p, &[("name", dstr(n)), ("code", dint(*c)), ("type", dstr(ty))]);
                }
            }
        }
        // RBAC: the role and its permissions, rewritten whole if anything
        // differs.
        let (rts, rt) = table(sb, "RBAC_Role")?;
        let (pts, pt) = table(sb, "RBAC_Permission")?;
        let mut ok = rt.len() == 1 && pt.len() == RBAC_PERMISSIONS.len();
        if ok {
            let role = rt.rows.values().next().expect("one row");
            ok = str_of(col(rts, role, "name")?) == "ovn-controller";
            let perms = col(rts, role, "permissions")?;
            for (table_name, auth, insdel, update) in RBAC_PERMISSIONS {
                let Some(pu) = perms.get(&s(table_name)).and_then(Atom::as_uuid) else {
                    ok = false;
                    break;
                };
                let Some(prow) = pt.get(&pu) else {
                    ok = false;
                    break;
                };
                let want = vec![
                    ("table", dstr(table_name)),
                    ("authorization", Datum::set(auth.iter().map(|a| s(a)).collect())),
                    ("insert_delete", dbool(*insdel)),
                    ("update", Datum::set(update.iter().map(|a| s(a)).collect())),
                ];
                if !changed(pts, prow, want).is_empty() {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            for u in rt.rows.keys() {
                tx.delete("RBAC_Role", *u);
            }
            for u in pt.rows.keys() {
                tx.delete("RBAC_Permission", *u);
            }
            let mut perms = Vec::new();
            for (table_name, auth, insdel, update) in RBAC_PERMISSIONS {
                let p = tx.new_row();
                tx.insert(
                    "RBAC_Permission",
                    p,
                    &[
                        ("table", dstr(table_name)),
                        ("authorization", Datum::set(auth.iter().map(|a| s(a)).collect())),
                        ("insert_delete", dbool(*insdel)),
                        ("update", Datum::set(update.iter().map(|a| s(a)).collect())),
                    ],
                );
                perms.push((s(table_name), Atom::Uuid(p)));
            }
            let p = tx.new_row();
            tx.insert(
                "RBAC_Role",
                p,
                &[("name", dstr("ovn-controller")), ("permissions", Datum::map(perms))],
            );
        }
        Ok(())
    }
}

/// The desired flows grouped by content (a content may be wanted on both
/// datapath types), in [`CONTENT_BUCKETS`] maps by the content's hash:
/// the contents are made and hashed, and each bucket filled, on every
/// thread (a first compile has 30,000).
fn by_content(d: &Desired) -> Vec<HashMap<FlowContent, Vec<(Arc<Flow>, &FlowEntry)>>> {
    use rayon::prelude::*;
    let hasher = std::hash::BuildHasherDefault::<ovsdb::db::FastHasher>::default();
    let flows: Vec<(&Arc<Flow>, &FlowEntry)> = d.flows.iter().collect();
    let keyed: Vec<(usize, FlowContent)> = flows
        .par_iter()
        .map(|(f, _)| {
            let content = FlowContent::of(f);
            (bucket_of(hasher.hash_one(&content)), content)
        })
        .collect();
    let mut parts: Vec<Vec<(FlowContent, usize)>> = (0..CONTENT_BUCKETS).map(|_| Vec::new()).collect();
    for (i, (b, content)) in keyed.into_iter().enumerate() {
        parts[b].push((content, i));
    }
    parts
        .into_par_iter()
        .map(|part| {
            let mut map: HashMap<FlowContent, Vec<(Arc<Flow>, &FlowEntry)>> = HashMap::default();
            map.reserve(part.len());
            for (content, i) in part {
                let (f, e) = flows[i];
                map.entry(content).or_default().push((Arc::clone(f), e));
            }
            map
        })
        .collect()
}

/// Buckets of [`by_content`]: enough to keep 16 threads busy.
const CONTENT_BUCKETS: usize = 64;

fn bucket_of(hash: u64) -> usize {
    (hash >> 32) as usize % CONTENT_BUCKETS
}

/// The desired flows with `content` (one per datapath type at most).
fn flows_with_content<'a>(d: &'a Desired, content: &FlowContent) -> Vec<(Arc<Flow>, &'a FlowEntry)> {
    let Some(pipeline) = crate::stage::Pipeline::from_name(&content.pipeline) else {
        return Vec::new();
    };
    let Ok(priority) = u16::try_from(content.priority) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for dp in [crate::stage::DpType::Switch, crate::stage::DpType::Router] {
        let Some(stage) = crate::stage::Stage::lookup(dp, pipeline, content.table) else {
            continue;
        };
        let key = Flow {
            stage,
            priority,
            match_: content.match_.clone(),
            actions: content.actions.clone(),
            controller_meter: content.meter.as_deref().map(Arc::from),
        };
        if let Some((k, e)) = d.flows.get_key_value(&key) {
            out.push((Arc::clone(k), e));
        }
    }
    out
}

/// `external_ids` of a new flow row.
fn flow_ids(f: &Flow, meta: &crate::flow::FlowMeta) -> Smap {
    let mut ids = Smap::new();
    ids.insert("stage-name".into(), f.stage.name().into());
    ids.insert("source".into(), meta.source.into());
    if let Some(h) = meta.stage_hint {
        ids.insert("stage-hint".into(), h.short());
    }
    ids
}

/// Below this many flow contents to write, the full diff writes them on
/// one thread.
const PARALLEL_MIN_CONTENTS: usize = 2048;

/// The columns of a new `Logical_Flow` row, written straight from the
/// flow's strings.
fn write_new_flow(
    tx: &TxnBuilder,
    row: &mut json::Object,
    content: &FlowContent,
    flow: &Flow,
    meta: &crate::flow::FlowMeta,
    dp_col: &Datum,
    group_col: &Datum,
) {
    json::write_str(row.key("pipeline"), &content.pipeline);
    let _ = write!(row.key("table_id"), "{}", content.table);
    let _ = write!(row.key("priority"), "{}", content.priority);
    json::write_str(row.key("match"), &content.match_);
    json::write_str(row.key("actions"), &content.actions);
    write_flow_ids(row.key("external_ids"), flow, meta);
    for (column, value) in [("logical_datapath", dp_col), ("logical_dp_group", group_col)] {
        if !value.is_empty() {
            tx.datum(row.key(column), value);
        }
    }
    let tags = flow_tags(meta);
    if !tags.is_empty() {
        tx.datum(row.key("tags"), &tags);
    }
    if let Some(m) = &content.meter {
        json::write_str(row.key("controller_meter"), m);
    }
}

/// `tags` of a flow row: the port its match names, if any.
fn flow_tags(meta: &crate::flow::FlowMeta) -> Datum {
    match &meta.io_port {
        Some(p) => Datum::map(vec![(s("in_out_port"), s(p))]),
        None => Datum::Map(Box::default()),
    }
}

/// [`flow_ids`] written as a JSON map, keys in order.
fn write_flow_ids(out: &mut Vec<u8>, f: &Flow, meta: &crate::flow::FlowMeta) {
    out.extend_from_slice(b"[\"map\",[[\"source\",");
    json::write_str(out, meta.source);
    if let Some(h) = meta.stage_hint {
        out.extend_from_slice(b"],[\"stage-hint\",");
        json::write_str(out, &h.short());
    }
    out.extend_from_slice(b"],[\"stage-name\",");
    json::write_str(out, f.stage.name());
    out.extend_from_slice(b"]]]");
}

/// What northd writes into the Northbound database: `NB_Global:options`
/// and, per port, `up`, `dynamic_addresses` and `tag`.
fn nb_diff(d: &Desired, dirty: &Dirty, all: bool, nb: &Database) -> Result<Vec<String>, DiffError> {
    let mut tx = TxnBuilder::default();
    if all || dirty.global {
        let (ts, t) = table(nb, "NB_Global")?;
        match t.rows.values().min_by_key(|r| r.uuid) {
            Some(row) => {
                let c = changed(ts, row, vec![("options", dmap(&d.nb.global_options))]);
                tx.update("NB_Global", row.uuid, &c);
            }
            None => {
                let p = tx.new_row();
                // Only if nobody (ovn-nbctl does too) created it meanwhile.
                tx.wait_empty("NB_Global");
                tx.insert("NB_Global", p, &[("options", dmap(&d.nb.global_options))]);
            }
        }
    }
    let (ts, t) = table(nb, "Logical_Switch_Port")?;
    let ports: Vec<Uuid> = if all {
        t.rows.keys().copied().collect()
    } else {
        dirty.nb_ports.iter().copied().collect()
    };
    for u in ports {
        let Some(row) = t.get(&u) else { continue };
        let mut cols = Vec::new();
        if let Some(up) = d.nb.lsp_up.get(&u) {
            cols.push(("up", dbool(*up)));
        }
        if let Some(dynamic) = d.nb.lsp_dynamic_addresses.get(&u) {
            cols.push(("dynamic_addresses", dopt_str(dynamic.as_deref())));
        }
        let name = str_of(col(ts, row, "name")?);
        if let Some(pb) = d.port_bindings.get(&name) {
            cols.push(("tag", Datum::set(pb.tag.map(Atom::Integer).into_iter().collect())));
        }
        let c = changed(ts, row, cols);
        tx.update("Logical_Switch_Port", u, &c);
    }
    Ok(tx.ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flow row's `external_ids` written as text is the map the update
    /// path builds as a datum.
    #[test]
    fn flow_ids_as_text_are_the_datum() {
        let flow = Flow {
            stage: crate::stage::Stage::lookup(crate::stage::DpType::Switch, crate::stage::Pipeline::Ingress, 0)
                .expect("stage 0"),
            priority: 100,
            match_: Arc::from("1"),
            actions: Arc::from("next;"),
            controller_meter: None,
        };
        for hint in [None, Some(Uuid(0x0123_4567_89ab_cdef_0000_0000_0000_0000))] {
            let meta = crate::flow::FlowMeta { io_port: None, stage_hint: hint, source: "switch/port.rs:1" };
            let mut text = Vec::new();
            write_flow_ids(&mut text, &flow, &meta);
            let json: Json = serde_json::from_slice(&text).expect("JSON");
            assert_eq!(json, dmap(&flow_ids(&flow, &meta)).to_json());
        }
    }
}
