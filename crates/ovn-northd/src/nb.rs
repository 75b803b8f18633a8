//! The Northbound input: a snapshot of the tables northd reads, as the
//! typed rows `ovsdb-client` generates from the schema, each behind an
//! `Arc` so that unchanged rows are shared between snapshots.
//!
//! Rows come from a [`Source`]: a client's [`ovsdb_client::Replica`], or a
//! [`Database`] (a file read with `ovsdb-storage`, or built in a test).
//! Reading never fails (the typed bindings read a missing or mistyped
//! column as its default); values northd must interpret (addresses,
//! options) are checked where they are used, and reported as diagnostics.

use std::collections::BTreeMap;
use std::sync::Arc;

use ovsdb::Uuid;
use ovsdb::db::{Database, UuidMap};
use ovsdb::row::Row;
use ovsdb::schema::TableSchema;
use ovsdb_client::Replica;
use ovsdb_client::typed::Table as TypedTable;

pub use ovsdb_client::nb::{
    ACL, AddressSet, Copp, DHCPOptions, DNS, ForwardingGroup, HAChassis, HAChassisGroup, LoadBalancer,
    LoadBalancerGroup, LogicalRouter, LogicalRouterPort, LogicalSwitch, LogicalSwitchPort, Meter, MeterBand, NAT,
    NBGlobal, PortGroup, QoS,
};

/// A string-to-string map column (`options`, `external_ids`, ...).
pub type Smap = BTreeMap<String, String>;

/// `smap_get_bool`: with a false default only "true" is true; with a
/// true default anything but "false" is (case-insensitive, absent too).
pub fn smap_bool(map: &Smap, key: &str, default: bool) -> bool {
    let v = map.get(key).map(String::as_str).unwrap_or("");
    if default {
        !v.eq_ignore_ascii_case("false")
    } else {
        v.eq_ignore_ascii_case("true")
    }
}

/// `smap_get_int`: the whole value a decimal `int`, else `default`.
pub fn smap_int(map: &Smap, key: &str, default: i64) -> i64 {
    map.get(key)
        .and_then(|v| str_to_llong(v))
        .filter(|v| i32::try_from(*v).is_ok())
        .unwrap_or(default)
}

/// `smap_get_uint`: the whole value a decimal in `0..=u32::MAX`, else
/// `default`.
pub fn smap_uint(map: &Smap, key: &str, default: u32) -> u32 {
    map.get(key)
        .and_then(|v| str_to_llong(v))
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(default)
}

/// `smap_get_ullong`: `strtoull` over the whole value (so "-5" is
/// 2^64 - 5), else `default`.
pub fn smap_ullong(map: &Smap, key: &str, default: u64) -> u64 {
    map.get(key)
        .and_then(|v| {
            let (neg, digits) = strto_prefix(v)?;
            let n: u64 = digits.parse().ok()?;
            Some(if neg { n.wrapping_neg() } else { n })
        })
        .unwrap_or(default)
}

/// `str_to_llong` (base 10): `strtoll` must consume the whole string and
/// not overflow.
pub fn str_to_llong(s: &str) -> Option<i64> {
    let (neg, digits) = strto_prefix(s)?;
    let v: i64 = if neg {
        format!("-{digits}").parse().ok()?
    } else {
        digits.parse().ok()?
    };
    Some(v)
}

/// What `strtoll`/`strtoull` accept as a whole string: blanks, a sign,
/// decimal digits and nothing after.
fn strto_prefix(s: &str) -> Option<(bool, &str)> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some((neg, digits))
}

/// What northd asks of a logical switch port beyond its columns.
pub trait LspExt {
    /// `enabled` empty or true.
    fn is_enabled(&self) -> bool;
    fn is_type(&self, t: &str) -> bool;
    fn is_router(&self) -> bool {
        self.is_type("router")
    }
    fn is_external(&self) -> bool {
        self.is_type("external")
    }
    fn is_localnet(&self) -> bool {
        self.is_type("localnet")
    }
}

impl LspExt for LogicalSwitchPort {
    fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
    fn is_type(&self, t: &str) -> bool {
        self.r#type == t
    }
}

