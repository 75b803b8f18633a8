//! Pipeline stages: every logical-flow table northd fills, with the name
//! and table number OVN 23.03 gives it (ovn-northd(8)), and the register
//! and flag conventions the flows share with ovn-controller.
//!
//! Stage names and numbers are interface facts: ovn-controller maps table
//! numbers to OpenFlow tables, and ovn-trace/ovn-detrace show the names
//! written in `external_ids:stage-name`.

use std::fmt;

/// Ingress or egress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pipeline {
    Ingress,
    Egress,
}

impl Pipeline {
    pub fn name(self) -> &'static str {
        match self {
            Pipeline::Ingress => "ingress",
            Pipeline::Egress => "egress",
        }
    }

    pub fn from_name(s: &str) -> Option<Pipeline> {
        match s {
            "ingress" => Some(Pipeline::Ingress),
            "egress" => Some(Pipeline::Egress),
            _ => None,
        }
    }
}

/// Logical switch or logical router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DpType {
    Switch,
    Router,
}

macro_rules! stages {
    ($($variant:ident = ($dp:ident, $pipe:ident, $table:literal, $name:literal),)*) => {
        /// One logical-flow table of one pipeline of one datapath type.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Stage {
            $($variant,)*
        }

        impl Stage {
            pub const ALL: &'static [Stage] = &[$(Stage::$variant,)*];

            pub fn dp_type(self) -> DpType {
                match self { $(Stage::$variant => DpType::$dp,)* }
            }
            pub fn pipeline(self) -> Pipeline {
                match self { $(Stage::$variant => Pipeline::$pipe,)* }
            }
            pub fn table(self) -> u8 {
                match self { $(Stage::$variant => $table,)* }
            }
            /// The name written in `external_ids:stage-name`.
            pub fn name(self) -> &'static str {
                match self { $(Stage::$variant => $name,)* }
            }
        }
    };
}

