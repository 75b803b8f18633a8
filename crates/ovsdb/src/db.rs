//! The database: its tables of rows, plus what integrity checks need to be
//! fast (strong reference counts, weak back-references, unique indexes).
//! A [`Commit`] made by a transaction (or read from disk) is applied here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::atom::Atom;
use crate::datum::{Change, Datum};
use crate::row::Row;
use crate::schema::{ColumnId, DatabaseSchema, TableId, TableSchema};
use crate::types::RefType;
use crate::uuid::Uuid;

/// Row UUIDs are random, so hashing them is folding them.
#[derive(Default, Clone, Copy)]
pub struct UuidHasher(u64);

impl Hasher for UuidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 ^= (v as u64) ^ ((v >> 64) as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.0 = (self.0 ^ v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

pub type UuidMap<V> = HashMap<Uuid, V, BuildHasherDefault<UuidHasher>>;

/// A quick hasher for keys the server builds itself on hot paths (row
/// keys, datums of indexed conditions): each 64-bit word is mixed in with
/// a rotate, an xor and a multiply. Not resistant to chosen collisions,
/// like the hashing of the C ovsdb-server.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for FastHasher {
    /// Mixes every bit into every other (MurmurHash3's finaliser): a
    /// multiply carries a word's bits only upwards, and hash tables index
    /// by the low bits, so without it strings that differ only in their
    /// last bytes ("ls-653", "ls-654") fell into a handful of buckets.
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    fn write_u128(&mut self, v: u128) {
        self.add(v as u64);
        self.add((v >> 64) as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A `HashSet` with [`FastHasher`].
pub type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;
/// A row of some table.
pub type RowKey = (TableId, Uuid);

/// One table's rows and bookkeeping.
#[derive(Default, Clone)]
pub struct Table {
    pub rows: UuidMap<Arc<Row>>,
    /// Strong references to each row (only nonzero counts are kept).
    pub(crate) n_refs: UuidMap<u32>,
    /// For each row, the rows holding weak references to it, with counts.
    pub(crate) weak_srcs: UuidMap<HashMap<RowKey, u32, BuildHasherDefault<UuidHasher>>>,
    /// One map per schema index: index values → the row holding them.
    pub(crate) indexes: Vec<FastMap<Vec<Datum>, Uuid>>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn get(&self, uuid: &Uuid) -> Option<&Arc<Row>> {
        self.rows.get(uuid)
    }

    pub fn n_refs(&self, uuid: &Uuid) -> u32 {
        self.n_refs.get(uuid).copied().unwrap_or(0)
    }

    /// The row that holds `key` in index `index`.
    pub fn index_lookup(&self, index: usize, key: &[Datum]) -> Option<Uuid> {
        self.indexes.get(index)?.get(key).copied()
    }
}

/// One row's change in a commit.
#[derive(Clone, Debug)]
pub struct RowChange {
    pub uuid: Uuid,
    pub old: Option<Arc<Row>>,
    pub new: Option<Arc<Row>>,
}

/// The effect of one committed transaction: what changed, table by table.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    /// Tables with at least one change, in [`TableId`] order.
    pub tables: Vec<(TableId, Vec<RowChange>)>,
    pub comment: Option<String>,
    /// The client asked for `"durable": true`.
    pub durable: bool,
}

impl Commit {
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(|(_, c)| c.is_empty())
    }

    pub fn n_changes(&self) -> usize {
        self.tables.iter().map(|(_, c)| c.len()).sum()
    }

    /// Roughly how many bytes the commit's rows occupy, old and new.
    pub fn approx_bytes(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|(_, c)| c)
            .map(|ch| 48 + ch.old.as_ref().map_or(0, |r| r.approx_bytes()) + ch.new.as_ref().map_or(0, |r| r.approx_bytes()))
            .sum()
    }
}

/// A database: schema and contents.
#[derive(Clone)]
pub struct Database {
    pub schema: Arc<DatabaseSchema>,
    pub tables: Vec<Table>,
}

impl Database {
    pub fn new(schema: Arc<DatabaseSchema>) -> Database {
        let tables = schema
            .tables
            .iter()
            .map(|t| Table { indexes: vec![FastMap::default(); t.indexes.len()], ..Table::default() })
            .collect();
        Database { schema, tables }
    }

    pub fn table(&self, id: TableId) -> &Table {
        &self.tables[id]
    }

    pub fn table_by_name(&self, name: &str) -> Option<(TableId, &TableSchema, &Table)> {
        let id = self.schema.table_id(name)?;
        Some((id, &self.schema.tables[id], &self.tables[id]))
    }

    pub fn n_rows(&self) -> usize {
        self.tables.iter().map(Table::len).sum()
    }

    /// Applies a commit that has already been checked (by a transaction, or
    /// because it was read back from our own log).
    pub fn apply(&mut self, commit: &Commit) {
        let schema = Arc::clone(&self.schema);
        for (table_id, changes) in &commit.tables {
            // A large insert grows the table once, not step by step.
            let inserts = changes.iter().filter(|c| c.old.is_none() && c.new.is_some()).count();
            self.tables[*table_id].rows.reserve(inserts);
            for change in changes {
                self.apply_change(&schema.tables[*table_id], *table_id, change);
            }
        }
    }

    fn apply_change(&mut self, ts: &TableSchema, table_id: TableId, change: &RowChange) {
        let src: RowKey = (table_id, change.uuid);
        for (col_id, col) in ts.user_columns() {
            if !col.has_refs() {
                continue;
            }
            let old = change.old.as_ref().map(|r| r.field(col_id));
            let new = change.new.as_ref().map(|r| r.field(col_id));
            if old == new {
                continue;
            }
            if let (None, Some(new)) = (old, new) {
                // An inserted row (most of a large commit): every
                // element is new.
                match new {
                    Datum::Set(atoms) => atoms.iter().for_each(|a| self.adjust_ref(col_id, ts, src, a, None, 1)),
                    Datum::Map(pairs) => pairs.iter().for_each(|(k, v)| self.adjust_ref(col_id, ts, src, k, Some(v), 1)),
                }
                continue;
            }
            // Only what changed: a row with a large set of references pays
            // for the elements added and removed, not for the whole set.
            let empty = Datum::empty(&col.ty);
            let mut deltas: Vec<(Atom, Option<Atom>, i64)> = Vec::new();
            Datum::changes(old.unwrap_or(&empty), new.unwrap_or(&empty), |change, k, v| {
                deltas.push((k.clone(), v.cloned(), if change == Change::Added { 1 } else { -1 }))
            });
            for (key, value, delta) in deltas {
                self.adjust_ref(col_id, ts, src, &key, value.as_ref(), delta);
            }
        }
        for (i, index) in ts.indexes.iter().enumerate() {
            // A row that keeps its key (most updates) keeps its entry.
            if let (Some(old), Some(new)) = (&change.old, &change.new)
                && index.iter().all(|&c| old.column_eq(new, c))
            {
                continue;
            }
            if let Some(old) = &change.old {
                let key = index_key(old, index);
                if self.tables[table_id].indexes[i].get(&key) == Some(&change.uuid) {
                    self.tables[table_id].indexes[i].remove(&key);
                }
            }
            if let Some(new) = &change.new {
                self.tables[table_id].indexes[i].insert(index_key(new, index), change.uuid);
            }
        }
        let table = &mut self.tables[table_id];
        match &change.new {
            Some(row) => {
                table.rows.insert(change.uuid, Arc::clone(row));
            }
            None => {
                table.rows.remove(&change.uuid);
            }
        }
    }

    /// Counts one element (a set member, or a map pair) of column
    /// `col_id` of `src` in or out of the reference bookkeeping.
    fn adjust_ref(&mut self, col_id: ColumnId, ts: &TableSchema, src: RowKey, key: &Atom, value: Option<&Atom>, delta: i64) {
        let col = &ts.columns[col_id];
        let targets = [(col.key_ref, Some(key)), (col.value_ref, value)];
        for (target, atom) in targets {
            let (Some((target_table, ref_type)), Some(dst)) = (target, atom.and_then(Atom::as_uuid)) else { continue };
            let table = &mut self.tables[target_table];
            match ref_type {
                RefType::Strong => {
                    if (target_table, dst) == src {
                        continue; // self-references do not count
                    }
                    let n = table.n_refs.entry(dst).or_insert(0);
                    *n = (*n as i64 + delta).max(0) as u32;
                    if *n == 0 {
                        table.n_refs.remove(&dst);
                    }
                }
                RefType::Weak => {
                    let srcs = table.weak_srcs.entry(dst).or_default();
                    let n = srcs.entry(src).or_insert(0);
                    *n = (*n as i64 + delta).max(0) as u32;
                    if *n == 0 {
                        srcs.remove(&src);
                        if srcs.is_empty() {
                            table.weak_srcs.remove(&dst);
                        }
                    }
                }
            }
        }
    }
}

/// The values of an index's columns in `row`.
pub(crate) fn index_key(row: &Row, columns: &[ColumnId]) -> Vec<Datum> {
    columns.iter().map(|&c| row.get(c).into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    /// Hash tables index by the low bits: names that differ only in their
    /// last characters must spread over them (they once all but shared a
    /// bucket, and loading a million-row Southbound took four times as
    /// long, nearly all of it comparing interned strings).
    #[test]
    fn similar_strings_spread_over_the_low_bits() {
        let hasher = BuildHasherDefault::<FastHasher>::default();
        let n = 10_000;
        for prefix in ["ls-", "lsp-sw0-p", "0000028d-0000-4000-8000-00000000"] {
            let low: std::collections::HashSet<u64> =
                (0..n).map(|i| hasher.hash_one(format!("{prefix}{i}")) & 0xffff).collect();
            // Random hashes would give about 9,270 distinct values.
            assert!(low.len() > 9_000, "{prefix}: {} distinct low bits of {n}", low.len());
        }
    }
}
