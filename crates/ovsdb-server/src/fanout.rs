//! Who follows what, and how a commit reaches them.
//!
//! Monitors with identical requests form one group, whose update is
//! composed once. Groups whose condition on a table is a list of equality
//! clauses (`datapath == D1 or datapath == D2 ...`, the shape ovn-controller
//! uses) are indexed by the values they name, so a changed row is routed only
//! to the groups that may see it rather than offered to every group. The
//! per-group updates are independent, so they are composed in parallel.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use ovsdb::condition::{Clause, Function};
use ovsdb::db::{Commit, FastMap, RowChange};
use ovsdb::monitor::MonitorSpec;
use ovsdb::schema::{ColumnId, DatabaseSchema, TableId};
use ovsdb::Datum;

use crate::server::SessionId;

/// A session's monitor: the session and the monitor id's JSON text.
pub type Member = (SessionId, String);

/// Below this many row changes (to compose, over all groups; or in a
/// commit), working in parallel costs more than it saves: a row's update
/// takes a microsecond or two, handing work to the pool and its threads
/// spinning for more take tens (condmon's commits of ten rows for fifty
/// groups spent a fifth of the server's CPU there).
pub const PARALLEL_MIN_CHANGES: usize = 512;

#[derive(Default)]
pub struct Fanout {
    /// The groups, by content: finds the group an equal request joins.
    groups: HashSet<Arc<MonitorSpec>>,
    /// Each group's members, by the group's address: what every commit
    /// looks up, without hashing whole requests.
    members: ByAddress<Vec<Member>>,
    /// (table, column) → value → groups whose condition on the table names
    /// that value for that column.
    by_value: FastMap<(TableId, ColumnId), FastMap<Datum, Vec<Arc<MonitorSpec>>>>,
    /// The indexed columns of each table, with how many groups use each.
    indexed_columns: HashMap<TableId, HashMap<ColumnId, usize>>,
    /// Groups that must see every change of a table.
    unindexed: HashMap<TableId, Vec<Arc<MonitorSpec>>>,
}

/// Keyed by a group's identity (see [`key`]).
type ByAddress<V> = HashMap<usize, V, std::hash::BuildHasherDefault<ovsdb::db::UuidHasher>>;

/// A group's identity while it exists: the address of its shared request.
fn key(spec: &Arc<MonitorSpec>) -> usize {
    Arc::as_ptr(spec) as usize
}

/// A condition's equality clauses, if it is nothing but those (and `false`).
fn equality_clauses(spec: &ovsdb::monitor::TableSpec) -> Option<Vec<(ColumnId, Datum)>> {
    let cond = spec.condition.as_ref()?;
    if cond.is_true() {
        return None;
    }
    let mut out = Vec::with_capacity(cond.clauses.len());
    for clause in &cond.clauses {
        match clause {
            Clause::Compare { column, function: Function::Eq, arg } => out.push((*column, arg.clone())),
            Clause::Const(false) => {}
            _ => return None,
        }
    }
    Some(out)
}

impl Fanout {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn n_groups(&self) -> usize {
        self.groups.len()
    }

    pub fn members(&self, spec: &Arc<MonitorSpec>) -> &[Member] {
        self.members.get(&key(spec)).map_or(&[], |m| m.as_slice())
    }

    /// Adds a member to the group for `spec`, creating the group if needed.
    /// Returns the shared spec.
    pub fn join(&mut self, spec: MonitorSpec, member: Member) -> Arc<MonitorSpec> {
        if let Some(shared) = self.groups.get(&spec).map(Arc::clone) {
            self.members.entry(key(&shared)).or_default().push(member);
            return shared;
        }
        let spec = Arc::new(spec);
        for ts in &spec.tables {
            match equality_clauses(ts) {
                Some(clauses) => {
                    for (column, value) in clauses {
                        self.by_value.entry((ts.table, column)).or_default().entry(value).or_default().push(Arc::clone(&spec));
                        *self.indexed_columns.entry(ts.table).or_default().entry(column).or_default() += 1;
                    }
                }
                None => self.unindexed.entry(ts.table).or_default().push(Arc::clone(&spec)),
            }
        }
        self.groups.insert(Arc::clone(&spec));
        self.members.insert(key(&spec), vec![member]);
        spec
    }

