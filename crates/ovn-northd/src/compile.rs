//! The incremental engine: keeps the Northbound and Southbound inputs, the
//! values derived from them, every unit's output, and the merged desired
//! Southbound contents; recomputes, after a change, only the units that
//! depend on what changed.
//!
//! # Units and dependencies
//!
//! | unit | reads | produces |
//! |---|---|---|
//! | switch info (per switch) | switch row, its ports' types/addresses, ACL sources, load balancers, DNS, Copp | [`LsInfo`], [`AclCtx`], [`PortCtx`] |
//! | datapath (per switch) | switch row, QoS, forwarding groups, `LsInfo` | the switch's fixed flows, `Datapath_Binding`, `IP_Multicast` |
//! | switch ACLs (per switch) | the switch's ACL rows, `AclCtx` | ACL flows |
//! | port group (per group) | group row, its ACLs, the `AclCtx` of the switches it spans | ACL flows (once per distinct context), `Port_Group` rows, `<pg>_ip4/_ip6` address sets |
//! | port (per port) | port row, DHCP options, peer router port, `PortCtx`, its binding | port flows, `Port_Binding`, `up` |
//! | multicast groups (per switch) | its ports | `Multicast_Group` rows |
//! | load balancer (per LB) | LB row, the switches it applies to (directly or by group), their Copp | LB flows (shared; metered ones per distinct meter pair), `Load_Balancer` row |
//!
//! Derived values are compared after recomputation and only a change
//! propagates (early cut-off): a port whose addresses change recomputes its
//! port unit and its switch's info, and nothing else unless the info
//! changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use ovsdb::Uuid;
use ovsdb::db::{Database, UuidMap};

use crate::addr::{LportAddresses, Mac, extract_lsp_addresses, is_dynamic_lsp_address};
use crate::error::Diagnostic;
use crate::flow::{Contribution, DpId, FlowSink};
use crate::nb::{
    self, LogicalSwitch, LogicalSwitchPort, LspExt, NbChange, Northbound, RowUpdate, Smap, smap_bool, smap_int,
};
use crate::sb::{self, Desired, SbInput, SbTable};
use crate::stage::mcast;
use crate::switch::port::{NatEntry, PeerRouter, PortInput};
use crate::switch::{self, AclCtx, Copp, Global, LsInfo, McastSwitch, PortCtx, RouterPort};

/// `ovn_get_internal_version()` of OVN 23.03.1: package version, SB schema
/// version, number of action types, internal minor version.
pub const NORTHD_INTERNAL_VERSION: &str = "23.03.1-20.27.0-70.6";

/// Largest datapath tunnel key for locally allocated datapaths.
const MAX_DP_KEY_LOCAL: i64 = (1 << 24) - 1 - ((1 << 16) - 1);
const MAX_DP_KEY_VXLAN: i64 = (1 << 12) - 1;

/// A Southbound row that changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SbChange {
    pub table: SbTable,
    pub uuid: Uuid,
}

/// How much work one run did, unit by unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub switch_infos: usize,
    pub datapaths: usize,
    pub switch_acls: usize,
    pub port_groups: usize,
    pub ports: usize,
    pub multicast_groups: usize,
    pub ipam_runs: usize,
    /// Logical flows whose datapaths or metadata changed.
    pub flows_changed: usize,
    pub full: bool,
}

impl Report {
    pub fn units(&self) -> usize {
        self.switch_infos + self.datapaths + self.switch_acls + self.port_groups + self.ports + self.multicast_groups
    }
}

/// Keys of desired rows that changed since the diff step last looked.
#[derive(Clone, Debug, Default)]
pub struct Dirty {
    pub all: bool,
    pub datapaths: BTreeSet<DpId>,
    pub port_bindings: BTreeSet<String>,
    pub multicast_groups: BTreeSet<(DpId, String)>,
    pub address_sets: BTreeSet<String>,
    pub port_groups: BTreeSet<String>,
    pub ip_multicast: BTreeSet<DpId>,
    pub flows: crate::flow::FlowSet,
    pub dns: bool,
    pub meters: bool,
    pub ha_chassis_groups: bool,
    pub load_balancers: BTreeSet<Uuid>,
    pub global: bool,
    pub nb_ports: BTreeSet<Uuid>,
}

#[derive(Default)]
struct Touched {
    all: bool,
    /// `NB_Global` or chassis changed: recompute the global settings, and
    /// everything if they differ.
    global: bool,
    ls_info: BTreeSet<Uuid>,
    dp_units: BTreeSet<Uuid>,
    ls_acls: BTreeSet<Uuid>,
    ports: BTreeSet<Uuid>,
    pgs: BTreeSet<Uuid>,
    pg_addrs: BTreeSet<(Uuid, Uuid)>,
    address_sets: BTreeSet<Uuid>,
    dns: bool,
    meters: bool,
    ha: bool,
    dp_keys: bool,
    port_keys: BTreeSet<Uuid>,
    ipam: bool,
    mcast: BTreeSet<Uuid>,
    lbs: BTreeSet<Uuid>,
    deleted_ls: BTreeSet<Uuid>,
    deleted_ports: BTreeSet<Uuid>,
    deleted_pgs: BTreeSet<Uuid>,
}

#[derive(Default)]
struct LsState {
    info: LsInfo,
    acl_ctx: Option<AclCtx>,
    port_ctx: PortCtx,
    /// Member ports, in the switch's order.
    ports: Vec<Uuid>,
    dp_flows: Contribution,
    acl_flows: Contribution,
    mcast_keys: Vec<String>,
    diags: Vec<Diagnostic>,
}

#[derive(Default)]
struct PortState {
    ls: Uuid,
    name: String,
    flows: Contribution,
    diags: Vec<Diagnostic>,
}

/// From this many ports to compute on, they are computed in parallel.
const PARALLEL_MIN_PORTS: usize = 512;

/// What a port compiles to ([`Compiler::port_outcome`]).
enum PortOutcome {
    /// Not (or no longer) on a switch.
    Gone,
    Present {
        name: String,
        ls: Uuid,
        flows: Contribution,
        pb: sb::PortBinding,
        diags: Vec<Diagnostic>,
        /// `Logical_Switch_Port:up`, when the port has a binding.
        up: Option<bool>,
    },
}

#[derive(Default)]
struct PgState {
    name: String,
    span: BTreeSet<Uuid>,
    flows: Contribution,
    sb_names: Vec<String>,
    /// Per member port: its IPv4 and IPv6 addresses.
    addrs: UuidMap<(Vec<String>, Vec<String>)>,
    ip4: BTreeMap<String, u32>,
    ip6: BTreeMap<String, u32>,
    /// The group has ACLs, some of them `allow-related`.
    has_acls: bool,
    has_stateful_acl: bool,
    diags: Vec<Diagnostic>,
}

#[derive(Default)]
struct LbState {
    flows: Contribution,
    diags: Vec<Diagnostic>,
}

/// The compiler. See the module documentation.
pub struct Compiler {
    seed: u64,
    nb: Northbound,
    sb: SbInput,
    global: Arc<Global>,
    /// Switches listing each port (normally one).
    switches_of_port: UuidMap<BTreeSet<Uuid>>,
    /// Ports by name; a name normally has one port (see `port_named`).
    ports_named: HashMap<String, BTreeSet<Uuid>>,
    pgs_of_port: UuidMap<BTreeSet<Uuid>>,
    pgs_of_ls: UuidMap<BTreeSet<Uuid>>,
    /// Ports whose flows read another port by name (virtual parents).
    name_refs: HashMap<String, BTreeSet<Uuid>>,
    /// Names of Northbound address sets (they win over port groups' own).
    nb_address_set_names: BTreeSet<String>,
    ls: UuidMap<LsState>,
    ports: UuidMap<PortState>,
    pgs: UuidMap<PgState>,
    lbs: UuidMap<LbState>,
    dp_keys: UuidMap<i64>,
    port_keys: UuidMap<i64>,
    ipam: UuidMap<Option<String>>,
    out: Desired,
    dirty: Dirty,
    global_diags: Vec<Diagnostic>,
}

fn sorted_diff(o: &BTreeSet<Uuid>, n: &BTreeSet<Uuid>) -> (Vec<Uuid>, Vec<Uuid>) {
    (o.difference(n).copied().collect(), n.difference(o).copied().collect())
}

