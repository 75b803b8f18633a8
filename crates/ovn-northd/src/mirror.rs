//! A [`Database`] that follows an `ovsdb-client` replica: the compiler and
//! the diff read databases (with their indexes), the client keeps
//! replicas; a mirror is updated from the changes the replica tracked, and
//! reports which rows changed. Rows are shared with the replica (`Arc`), so
//! the copy costs pointers.

use ovsdb::Uuid;
use ovsdb::db::{Commit, Database, RowChange};
use ovsdb_client::{Changes, Replica};

use crate::compile::SbChange;
use crate::nb::{NbChange, NbTable};
use crate::sb::SbTable;

pub struct Mirror {
    pub db: Database,
}

impl Mirror {
    /// A copy of everything in `replica` (`None` before it has a schema).
    pub fn from_replica(replica: &Replica) -> Option<Mirror> {
        let schema = replica.schema()?.clone();
        let mut db = Database::new(schema.clone());
        let mut commit = Commit::default();
        for (id, ts) in schema.tables.iter().enumerate() {
            let Some(view) = replica.table(&ts.name) else { continue };
            let rows: Vec<RowChange> = view
                .iter()
                .map(|r| RowChange {
                    uuid: r.uuid,
                    old: None,
                    new: Some(r.clone()),
                })
                .collect();
            if !rows.is_empty() {
                commit.tables.push((id, rows));
            }
        }
        db.apply(&commit);
        Some(Mirror { db })
    }

    /// Applies what the replica tracked. Returns the changed rows as
    /// (table name, UUID).
    pub fn apply(&mut self, changes: &Changes) -> Vec<(String, Uuid)> {
        let mut commit = Commit::default();
        let mut out = Vec::new();
        for t in &changes.tables {
            let Some(id) = self.db.schema.table_id(t.name()) else {
                continue;
            };
            let mut rows = Vec::new();
            for r in &t.inserted {
                rows.push(RowChange {
                    uuid: r.uuid,
                    old: None,
                    new: Some(r.clone()),
                });
            }
            for m in &t.modified {
                rows.push(RowChange {
                    uuid: m.new.uuid,
                    old: Some(m.old.clone()),
                    new: Some(m.new.clone()),
                });
            }
            for r in &t.deleted {
                rows.push(RowChange {
                    uuid: r.uuid,
                    old: Some(r.clone()),
                    new: None,
                });
            }
            out.extend(rows.iter().map(|r| (t.name().to_string(), r.uuid)));
            commit.tables.push((id, rows));
        }
        commit.tables.sort_by_key(|(id, _)| *id);
        self.db.apply(&commit);
        out
    }
}

/// The changed rows of Northbound tables the compiler reads.
pub fn nb_changes(rows: &[(String, Uuid)]) -> Vec<NbChange> {
    rows.iter()
        .filter_map(|(t, u)| {
            Some(NbChange {
                table: NbTable::from_name(t)?,
                uuid: *u,
            })
        })
        .collect()
}

/// The changed rows of Southbound tables the compiler reads.
pub fn sb_changes(rows: &[(String, Uuid)]) -> Vec<SbChange> {
    rows.iter()
        .filter_map(|(t, u)| {
            Some(SbChange {
                table: SbTable::from_name(t)?,
                uuid: *u,
            })
        })
        .collect()
}