    /// Removes a member; the group goes when its last member does.
    pub fn leave(&mut self, spec: &Arc<MonitorSpec>, member: &Member) {
        let Some(members) = self.members.get_mut(&key(spec)) else { return };
        members.retain(|m| m != member);
        if !members.is_empty() {
            return;
        }
        self.members.remove(&key(spec));
        self.groups.remove(&**spec);
        for ts in &spec.tables {
            match equality_clauses(ts) {
                Some(clauses) => {
                    for (column, value) in clauses {
                        if let Some(values) = self.by_value.get_mut(&(ts.table, column)) {
                            if let Some(list) = values.get_mut(&value) {
                                list.retain(|s| !Arc::ptr_eq(s, spec));
                                if list.is_empty() {
                                    values.remove(&value);
                                }
                            }
                            if values.is_empty() {
                                self.by_value.remove(&(ts.table, column));
                            }
                        }
                        if let Some(cols) = self.indexed_columns.get_mut(&ts.table) {
                            if let Some(n) = cols.get_mut(&column) {
                                *n -= 1;
                                if *n == 0 {
                                    cols.remove(&column);
                                }
                            }
                            if cols.is_empty() {
                                self.indexed_columns.remove(&ts.table);
                            }
                        }
                    }
                }
                None => {
                    if let Some(list) = self.unindexed.get_mut(&ts.table) {
                        list.retain(|s| !Arc::ptr_eq(s, spec));
                        if list.is_empty() {
                            self.unindexed.remove(&ts.table);
                        }
                    }
                }
            }
        }
    }

    /// For each group that may be affected, the part of `commit` it may see.
    pub fn route(&self, commit: &Commit) -> Vec<(Arc<MonitorSpec>, Commit)> {
        let mut routed: ByAddress<(Arc<MonitorSpec>, Commit)> = ByAddress::default();
        for (table, changes) in &commit.tables {
            let all = self.unindexed.get(table);
            let cols = self.indexed_columns.get(table);
            if all.is_none() && cols.is_none() {
                continue;
            }
            for change in changes {
                let mut add = |spec: &Arc<MonitorSpec>| {
                    let entry = routed
                        .entry(key(spec))
                        .or_insert_with(|| (Arc::clone(spec), Commit::default()));
                    let tables = &mut entry.1.tables;
                    if tables.last().is_none_or(|(t, _)| t != table) {
                        tables.push((*table, Vec::new()));
                    }
                    if let Some((_, list)) = tables.last_mut()
                        && list.last().is_none_or(|c: &RowChange| c.uuid != change.uuid)
                    {
                        list.push(change.clone());
                    }
                };
                for spec in all.into_iter().flatten() {
                    add(spec);
                }
                for &column in cols.into_iter().flat_map(|c| c.keys()) {
                    let Some(values) = self.by_value.get(&(*table, column)) else { continue };
                    for row in change.old.iter().chain(change.new.iter()) {
                        for spec in values.get(&*row.get(column)).into_iter().flatten() {
                            add(spec);
                        }
                    }
                }
            }
        }
        routed.into_values().collect()
    }

    /// Composes each routed group's `<table-updates>`, once per group, in
    /// parallel when there are many changes: each group's tables are cut
    /// into runs of rows, written on the pool and put together in order,
    /// so one big update (northd's echo of its 40,000 flows) is spread
    /// over the threads as well as many small ones.
    pub fn compose(schema: &DatabaseSchema, routed: Vec<(Arc<MonitorSpec>, Commit)>) -> Vec<(Arc<MonitorSpec>, Bytes)> {
        if routed.iter().map(|(_, c)| c.n_changes()).sum::<usize>() < PARALLEL_MIN_CHANGES {
            return routed
                .into_iter()
                .filter_map(|(spec, commit)| {
                    let update = spec.update_bytes(schema, &commit)?;
                    Some((spec, Bytes::from(update)))
                })
                .collect();
        }
        use rayon::prelude::*;
        let runs: Vec<(usize, TableId, &[RowChange])> = routed
            .iter()
            .enumerate()
            .flat_map(|(group, (_, commit))| {
                commit.tables.iter().flat_map(move |(table, changes)| {
                    changes.chunks(ROWS_PER_RUN).map(move |run| (group, *table, run))
                })
            })
            .collect();
        let parts: Vec<(TableId, Vec<u8>)> = runs
            .par_iter()
            .map(|&(group, table, run)| (table, routed[group].0.table_update_part(schema, table, run)))
            .collect();
        let mut out = Vec::with_capacity(routed.len());
        // A group's runs are next to each other, in order.
        let mut start = 0;
        for (group, (spec, _)) in routed.iter().enumerate() {
            let end = start + runs[start..].iter().take_while(|(g, _, _)| *g == group).count();
            if let Some(update) = MonitorSpec::assemble_update(schema, &parts[start..end]) {
                out.push((Arc::clone(spec), Bytes::from(update)));
            }
            start = end;
        }
        out
    }
}