/// splitmix64: the pseudo-random MACs OVN draws when none is configured.
fn splitmix(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn random_mac(seed: &mut u64) -> Mac {
    let v = splitmix(seed);
    let mut m = Mac::from_u64(v & 0xffff_ffff_ffff);
    m.0[0] &= !1;
    m.0[0] |= 2;
    m
}

impl Compiler {
    /// A compiler with nothing loaded. `seed` picks the MAC prefix and
    /// service monitor MAC when the Northbound database has none (they are
    /// then written back to it and stay).
    pub fn new(seed: u64) -> Compiler {
        Compiler {
            seed,
            nb: Northbound::default(),
            sb: SbInput::default(),
            global: Arc::new(default_global()),
            switches_of_port: UuidMap::default(),
            ports_named: HashMap::new(),
            pgs_of_port: UuidMap::default(),
            pgs_of_ls: UuidMap::default(),
            name_refs: HashMap::new(),
            nb_address_set_names: BTreeSet::new(),
            ls: UuidMap::default(),
            ports: UuidMap::default(),
            pgs: UuidMap::default(),
            lbs: UuidMap::default(),
            dp_keys: UuidMap::default(),
            port_keys: UuidMap::default(),
            ipam: UuidMap::default(),
            out: Desired::default(),
            dirty: Dirty {
                all: true,
                ..Dirty::default()
            },
            global_diags: Vec::new(),
        }
    }

    pub fn northbound(&self) -> &Northbound {
        &self.nb
    }

    pub fn southbound(&self) -> &SbInput {
        &self.sb
    }

    pub fn desired(&self) -> &Desired {
        &self.out
    }

    pub fn global(&self) -> &Global {
        &self.global
    }

    /// The tunnel key given to a switch (by Northbound UUID).
    pub fn datapath_key(&self, ls: &Uuid) -> Option<i64> {
        self.dp_keys.get(ls).copied()
    }

    /// Every current diagnostic, sorted.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut v: Vec<Diagnostic> = self.global_diags.clone();
        for s in self.ls.values() {
            v.extend(s.diags.iter().cloned());
        }
        for s in self.ports.values() {
            v.extend(s.diags.iter().cloned());
        }
        for s in self.pgs.values() {
            v.extend(s.diags.iter().cloned());
        }
        for s in self.lbs.values() {
            v.extend(s.diags.iter().cloned());
        }
        v.sort();
        v.dedup();
        v
    }

    /// What changed in the desired contents since the last call.
    pub fn take_dirty(&mut self) -> Dirty {
        let mut d = std::mem::take(&mut self.dirty);
        d.flows = self.out.flows.take_dirty();
        d
    }

    /// Reads both databases whole and compiles everything.
    pub fn load(&mut self, nb_db: &Database, sb_db: &Database) -> Report {
        self.nb = Northbound::load(nb_db);
        self.sb = SbInput::load(sb_db);
        self.rebuild_indexes();
        let t = Touched {
            all: true,
            ..Touched::default()
        };
        self.recompute(t)
    }

    /// Applies changed rows (as the replicas report them) and recompiles
    /// what depends on them.
    pub fn update(
        &mut self,
        nb_db: &Database,
        nb_changes: &[NbChange],
        sb_db: &Database,
        sb_changes: &[SbChange],
    ) -> Report {
        let mut t = Touched::default();
        for c in nb_changes {
            if let Some(u) = self.nb.refresh(nb_db, *c) {
                self.on_nb_update(u, &mut t);
            }
        }
        for c in sb_changes {
            let old_name = if c.table == SbTable::PortBinding {
                self.sb.port_bindings.get(&c.uuid).map(|p| p.logical_port.clone())
            } else {
                None
            };
            if self.sb.refresh(sb_db, c.table, c.uuid) {
                self.on_sb_update(*c, old_name, &mut t);
            }
        }
        self.recompute(t)
    }

    fn rebuild_indexes(&mut self) {
        self.switches_of_port.clear();
        for (u, ls) in self.nb.logical_switches.iter() {
            for p in &ls.ports {
                self.switches_of_port.entry(*p).or_default().insert(*u);
            }
        }
        self.ports_named.clear();
        self.name_refs.clear();
        let ports: Vec<Arc<LogicalSwitchPort>> = self.nb.logical_switch_ports.rows.values().cloned().collect();
        for p in &ports {
            self.ports_named.entry(p.name.clone()).or_default().insert(p.uuid);
            self.index_name_refs(p, true);
        }
        self.nb_address_set_names = self.nb.address_sets.iter().map(|(_, a)| a.name.clone()).collect();
        self.pgs_of_port.clear();
        for (u, pg) in self.nb.port_groups.iter() {
            for p in &pg.ports {
                self.pgs_of_port.entry(*p).or_default().insert(*u);
            }
        }
    }

    fn index_name_refs(&mut self, p: &LogicalSwitchPort, add: bool) {
        if !p.is_type("virtual") {
            return;
        }
        let Some(parents) = p.options.get("virtual-parents") else {
            return;
        };
        for name in parents.split(',').filter(|s| !s.is_empty()) {
            let set = self.name_refs.entry(String::from(name)).or_default();
            if add {
                set.insert(p.uuid);
            } else {
                set.remove(&p.uuid);
            }
        }
    }

    /// The switch a port belongs to (the first, if several list it).
    /// The port that owns a name: of several ports with one name (a
    /// diagnostic), the first by UUID that is on a switch; the others are
    /// ignored, whatever order they were created in.
    fn port_named(&self, name: &str) -> Option<Uuid> {
        let set = self.ports_named.get(name)?;
        set.iter()
            .find(|u| self.ls_of_port(u).is_some())
            .or_else(|| set.first())
            .copied()
    }

    /// When a port with this name changes or joins or leaves a switch, which
    /// of its namesakes owns the name may change: recompute them all.
    fn touch_namesakes(&self, name: &str, t: &mut Touched) {
        let Some(set) = self.ports_named.get(name) else { return };
        if set.len() < 2 {
            return;
        }
        for u in set {
            t.ports.insert(*u);
            if let Some(ls) = self.ls_of_port(u) {
                t.ls_info.insert(ls);
                t.mcast.insert(ls);
                t.port_keys.insert(ls);
            }
        }
    }

    fn ls_of_port(&self, port: &Uuid) -> Option<Uuid> {
        self.switches_of_port
            .get(port)?
            .iter()
            .find(|ls| self.nb.logical_switches.get(ls).is_some())
            .copied()
    }

    fn on_nb_update(&mut self, u: RowUpdate, t: &mut Touched) {
        match u {
            RowUpdate::NbGlobal(..) => t.global = true,
            RowUpdate::LogicalSwitch(old, new) => {
                let uuid = old.as_ref().or(new.as_ref()).map(|l| l.uuid).unwrap_or_default();
                let empty = BTreeSet::new();
                let (removed, added) = sorted_diff(
                    old.as_ref().map(|l| &l.ports).unwrap_or(&empty),
                    new.as_ref().map(|l| &l.ports).unwrap_or(&empty),
                );
                for p in &removed {
                    if let Some(s) = self.switches_of_port.get_mut(p) {
                        s.remove(&uuid);
                    }
                }
                for p in &added {
                    self.switches_of_port.entry(*p).or_default().insert(uuid);
                }
                for p in removed.iter().chain(&added) {
                    t.ports.insert(*p);
                    if let Some(row) = self.nb.logical_switch_ports.get(p) {
                        self.touch_namesakes(&row.name.clone(), t);
                    }
                    if let Some(pgs) = self.pgs_of_port.get(p) {
                        t.pgs.extend(pgs.iter().copied());
                    }
                }
                if new.is_none() {
                    t.deleted_ls.insert(uuid);
                    if let Some(pgs) = self.pgs_of_ls.get(&uuid) {
                        t.pgs.extend(pgs.iter().copied());
                    }
                }
                let ipam_cfg = |l: &Option<Arc<LogicalSwitch>>| {
                    l.as_ref()
                        .map(|l| crate::ipam::IpamConfig::from_config(&l.other_config))
                        .unwrap_or_default()
                };
                let (oc, ncfg) = (ipam_cfg(&old), ipam_cfg(&new));
                if oc != ncfg || (ncfg.enabled() && (!removed.is_empty() || !added.is_empty())) {
                    t.ipam = true;
                }
                if old.as_ref().map(|l| (&l.name, l.other_config.get("requested-tnl-key")))
                    != new.as_ref().map(|l| (&l.name, l.other_config.get("requested-tnl-key")))
                {
                    t.dp_keys = true;
                }
                if old.as_ref().map(|l| &l.other_config) != new.as_ref().map(|l| &l.other_config) {
                    // vlan-passthru and similar reach every port binding.
                    if let Some(l) = &new {
                        t.ports.extend(l.ports.iter().copied());
                    }
                }
                for l in old.iter().chain(new.iter()) {
                    t.lbs.extend(self.lbs_of_ls(l));
                }
                t.ls_info.insert(uuid);
                t.dp_units.insert(uuid);
                t.ls_acls.insert(uuid);
                t.port_keys.insert(uuid);
                t.mcast.insert(uuid);
                t.dns = true;
            }
            RowUpdate::LogicalSwitchPort(old, new) => {
                let uuid = old.as_ref().or(new.as_ref()).map(|p| p.uuid).unwrap_or_default();
                t.ports.insert(uuid);
                if let Some(o) = &old {
                    self.touch_namesakes(&o.name, t);
                    if let Some(set) = self.ports_named.get_mut(&o.name) {
                        set.remove(&uuid);
                        if set.is_empty() {
                            self.ports_named.remove(&o.name);
                        }
                    }
                    self.index_name_refs(o, false);
                    if let Some(refs) = self.name_refs.get(&o.name) {
                        t.ports.extend(refs.iter().copied());
                    }
                }
                if let Some(n) = &new {
                    self.ports_named.entry(n.name.clone()).or_default().insert(uuid);
                    self.touch_namesakes(&n.name, t);
                    self.index_name_refs(n, true);
                    if let Some(refs) = self.name_refs.get(&n.name) {
                        t.ports.extend(refs.iter().copied());
                    }
                } else {
                    t.deleted_ports.insert(uuid);
                }
                if let Some(ls) = self.ls_of_port(&uuid) {
                    t.ls_info.insert(ls);
                    t.mcast.insert(ls);
                    let key = |p: &Option<Arc<LogicalSwitchPort>>| {
                        p.as_ref().map(|p| p.options.get("requested-tnl-key").cloned())
                    };
                    if key(&old) != key(&new) || old.is_none() || new.is_none() {
                        t.port_keys.insert(ls);
                    }
                }
                if let Some(pgs) = self.pgs_of_port.get(&uuid) {
                    for pg in pgs {
                        t.pg_addrs.insert((*pg, uuid));
                    }
                }
                let dynamic = |p: &Option<Arc<LogicalSwitchPort>>| {
                    p.as_ref().is_some_and(|p| {
                        p.dynamic_addresses.is_some() || p.addresses.iter().any(|a| is_dynamic_lsp_address(a))
                    })
                };
                let ipam_ls = self
                    .ls_of_port(&uuid)
                    .and_then(|l| self.nb.logical_switches.get(&l))
                    .is_some_and(|l| crate::ipam::IpamConfig::from_config(&l.other_config).enabled());
                let addrs = |p: &Option<Arc<LogicalSwitchPort>>| p.as_ref().map(|p| p.addresses.clone());
                if dynamic(&old)
                    || dynamic(&new)
                    || (ipam_ls && addrs(&old) != addrs(&new))
                    || self.mac_in_prefix(&old)
                    || self.mac_in_prefix(&new)
                {
                    t.ipam = true;
                }
                t.ha = true;
            }
            RowUpdate::Acl(old, new) => {
                let uuid = old.as_ref().or(new.as_ref()).map(|a| a.uuid).unwrap_or_default();
                for (u, ls) in self.nb.logical_switches.iter() {
                    if ls.acls.contains(&uuid) {
                        t.ls_acls.insert(*u);
                        t.ls_info.insert(*u);
                    }
                }
                for (u, pg) in self.nb.port_groups.iter() {
                    if pg.acls.contains(&uuid) {
                        t.pgs.insert(*u);
                        if let Some(st) = self.pgs.get(u) {
                            t.ls_info.extend(st.span.iter().copied());
                        }
                    }
                }
                t.meters = true;
            }
            RowUpdate::AddressSet(old, new) => {
                let uuid = old.as_ref().or(new.as_ref()).map(|a| a.uuid).unwrap_or_default();
                t.address_sets.insert(uuid);
                self.nb_address_set_names = self.nb.address_sets.iter().map(|(_, a)| a.name.clone()).collect();
                if let Some(o) = old {
                    self.dirty.address_sets.insert(o.name.clone());
                    self.out.address_sets.remove(&o.name);
                    t.all |=
                        self.nb.port_groups.iter().any(|(_, pg)| {
                            o.name == format!("{}_ip4", pg.name) || o.name == format!("{}_ip6", pg.name)
                        });
                }
            }
            RowUpdate::PortGroup(old, new) => {
                let uuid = old.as_ref().or(new.as_ref()).map(|p| p.uuid).unwrap_or_default();
                let empty = BTreeSet::new();
                let (removed, added) = sorted_diff(
                    old.as_ref().map(|p| &p.ports).unwrap_or(&empty),
                    new.as_ref().map(|p| &p.ports).unwrap_or(&empty),
                );
                for p in &removed {
                    if let Some(s) = self.pgs_of_port.get_mut(p) {
                        s.remove(&uuid);
                    }
                }
                for p in &added {
                    self.pgs_of_port.entry(*p).or_default().insert(uuid);
                }
                if new.is_none() {
                    t.deleted_pgs.insert(uuid);
                }
                if let Some(st) = self.pgs.get(&uuid) {
                    t.ls_info.extend(st.span.iter().copied());
                }
                t.pgs.insert(uuid);
                t.meters = true;
            }
            other => self.on_other_update(other.table(), t),
        }
    }

    fn mac_in_prefix(&self, p: &Option<Arc<LogicalSwitchPort>>) -> bool {
        let Some(p) = p else { return false };
        let prefix = self.global.mac_prefix.to_u64() >> 24;
        p.addresses
            .iter()
            .any(|a| extract_lsp_addresses(a).is_some_and(|la| la.ea.to_u64() >> 24 == prefix))
    }

    fn on_other_update(&mut self, table: nb::NbTable, t: &mut Touched) {
        use nb::NbTable as T;
        match table {
            T::DhcpOptions | T::HaChassisGroup | T::HaChassis => {
                for (u, p) in self.nb.logical_switch_ports.iter() {
                    if p.dhcpv4_options.is_some() || p.dhcpv6_options.is_some() || p.ha_chassis_group.is_some() {
                        t.ports.insert(*u);
                    }
                }
                t.ha = true;
            }
            T::Dns => {
                for (u, ls) in self.nb.logical_switches.iter() {
                    if !ls.dns_records.is_empty() {
                        t.ls_info.insert(*u);
                    }
                }
                t.dns = true;
            }
            T::Meter | T::MeterBand | T::Copp => t.all = true,
            T::LoadBalancer | T::LoadBalancerGroup => {
                for (u, ls) in self.nb.logical_switches.iter() {
                    if !ls.load_balancer.is_empty() || !ls.load_balancer_group.is_empty() {
                        t.ls_info.insert(*u);
                    }
                }
                t.lbs.extend(self.nb.load_balancers.rows.keys().copied());
                t.lbs.extend(self.lbs.keys().copied());
                self.touch_router_ports(t);
            }
            T::Qos | T::ForwardingGroup => {
                for (u, ls) in self.nb.logical_switches.iter() {
                    if !ls.qos_rules.is_empty() || !ls.forwarding_groups.is_empty() {
                        t.dp_units.insert(*u);
                    }
                }
            }
            T::LogicalRouter | T::LogicalRouterPort | T::Nat => self.touch_router_ports(t),
            _ => {}
        }
    }

    fn touch_router_ports(&self, t: &mut Touched) {
        for (u, p) in self.nb.logical_switch_ports.iter() {
            if p.is_router() {
                t.ports.insert(*u);
                if let Some(ls) = self.ls_of_port(u) {
                    t.ls_info.insert(ls);
                    t.mcast.insert(ls);
                }
            }
        }
    }

    fn on_sb_update(&mut self, c: SbChange, old_name: Option<String>, t: &mut Touched) {
        match c.table {
            SbTable::Chassis | SbTable::Encap => {
                // Features and VXLAN mode are global; names matter to ports
                // that request a chassis.
                t.global = true;
                for (u, p) in self.nb.logical_switch_ports.iter() {
                    if p.options.contains_key("requested-chassis") || p.ha_chassis_group.is_some() {
                        t.ports.insert(*u);
                    }
                }
                t.ha = true;
            }
            SbTable::PortBinding => {
                let new_name = self.sb.port_bindings.get(&c.uuid).map(|p| p.logical_port.clone());
                for n in old_name.iter().chain(new_name.iter()) {
                    if let Some(u) = self.port_named(n) {
                        t.ports.insert(u);
                    }
                }
            }
            SbTable::DatapathBinding => {}
        }
    }

    // -----------------------------------------------------------------
    // Recomputation.

    fn recompute(&mut self, mut t: Touched) -> Report {
        if t.global && !t.all {
            let before = (
                Arc::clone(&self.global),
                self.out.sb_global_options.clone(),
                self.out.nb.global_options.clone(),
            );
            self.recompute_global();
            if *before.0 != *self.global {
                t.all = true;
            } else if before.1 != self.out.sb_global_options || before.2 != self.out.nb.global_options {
                self.dirty.global = true;
            }
        }
        let mut r = Report {
            full: t.all,
            ..Report::default()
        };
        if t.all {
            self.recompute_global();
            self.dirty.all = true;
            self.dirty.global = true;
            t.ls_info.extend(self.nb.logical_switches.rows.keys().copied());
            t.ls_info.extend(self.ls.keys().copied());
            t.dp_units = t.ls_info.clone();
            t.ls_acls = t.ls_info.clone();
            t.mcast = t.ls_info.clone();
            t.port_keys = t.ls_info.clone();
            t.ports.extend(self.nb.logical_switch_ports.rows.keys().copied());
            t.ports.extend(self.ports.keys().copied());
            t.pgs.extend(self.nb.port_groups.rows.keys().copied());
            t.pgs.extend(self.pgs.keys().copied());
            t.address_sets.extend(self.nb.address_sets.rows.keys().copied());
            t.lbs.extend(self.nb.load_balancers.rows.keys().copied());
            t.lbs.extend(self.lbs.keys().copied());
            t.dns = true;
            t.meters = true;
            t.ha = true;
            t.dp_keys = true;
            t.ipam = true;
            self.out.address_sets.clear();
        }

        // Deleted switches and ports.
        for ls in &t.deleted_ls {
            if let Some(st) = self.ls.remove(ls) {
                self.out.flows.replace(&st.dp_flows, &Contribution::default());
                self.out.flows.replace(&st.acl_flows, &Contribution::default());
                for name in st.mcast_keys {
                    self.out.multicast_groups.remove(&(*ls, name.clone()));
                    self.dirty.multicast_groups.insert((*ls, name));
                }
            }
            self.out.datapaths.remove(ls);
            self.out.ip_multicast.remove(ls);
            self.dirty.datapaths.insert(*ls);
            self.dirty.ip_multicast.insert(*ls);
            t.dp_keys = true;
        }

        if t.dp_keys {
            self.assign_dp_keys(&mut t);
        }
        if t.ipam {
            r.ipam_runs += 1;
            self.run_ipam(&mut t);
        }

        // Port group spans first: switch infos read them.
        for pg in t.pgs.clone() {
            let span = self.pg_span(&pg);
            let old = self.pgs.get(&pg).map(|s| s.span.clone()).unwrap_or_default();
            if span != old {
                for ls in old.difference(&span) {
                    if let Some(s) = self.pgs_of_ls.get_mut(ls) {
                        s.remove(&pg);
                    }
                    t.ls_info.insert(*ls);
                }
                for ls in span.difference(&old) {
                    self.pgs_of_ls.entry(*ls).or_default().insert(pg);
                    t.ls_info.insert(*ls);
                }
            }
            let (has_acls, has_stateful_acl) = match self.nb.port_groups.get(&pg) {
                Some(row) => (
                    !row.acls.is_empty(),
                    row.acls
                        .iter()
                        .filter_map(|a| self.nb.acls.get(a))
                        .any(|a| a.action == "allow-related"),
                ),
                None => (false, false),
            };
            let st = self.pgs.entry(pg).or_default();
            if (st.has_acls, st.has_stateful_acl) != (has_acls, has_stateful_acl) {
                t.ls_info.extend(st.span.iter().copied());
            }
            st.span = span;
            st.has_acls = has_acls;
            st.has_stateful_acl = has_stateful_acl;
        }

        // Switch infos, with early cut-off.
        for ls in t.ls_info.clone() {
            let Some(row) = self.nb.logical_switches.get(&ls).cloned() else {
                continue;
            };
            r.switch_infos += 1;
            let (info, members, diags) = self.compute_ls_info(&row);
            let lbs_here = self.lbs_of_ls(&row);
            let st = self.ls.entry(ls).or_default();
            st.diags = diags;
            if st.ports != members {
                st.ports = members;
                t.port_keys.insert(ls);
                t.mcast.insert(ls);
            }
            if st.info == info && st.acl_ctx.is_some() {
                continue;
            }
            let acl_ctx = AclCtx::of(&info);
            let port_ctx = PortCtx::of(&info);
            if st.acl_ctx.as_ref() != Some(&acl_ctx) {
                t.ls_acls.insert(ls);
                if let Some(pgs) = self.pgs_of_ls.get(&ls) {
                    t.pgs.extend(pgs.iter().copied());
                }
            }
            if st.port_ctx != port_ctx {
                t.ports.extend(st.ports.iter().copied());
            }
            if st.info.copp != info.copp {
                t.lbs.extend(lbs_here);
            }
            if st.info.mcast != info.mcast || st.info.router_ports != info.router_ports {
                t.mcast.insert(ls);
            }
            st.info = info;
            st.acl_ctx = Some(acl_ctx);
            st.port_ctx = port_ctx;
            t.dp_units.insert(ls);
        }

        for ls in t.port_keys.clone() {
            self.assign_port_keys(&ls, &mut t);
        }

        for ls in t.dp_units.clone() {
            if self.nb.logical_switches.get(&ls).is_some() {
                r.datapaths += 1;
                self.compute_datapath_unit(&ls);
            }
        }
        for ls in t.ls_acls.clone() {
            if self.nb.logical_switches.get(&ls).is_some() {
                r.switch_acls += 1;
                self.compute_ls_acls(&ls);
            }
        }
        for pg in t.pgs.clone() {
            r.port_groups += 1;
            self.compute_pg(&pg);
        }
        for (pg, port) in t.pg_addrs.clone() {
            if !t.pgs.contains(&pg) {
                self.update_pg_port_addrs(&pg, &port);
            }
        }
        r.ports += t.ports.len();
        self.compute_ports(&t.ports.clone());
        for lb in t.lbs.clone() {
            self.compute_lb(&lb);
        }
        for ls in t.mcast.clone() {
            if self.nb.logical_switches.get(&ls).is_some() {
                r.multicast_groups += 1;
                self.compute_mcast_groups(&ls);
            }
        }
        for a in t.address_sets.clone() {
            if let Some(row) = self.nb.address_sets.get(&a).cloned() {
                self.out
                    .address_sets
                    .insert(row.name.clone(), row.addresses.iter().cloned().collect());
                self.dirty.address_sets.insert(row.name.clone());
            }
        }
        if t.all {
            self.compute_global_address_sets();
        }
        if t.dns {
            self.compute_dns();
        }
        if t.meters {
            self.compute_meters();
        }
        if t.ha {
            self.compute_ha_groups();
        }
        r.flows_changed = self.out.flows.dirty_len();
        r
    }

    fn recompute_global(&mut self) {
        let g = self.nb.global().cloned().unwrap_or_default();
        let mut seed = self.seed;
        let mut opts = g.options.clone();
        let mac_prefix = opts
            .get("mac_prefix")
            .and_then(|p| parse_mac_prefix(p))
            .filter(|m| *m != Mac::ZERO)
            .unwrap_or_else(|| {
                let mut m = random_mac(&mut seed);
                m.0[3] = 0;
                m.0[4] = 0;
                m.0[5] = 0;
                m
            });
        let svc_mac = match opts.get("svc_monitor_mac").and_then(|s| Mac::parse(s)) {
            Some(m) => m,
            None => {
                let m = random_mac(&mut seed);
                opts.insert(String::from("svc_monitor_mac"), m.to_string());
                m
            }
        };
        let p = mac_prefix.0;
        opts.insert(
            String::from("mac_prefix"),
            format!("{:02x}:{:02x}:{:02x}", p[0], p[1], p[2]),
        );
        let vxlan = self.sb.vxlan_mode();
        let max_key = if vxlan { MAX_DP_KEY_VXLAN } else { MAX_DP_KEY_LOCAL };
        opts.insert(String::from("max_tunid"), max_key.to_string());
        opts.insert(
            String::from("northd_internal_version"),
            String::from(NORTHD_INTERNAL_VERSION),
        );

        let (mut ct_no_masked_label, mut ct_lb_related) = (true, true);
        for c in self.sb.chassis.values() {
            if smap_bool(&c.row.other_config, "is-remote", false) {
                continue;
            }
            ct_no_masked_label &= smap_bool(&c.row.other_config, "ct-no-masked-label", false);
            ct_lb_related &= smap_bool(&c.row.other_config, "ovn-ct-lb-related", false);
        }
        let collector = nb::smap_uint(&g.options, "debug_drop_collector_set", 0) as i32;
        let domain = nb::smap_uint(&g.options, "debug_drop_domain_id", 0);
        let (drop_action, implicit_drop_action) = if collector != 0 && (0..255).contains(&domain) {
            let s = format!(
                "sample(probability=65535,collector_set={collector},obs_domain={domain},obs_point=$cookie); /* drop */"
            );
            (s.clone(), s)
        } else {
            ("drop;".to_string(), "/* drop */".to_string())
        };
        let meters = self
            .nb
            .meters
            .iter()
            .map(|(_, m)| (m.name.clone(), m.fair == Some(true)))
            .collect();
        self.global = Arc::new(Global {
            svc_monitor_mac: svc_mac.to_string(),
            mac_prefix,
            use_ct_inv_match: smap_bool(&g.options, "use_ct_inv_match", true),
            controller_event: smap_bool(&g.options, "controller_event", false),
            check_lsp_is_up: !smap_bool(&g.options, "ignore_lsp_down", true),
            default_acl_drop: smap_bool(&g.options, "default_acl_drop", false),
            ct_no_masked_label,
            ct_lb_related,
            drop_action,
            implicit_drop_action,
            meters: Arc::new(meters),
            vxlan_mode: vxlan,
        });
        let mut sb_opts = opts.clone();
        if ct_no_masked_label {
            sb_opts.remove("lb_hairpin_use_ct_mark");
        } else {
            sb_opts.insert(String::from("lb_hairpin_use_ct_mark"), String::from("false"));
        }
        self.out.nb.global_options = opts;
        self.out.sb_global_options = sb_opts;
        self.out.sb_global_ipsec = g.ipsec;
    }

    fn compute_global_address_sets(&mut self) {
        let name: String = String::from("svc_monitor_mac");
        let v = vec![String::from(self.global.svc_monitor_mac.as_str())];
        // A Northbound address set of the same name wins.
        if !self.nb_address_set_names.contains(&name) {
            self.out.address_sets.insert(name.clone(), v.into_iter().collect());
        }
        self.dirty.address_sets.insert(name);
    }

    fn pg_span(&self, pg: &Uuid) -> BTreeSet<Uuid> {
        let Some(row) = self.nb.port_groups.get(pg) else {
            return BTreeSet::new();
        };
        row.ports
            .iter()
            .filter(|p| self.nb.logical_switch_ports.get(p).is_some())
            .filter_map(|p| self.ls_of_port(p))
            .collect()
    }

    /// The switch's info, its member ports (in order) and diagnostics.
    fn compute_ls_info(&self, ls: &LogicalSwitch) -> (LsInfo, Vec<Uuid>, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut info = LsInfo {
            name: ls.name.clone(),
            n_ports: ls.ports.len(),
            vlan_passthru: smap_bool(&ls.other_config, "vlan-passthru", false),
            interconn_ts: ls.other_config.contains_key("interconn-ts"),
            mcast: McastSwitch::from_config(&ls.other_config),
            ..LsInfo::default()
        };
        let mut members = Vec::new();
        for pu in &ls.ports {
            let Some(p) = self.nb.logical_switch_ports.get(pu) else {
                continue;
            };
            if self.ls_of_port(pu) != Some(ls.uuid) {
                if let Some(first) = self.ls_of_port(pu) {
                    diags.push(Diagnostic::DuplicatePort {
                        name: p.name.clone(),
                        first,
                        second: ls.uuid,
                    });
                }
                continue;
            }
            if let Some(owner) = self.port_named(&p.name)
                && owner != *pu
            {
                diags.push(Diagnostic::DuplicatePort {
                    name: p.name.clone(),
                    first: self.ls_of_port(&owner).unwrap_or_default(),
                    second: ls.uuid,
                });
                continue;
            }
            members.push(*pu);
            let enabled = p.is_enabled();
            if enabled && !p.is_external() && p.addresses.iter().any(|a| &**a == "unknown") {
                info.has_unknown = true;
            }
            match &*p.r#type {
                "localnet" => info.localnet_ports.push(p.name.clone()),
                "vtep" => info.has_vtep_lports = true,
                "remote" => info.remote_ports.push(p.name.clone()),
                "router" => {
                    if let Some(peer) = self.peer_router(p) {
                        info.router_ports.push(RouterPort {
                            name: p.name.clone(),
                            addrs: peer.networks.clone(),
                        });
                        if enabled && peer.mcast_relay {
                            info.mcast.flood_relay = true;
                        }
                    }
                }
                _ => {}
            }
            if enabled && smap_bool(&p.options, "mcast_flood", false) {
                info.mcast.flood_static = true;
            }
        }
        info.has_acls = !ls.acls.is_empty();
        info.has_stateful_acl = ls
            .acls
            .iter()
            .filter_map(|a| self.nb.acls.get(a))
            .any(|a| a.action == "allow-related");
        if let Some(pgs) = self.pgs_of_ls.get(&ls.uuid) {
            for st in pgs.iter().filter_map(|pg| self.pgs.get(pg)) {
                info.has_acls |= st.has_acls;
                info.has_stateful_acl |= st.has_stateful_acl;
            }
        }
        let lb_has_vip = |u: &Uuid| self.nb.load_balancers.get(u).is_some_and(|lb| !lb.vips.is_empty());
        info.has_lb_vip = ls.load_balancer.iter().any(lb_has_vip)
            || ls
                .load_balancer_group
                .iter()
                .filter_map(|g| self.nb.load_balancer_groups.get(g))
                .any(|g| g.load_balancer.iter().any(lb_has_vip));
        info.has_dns_records = ls
            .dns_records
            .iter()
            .filter_map(|d| self.nb.dns.get(d))
            .any(|d| !d.records.is_empty());
        if let Some(copp) = ls.copp.and_then(|c| self.nb.copps.get(&c)) {
            let mut c = Copp::default();
            for proto in Copp::PROTOCOLS {
                if let Some(m) = copp.meters.get(proto)
                    && self.global.meters.contains_key(m)
                {
                    c.meters.insert(proto, m.clone());
                }
            }
            info.copp = c;
        }
        (info, members, diags)
    }

    /// The router port a `router`-type port is patched to, if it exists
    /// and is usable.
    fn peer_router(&self, p: &LogicalSwitchPort) -> Option<PeerRouter> {
        if !p.is_router() {
            return None;
        }
        let peer_name = p.options.get("router-port")?;
        let (lrp, lr) = self.nb.logical_router_ports.iter().find_map(|(_, lrp)| {
            if lrp.name != *peer_name {
                return None;
            }
            let lr = self
                .nb
                .logical_routers
                .iter()
                .find(|(_, lr)| lr.ports.contains(&lrp.uuid))?
                .1;
            Some((lrp, lr))
        })?;
        if lr.enabled == Some(false) {
            return None;
        }
        let mut networks = LportAddresses {
            ea: Mac::parse(&lrp.mac)?,
            ..LportAddresses::default()
        };
        for n in &lrp.networks {
            if let Some(v4) = crate::addr::parse_ipv4_cidr(n) {
                if u32::from(v4.addr) != 0 {
                    networks.ipv4.push(v4);
                }
            } else if let Some(v6) = crate::addr::parse_ipv6_cidr(n) {
                networks.ipv6.push(v6);
            }
        }
        if networks.ipv4.is_empty() && networks.ipv6.is_empty() {
            return None;
        }
        networks.ipv6.push(crate::addr::Ipv6Net {
            addr: crate::addr::link_local(networks.ea),
            plen: 64,
        });
        let is_dgp = |l: &nb::LogicalRouterPort| {
            (l.ha_chassis_group.is_some() || !l.gateway_chassis.is_empty()) && !lr.options.contains_key("chassis")
        };
        let router_cr_ports = lr
            .ports
            .iter()
            .filter_map(|u| self.nb.logical_router_ports.get(u))
            .filter(|l| is_dgp(l))
            .map(|l| format!("cr-{}", l.name))
            .collect();
        let nat = lr
            .nat
            .iter()
            .filter_map(|u| self.nb.nats.get(u))
            .map(|n| {
                let ips = crate::addr::extract_ip_addresses(&n.external_ip);
                let (valid, v6) = match &ips {
                    Some(a) => (
                        (a.ipv4.len() == 1 && a.ipv6.is_empty()) || (a.ipv4.is_empty() && a.ipv6.len() == 1),
                        !a.ipv6.is_empty(),
                    ),
                    None => (false, false),
                };
                NatEntry {
                    kind: n.r#type.clone(),
                    external_ip: n.external_ip.clone(),
                    external_mac: n.external_mac.clone(),
                    logical_port: n.logical_port.clone(),
                    v6,
                    valid,
                }
            })
            .collect();
        let mut lb_ips_v4 = BTreeSet::new();
        let mut lb_ips_v6 = BTreeSet::new();
        let lbs = lr.load_balancer.iter().copied().chain(
            lr.load_balancer_group
                .iter()
                .filter_map(|g| self.nb.load_balancer_groups.get(g))
                .flat_map(|g| g.load_balancer.clone()),
        );
        for lb in lbs.filter_map(|u| self.nb.load_balancers.get(&u)) {
            for vip in lb.vips.keys() {
                if let Some(ip) = vip_ip(vip) {
                    match ip {
                        std::net::IpAddr::V4(a) => lb_ips_v4.insert(a.to_string()),
                        std::net::IpAddr::V6(a) => lb_ips_v6.insert(a.to_string()),
                    };
                }
            }
        }
        Some(PeerRouter {
            lrp_name: lrp.name.clone(),
            lrp_enabled: lrp.enabled.unwrap_or(true),
            mac_raw: lrp.mac.clone(),
            networks,
            nat,
            lb_ips_v4,
            lb_ips_v6,
            cr_port: if is_dgp(lrp) {
                Some(format!("cr-{}", lrp.name))
            } else {
                None
            },
            router_cr_ports,
            reside_on_redirect_chassis: smap_bool(&lrp.options, "reside-on-redirect-chassis", false),
            router_chassis: lr.options.get("chassis").cloned(),
            mcast_relay: smap_bool(&lr.options, "mcast_relay", false),
        })
    }

    fn compute_datapath_unit(&mut self, ls: &Uuid) {
        let Some(row) = self.nb.logical_switches.get(ls).cloned() else {
            return;
        };
        let Some(st) = self.ls.get(ls) else { return };
        let rows = switch::datapath::LsRows {
            uuid: *ls,
            qos: row
                .qos_rules
                .iter()
                .filter_map(|q| self.nb.qos.get(q))
                .map(|q| &**q)
                .collect(),
            forwarding_groups: row
                .forwarding_groups
                .iter()
                .filter_map(|f| self.nb.forwarding_groups.get(f))
                .map(|f| &**f)
                .collect(),
        };
        let mut sink = FlowSink::default();
        switch::datapath::build(&self.global, &st.info, &rows, &mut sink);
        let new = Contribution::from_sink(sink, Arc::from([*ls]));
        let info = st.info.clone();
        let st = self.ls.get_mut(ls).expect("checked above");
        self.out.flows.replace(&st.dp_flows, &new);
        st.dp_flows = new;

        // Datapath_Binding and IP_Multicast.
        let mut ext = Smap::new();
        ext.insert(String::from("logical-switch"), ls.to_string());
        ext.insert(String::from("name"), row.name.clone());
        if let Some(n2) = row.external_ids.get("neutron:network_name").filter(|s| !s.is_empty()) {
            ext.insert(String::from("name2"), n2.clone());
        }
        if let Some(ts) = row.other_config.get("interconn-ts") {
            ext.insert(String::from("interconn-ts"), ts.clone());
        }
        let db = sb::DatapathBinding {
            tunnel_key: self.dp_keys.get(ls).copied().unwrap_or(0),
            external_ids: ext,
        };
        if self.out.datapaths.get(ls) != Some(&db) {
            self.out.datapaths.insert(*ls, db);
            self.dirty.datapaths.insert(*ls);
        }
        let m = &info.mcast;
        let ipm = sb::IpMulticast {
            enabled: m.enabled,
            querier: m.querier,
            table_size: m.table_size,
            idle_timeout: m.idle_timeout,
            query_interval: m.query_interval,
            query_max_resp: m.query_max_response,
            eth_src: m.eth_src.clone(),
            ip4_src: m.ip4_src.clone(),
            ip6_src: m.ip6_src.clone(),
        };
        if self.out.ip_multicast.get(ls) != Some(&ipm) {
            self.out.ip_multicast.insert(*ls, ipm);
            self.dirty.ip_multicast.insert(*ls);
        }
    }

    fn compute_ls_acls(&mut self, ls: &Uuid) {
        let Some(row) = self.nb.logical_switches.get(ls).cloned() else {
            return;
        };
        let Some(st) = self.ls.get(ls) else { return };
        let Some(ctx) = st.acl_ctx.clone() else {
            return;
        };
        let mut sink = FlowSink::default();
        for a in row.acls.iter().filter_map(|a| self.nb.acls.get(a)) {
            switch::acl::build(&self.global, &ctx, a, &mut sink);
        }
        let new = Contribution::from_sink(sink, Arc::from([*ls]));
        let st = self.ls.get_mut(ls).expect("checked above");
        self.out.flows.replace(&st.acl_flows, &new);
        st.acl_flows = new;
    }

    fn compute_pg(&mut self, pg: &Uuid) {
        let row = self.nb.port_groups.get(pg).cloned();
        let Some(row) = row else {
            if let Some(st) = self.pgs.remove(pg) {
                self.out.flows.replace(&st.flows, &Contribution::default());
                for n in st.sb_names {
                    self.out.port_groups.remove(&n);
                    self.dirty.port_groups.insert(n);
                }
                for suffix in ["_ip4", "_ip6"] {
                    let n: String = format!("{}{suffix}", st.name);
                    if !self.nb_address_set_names.contains(&n) {
                        self.out.address_sets.remove(&n);
                    }
                    self.dirty.address_sets.insert(n);
                }
            }
            return;
        };
        let span = self.pg_span(pg);
        // ACL flows, once per distinct context among the spanned switches.
        let mut by_ctx: BTreeMap<AclCtx, Vec<Uuid>> = BTreeMap::new();
        for ls in &span {
            if let Some(ctx) = self.ls.get(ls).and_then(|s| s.acl_ctx.clone()) {
                by_ctx.entry(ctx).or_default().push(*ls);
            }
        }
        let acls: Vec<_> = row.acls.iter().filter_map(|a| self.nb.acls.get(a)).cloned().collect();
        let mut new = Contribution::default();
        for (ctx, dps) in by_ctx {
            let mut sink = FlowSink::default();
            for a in &acls {
                switch::acl::build(&self.global, &ctx, a, &mut sink);
            }
            new.extend(sink, Arc::from(dps));
        }
        // Southbound Port_Group rows, one per spanned switch.
        let mut per_ls: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
        let mut diags = Vec::new();
        for p in &row.ports {
            match (self.nb.logical_switch_ports.get(p), self.ls_of_port(p)) {
                (Some(port), Some(ls)) => per_ls.entry(ls).or_default().push(port.name.clone()),
                _ => diags.push(Diagnostic::PortGroupMember {
                    group: row.name.clone(),
                    port: *p,
                }),
            }
        }
        let mut names = Vec::new();
        for (ls, ports) in per_ls {
            let Some(key) = self.dp_keys.get(&ls) else {
                continue;
            };
            let ports: BTreeSet<String> = ports.into_iter().collect();
            let n: String = format!("{key}_{}", row.name);
            if self.out.port_groups.get(&n) != Some(&ports) {
                self.out.port_groups.insert(n.clone(), ports);
                self.dirty.port_groups.insert(n.clone());
            }
            names.push(n);
        }
        // Address sets of the members' addresses.
        let mut addrs = UuidMap::default();
        let mut ip4: BTreeMap<String, u32> = BTreeMap::new();
        let mut ip6: BTreeMap<String, u32> = BTreeMap::new();
        for p in &row.ports {
            let Some(port) = self.nb.logical_switch_ports.get(p) else {
                continue;
            };
            let (v4, v6) = port_ips(port);
            for a in &v4 {
                *ip4.entry(a.clone()).or_default() += 1;
            }
            for a in &v6 {
                *ip6.entry(a.clone()).or_default() += 1;
            }
            addrs.insert(*p, (v4, v6));
        }
        let st = self.pgs.entry(*pg).or_default();
        self.out.flows.replace(&st.flows, &new);
        st.flows = new;
        for old in &st.sb_names {
            if !names.contains(old) {
                self.out.port_groups.remove(old);
                self.dirty.port_groups.insert(old.clone());
            }
        }
        if st.name != row.name && !st.name.is_empty() {
            for suffix in ["_ip4", "_ip6"] {
                let n: String = format!("{}{suffix}", st.name);
                self.out.address_sets.remove(&n);
                self.dirty.address_sets.insert(n);
            }
        }
        st.sb_names = names;
        st.name = row.name.clone();
        st.span = span;
        st.addrs = addrs;
        st.ip4 = ip4;
        st.ip6 = ip6;
        st.diags = diags;
        self.publish_pg_address_sets(pg);
    }

    fn update_pg_port_addrs(&mut self, pg: &Uuid, port: &Uuid) {
        let new = match self.nb.logical_switch_ports.get(port) {
            Some(p) if self.nb.port_groups.get(pg).is_some_and(|g| g.ports.contains(port)) => Some(port_ips(p)),
            _ => None,
        };
        let Some(st) = self.pgs.get_mut(pg) else {
            return;
        };
        if st.addrs.get(port) == new.as_ref() {
            return;
        }
        // Addresses whose count goes to or from zero enter or leave the
        // published sets; the others do not change them.
        let mut gone: Vec<(bool, String)> = Vec::new();
        let mut came: Vec<(bool, String)> = Vec::new();
        if let Some((v4, v6)) = st.addrs.remove(port) {
            for (is6, a) in v4
                .into_iter()
                .map(|a| (false, a))
                .chain(v6.into_iter().map(|a| (true, a)))
            {
                if dec(if is6 { &mut st.ip6 } else { &mut st.ip4 }, &a) {
                    gone.push((is6, a));
                }
            }
        }
        if let Some((v4, v6)) = new {
            for (is6, a) in v4.iter().map(|a| (false, a)).chain(v6.iter().map(|a| (true, a))) {
                let n = (if is6 { &mut st.ip6 } else { &mut st.ip4 })
                    .entry(a.clone())
                    .or_default();
                *n += 1;
                if *n == 1 {
                    came.push((is6, a.clone()));
                }
            }
            st.addrs.insert(*port, (v4, v6));
        }
        let names = [format!("{}_ip4", st.name), format!("{}_ip6", st.name)];
        let changes = gone
            .into_iter()
            .map(|(is6, a)| (is6, a, false))
            .chain(came.into_iter().map(|(is6, a)| (is6, a, true)));
        for (is6, a, add) in changes {
            let n = &names[usize::from(is6)];
            if self.nb_address_set_names.contains(n) {
                continue;
            }
            let set = self.out.address_sets.entry(n.clone()).or_default();
            if add {
                set.insert(a);
            } else {
                set.remove(&a);
            }
            self.dirty.address_sets.insert(n.clone());
        }
    }

    fn publish_pg_address_sets(&mut self, pg: &Uuid) {
        let Some(st) = self.pgs.get(pg) else { return };
        for (suffix, set) in [("_ip4", &st.ip4), ("_ip6", &st.ip6)] {
            let n = format!("{}{suffix}", st.name);
            if self.nb_address_set_names.contains(&n) {
                continue;
            }
            let v: BTreeSet<String> = set.keys().cloned().collect();
            if self.out.address_sets.get(&n) != Some(&v) {
                self.out.address_sets.insert(n.clone(), v);
                self.dirty.address_sets.insert(n);
            }
        }
    }

    fn compute_port(&mut self, pu: &Uuid) {
        let computed = self.port_outcome(pu);
        self.apply_port(pu, computed);
    }

    /// Ports one after the other, or, when there are many (a first
    /// compile's 10,000), computed in parallel and applied in turn: a
    /// port's outcome depends on the inputs only, not on other ports'.
    fn compute_ports(&mut self, ports: &BTreeSet<Uuid>) {
        if ports.len() < PARALLEL_MIN_PORTS {
            for p in ports {
                self.compute_port(p);
            }
            return;
        }
        use rayon::prelude::*;
        let list: Vec<Uuid> = ports.iter().copied().collect();
        let this = &*self;
        let outcomes: Vec<PortOutcome> = list.par_iter().map(|p| this.port_outcome(p)).collect();
        // Their flows go into the table all at once, on every thread.
        let olds: Vec<(&Uuid, Contribution)> =
            list.iter().zip(outcomes).filter_map(|(p, outcome)| Some((p, self.apply_port_but_flows(p, outcome)?))).collect();
        let empty = Contribution::default();
        let units: Vec<(&Contribution, &Contribution)> =
            olds.iter().map(|(p, old)| (old, self.ports.get(*p).map_or(&empty, |st| &st.flows))).collect();
        self.out.flows.replace_all(&units);
    }

    /// What port `pu` compiles to, from the inputs alone.
    fn port_outcome(&self, pu: &Uuid) -> PortOutcome {
        let row = self.nb.logical_switch_ports.get(pu).cloned();
        let ls = self
            .ls_of_port(pu)
            .filter(|ls| self.ls.get(ls).is_some_and(|s| s.ports.contains(pu)));
        let (Some(row), Some(ls)) = (row, ls) else {
            return PortOutcome::Gone;
        };
        let mut diags = Vec::new();
        let peer = self.peer_router(&row);
        let mut lsp_addrs = Vec::new();
        let mut has_unknown = false;
        for a in &row.addresses {
            match &**a {
                "unknown" => has_unknown = true,
                "router" => {}
                s if is_dynamic_lsp_address(s) => {}
                s => match extract_lsp_addresses(s) {
                    Some(la) => lsp_addrs.push(la),
                    None => diags.push(Diagnostic::BadAddress {
                        table: "Logical_Switch_Port",
                        row: row.name.clone(),
                        column: "addresses",
                        value: a.clone(),
                    }),
                },
            }
        }
        if let Some(peer) = &peer
            && row.addresses.iter().any(|a| &**a == "router")
        {
            lsp_addrs.push(peer.networks.clone());
        }
        let dynamic = match self.ipam.get(pu) {
            Some(d) => d.clone(),
            None => row.dynamic_addresses.clone(),
        };
        if self.ipam.get(pu).is_some_and(|d| d.is_some())
            && let Some(la) = dynamic.as_deref().and_then(extract_lsp_addresses)
        {
            lsp_addrs.push(la);
        }
        let mut n_ps_addrs = 0;
        for ps in &row.port_security {
            if extract_lsp_addresses(ps).is_some() {
                n_ps_addrs += 1;
            } else {
                diags.push(Diagnostic::BadAddress {
                    table: "Logical_Switch_Port",
                    row: row.name.clone(),
                    column: "port_security",
                    value: ps.clone(),
                });
            }
        }
        let sb_pb = self.sb.port_binding(&row.name).cloned();
        let ls_row = self.nb.logical_switches.get(&ls).cloned();
        let vlan_passthru = ls_row
            .as_ref()
            .is_some_and(|l| smap_bool(&l.other_config, "vlan-passthru", false));
        let qdisc = self.qdisc_queue_id(&row, sb_pb.as_deref());
        let dhcpv4 = row.dhcpv4_options.and_then(|u| self.nb.dhcp_options.get(&u)).cloned();
        let dhcpv6 = row.dhcpv6_options.and_then(|u| self.nb.dhcp_options.get(&u)).cloned();
        if let Some(o) = &dhcpv4
            && !row.is_external()
            && !(o.options.contains_key("server_id")
                && o.options.contains_key("server_mac")
                && o.options.contains_key("lease_time"))
        {
            diags.push(Diagnostic::Dhcpv4Incomplete { port: row.name.clone() });
        }
        let mut virtual_parents = Vec::new();
        if row.is_type("virtual")
            && let Some(ps) = row.options.get("virtual-parents")
        {
            for name in ps.split(',').filter(|s| !s.is_empty()) {
                if let Some(u) = self.port_named(name)
                    && self.ls_of_port(&u) == Some(ls)
                {
                    virtual_parents.push((String::from(name), u));
                }
            }
        }
        let ctx = self.ls.get(&ls).map(|s| s.port_ctx.clone()).unwrap_or_default();
        let input = PortInput {
            port: &row,
            lsp_addrs,
            has_unknown,
            n_ps_addrs,
            peer: peer.as_ref(),
            dhcpv4: dhcpv4.as_deref(),
            dhcpv6: dhcpv6.as_deref(),
            qdisc_queue_id: qdisc.clone(),
            virtual_parents,
            has_ha_chassis_group: row.ha_chassis_group.is_some(),
            dynamic_addresses: dynamic.clone(),
        };
        let mut sink = FlowSink::default();
        switch::port::build(&self.global, &ctx, &input, &mut sink);
        let new = Contribution::from_sink(sink, Arc::from([ls]));

        // Port_Binding.
        let pb = self.port_binding(
            &row,
            ls,
            peer.as_ref(),
            sb_pb.as_deref(),
            qdisc,
            vlan_passthru,
            &mut diags,
        );
        // Logical_Switch_Port:up follows the binding.
        let up = sb_pb.as_ref().map(|sbp| {
            if row.is_router() {
                true
            } else if let Some(ch) = sbp.chassis {
                let notif = self
                    .sb
                    .chassis
                    .get(&ch)
                    .is_some_and(|c| smap_bool(&c.row.other_config, "port-up-notif", false));
                if notif { sbp.up == Some(true) } else { true }
            } else {
                false
            }
        });
        PortOutcome::Present { name: row.name.clone(), ls, flows: new, pb, diags, up }
    }

    /// Makes a port's outcome part of the output.
    fn apply_port(&mut self, pu: &Uuid, outcome: PortOutcome) {
        if let Some(old) = self.apply_port_but_flows(pu, outcome) {
            let empty = Contribution::default();
            self.out.flows.replace(&old, self.ports.get(pu).map_or(&empty, |st| &st.flows));
        }
    }

    /// [`Compiler::apply_port`] but for the flow table, which the caller
    /// updates: returns the port's previous flows, if it had a state (its
    /// new ones are in `self.ports`, unless it is gone).
    fn apply_port_but_flows(&mut self, pu: &Uuid, outcome: PortOutcome) -> Option<Contribution> {
        let PortOutcome::Present { name, ls, flows: new, pb, diags, up } = outcome else {
            let old = self.ports.remove(pu).map(|st| {
                if self.port_named(&st.name).is_none_or(|u| u == *pu) {
                    self.out.port_bindings.remove(&st.name);
                }
                self.dirty.port_bindings.insert(st.name);
                st.flows
            });
            self.out.nb.lsp_up.remove(pu);
            self.port_keys.remove(pu);
            return old;
        };
        let st = self.ports.entry(*pu).or_default();
        let old = std::mem::replace(&mut st.flows, new);
        if st.name != name && !st.name.is_empty() {
            self.out.port_bindings.remove(&st.name);
            self.dirty.port_bindings.insert(st.name.clone());
        }
        st.name = name.clone();
        st.ls = ls;
        st.diags = diags;
        match self.out.port_bindings.entry(name) {
            std::collections::btree_map::Entry::Occupied(e) if *e.get() == pb => {}
            std::collections::btree_map::Entry::Occupied(mut e) => {
                self.dirty.port_bindings.insert(e.key().clone());
                e.insert(pb);
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                self.dirty.port_bindings.insert(e.key().clone());
                e.insert(pb);
            }
        }
        match up {
            Some(up) => self.out.nb.lsp_up.insert(*pu, up),
            None => self.out.nb.lsp_up.remove(pu),
        };
        self.dirty.nb_ports.insert(*pu);
        Some(old)
    }

    fn qdisc_queue_id(&self, p: &LogicalSwitchPort, sb_pb: Option<&sb::SbPortBinding>) -> Option<String> {
        if p.is_router() {
            return None;
        }
        let has_qos = ["qos_max_rate", "qos_min_rate", "qos_burst"]
            .iter()
            .any(|k| p.options.contains_key(*k));
        if !has_qos {
            return None;
        }
        if let Some(b) = sb_pb
            && smap_int(&b.options, "qdisc_queue_id", 0) != 0
        {
            return b.options.get("qdisc_queue_id").cloned();
        }
        // Allocate the smallest id unused on the same chassis (or, for
        // localnet ports, by this binding).
        let owner = if p.is_localnet() {
            sb_pb.map(|b| b.uuid)
        } else {
            sb_pb.and_then(|b| b.chassis)
        };
        let owner = owner?;
        let used: BTreeSet<i64> = self
            .sb
            .port_bindings
            .values()
            .filter(|b| b.chassis == Some(owner) || b.uuid == owner)
            .map(|b| smap_int(&b.options, "qdisc_queue_id", 0))
            .filter(|q| *q != 0)
            .collect();
        (1..=0xf000).find(|q| !used.contains(q)).map(|q| q.to_string())
    }

    #[allow(clippy::too_many_arguments)]
    fn port_binding(
        &self,
        p: &LogicalSwitchPort,
        ls: Uuid,
        peer: Option<&PeerRouter>,
        sb_pb: Option<&sb::SbPortBinding>,
        qdisc: Option<String>,
        vlan_passthru: bool,
        diags: &mut Vec<Diagnostic>,
    ) -> sb::PortBinding {
        let mut pb = sb::PortBinding {
            logical_port: p.name.clone(),
            datapath: ls,
            tunnel_key: self.port_keys.get(&p.uuid).copied().unwrap_or(0),
            mac: p.addresses.iter().cloned().collect(),
            port_security: p.port_security.iter().cloned().collect(),
            parent_port: p.parent_name.clone(),
            tag: self.desired_tag(p),
            ..sb::PortBinding::default()
        };
        let mut ids = p.external_ids.clone();
        if let Some(n) = p.external_ids.get("neutron:port_name").filter(|s| !s.is_empty()) {
            ids.insert(String::from("name"), n.clone());
        }
        pb.external_ids = ids;
        if !p.is_router() {
            let mut opts = p.options.clone();
            if let Some(q) = qdisc {
                opts.insert(String::from("qdisc_queue_id"), q);
            }
            if vlan_passthru {
                opts.insert(String::from("vlan-passthru"), String::from("true"));
            }
            if let Some(b) = sb_pb
                && !b.requested_additional_chassis.is_empty()
                && let Some(v) = b.options.get("additional-chassis-activated")
            {
                opts.insert(String::from("additional-chassis-activated"), v.clone());
            }
            pb.options = opts;
            const KNOWN: [&str; 9] = [
                "",
                "l2gateway",
                "localnet",
                "localport",
                "router",
                "vtep",
                "external",
                "virtual",
                "remote",
            ];
            if KNOWN.contains(&&*p.r#type) {
                pb.type_ = p.r#type.clone();
            } else {
                diags.push(Diagnostic::UnknownPortType {
                    port: p.name.clone(),
                    type_: p.r#type.clone(),
                });
                pb.type_ = sb_pb.map(|b| b.r#type.clone()).unwrap_or_else(|| String::from(""));
            }
            if p.is_external() {
                pb.ha_chassis_group = p
                    .ha_chassis_group
                    .and_then(|g| self.nb.ha_chassis_groups.get(&g))
                    .map(|g| g.name.clone());
            }
            if let Some(req) = p.options.get("requested-chassis") {
                let mut found = Vec::new();
                for name in req.split(',').filter(|s| !s.is_empty()) {
                    match self.sb.chassis_by_name_or_hostname(name) {
                        Some(c) => found.push(c.row.uuid),
                        None => diags.push(Diagnostic::UnknownChassis {
                            port: p.name.clone(),
                            chassis: String::from(name),
                        }),
                    }
                }
                pb.requested_chassis = found.first().copied();
                pb.requested_additional_chassis = found.into_iter().skip(1).collect();
            }
        } else {
            let chassis = peer.and_then(|pr| pr.router_chassis.clone());
            pb.type_ = String::from(if chassis.is_some() { "l3gateway" } else { "patch" });
            let mut opts = Smap::new();
            if let Some(rp) = p.options.get("router-port") {
                opts.insert(String::from("peer"), rp.clone());
            }
            if let Some(c) = chassis {
                opts.insert(String::from("l3gateway-chassis"), c);
            }
            pb.options = opts;
        }
        if let Some(b) = sb_pb {
            pb.recreate = type_changed(b, &pb.type_, p.parent_name.is_some());
        }
        pb
    }

    /// The tag a container port must have: `tag_request` if nonzero, else
    /// (with a parent) an allocated one, kept once allocated.
    fn desired_tag(&self, p: &LogicalSwitchPort) -> Option<i64> {
        let Some(req) = p.tag_request else {
            return p.tag;
        };
        let parent = p.parent_name.as_deref().filter(|s| !s.is_empty());
        if parent.is_some() && req == 0 {
            if p.tag.is_some() {
                return p.tag;
            }
            let parent = parent.unwrap_or_default();
            let mut used: BTreeSet<i64> = BTreeSet::new();
            let mut earlier_requests = 0;
            for (_, q) in self.nb.logical_switch_ports.iter() {
                if q.parent_name.as_deref() == Some(parent) {
                    if let Some(t) = q.tag {
                        used.insert(t);
                    } else if q.tag_request == Some(0) && q.uuid < p.uuid {
                        earlier_requests += 1;
                    }
                }
            }
            return (1..4096).filter(|t| !used.contains(t)).nth(earlier_requests);
        }
        if req != 0 { Some(req) } else { p.tag }
    }

    /// Load balancers a switch applies, directly or through groups.
    fn lbs_of_ls(&self, ls: &LogicalSwitch) -> BTreeSet<Uuid> {
        let mut out: BTreeSet<Uuid> = ls.load_balancer.iter().copied().collect();
        for g in ls
            .load_balancer_group
            .iter()
            .filter_map(|g| self.nb.load_balancer_groups.get(g))
        {
            out.extend(g.load_balancer.iter().copied());
        }
        out
    }

    /// A load balancer's flows on the switches that apply it, and its
    /// Southbound row.
    fn compute_lb(&mut self, lb: &Uuid) {
        let row = self.nb.load_balancers.get(lb).cloned();
        let mut span: Vec<Uuid> = Vec::new();
        if row.is_some() {
            for (u, ls) in self.nb.logical_switches.iter() {
                if self.lbs_of_ls(ls).contains(lb) {
                    span.push(*u);
                }
            }
        }
        span.sort();
        let mut new = Contribution::default();
        let mut diags = Vec::new();
        let sb_row = match (&row, span.is_empty()) {
            (Some(row), false) => {
                let (parsed, errors) = switch::lb::Lb::from_nb(row, self.global.controller_event);
                for e in errors {
                    diags.push(Diagnostic::Other {
                        what: "load balancer",
                        name: row.name.clone(),
                        message: e,
                    });
                }
                let mut sink = FlowSink::default();
                switch::lb::shared_flows(&self.global, &parsed, &mut sink);
                new.extend(sink, Arc::from(span.clone()));
                // Flows carrying a switch's meters, once per distinct pair.
                let mut by_meters: BTreeMap<(Option<String>, Option<String>), Vec<Uuid>> = BTreeMap::new();
                for ls in &span {
                    let copp = self.ls.get(ls).map(|s| s.info.copp.clone()).unwrap_or_default();
                    by_meters
                        .entry((copp.get("reject"), copp.get("event-elb")))
                        .or_default()
                        .push(*ls);
                }
                for ((reject, event), dps) in by_meters {
                    let meters = switch::lb::LbMeters {
                        reject: reject.map(Arc::from),
                        event: event.map(Arc::from),
                    };
                    let mut sink = FlowSink::default();
                    switch::lb::metered_flows(&self.global, &parsed, &meters, &mut sink);
                    new.extend(sink, Arc::from(dps));
                }
                let mut options = row.options.clone();
                options.insert("hairpin_orig_tuple".into(), "true".into());
                Some(sb::LoadBalancer {
                    name: row.name.clone(),
                    vips: row.vips.clone(),
                    protocol: row.protocol.clone(),
                    options,
                    datapaths: span.clone(),
                })
            }
            _ => None,
        };
        let st = self.lbs.entry(*lb).or_default();
        self.out.flows.replace(&st.flows, &new);
        st.flows = new;
        st.diags = diags;
        if row.is_none() {
            self.lbs.remove(lb);
        }
        if self.out.load_balancers.get(lb) != sb_row.as_ref() {
            match sb_row {
                Some(r) => self.out.load_balancers.insert(*lb, r),
                None => self.out.load_balancers.remove(lb),
            };
            self.dirty.load_balancers.insert(*lb);
        }
    }

    fn compute_mcast_groups(&mut self, ls: &Uuid) {
        let Some(st) = self.ls.get(ls) else { return };
        let relay = st.info.mcast.flood_relay;
        let mut groups: BTreeMap<&'static str, (i64, Vec<String>)> = BTreeMap::new();
        let mut add = |name: &'static str, key: i64, port: &String| {
            groups
                .entry(name)
                .or_insert_with(|| (key, Vec::new()))
                .1
                .push(port.clone());
        };
        for pu in &st.ports {
            let Some(p) = self.nb.logical_switch_ports.get(pu) else {
                continue;
            };
            if !p.is_enabled() {
                continue;
            }
            add(mcast::FLOOD, mcast::FLOOD_KEY, &p.name);
            if !p.is_router() {
                add(mcast::FLOOD_L2, mcast::FLOOD_L2_KEY, &p.name);
            }
            if relay && p.is_router() && self.peer_router(p).is_some_and(|pr| pr.mcast_relay) {
                add(mcast::MROUTER_FLOOD, mcast::MROUTER_FLOOD_KEY, &p.name);
            }
            if smap_bool(&p.options, "mcast_flood_reports", false) {
                add(mcast::MROUTER_FLOOD, mcast::MROUTER_FLOOD_KEY, &p.name);
            }
            if smap_bool(&p.options, "mcast_flood", false) {
                add(mcast::STATIC, mcast::STATIC_KEY, &p.name);
            }
            if !p.is_external() && p.addresses.iter().any(|a| &**a == "unknown") {
                add(mcast::UNKNOWN, mcast::UNKNOWN_KEY, &p.name);
            }
        }
        let old_keys = std::mem::take(&mut self.ls.get_mut(ls).expect("checked above").mcast_keys);
        let mut keys = Vec::new();
        for (name, (key, mut ports)) in groups {
            ports.sort();
            ports.dedup();
            let k = (*ls, String::from(name));
            let g = sb::MulticastGroup { tunnel_key: key, ports };
            if self.out.multicast_groups.get(&k) != Some(&g) {
                self.out.multicast_groups.insert(k.clone(), g);
                self.dirty.multicast_groups.insert(k.clone());
            }
            keys.push(k.1);
        }
        for old in old_keys {
            if !keys.contains(&old) {
                self.out.multicast_groups.remove(&(*ls, old.clone()));
                self.dirty.multicast_groups.insert((*ls, old));
            }
        }
        self.ls.get_mut(ls).expect("checked above").mcast_keys = keys;
    }

    fn compute_dns(&mut self) {
        let mut out: BTreeMap<Uuid, sb::DnsRecords> = BTreeMap::new();
        for (u, ls) in self.nb.logical_switches.iter() {
            for d in &ls.dns_records {
                let Some(row) = self.nb.dns.get(d) else {
                    continue;
                };
                let e = out.entry(*d).or_insert_with(|| sb::DnsRecords {
                    datapaths: Vec::new(),
                    records: row.records.iter().map(|(k, v)| (k.clone(), v.to_lowercase())).collect(),
                });
                e.datapaths.push(*u);
            }
        }
        for v in out.values_mut() {
            v.datapaths.sort();
            v.datapaths.dedup();
        }
        self.out.dns = out;
        self.dirty.dns = true;
    }

    fn compute_meters(&mut self) {
        let mut out = BTreeMap::new();
        let meter_of = |m: &nb::Meter| {
            let mut bands: Vec<(String, i64, i64)> = m
                .bands
                .iter()
                .filter_map(|b| self.nb.meter_bands.get(b))
                .map(|b| (b.action.clone(), b.rate, b.burst_size))
                .collect();
            bands.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
            sb::Meter {
                unit: m.unit.clone(),
                bands,
            }
        };
        for (_, m) in self.nb.meters.iter() {
            out.insert(m.name.clone(), meter_of(m));
        }
        for (_, acl) in self.nb.acls.iter() {
            let Some(name) = &acl.meter else { continue };
            let Some(m) = self
                .nb
                .meters
                .iter()
                .find(|(_, m)| m.name == *name && m.fair == Some(true))
                .map(|(_, m)| m)
            else {
                continue;
            };
            out.insert(format!("{name}__{}", acl.uuid), meter_of(m));
        }
        self.out.meters = out;
        self.dirty.meters = true;
    }

    fn compute_ha_groups(&mut self) {
        let mut out = BTreeMap::new();
        for (_, p) in self.nb.logical_switch_ports.iter() {
            if !p.is_external() {
                continue;
            }
            let Some(g) = p.ha_chassis_group.and_then(|g| self.nb.ha_chassis_groups.get(&g)) else {
                continue;
            };
            let mut members: Vec<(String, i64)> = g
                .ha_chassis
                .iter()
                .filter_map(|c| self.nb.ha_chassis.get(c))
                .map(|c| (c.chassis_name.clone(), c.priority))
                .collect();
            members.sort();
            out.insert(g.name.clone(), sb::HaChassisGroup { members });
        }
        if out != self.out.ha_chassis_groups {
            self.out.ha_chassis_groups = out;
            self.dirty.ha_chassis_groups = true;
        }
    }

    // -----------------------------------------------------------------
    // Tunnel keys and dynamic addresses.

    fn assign_dp_keys(&mut self, t: &mut Touched) {
        let max = if self.global.vxlan_mode {
            MAX_DP_KEY_VXLAN
        } else {
            MAX_DP_KEY_LOCAL
        };
        let sb_keys: UuidMap<i64> = self
            .sb
            .datapaths
            .values()
            .filter_map(|d| Some((sb::datapath_nb_uuid(d)?, d.tunnel_key)))
            .collect();
        let mut used: BTreeSet<i64> = BTreeSet::new();
        let mut new_keys: UuidMap<i64> = UuidMap::default();
        let mut switches: Vec<Arc<LogicalSwitch>> = self.nb.logical_switches.rows.values().cloned().collect();
        switches.sort_by_key(|l| l.uuid);
        // Requested keys first, then keys already in use, then new ones.
        for ls in &switches {
            let req = smap_int(&ls.other_config, "requested-tnl-key", 0);
            if req != 0 {
                if self.global.vxlan_mode && req >= 1 << 12 && !ls.other_config.contains_key("interconn-ts") {
                    continue;
                }
                // The interconnection range above the local one may be requested.
                if !(1..=(1 << 24) - 1).contains(&req) {
                    self.global_diags.push(Diagnostic::KeyOutOfRange {
                        what: "logical switch",
                        name: ls.name.clone(),
                        key: req,
                        max: (1 << 24) - 1,
                    });
                    continue;
                }
                if used.insert(req) {
                    new_keys.insert(ls.uuid, req);
                } else {
                    self.global_diags.push(Diagnostic::DatapathKeyConflict {
                        switch: ls.name.clone(),
                        key: req,
                    });
                }
            }
        }
        for ls in &switches {
            if new_keys.contains_key(&ls.uuid) {
                continue;
            }
            let cur = self.dp_keys.get(&ls.uuid).or_else(|| sb_keys.get(&ls.uuid)).copied();
            if let Some(k) = cur.filter(|k| *k > 0 && *k <= max)
                && used.insert(k)
            {
                new_keys.insert(ls.uuid, k);
            }
        }
        let mut hint = 0;
        for ls in &switches {
            if new_keys.contains_key(&ls.uuid) {
                continue;
            }
            match allocate(&used, 1, max, &mut hint) {
                Some(k) => {
                    used.insert(k);
                    new_keys.insert(ls.uuid, k);
                }
                None => self.global_diags.push(Diagnostic::KeysExhausted {
                    what: "datapath",
                    name: ls.name.clone(),
                }),
            }
        }
        for (ls, k) in &new_keys {
            if self.dp_keys.get(ls) != Some(k) {
                t.dp_units.insert(*ls);
                if let Some(pgs) = self.pgs_of_ls.get(ls) {
                    t.pgs.extend(pgs.iter().copied());
                }
            }
        }
        self.dp_keys = new_keys;
    }

    fn assign_port_keys(&mut self, ls: &Uuid, t: &mut Touched) {
        let Some(st) = self.ls.get(ls) else { return };
        let members = st.ports.clone();
        let max = if self.global.vxlan_mode {
            (1 << 11) - 1
        } else {
            (1 << 15) - 1
        };
        let mut used = BTreeSet::new();
        let mut keys: Vec<(Uuid, i64)> = Vec::new();
        let mut hint = 0;
        let mut pending = Vec::new();
        let ports: Vec<Arc<LogicalSwitchPort>> = members
            .iter()
            .filter_map(|p| self.nb.logical_switch_ports.get(p))
            .cloned()
            .collect();
        for p in &ports {
            let req = smap_int(&p.options, "requested-tnl-key", 0);
            if req != 0 {
                if self.global.vxlan_mode && req >= 1 << 11 {
                    continue;
                }
                if !(1..=(1 << 15) - 1).contains(&req) {
                    self.global_diags.push(Diagnostic::KeyOutOfRange {
                        what: "port",
                        name: p.name.clone(),
                        key: req,
                        max: (1 << 15) - 1,
                    });
                    continue;
                }
                if used.insert(req) {
                    keys.push((p.uuid, req));
                    hint = hint.max(req);
                } else {
                    self.global_diags.push(Diagnostic::PortKeyConflict {
                        port: p.name.clone(),
                        key: req,
                    });
                }
            }
        }
        for p in &ports {
            if keys.iter().any(|(u, _)| *u == p.uuid) {
                continue;
            }
            let sb_key = self
                .sb
                .port_binding(&p.name)
                .filter(|b| !b.datapath.is_zero())
                .map(|b| b.tunnel_key);
            let cur = self.port_keys.get(&p.uuid).copied().or(sb_key);
            match cur.filter(|k| *k > 0 && *k <= max && !used.contains(k)) {
                Some(k) => {
                    used.insert(k);
                    keys.push((p.uuid, k));
                    hint = hint.max(k);
                }
                None => pending.push(p),
            }
        }
        for p in pending {
            match allocate(&used, 1, max, &mut hint) {
                Some(k) => {
                    used.insert(k);
                    keys.push((p.uuid, k));
                }
                None => self.global_diags.push(Diagnostic::KeysExhausted {
                    what: "port",
                    name: p.name.clone(),
                }),
            }
        }
        for (u, k) in keys {
            if self.port_keys.get(&u) != Some(&k) {
                self.port_keys.insert(u, k);
                t.ports.insert(u);
            }
        }
    }

    fn run_ipam(&mut self, t: &mut Touched) {
        let mut switches: Vec<(Arc<LogicalSwitch>, Vec<Arc<LogicalSwitchPort>>)> = Vec::new();
        let mut lss: Vec<&Arc<LogicalSwitch>> = self.nb.logical_switches.rows.values().collect();
        lss.sort_by_key(|l| l.uuid);
        for ls in lss {
            let ports = ls
                .ports
                .iter()
                .filter(|p| self.ls_of_port(p) == Some(ls.uuid))
                .filter_map(|p| self.nb.logical_switch_ports.get(p))
                .cloned()
                .collect();
            switches.push((ls.clone(), ports));
        }
        let peered: BTreeSet<Uuid> = switches
            .iter()
            .flat_map(|(_, ps)| ps.iter())
            .filter(|p| self.peer_router(p).is_some())
            .map(|p| p.uuid)
            .collect();
        let has_peer = |p: &LogicalSwitchPort| peered.contains(&p.uuid);
        let result = crate::ipam::run(&self.global.mac_prefix, &switches, &has_peer);
        for (ls, ports) in &switches {
            let cfg = crate::ipam::IpamConfig::from_config(&ls.other_config);
            for p in ports {
                let want: Option<Option<String>> = if !cfg.enabled() {
                    if p.dynamic_addresses.is_some() {
                        Some(None)
                    } else {
                        None
                    }
                } else if has_peer(p) {
                    None
                } else if let Some(d) = result.get(&p.uuid) {
                    Some(Some(d.clone()))
                } else if p.dynamic_addresses.is_some() {
                    Some(None)
                } else {
                    None
                };
                let old = self.ipam.get(&p.uuid).cloned();
                match want {
                    Some(w) => {
                        if old.as_ref() != Some(&w) {
                            self.ipam.insert(p.uuid, w.clone());
                            self.out.nb.lsp_dynamic_addresses.insert(p.uuid, w);
                            self.mark_port_and_groups(p.uuid, t);
                        }
                    }
                    None => {
                        if old.is_some() {
                            self.ipam.remove(&p.uuid);
                            self.out.nb.lsp_dynamic_addresses.remove(&p.uuid);
                            self.mark_port_and_groups(p.uuid, t);
                        }
                    }
                }
            }
        }
        // Ports gone from every switch (or deleted) keep no assignment.
        let on_switch: BTreeSet<Uuid> = switches.iter().flat_map(|(_, ps)| ps.iter().map(|p| p.uuid)).collect();
        let gone: Vec<Uuid> = self.ipam.keys().filter(|u| !on_switch.contains(u)).copied().collect();
        for u in gone {
            self.ipam.remove(&u);
            self.out.nb.lsp_dynamic_addresses.remove(&u);
            self.dirty.nb_ports.insert(u);
        }
    }

    fn mark_port_and_groups(&mut self, p: Uuid, t: &mut Touched) {
        t.ports.insert(p);
        self.dirty.nb_ports.insert(p);
        if let Some(pgs) = self.pgs_of_port.get(&p) {
            for pg in pgs {
                t.pg_addrs.insert((*pg, p));
            }
        }
    }
}

