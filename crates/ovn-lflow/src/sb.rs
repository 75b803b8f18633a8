//! The Southbound tables a flow check needs, read from the JSON that
//! `ovsdb-client dump -f json SERVER OVN_Southbound` prints (a sequence of
//! `{"caption": "T table", "headings": [...], "data": [[...], ...]}`
//! objects, values in RFC 7047 notation), and the check itself.
//!
//! Only JSON in, data out: a live-database source (`rovn-lflow check
//! --db`) only has to fill a [`Southbound`] from its replica.

use std::collections::HashMap;

use serde_json::Value;

use crate::actions;
use crate::error::DumpError;
use crate::expr;
use crate::lexer::{Tok, tokenize};
use crate::normalize::{self, Sets};
use crate::symtab::SymbolTable;
use crate::value::IntConst;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalFlow {
    pub uuid: String,
    pub pipeline: String,
    pub table_id: i64,
    pub priority: i64,
    pub match_: String,
    pub actions: String,
    /// UUIDs of the datapaths the flow applies to (its own, or its group's).
    pub datapaths: Vec<String>,
}

/// What a flow check reads from the Southbound database.
#[derive(Debug, Clone, Default)]
pub struct Southbound {
    pub flows: Vec<LogicalFlow>,
    pub address_sets: HashMap<String, Vec<IntConst>>,
    pub port_groups: HashMap<String, Vec<String>>,
    /// Datapath UUID to tunnel key, which prefixes per-datapath port
    /// group names (`<key>_<name>`).
    pub datapath_keys: HashMap<String, i64>,
    /// Address set members that do not parse (OVN skips them with a
    /// warning; we report them).
    pub bad_addresses: Vec<String>,
}

/// One table of the Southbound database: column names, and rows of cells
/// in RFC 7047 JSON notation. What a dump holds, and what a live replica
/// can be turned into.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headings: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    fn col(&self, name: &str) -> Result<usize, DumpError> {
        self.headings.iter().position(|h| h == name).ok_or_else(|| DumpError::Layout(format!("no column {name}")))
    }
}

fn parse_tables(text: &str) -> Result<HashMap<String, Table>, DumpError> {
    let mut out = HashMap::new();
    for obj in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let obj = obj?;
        let caption = obj.get("caption").and_then(Value::as_str).ok_or_else(|| DumpError::Layout("object without caption".into()))?;
        let name = caption.strip_suffix(" table").unwrap_or(caption).to_string();
        let array = |key: &str| obj.get(key).and_then(Value::as_array).ok_or_else(|| DumpError::Layout(format!("{name}: no {key}")));
        let headings = array("headings")?.iter().map(string).collect();
        let rows = array("data")?.iter().map(|r| r.as_array().cloned().unwrap_or_default()).collect();
        out.insert(name, Table { headings, rows });
    }
    Ok(out)
}

/// Members of an OVSDB set in RFC 7047 notation (a bare atom is a
/// one-element set).
fn set_members(v: &Value) -> Vec<&Value> {
    match v.as_array() {
        Some(a) if a.len() == 2 && a[0] == "set" => a[1].as_array().map(|m| m.iter().collect()).unwrap_or_default(),
        _ => vec![v],
    }
}

fn uuid_of(v: &Value) -> Option<String> {
    match v.as_array()?.as_slice() {
        [tag, Value::String(u)] if tag == "uuid" => Some(u.clone()),
        _ => None,
    }
}

