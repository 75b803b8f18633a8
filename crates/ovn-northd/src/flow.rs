//! Logical flows as northd builds them, and the table that merges the
//! flows of every unit into Southbound rows.
//!
//! A [`Flow`] is what identifies a Southbound `Logical_Flow` apart from its
//! datapaths: stage, priority, match, actions and controller meter. Units
//! (one switch, one port, one port group's ACLs...) emit flows for a set of
//! datapaths; [`FlowTable`] counts, per flow and datapath, how many units
//! emit it. A flow emitted for several datapaths becomes one row with a
//! `logical_dp_group`, which is how OVN shares flows between datapaths.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use ovsdb::Uuid;

use crate::stage::Stage;

// Maps and sets keyed by what northd computes (flows, names, UUIDs) hash
// with the quick hasher, not the DoS-resistant default.
use ovsdb::db::{FastMap as HashMap, FastSet as HashSet};

/// Flows that changed in a round, each once.
pub type FlowSet = Vec<Arc<Flow>>;

/// The identity of a logical flow, datapaths aside.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    pub stage: Stage,
    pub priority: u16,
    pub match_: Arc<str>,
    pub actions: Arc<str>,
    pub controller_meter: Option<Arc<str>>,
}

impl Flow {
    /// A hash of the whole flow; what [`Hash`] feeds a hasher.
    pub fn content_hash(&self) -> u64 {
        let mut h = ovsdb::db::FastHasher::default();
        self.stage.hash(&mut h);
        self.priority.hash(&mut h);
        self.match_.hash(&mut h);
        self.actions.hash(&mut h);
        self.controller_meter.hash(&mut h);
        h.finish()
    }
}

/// Hashes as one `u64`, [`Flow::content_hash`], so that a [`Keyed`]
/// flow, which keeps that value, can be looked up by a plain flow.
impl Hash for Flow {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.content_hash());
    }
}

/// A flow with its hash, as the flow table keys it. A first compile grows
/// the table from nothing, and each growth rehashes every key: for a bare
/// flow that meant reading its strings again, three cache misses a flow
/// (a sixth of the compile).
#[derive(Clone, Debug)]
struct Keyed {
    hash: u64,
    flow: Arc<Flow>,
}

impl Keyed {
    fn new(flow: &Arc<Flow>) -> Keyed {
        Keyed { hash: flow.content_hash(), flow: Arc::clone(flow) }
    }
}

impl Hash for Keyed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for Keyed {
    fn eq(&self, other: &Keyed) -> bool {
        self.hash == other.hash && self.flow == other.flow
    }
}

impl Eq for Keyed {}

impl std::borrow::Borrow<Flow> for Keyed {
    fn borrow(&self) -> &Flow {
        &self.flow
    }
}

/// What a Southbound row carries besides its identity. When several units
/// emit the same flow, the first one's metadata is kept (as OVN keeps the
/// first flow it built); the table keeps the smallest by `Ord` so that the
/// choice does not depend on the order units run in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FlowMeta {
    /// `tags:in_out_port`: the port the match's `inport`/`outport` names,
    /// which lets ovn-controller skip flows of ports it does not host.
    pub io_port: Option<Arc<str>>,
    /// `external_ids:stage-hint`: the Northbound row the flow comes from
    /// (first 8 hex digits of its UUID).
    pub stage_hint: Option<Uuid>,
    /// `external_ids:source`: where in rovn the flow is built.
    pub source: &'static str,
}

/// Flows emitted by one unit of work.
#[derive(Clone, Debug, Default)]
pub struct FlowSink {
    pub flows: Vec<(Flow, FlowMeta)>,
}

impl FlowSink {
    pub fn push(&mut self, flow: Flow, meta: FlowMeta) {
        self.flows.push((flow, meta));
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }
}

/// Adds a flow to a [`FlowSink`], recording this source location.
///
/// `lflow!(sink, stage, priority, match, actions)` plus optional
/// `hint = uuid`, `io = port`, `meter = name` (each an `Option` or a value).
#[macro_export]
macro_rules! lflow {
    ($sink:expr, $stage:expr, $prio:expr, $m:expr, $a:expr $(, $k:ident = $v:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut meta = $crate::flow::FlowMeta {
            io_port: None,
            stage_hint: None,
            source: $crate::flow::short_source(concat!(file!(), ":", line!())),
        };
        #[allow(unused_mut, unused_assignments)]
        let mut meter: Option<std::sync::Arc<str>> = None;
        $( $crate::lflow!(@opt meta, meter, $k, $v); )*
        $sink.push(
            $crate::flow::Flow {
                stage: $stage,
                priority: $prio,
                match_: std::sync::Arc::<str>::from($m),
                actions: std::sync::Arc::<str>::from($a),
                controller_meter: meter,
            },
            meta,
        );
    }};
    (@opt $meta:ident, $meter:ident, hint, $v:expr) => { $meta.stage_hint = $crate::flow::IntoOpt::into_opt($v); };
    (@opt $meta:ident, $meter:ident, io, $v:expr) => { $meta.io_port = $crate::flow::IntoOpt::<std::sync::Arc<str>>::into_opt($v); };
    (@opt $meta:ident, $meter:ident, meter, $v:expr) => { $meter = $crate::flow::IntoOpt::<std::sync::Arc<str>>::into_opt($v); };
}