stages! {
    LsInCheckPortSec = (Switch, Ingress, 0, "ls_in_check_port_sec"),
    LsInApplyPortSec = (Switch, Ingress, 1, "ls_in_apply_port_sec"),
    LsInLookupFdb = (Switch, Ingress, 2, "ls_in_lookup_fdb"),
    LsInPutFdb = (Switch, Ingress, 3, "ls_in_put_fdb"),
    LsInPreAcl = (Switch, Ingress, 4, "ls_in_pre_acl"),
    LsInPreLb = (Switch, Ingress, 5, "ls_in_pre_lb"),
    LsInPreStateful = (Switch, Ingress, 6, "ls_in_pre_stateful"),
    LsInAclHint = (Switch, Ingress, 7, "ls_in_acl_hint"),
    LsInAcl = (Switch, Ingress, 8, "ls_in_acl"),
    LsInQosMark = (Switch, Ingress, 9, "ls_in_qos_mark"),
    LsInQosMeter = (Switch, Ingress, 10, "ls_in_qos_meter"),
    LsInLbAffCheck = (Switch, Ingress, 11, "ls_in_lb_aff_check"),
    LsInLb = (Switch, Ingress, 12, "ls_in_lb"),
    LsInLbAffLearn = (Switch, Ingress, 13, "ls_in_lb_aff_learn"),
    LsInPreHairpin = (Switch, Ingress, 14, "ls_in_pre_hairpin"),
    LsInNatHairpin = (Switch, Ingress, 15, "ls_in_nat_hairpin"),
    LsInHairpin = (Switch, Ingress, 16, "ls_in_hairpin"),
    LsInAclAfterLb = (Switch, Ingress, 17, "ls_in_acl_after_lb"),
    LsInStateful = (Switch, Ingress, 18, "ls_in_stateful"),
    LsInArpRsp = (Switch, Ingress, 19, "ls_in_arp_rsp"),
    LsInDhcpOptions = (Switch, Ingress, 20, "ls_in_dhcp_options"),
    LsInDhcpResponse = (Switch, Ingress, 21, "ls_in_dhcp_response"),
    LsInDnsLookup = (Switch, Ingress, 22, "ls_in_dns_lookup"),
    LsInDnsResponse = (Switch, Ingress, 23, "ls_in_dns_response"),
    LsInExternalPort = (Switch, Ingress, 24, "ls_in_external_port"),
    LsInL2Lkup = (Switch, Ingress, 25, "ls_in_l2_lkup"),
    LsInL2Unknown = (Switch, Ingress, 26, "ls_in_l2_unknown"),

    LsOutPreAcl = (Switch, Egress, 0, "ls_out_pre_acl"),
    LsOutPreLb = (Switch, Egress, 1, "ls_out_pre_lb"),
    LsOutPreStateful = (Switch, Egress, 2, "ls_out_pre_stateful"),
    LsOutAclHint = (Switch, Egress, 3, "ls_out_acl_hint"),
    LsOutAcl = (Switch, Egress, 4, "ls_out_acl"),
    LsOutQosMark = (Switch, Egress, 5, "ls_out_qos_mark"),
    LsOutQosMeter = (Switch, Egress, 6, "ls_out_qos_meter"),
    LsOutStateful = (Switch, Egress, 7, "ls_out_stateful"),
    LsOutCheckPortSec = (Switch, Egress, 8, "ls_out_check_port_sec"),
    LsOutApplyPortSec = (Switch, Egress, 9, "ls_out_apply_port_sec"),

    LrInAdmission = (Router, Ingress, 0, "lr_in_admission"),
    LrInLookupNeighbor = (Router, Ingress, 1, "lr_in_lookup_neighbor"),
    LrInLearnNeighbor = (Router, Ingress, 2, "lr_in_learn_neighbor"),
    LrInIpInput = (Router, Ingress, 3, "lr_in_ip_input"),
    LrInUnsnat = (Router, Ingress, 4, "lr_in_unsnat"),
    LrInDefrag = (Router, Ingress, 5, "lr_in_defrag"),
    LrInLbAffCheck = (Router, Ingress, 6, "lr_in_lb_aff_check"),
    LrInDnat = (Router, Ingress, 7, "lr_in_dnat"),
    LrInLbAffLearn = (Router, Ingress, 8, "lr_in_lb_aff_learn"),
    LrInEcmpStateful = (Router, Ingress, 9, "lr_in_ecmp_stateful"),
    LrInNdRaOptions = (Router, Ingress, 10, "lr_in_nd_ra_options"),
    LrInNdRaResponse = (Router, Ingress, 11, "lr_in_nd_ra_response"),
    LrInIpRoutingPre = (Router, Ingress, 12, "lr_in_ip_routing_pre"),
    LrInIpRouting = (Router, Ingress, 13, "lr_in_ip_routing"),
    LrInIpRoutingEcmp = (Router, Ingress, 14, "lr_in_ip_routing_ecmp"),
    LrInPolicy = (Router, Ingress, 15, "lr_in_policy"),
    LrInPolicyEcmp = (Router, Ingress, 16, "lr_in_policy_ecmp"),
    LrInArpResolve = (Router, Ingress, 17, "lr_in_arp_resolve"),
    LrInChkPktLen = (Router, Ingress, 18, "lr_in_chk_pkt_len"),
    LrInLargerPkts = (Router, Ingress, 19, "lr_in_larger_pkts"),
    LrInGwRedirect = (Router, Ingress, 20, "lr_in_gw_redirect"),
    LrInArpRequest = (Router, Ingress, 21, "lr_in_arp_request"),

    LrOutCheckDnatLocal = (Router, Egress, 0, "lr_out_chk_dnat_local"),
    LrOutUndnat = (Router, Egress, 1, "lr_out_undnat"),
    LrOutPostUndnat = (Router, Egress, 2, "lr_out_post_undnat"),
    LrOutSnat = (Router, Egress, 3, "lr_out_snat"),
    LrOutPostSnat = (Router, Egress, 4, "lr_out_post_snat"),
    LrOutEgrLoop = (Router, Egress, 5, "lr_out_egr_loop"),
    LrOutDelivery = (Router, Egress, 6, "lr_out_delivery"),
}