fn string(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Parses an Address_Set member as OVN does: one integer token.
pub fn parse_address(s: &str) -> Option<IntConst> {
    match tokenize(s).ok()?.as_slice() {
        [t, end] if end.tok == Tok::End => match t.tok {
            Tok::Int(c) => Some(c),
            _ => None,
        },
        _ => None,
    }
}

impl Southbound {
    /// Reads the output of `ovsdb-client dump -f json SERVER OVN_Southbound`.
    pub fn from_dump(text: &str) -> Result<Southbound, DumpError> {
        Southbound::from_tables(&parse_tables(text)?)
    }

    /// Builds from tables by name (Datapath_Binding, Logical_DP_Group,
    /// Address_Set, Port_Group, Logical_Flow).
    pub fn from_tables(tables: &HashMap<String, Table>) -> Result<Southbound, DumpError> {
        let get = |n: &str| tables.get(n).ok_or_else(|| DumpError::Layout(format!("dump lacks table {n}; dump the whole OVN_Southbound database")));
        let mut sb = Southbound::default();

        let dp = get("Datapath_Binding")?;
        let (u, k) = (dp.col("_uuid")?, dp.col("tunnel_key")?);
        for r in &dp.rows {
            if let (Some(uuid), Some(key)) = (r.get(u).and_then(uuid_of), r.get(k).and_then(Value::as_i64)) {
                sb.datapath_keys.insert(uuid, key);
            }
        }
        let mut groups: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(g) = tables.get("Logical_DP_Group") {
            let (u, d) = (g.col("_uuid")?, g.col("datapaths")?);
            for r in &g.rows {
                if let (Some(uuid), Some(dps)) = (r.get(u).and_then(uuid_of), r.get(d)) {
                    groups.insert(uuid, set_members(dps).into_iter().filter_map(uuid_of).collect());
                }
            }
        }
        let asets = get("Address_Set")?;
        let (n, a) = (asets.col("name")?, asets.col("addresses")?);
        for r in &asets.rows {
            let (Some(name), Some(addrs)) = (r.get(n), r.get(a)) else { continue };
            let mut vals = Vec::new();
            for m in set_members(addrs) {
                let s = string(m);
                match parse_address(&s) {
                    Some(c) => vals.push(c),
                    None => sb.bad_addresses.push(format!("${}: {s}", string(name))),
                }
            }
            sb.address_sets.insert(string(name), vals);
        }
        let pgs = get("Port_Group")?;
        let (n, p) = (pgs.col("name")?, pgs.col("ports")?);
        for r in &pgs.rows {
            if let (Some(name), Some(ports)) = (r.get(n), r.get(p)) {
                sb.port_groups.insert(string(name), set_members(ports).into_iter().map(string).collect());
            }
        }
        let lf = get("Logical_Flow")?;
        let c = |n| lf.col(n);
        let (cu, cp, ct, cpr, cm, ca, cd, cg) = (c("_uuid")?, c("pipeline")?, c("table_id")?, c("priority")?, c("match")?, c("actions")?, c("logical_datapath")?, c("logical_dp_group")?);
        for r in &lf.rows {
            let at = |i: usize| r.get(i).cloned().unwrap_or(Value::Null);
            let mut datapaths: Vec<String> = set_members(&at(cd)).into_iter().filter_map(uuid_of).collect();
            for g in set_members(&at(cg)).into_iter().filter_map(uuid_of) {
                datapaths.extend(groups.get(&g).cloned().unwrap_or_default());
            }
            sb.flows.push(LogicalFlow {
                uuid: uuid_of(&at(cu)).unwrap_or_default(),
                pipeline: string(&at(cp)),
                table_id: at(ct).as_i64().unwrap_or(-1),
                priority: at(cpr).as_i64().unwrap_or(-1),
                match_: string(&at(cm)),
                actions: string(&at(ca)),
                datapaths,
            });
        }
        Ok(sb)
    }

    /// Address sets and port groups as seen from one datapath.
    pub fn sets_for(&self, datapath: Option<&str>) -> DatapathSets<'_> {
        DatapathSets { sb: self, key: datapath.and_then(|d| self.datapath_keys.get(d)).copied() }
    }
}

/// [`Sets`] for one datapath: port groups are looked up by their
/// per-datapath Southbound name first, then by their plain name.
pub struct DatapathSets<'a> {
    sb: &'a Southbound,
    key: Option<i64>,
}