/// `file!():line!()` trimmed to the file name, as OVN trims its source
/// locator.
pub fn short_source(s: &'static str) -> &'static str {
    match s.rfind('/') {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

/// Conversions accepted by the `lflow!` options.
pub trait IntoOpt<T> {
    fn into_opt(self) -> Option<T>;
}
impl IntoOpt<Uuid> for Uuid {
    fn into_opt(self) -> Option<Uuid> {
        Some(self)
    }
}
impl IntoOpt<Uuid> for Option<Uuid> {
    fn into_opt(self) -> Option<Uuid> {
        self
    }
}
impl IntoOpt<Arc<str>> for Arc<str> {
    fn into_opt(self) -> Option<Arc<str>> {
        Some(self)
    }
}
impl IntoOpt<Arc<str>> for &Arc<str> {
    fn into_opt(self) -> Option<Arc<str>> {
        Some(Arc::clone(self))
    }
}
impl IntoOpt<Arc<str>> for &str {
    fn into_opt(self) -> Option<Arc<str>> {
        Some(Arc::from(self))
    }
}
impl IntoOpt<Arc<str>> for Option<Arc<str>> {
    fn into_opt(self) -> Option<Arc<str>> {
        self
    }
}
impl IntoOpt<Arc<str>> for &String {
    fn into_opt(self) -> Option<Arc<str>> {
        Some(Arc::from(self.as_str()))
    }
}
impl IntoOpt<Arc<str>> for String {
    fn into_opt(self) -> Option<Arc<str>> {
        Some(Arc::from(self))
    }
}
impl IntoOpt<Arc<str>> for Option<String> {
    fn into_opt(self) -> Option<Arc<str>> {
        self.map(Arc::from)
    }
}
impl IntoOpt<Arc<str>> for Option<&Arc<str>> {
    fn into_opt(self) -> Option<Arc<str>> {
        self.cloned()
    }
}

/// A datapath, by the UUID of its Northbound row.
pub type DpId = Uuid;

/// One flow's datapaths (with how many units emit it for each) and
/// metadata.
#[derive(Clone, Debug, Default)]
pub struct FlowEntry {
    dps: Counts<DpId>,
    /// Metadata of every contribution, with counts; the smallest wins.
    metas: Counts<FlowMeta>,
}

impl FlowEntry {
    pub fn meta(&self) -> Option<&FlowMeta> {
        self.metas.keys().next()
    }

    /// In order.
    pub fn datapaths(&self) -> impl Iterator<Item = &DpId> {
        self.dps.keys()
    }
}

/// A multiset as a sorted vector of (value, count): most flows have one
/// datapath and one metadata, and a first compile makes 30,000 of them,
/// so one small allocation each instead of a tree node (the nodes were
/// a tenth of the compile, in page faults).
#[derive(Clone, Debug)]
struct Counts<K>(Vec<(K, u32)>);

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts(Vec::new())
    }
}

impl<K: Ord + Clone> Counts<K> {
    fn add(&mut self, k: &K) {
        match self.0.binary_search_by(|(x, _)| x.cmp(k)) {
            Ok(i) => self.0[i].1 += 1,
            Err(i) => self.0.insert(i, (k.clone(), 1)),
        }
    }

    /// Takes one `k` away, if there is one.
    fn remove(&mut self, k: &K) {
        if let Ok(i) = self.0.binary_search_by(|(x, _)| x.cmp(k)) {
            self.0[i].1 -= 1;
            if self.0[i].1 == 0 {
                self.0.remove(i);
            }
        }
    }

    fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Every flow of every unit, merged. The flows are spread over shards by
/// their hash, so that a first compile's 10,000 ports can be merged on
/// every thread at once ([`FlowTable::replace_all`]).
#[derive(Clone, Debug)]
pub struct FlowTable {
    shards: Box<[Shard]>,
}

/// Shards of a [`FlowTable`]: enough to keep 16 threads busy.
const SHARDS: usize = 16;

fn shard_of(hash: u64) -> usize {
    // Bits the maps inside do not bucket by.
    (hash >> 32) as usize % SHARDS
}

#[derive(Clone, Debug, Default)]
struct Shard {
    entries: HashMap<Keyed, FlowEntry>,
    /// Flows whose datapaths or metadata changed since [`FlowTable::take_dirty`].
    dirty: HashSet<Keyed>,
}

impl Default for FlowTable {
    fn default() -> Self {
        FlowTable { shards: (0..SHARDS).map(|_| Shard::default()).collect() }
    }
}

type ContributionKey = (Arc<Flow>, FlowMeta, Arc<[DpId]>);

/// A unit's contribution: its flows and the datapaths they apply to.
#[derive(Clone, Debug, Default)]
pub struct Contribution {
    pub flows: Vec<(Arc<Flow>, FlowMeta, Arc<[DpId]>)>,
}

impl Contribution {
    pub fn from_sink(sink: FlowSink, dps: Arc<[DpId]>) -> Contribution {
        Contribution {
            flows: sink
                .flows
                .into_iter()
                .map(|(f, m)| (Arc::new(f), m, Arc::clone(&dps)))
                .collect(),
        }
    }

    pub fn extend(&mut self, sink: FlowSink, dps: Arc<[DpId]>) {
        self.flows
            .extend(sink.flows.into_iter().map(|(f, m)| (Arc::new(f), m, Arc::clone(&dps))));
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Its flows' keys, in order.
    fn keys(&self) -> Vec<Keyed> {
        self.flows.iter().map(|(f, _, _)| Keyed::new(f)).collect()
    }
}

impl FlowTable {
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.entries.is_empty())
    }

    fn shard(&self, flow: &Flow) -> &Shard {
        &self.shards[shard_of(flow.content_hash())]
    }

    pub fn get(&self, flow: &Flow) -> Option<&FlowEntry> {
        self.shard(flow).entries.get(flow)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Arc<Flow>, &FlowEntry)> {
        self.shards.iter().flat_map(|s| s.entries.iter().map(|(k, e)| (&k.flow, e)))
    }

    pub fn get_key_value(&self, flow: &Flow) -> Option<(&Arc<Flow>, &FlowEntry)> {
        self.shard(flow).entries.get_key_value(flow).map(|(k, e)| (&k.flow, e))
    }

    /// Replaces a unit's previous contribution by its new one, touching
    /// only the flows that differ.
    pub fn replace(&mut self, old: &Contribution, new: &Contribution) {
        let (old_keys, new_keys) = (old.keys(), new.keys());
        let touched = old_keys.iter().chain(&new_keys).fold(0u64, |m, k| m | 1 << shard_of(k.hash));
        for (i, shard) in self.shards.iter_mut().enumerate() {
            if touched & 1 << i != 0 {
                shard.replace(i, (old, &old_keys), (new, &new_keys));
            }
        }
    }

    /// [`FlowTable::replace`] for many units at once, which leaves the
    /// same table as replacing them one by one in any order: each shard
    /// takes its flows of every unit, in parallel with the others.
    pub fn replace_all(&mut self, units: &[(&Contribution, &Contribution)]) {
        use rayon::prelude::*;
        let keys: Vec<(Vec<Keyed>, Vec<Keyed>)> = units.par_iter().map(|(old, new)| (old.keys(), new.keys())).collect();
        self.shards.par_iter_mut().enumerate().for_each(|(i, shard)| {
            for ((old, new), (old_keys, new_keys)) in units.iter().zip(&keys) {
                shard.replace(i, (old, old_keys), (new, new_keys));
            }
        });
    }

    /// How many flows changed since [`FlowTable::take_dirty`].
    pub fn dirty_len(&self) -> usize {
        self.shards.iter().map(|s| s.dirty.len()).sum()
    }

    /// The flows changed since the last call.
    pub fn take_dirty(&mut self) -> FlowSet {
        self.shards.iter_mut().flat_map(|s| std::mem::take(&mut s.dirty)).map(|k| k.flow).collect()
    }
}

/// The positions of the keys that belong to shard `me`.
fn of_shard(keys: &[Keyed], me: usize) -> impl Iterator<Item = usize> + '_ {
    (0..keys.len()).filter(move |&i| shard_of(keys[i].hash) == me)
}