/// Decrements a count; true when it reaches zero (and is removed).
fn dec(m: &mut BTreeMap<String, u32>, k: &String) -> bool {
    if let Some(n) = m.get_mut(k) {
        *n -= 1;
        if *n == 0 {
            m.remove(k);
            return true;
        }
    }
    false
}

/// A port's IPv4 and IPv6 addresses for its port groups' address sets:
/// static addresses (not "dynamic" ones) plus `dynamic_addresses`.
fn port_ips(p: &LogicalSwitchPort) -> (Vec<String>, Vec<String>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for a in &p.addresses {
        if !is_dynamic_lsp_address(a) {
            crate::addr::split_addresses(a, &mut v4, &mut v6);
        }
    }
    if let Some(d) = &p.dynamic_addresses {
        crate::addr::split_addresses(d, &mut v4, &mut v6);
    }
    (v4, v6)
}

/// `ovn_allocate_tnlid`: the first free key after `hint`, wrapping.
fn allocate(used: &BTreeSet<i64>, min: i64, max: i64, hint: &mut i64) -> Option<i64> {
    let next = |k: i64| if k < max { k + 1 } else { min };
    let start = *hint;
    let mut k = next(start);
    while k != start {
        if !used.contains(&k) {
            *hint = k;
            return Some(k);
        }
        k = next(k);
    }
    None
}