/// Rows of one table written as one task when composing in parallel.
const ROWS_PER_RUN: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::db::Database;
    use ovsdb::monitor::Version;
    use ovsdb::testing::commit;
    use serde_json::{Value as Json, json};

    fn db() -> Database {
        let schema = DatabaseSchema::from_json(&json!({"name": "S", "tables": {"Flow": {"isRoot": true, "columns": {
            "dp": {"type": "integer"}, "text": {"type": "string"}}}}}))
        .unwrap();
        Database::new(schema)
    }

    fn spec(db: &Database, req: Json) -> MonitorSpec {
        MonitorSpec::parse(&db.schema, &req, Version::V2).unwrap()
    }

    #[test]
    fn routes_rows_to_the_groups_that_name_them() {
        let mut db = db();
        let mut fan = Fanout::default();
        let dp1 = fan.join(spec(&db, json!({"Flow": [{"where": [["dp", "==", 1]]}]})), (1, "a".into()));
        let dp2 = fan.join(spec(&db, json!({"Flow": [{"where": [["dp", "==", 2], ["dp", "==", 3]]}]})), (2, "a".into()));
        let all = fan.join(spec(&db, json!({"Flow": [{"where": [["text", "!=", "x"]]}]})), (3, "a".into()));
        // An identical request joins the existing group.
        let again = fan.join(spec(&db, json!({"Flow": [{"where": [["dp", "==", 1]]}]})), (4, "b".into()));
        assert!(Arc::ptr_eq(&dp1, &again));
        assert_eq!(fan.n_groups(), 3);

        let c = commit(&mut db, json!([{"op": "insert", "table": "Flow", "row": {"dp": 3, "text": "t"}}]));
        let routed = fan.route(&c);
        let names: Vec<bool> = [&dp1, &dp2, &all].iter().map(|s| routed.iter().any(|(r, _)| Arc::ptr_eq(r, s))).collect();
        assert_eq!(names, vec![false, true, true]);

        // A row moving from dp 3 to dp 1 concerns both its old and new groups.
        let c = commit(&mut db, json!([{"op": "update", "table": "Flow", "where": [], "row": {"dp": 1}}]));
        let routed = fan.route(&c);
        assert!(routed.iter().any(|(r, _)| Arc::ptr_eq(r, &dp1)));
        assert!(routed.iter().any(|(r, _)| Arc::ptr_eq(r, &dp2)));
        let composed = Fanout::compose(&db.schema, routed);
        assert_eq!(composed.len(), 3, "dp1 sees an insert, dp2 a delete, the catch-all a modify");

        // Many changes are composed in parallel, in runs of rows put
        // together again: the same text as each group's whole update.
        let rows: Vec<Json> = (0..3 * ROWS_PER_RUN as i64)
            .map(|n| json!({"op": "insert", "table": "Flow", "row": {"dp": n % 4, "text": format!("flow {n}")}}))
            .collect();
        let c = commit(&mut db, Json::Array(rows));
        let routed = fan.route(&c);
        let whole: Vec<(usize, Vec<u8>)> =
            routed.iter().filter_map(|(s, c)| Some((key(s), s.update_bytes(&db.schema, c)?))).collect();
        assert!(c.n_changes() >= PARALLEL_MIN_CHANGES && whole.len() == 3);
        let parallel: Vec<(usize, Vec<u8>)> =
            Fanout::compose(&db.schema, routed).into_iter().map(|(s, b)| (key(&s), b.to_vec())).collect();
        assert!(parallel == whole, "composing in parallel changed the updates");

        fan.leave(&dp1, &(1, "a".into()));
        fan.leave(&dp1, &(4, "b".into()));
        assert_eq!(fan.n_groups(), 2);
        let c = commit(&mut db, json!([{"op": "update", "table": "Flow", "where": [], "row": {"text": "u"}}]));
        assert!(fan.route(&c).iter().all(|(r, _)| !Arc::ptr_eq(r, &dp1)));
    }
}
