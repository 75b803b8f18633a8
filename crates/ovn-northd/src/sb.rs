//! The Southbound side: what northd reads from it (bindings ovn-controller
//! owns, tunnel keys to keep, chassis capabilities) and the rows it wants
//! there ([`Desired`]), keyed by what identifies them to northd (a switch's
//! Northbound UUID, a port's name, a group's name) rather than by
//! Southbound UUIDs, which only the diff step ([`crate::diff`]) knows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use ovsdb::Uuid;
use ovsdb::db::UuidMap;
use ovsdb_client::typed::Table as TypedTable;

use crate::flow::{DpId, FlowTable};
use crate::nb::{Smap, Source};

/// The `Datapath_Binding`, `Port_Binding` and `Chassis` rows northd
/// reads, as the typed rows `ovsdb-client` generates.
pub use ovsdb_client::sb::{Chassis, DatapathBinding as SbDatapath, Encap, PortBinding as SbPortBinding};

/// The Northbound switch or router a `Datapath_Binding` belongs to.
pub fn datapath_nb_uuid(d: &SbDatapath) -> Option<Uuid> {
    d.external_ids
        .get("logical-switch")
        .or_else(|| d.external_ids.get("logical-router"))
        .and_then(|s| Uuid::parse(s))
}

/// A chassis as northd sees it: names for `requested-chassis`, features
/// in `other_config`, and whether it tunnels with VXLAN.
#[derive(Clone, Debug, PartialEq)]
pub struct SbChassis {
    pub row: Arc<Chassis>,
    pub vxlan: bool,
}

/// What northd reads from the Southbound database.
#[derive(Clone, Debug, Default)]
pub struct SbInput {
    pub datapaths: UuidMap<Arc<SbDatapath>>,
    pub port_bindings: UuidMap<Arc<SbPortBinding>>,
    pub pb_by_name: HashMap<String, Uuid>,
    pub chassis: UuidMap<SbChassis>,
}

/// Which Southbound table a change is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SbTable {
    DatapathBinding,
    PortBinding,
    Chassis,
    Encap,
}

impl SbTable {
    pub fn from_name(name: &str) -> Option<SbTable> {
        Some(match name {
            "Datapath_Binding" => SbTable::DatapathBinding,
            "Port_Binding" => SbTable::PortBinding,
            "Chassis" => SbTable::Chassis,
            "Encap" => SbTable::Encap,
            _ => return None,
        })
    }
}

fn read<T: TypedTable>(src: &dyn Source, uuid: &Uuid) -> Option<Arc<T>> {
    src.row(T::TABLE, uuid).map(|(ts, r)| Arc::new(T::from_row(ts, r)))
}

fn read_all<T: TypedTable>(src: &dyn Source) -> Vec<Arc<T>> {
    match src.rows(T::TABLE) {
        Some((ts, rows)) => rows.into_iter().map(|r| Arc::new(T::from_row(ts, r))).collect(),
        None => Vec::new(),
    }
}

impl SbInput {
    pub fn load(src: &dyn Source) -> SbInput {
        let mut s = SbInput::default();
        for d in read_all::<SbDatapath>(src) {
            s.datapaths.insert(d.uuid, d);
        }
        for pb in read_all::<SbPortBinding>(src) {
            s.pb_by_name.insert(pb.logical_port.clone(), pb.uuid);
            s.port_bindings.insert(pb.uuid, pb);
        }
        s.load_chassis(src);
        s
    }

    fn load_chassis(&mut self, src: &dyn Source) {
        self.chassis.clear();
        let vxlan: BTreeSet<Uuid> = read_all::<Encap>(src)
            .iter()
            .filter(|e| e.r#type == "vxlan")
            .map(|e| e.uuid)
            .collect();
        for c in read_all::<Chassis>(src) {
            let v = c.encaps.iter().any(|e| vxlan.contains(e));
            self.chassis.insert(c.uuid, SbChassis { row: c, vxlan: v });
        }
    }

    /// Re-reads one changed row. Returns true if what northd reads of it
    /// changed.
    pub fn refresh(&mut self, src: &dyn Source, table: SbTable, uuid: Uuid) -> bool {
        match table {
            SbTable::DatapathBinding => {
                let new = read::<SbDatapath>(src, &uuid);
                if self.datapaths.get(&uuid) == new.as_ref() {
                    return false;
                }
                match new {
                    Some(n) => self.datapaths.insert(uuid, n),
                    None => self.datapaths.remove(&uuid),
                };
                true
            }
            SbTable::PortBinding => {
                let new = read::<SbPortBinding>(src, &uuid);
                let old = self.port_bindings.get(&uuid).cloned();
                if old == new {
                    return false;
                }
                if let Some(o) = &old
                    && self.pb_by_name.get(&o.logical_port) == Some(&uuid)
                {
                    self.pb_by_name.remove(&o.logical_port);
                }
                match new {
                    Some(n) => {
                        self.pb_by_name.insert(n.logical_port.clone(), uuid);
                        self.port_bindings.insert(uuid, n);
                    }
                    None => {
                        self.port_bindings.remove(&uuid);
                    }
                }
                true
            }
            SbTable::Chassis | SbTable::Encap => {
                let old = self.chassis.clone();
                self.load_chassis(src);
                old != self.chassis
            }
        }
    }

    pub fn port_binding(&self, name: &str) -> Option<&Arc<SbPortBinding>> {
        self.pb_by_name.get(name).and_then(|u| self.port_bindings.get(u))
    }

    /// `requested-chassis` names a chassis by name or hostname.
    pub fn chassis_by_name_or_hostname(&self, name: &str) -> Option<&SbChassis> {
        self.chassis
            .values()
            .filter(|c| c.row.name == name)
            .min_by_key(|c| c.row.uuid)
            .or_else(|| {
                self.chassis
                    .values()
                    .filter(|c| c.row.hostname == name)
                    .min_by_key(|c| c.row.uuid)
            })
    }

    pub fn vxlan_mode(&self) -> bool {
        self.chassis.values().any(|c| c.vxlan)
    }
}

// ---------------------------------------------------------------------------
// Desired Southbound contents.

/// `Datapath_Binding` for one logical switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatapathBinding {
    pub tunnel_key: i64,
    pub external_ids: Smap,
}