impl Stage {
    /// The stage a Southbound row names by datapath type, pipeline and
    /// table number.
    pub fn lookup(dp: DpType, pipeline: Pipeline, table: i64) -> Option<Stage> {
        Stage::ALL
            .iter()
            .copied()
            .find(|s| s.dp_type() == dp && s.pipeline() == pipeline && i64::from(s.table()) == table)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Register bits of the logical switch pipeline (`reg0`), shared with the
/// actions ovn-controller implements (e.g. `check_in_port_sec()` writes
/// one of them).
pub mod reg {
    pub const CONNTRACK_DEFRAG: &str = "reg0[0]";
    pub const CONNTRACK_COMMIT: &str = "reg0[1]";
    pub const CONNTRACK_NAT: &str = "reg0[2]";
    pub const DHCP_OPTS_RESULT: &str = "reg0[3]";
    pub const DNS_LOOKUP_RESULT: &str = "reg0[4]";
    pub const ND_RA_OPTS_RESULT: &str = "reg0[5]";
    pub const HAIRPIN: &str = "reg0[6]";
    pub const ACL_HINT_ALLOW_NEW: &str = "reg0[7]";
    pub const ACL_HINT_ALLOW: &str = "reg0[8]";
    pub const ACL_HINT_DROP: &str = "reg0[9]";
    pub const ACL_HINT_BLOCK: &str = "reg0[10]";
    pub const LKUP_FDB: &str = "reg0[11]";
    pub const HAIRPIN_REPLY: &str = "reg0[12]";
    pub const ACL_LABEL: &str = "reg0[13]";
    pub const FROM_RAMP: &str = "reg0[14]";
    pub const PORT_SEC_DROP: &str = "reg0[15]";
    pub const ACL_STATELESS: &str = "reg0[16]";
    pub const ACL_HINT_ALLOW_REL: &str = "reg0[17]";
    /// The ACL label committed to `ct_label.label`.
    pub const LABEL: &str = "reg3";
    pub const ORIG_DIP_IPV4: &str = "reg1";
    pub const ORIG_DIP_IPV6: &str = "xxreg1";
    pub const ORIG_TP_DPORT: &str = "reg2[0..15]";
}

/// Names of the multicast groups northd creates, and their tunnel keys
/// (32768 and up; IGMP groups are allocated above the fixed ones).
pub mod mcast {
    pub const FLOOD: &str = "_MC_flood";
    pub const FLOOD_KEY: i64 = 32768;
    pub const UNKNOWN: &str = "_MC_unknown";
    pub const UNKNOWN_KEY: i64 = 32769;
    pub const MROUTER_FLOOD: &str = "_MC_mrouter_flood";
    pub const MROUTER_FLOOD_KEY: i64 = 32770;
    pub const STATIC: &str = "_MC_static";
    pub const STATIC_KEY: i64 = 32771;
    pub const FLOOD_L2: &str = "_MC_flood_l2";
    pub const FLOOD_L2_KEY: i64 = 32772;
}

/// Priority offset between an ACL's priority and its flows'.
pub const ACL_PRI_OFFSET: u16 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_dense() {
        for dp in [DpType::Switch, DpType::Router] {
            for p in [Pipeline::Ingress, Pipeline::Egress] {
                let tables: Vec<u8> = Stage::ALL
                    .iter()
                    .filter(|s| s.dp_type() == dp && s.pipeline() == p)
                    .map(|s| s.table())
                    .collect();
                assert_eq!(tables, (0..tables.len() as u8).collect::<Vec<_>>());
            }
        }
    }
}