impl Sets for DatapathSets<'_> {
    fn address_set(&self, name: &str) -> Option<&[IntConst]> {
        self.sb.address_sets.get(name).map(Vec::as_slice)
    }
    fn port_group(&self, name: &str) -> Option<&[String]> {
        self.key
            .and_then(|k| self.sb.port_groups.get(&format!("{k}_{name}")))
            .or_else(|| self.sb.port_groups.get(name))
            .map(Vec::as_slice)
    }
}

/// Which part of a flow failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    ParseMatch,
    ReprintMatch,
    Normalize,
    RenormalizeMatch,
    ParseActions,
    ReprintActions,
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub flow: LogicalFlow,
    pub stage: Stage,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub n_flows: usize,
    /// OpenFlow flows the normal forms need, summed.
    pub n_of_flows: usize,
    pub failures: Vec<Failure>,
}

/// Parses, type-checks, normalises and round-trips one flow, returning
/// the OpenFlow flow count of its normal form.
pub fn check_flow(table: &SymbolTable, sb: &Southbound, flow: &LogicalFlow) -> Result<usize, (Stage, String)> {
    let e = expr::parse_with(&flow.match_, table).map_err(|e| (Stage::ParseMatch, e.render(&flow.match_)))?;
    let printed = e.display(table).to_string();
    match expr::parse_with(&printed, table) {
        Ok(e2) if e2 == e => {}
        Ok(_) => return Err((Stage::ReprintMatch, format!("reprinted as `{printed}', which parses differently"))),
        Err(err) => return Err((Stage::ReprintMatch, format!("reprinted as `{printed}', which fails: {err}"))),
    }
    let mut n_of = 0;
    let dps: Vec<Option<&str>> = if flow.datapaths.is_empty() { vec![None] } else { flow.datapaths.iter().map(|d| Some(d.as_str())).collect() };
    let mut uses_pg = false;
    e.for_each_set(&mut |c| uses_pg |= matches!(c, expr::Const::PortGroup(_)));
    // Port groups differ per datapath; without them one datapath will do.
    let dps = if uses_pg { &dps[..] } else { &dps[..1] };
    for dp in dps {
        let sets = sb.sets_for(*dp);
        let n = normalize::normalize(&e, table, &sets).map_err(|e| (Stage::Normalize, e.to_string()))?;
        let again = n.to_expr_string(table);
        let n2 = expr::parse_with(&again, table)
            .map_err(|e| (Stage::RenormalizeMatch, format!("normal form `{again}' does not parse: {e}")))
            .and_then(|e2| normalize::normalize(&e2, table, &sets).map_err(|e| (Stage::RenormalizeMatch, e.to_string())))?;
        if !n2.same_matches(&n) {
            return Err((Stage::RenormalizeMatch, format!("normal form `{again}' normalises to `{}'", n2.to_expr_string(table))));
        }
        n_of += n.n_flows();
    }
    let acts = actions::parse_with(&flow.actions, table).map_err(|e| (Stage::ParseActions, e.render(&flow.actions)))?;
    let printed = actions::display(&acts, table).to_string();
    match actions::parse_with(&printed, table) {
        Ok(a2) if a2 == acts => Ok(n_of),
        Ok(_) => Err((Stage::ReprintActions, format!("reprinted as `{printed}', which parses differently"))),
        Err(err) => Err((Stage::ReprintActions, format!("reprinted as `{printed}', which fails: {err}"))),
    }
}

/// Checks every flow; a bad flow is reported, the rest still checked.
pub fn check(table: &SymbolTable, sb: &Southbound) -> Report {
    let mut report = Report { n_flows: sb.flows.len(), ..Report::default() };
    for flow in &sb.flows {
        match check_flow(table, sb, flow) {
            Ok(n) => report.n_of_flows += n,
            Err((stage, message)) => report.failures.push(Failure { flow: flow.clone(), stage, message }),
        }
    }
    report
}