/// `Port_Binding` columns northd owns.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PortBinding {
    pub logical_port: String,
    pub datapath: DpId,
    pub tunnel_key: i64,
    pub type_: String,
    pub options: Smap,
    pub mac: Vec<String>,
    pub port_security: Vec<String>,
    pub parent_port: Option<String>,
    pub tag: Option<i64>,
    pub external_ids: Smap,
    pub nat_addresses: Vec<String>,
    /// Southbound `Chassis` UUIDs.
    pub requested_chassis: Option<Uuid>,
    pub requested_additional_chassis: Vec<Uuid>,
    /// Name of the `HA_Chassis_Group`.
    pub ha_chassis_group: Option<String>,
    /// The existing row must be deleted and inserted again rather than
    /// updated (a port that became or stopped being virtual or a
    /// container, which ovn-controller cannot follow in place).
    pub recreate: bool,
}

/// `Multicast_Group`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MulticastGroup {
    pub tunnel_key: i64,
    /// Logical port names, sorted.
    pub ports: Vec<String>,
}

/// `IP_Multicast` for one switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpMulticast {
    pub enabled: bool,
    pub querier: bool,
    pub table_size: i64,
    pub idle_timeout: i64,
    pub query_interval: i64,
    pub query_max_resp: i64,
    pub eth_src: Option<String>,
    pub ip4_src: Option<String>,
    pub ip6_src: Option<String>,
}

/// `DNS`, keyed by the Northbound row it copies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecords {
    pub datapaths: Vec<DpId>,
    pub records: Smap,
}

/// `Meter` with its bands (action, rate, burst), sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meter {
    pub unit: String,
    pub bands: Vec<(String, i64, i64)>,
}

/// `HA_Chassis_Group` with its members (chassis name, priority).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaChassisGroup {
    pub members: Vec<(String, i64)>,
}

/// `Load_Balancer`, for a load balancer applied to switches, keyed by
/// the Northbound row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalancer {
    pub name: String,
    pub vips: Smap,
    pub protocol: Option<String>,
    pub options: Smap,
    pub datapaths: Vec<DpId>,
}

/// The Southbound contents northd wants.
#[derive(Clone, Debug, Default)]
pub struct Desired {
    pub sb_global_options: Smap,
    pub sb_global_ipsec: bool,
    pub datapaths: BTreeMap<DpId, DatapathBinding>,
    pub port_bindings: BTreeMap<String, PortBinding>,
    pub multicast_groups: BTreeMap<(DpId, String), MulticastGroup>,
    pub address_sets: BTreeMap<String, BTreeSet<String>>,
    pub port_groups: BTreeMap<String, BTreeSet<String>>,
    pub ip_multicast: BTreeMap<DpId, IpMulticast>,
    pub dns: BTreeMap<Uuid, DnsRecords>,
    pub meters: BTreeMap<String, Meter>,
    pub ha_chassis_groups: BTreeMap<String, HaChassisGroup>,
    pub load_balancers: BTreeMap<Uuid, LoadBalancer>,
    pub flows: FlowTable,
    pub nb: NbWrites,
}

/// What northd writes back into the Northbound database.
#[derive(Clone, Debug, Default)]
pub struct NbWrites {
    /// `NB_Global:options` as it must be (mac_prefix, svc_monitor_mac,
    /// max_tunid and northd_internal_version filled in).
    pub global_options: Smap,
    /// `Logical_Switch_Port:up`.
    pub lsp_up: UuidMap<bool>,
    /// `Logical_Switch_Port:dynamic_addresses`.
    pub lsp_dynamic_addresses: UuidMap<Option<String>>,
    /// `Logical_Switch_Port:tag` for containers that asked for one.
    pub lsp_tag: UuidMap<Option<i64>>,
}