/// "%x:%x:%x", as `set_mac_prefix` reads `mac_prefix`.
fn parse_mac_prefix(s: &str) -> Option<Mac> {
    let mut parts = s.splitn(3, ':');
    let mut m = [0u8; 6];
    for b in m.iter_mut().take(3) {
        let p = parts.next()?;
        let end = p.bytes().take_while(u8::is_ascii_hexdigit).count().min(2);
        if end == 0 {
            return None;
        }
        *b = u8::from_str_radix(&p[..end], 16).ok()?;
    }
    Some(Mac(m))
}

/// The IP of a load balancer VIP key ("IP", "IP:port", "`[IPv6]:port`").
fn vip_ip(vip: &str) -> Option<std::net::IpAddr> {
    if let Some(rest) = vip.strip_prefix('[') {
        let end = rest.find(']')?;
        return rest[..end].parse().ok().map(std::net::IpAddr::V6);
    }
    if let Ok(ip) = vip.parse() {
        return Some(ip);
    }
    let (ip, _) = vip.rsplit_once(':')?;
    ip.parse().ok()
}

/// Ports that became or stopped being virtual, or gained or lost a
/// parent, get a new binding row.
/// Whether the binding must be deleted and inserted anew (ovn-controller
/// handles these changes only so): between virtual and any other type, or
/// a plain port gaining or losing its parent.
fn type_changed(b: &sb::SbPortBinding, new_type: &str, has_parent: bool) -> bool {
    if b.r#type.is_empty() && new_type.is_empty() {
        return b.parent_port.is_some() != has_parent;
    }
    (&*b.r#type == "virtual" || new_type == "virtual") && b.r#type != new_type
}

fn default_global() -> Global {
    Global {
        svc_monitor_mac: String::new(),
        mac_prefix: Mac::ZERO,
        use_ct_inv_match: true,
        controller_event: false,
        check_lsp_is_up: false,
        default_acl_drop: false,
        ct_no_masked_label: true,
        ct_lb_related: true,
        drop_action: "drop;".into(),
        implicit_drop_action: "/* drop */".into(),
        meters: Arc::new(BTreeMap::new()),
        vxlan_mode: false,
    }
}