/// Where rows are read from.
pub trait Source {
    /// Every row of a table, with the table's schema (`None` if the
    /// database has no such table).
    fn rows(&self, table: &str) -> Option<(&TableSchema, Vec<&Row>)>;
    /// One row.
    fn row(&self, table: &str, uuid: &Uuid) -> Option<(&TableSchema, &Row)>;
}

impl Source for Database {
    fn rows(&self, table: &str) -> Option<(&TableSchema, Vec<&Row>)> {
        let (_, ts, t) = self.table_by_name(table)?;
        Some((ts, t.rows.values().map(|r| &**r).collect()))
    }

    fn row(&self, table: &str, uuid: &Uuid) -> Option<(&TableSchema, &Row)> {
        let (_, ts, t) = self.table_by_name(table)?;
        Some((ts, t.get(uuid)?))
    }
}

impl Source for Replica {
    fn rows(&self, table: &str) -> Option<(&TableSchema, Vec<&Row>)> {
        let schema = self.schema()?;
        let ts = schema.table(table)?;
        let view = self.table(table)?;
        Some((ts, view.iter().map(|r| &**r).collect()))
    }

    fn row(&self, table: &str, uuid: &Uuid) -> Option<(&TableSchema, &Row)> {
        let schema = self.schema()?;
        let ts = schema.table(table)?;
        Some((ts, self.table(table)?.get(*uuid)?))
    }
}

/// One table's rows.
#[derive(Clone, Debug)]
pub struct Table<T> {
    pub rows: UuidMap<Arc<T>>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: UuidMap::default(),
        }
    }
}

/// From this many rows on, [`Table::load`] types them in parallel.
const PARALLEL_MIN_ROWS: usize = 1024;

impl<T: TypedTable + PartialEq> Table<T> {
    pub fn get(&self, uuid: &Uuid) -> Option<&Arc<T>> {
        self.rows.get(uuid)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Uuid, &Arc<T>)> {
        self.rows.iter()
    }

    fn load(src: &dyn Source) -> Table<T>
    where
        T: Send + Sync,
    {
        use rayon::prelude::*;
        let mut t = Table::default();
        if let Some((ts, rows)) = src.rows(T::TABLE) {
            t.rows.reserve(rows.len());
            if rows.len() < PARALLEL_MIN_ROWS {
                t.rows.extend(rows.into_iter().map(|row| (row.uuid, Arc::new(T::from_row(ts, row)))));
            } else {
                // A first load's 10,000 ports are typed on every thread.
                let typed: Vec<(Uuid, Arc<T>)> = rows.par_iter().map(|row| (row.uuid, Arc::new(T::from_row(ts, row)))).collect();
                t.rows.extend(typed);
            }
        }
        t
    }

    /// Re-reads one row. Returns the old and new values (either may be
    /// absent) when something changed.
    #[allow(clippy::type_complexity)]
    fn refresh(&mut self, src: &dyn Source, uuid: Uuid) -> Option<(Option<Arc<T>>, Option<Arc<T>>)> {
        let new = src.row(T::TABLE, &uuid).map(|(ts, row)| Arc::new(T::from_row(ts, row)));
        let old = self.rows.get(&uuid).cloned();
        if old.as_deref() == new.as_deref() {
            return None;
        }
        match &new {
            Some(n) => self.rows.insert(uuid, Arc::clone(n)),
            None => self.rows.remove(&uuid),
        };
        Some((old, new))
    }
}