impl Shard {
    /// [`FlowTable::replace`] for the flows of shard `me`; each
    /// contribution comes with its flows' keys.
    fn replace(&mut self, me: usize, (old, old_keys): (&Contribution, &[Keyed]), (new, new_keys): (&Contribution, &[Keyed])) {
        // A first compile only adds, and a removed unit only removes.
        if old.flows.is_empty() || new.flows.is_empty() {
            for i in of_shard(old_keys, me) {
                let (_, m, d) = &old.flows[i];
                self.remove_one(&old_keys[i], m, d);
            }
            for i in of_shard(new_keys, me) {
                let (_, m, d) = &new.flows[i];
                self.add_one(&new_keys[i], m, d);
            }
            return;
        }
        let key = |(f, m, d): &(Arc<Flow>, FlowMeta, Arc<[DpId]>)| (Arc::clone(f), m.clone(), Arc::clone(d));
        let mut old_set: HashMap<ContributionKey, (u32, usize)> = HashMap::default();
        for i in of_shard(old_keys, me) {
            old_set.entry(key(&old.flows[i])).or_insert((0, i)).0 += 1;
        }
        let mut added = Vec::new();
        for i in of_shard(new_keys, me) {
            match old_set.get_mut(&key(&new.flows[i])) {
                Some((n, _)) if *n > 0 => *n -= 1,
                _ => added.push(i),
            }
        }
        for ((_, m, d), (n, i)) in old_set {
            for _ in 0..n {
                self.remove_one(&old_keys[i], &m, &d);
            }
        }
        for i in added {
            let (_, m, d) = &new.flows[i];
            self.add_one(&new_keys[i], m, d);
        }
    }