macro_rules! northbound {
    ($($field:ident: $ty:ident = $variant:ident,)*) => {
        /// The Northbound tables northd reads.
        #[derive(Clone, Debug, Default)]
        pub struct Northbound {
            $(pub $field: Table<$ty>,)*
        }

        /// Which Northbound table a change is in.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum NbTable {
            $($variant,)*
        }

        impl NbTable {
            pub const ALL: &'static [NbTable] = &[$(NbTable::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(NbTable::$variant => <$ty as TypedTable>::TABLE,)*
                }
            }
        }

        impl Northbound {
            /// Reads every table northd uses.
            pub fn load(src: &dyn Source) -> Northbound {
                Northbound { $($field: Table::load(src),)* }
            }

            /// Re-reads the row `change` names; `None` if it did not
            /// actually change.
            pub fn refresh(&mut self, src: &dyn Source, change: NbChange) -> Option<RowUpdate> {
                match change.table {
                    $(NbTable::$variant => {
                        let (o, n) = self.$field.refresh(src, change.uuid)?;
                        Some(RowUpdate::$variant(o, n))
                    })*
                }
            }

            /// The changes that turn `self` into `src`'s contents, for
            /// callers without change tracking.
            pub fn changes_from(&self, src: &dyn Source) -> Vec<NbChange> {
                let fresh = Northbound::load(src);
                let mut out = Vec::new();
                $(
                    for (u, new) in &fresh.$field.rows {
                        if self.$field.rows.get(u).is_none_or(|o| **o != **new) {
                            out.push(NbChange { table: NbTable::$variant, uuid: *u });
                        }
                    }
                    for u in self.$field.rows.keys() {
                        if !fresh.$field.rows.contains_key(u) {
                            out.push(NbChange { table: NbTable::$variant, uuid: *u });
                        }
                    }
                )*
                out.sort();
                out
            }
        }

        /// Old and new versions of one changed row.
        pub enum RowUpdate {
            $($variant(Option<Arc<$ty>>, Option<Arc<$ty>>),)*
        }

        impl RowUpdate {
            pub fn table(&self) -> NbTable {
                match self {
                    $(RowUpdate::$variant(..) => NbTable::$variant,)*
                }
            }
        }
    };
}

northbound! {
    nb_global: NBGlobal = NbGlobal,
    logical_switches: LogicalSwitch = LogicalSwitch,
    logical_switch_ports: LogicalSwitchPort = LogicalSwitchPort,
    acls: ACL = Acl,
    address_sets: AddressSet = AddressSet,
    port_groups: PortGroup = PortGroup,
    dhcp_options: DHCPOptions = DhcpOptions,
    dns: DNS = Dns,
    meters: Meter = Meter,
    meter_bands: MeterBand = MeterBand,
    copps: Copp = Copp,
    load_balancers: LoadBalancer = LoadBalancer,
    load_balancer_groups: LoadBalancerGroup = LoadBalancerGroup,
    qos: QoS = Qos,
    forwarding_groups: ForwardingGroup = ForwardingGroup,
    ha_chassis_groups: HAChassisGroup = HaChassisGroup,
    ha_chassis: HAChassis = HaChassis,
    logical_routers: LogicalRouter = LogicalRouter,
    logical_router_ports: LogicalRouterPort = LogicalRouterPort,
    nats: NAT = Nat,
}

impl NbTable {
    pub fn from_name(name: &str) -> Option<NbTable> {
        NbTable::ALL.iter().copied().find(|t| t.name() == name)
    }
}

/// A row that changed, as the caller (a replica's change tracking, or a
/// test) reports it. Changes to tables northd does not read are dropped
/// by [`NbChange::from_replica`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NbChange {
    pub table: NbTable,
    pub uuid: Uuid,
}

impl NbChange {
    /// The changes a Northbound replica tracked.
    pub fn from_replica(changes: &ovsdb_client::Changes) -> Vec<NbChange> {
        let mut out = Vec::new();
        for t in &changes.tables {
            let Some(table) = NbTable::from_name(t.name()) else {
                continue;
            };
            let rows = t
                .inserted
                .iter()
                .chain(t.deleted.iter())
                .map(|r| r.uuid)
                .chain(t.modified.iter().map(|m| m.new.uuid));
            out.extend(rows.map(|uuid| NbChange { table, uuid }));
        }
        out
    }
}

impl Northbound {
    /// The `NB_Global` row (OVN uses the first; an empty database has none
    /// and northd behaves as if it were all defaults).
    pub fn global(&self) -> Option<&Arc<NBGlobal>> {
        self.nb_global.rows.values().min_by_key(|g| g.uuid)
    }
}