    fn add_one(&mut self, key: &Keyed, meta: &FlowMeta, dps: &[DpId]) {
        self.dirty.insert(key.clone());
        let e = self.entries.entry(key.clone()).or_default();
        e.dps.0.reserve(dps.len());
        for dp in dps {
            e.dps.add(dp);
        }
        e.metas.add(meta);
    }

    fn remove_one(&mut self, key: &Keyed, meta: &FlowMeta, dps: &[DpId]) {
        let Some(e) = self.entries.get_mut(key) else {
            return;
        };
        for dp in dps {
            e.dps.remove(dp);
        }
        e.metas.remove(meta);
        if e.dps.is_empty() {
            self.entries.remove(key);
        }
        self.dirty.insert(key.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small pool of flows, metadata and datapath sets, so that units
    /// share flows and replacements overlap.
    fn unit(seed: u64, n: usize) -> Contribution {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let dps: Vec<Arc<[DpId]>> = (0..4u128).map(|i| Arc::from(vec![Uuid(i + 1), Uuid(i + 2)])).collect();
        let flows = (0..n)
            .map(|_| {
                let flow = Flow {
                    stage: Stage::ALL[next(3) as usize],
                    priority: next(4) as u16,
                    match_: Arc::from(format!("m{}", next(40))),
                    actions: Arc::from("next;"),
                    controller_meter: None,
                };
                let meta = FlowMeta { io_port: None, stage_hint: None, source: ["a", "b"][next(2) as usize] };
                (Arc::new(flow), meta, Arc::clone(&dps[next(4) as usize]))
            })
            .collect();
        Contribution { flows }
    }

    fn contents(t: &FlowTable) -> Vec<(Flow, Vec<DpId>, Option<FlowMeta>)> {
        let mut v: Vec<_> = t.iter().map(|(f, e)| ((**f).clone(), e.datapaths().copied().collect(), e.meta().cloned())).collect();
        v.sort_by(|a, b| (a.0.stage.table(), a.0.priority, &a.0.match_, &a.1, &a.2).cmp(&(b.0.stage.table(), b.0.priority, &b.0.match_, &b.1, &b.2)));
        v
    }

    #[test]
    fn replacing_all_at_once_is_replacing_one_by_one() {
        let first: Vec<Contribution> = (0..40).map(|i| unit(i, (i % 7) as usize * 3)).collect();
        let second: Vec<Contribution> = (0..40).map(|i| if i % 5 == 0 { Contribution::default() } else { unit(i * 31 + 7, (i % 4) as usize * 4) }).collect();
        let empty = Contribution::default();
        let (mut one, mut all) = (FlowTable::default(), FlowTable::default());
        for c in &first {
            one.replace(&empty, c);
        }
        all.replace_all(&first.iter().map(|c| (&empty, c)).collect::<Vec<_>>());
        assert!(one.len() > 20, "{}", one.len());
        assert_eq!(contents(&one), contents(&all));
        assert_eq!(one.dirty_len(), all.dirty_len());
        one.take_dirty();
        all.take_dirty();
        for (a, b) in first.iter().zip(&second) {
            one.replace(a, b);
        }
        all.replace_all(&first.iter().zip(&second).collect::<Vec<_>>());
        assert_eq!(contents(&one), contents(&all));
        let dirty = |t: &mut FlowTable| {
            let mut d: Vec<_> = t.take_dirty().iter().map(|f| (f.stage.table(), f.priority, f.match_.clone())).collect();
            d.sort();
            d
        };
        assert_eq!(dirty(&mut one), dirty(&mut all));
    }
}
