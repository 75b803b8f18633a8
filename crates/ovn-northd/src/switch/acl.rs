//! Flows of one ACL on one switch: its verdict (allow, allow-related,
//! allow-stateless, drop, reject) in the ingress or egress ACL stage, with
//! conntrack hints and commits when the switch is stateful, logging, and
//! the pre-ACL bypass of stateless ACLs.
//!
//! An ACL's flows depend only on the ACL row, [`AclCtx`] of the switch and
//! the global settings, so a port group's ACLs are built once per distinct
//! context and shared by every switch the group spans.

use crate::flow::FlowSink;
use crate::lflow;
use crate::nb::{ACL, smap_bool};
use crate::stage::{ACL_PRI_OFFSET, Stage, reg};

use super::{AclCtx, Global};

fn log_action(g: &Global, acl: &ACL) -> String {
    if !acl.log {
        return String::new();
    }
    let mut s = String::from("log(");
    if let Some(n) = &acl.name {
        s.push_str(&format!("name=\"{n}\", "));
    }
    s.push_str(&format!("severity={}, ", acl.severity.as_deref().unwrap_or("info")));
    match &*acl.action {
        "drop" => s.push_str("verdict=drop, "),
        "reject" => s.push_str("verdict=reject, "),
        "allow" | "allow-related" | "allow-stateless" => s.push_str("verdict=allow, "),
        _ => {}
    }
    if let Some(m) = &acl.meter {
        if g.meters.get(m).copied().unwrap_or(false) {
            s.push_str(&format!("meter=\"{m}__{}\", ", acl.uuid));
        } else {
            s.push_str(&format!("meter=\"{m}\", "));
        }
    }
    while s.ends_with(' ') || s.ends_with(',') {
        s.pop();
    }
    s.push_str("); ");
    s
}

/// The stage an ACL's verdict goes to.
fn acl_stage(acl: &ACL) -> Stage {
    let ingress = &*acl.direction == "from-lport";
    if ingress && smap_bool(&acl.options, "apply-after-lb", false) {
        Stage::LsInAclAfterLb
    } else if ingress {
        Stage::LsInAcl
    } else {
        Stage::LsOutAcl
    }
}

/// Every flow of `acl` on a switch with context `ctx`. ACLs whose
/// priority is out of range produce nothing (the schema forbids them).
pub fn build(g: &Global, ctx: &AclCtx, acl: &ACL, sink: &mut FlowSink) {
    let Ok(prio) = u16::try_from(acl.priority + i64::from(ACL_PRI_OFFSET)) else {
        return;
    };
    if ctx.has_stateful && &*acl.action == "allow-stateless" {
        let st = if &*acl.direction == "from-lport" {
            Stage::LsInPreAcl
        } else {
            Stage::LsOutPreAcl
        };
        lflow!(
            sink,
            st,
            prio,
            &*acl.r#match,
            format!("{} = 1; next;", reg::ACL_STATELESS),
            hint = acl.uuid
        );
    }
    verdict(g, ctx, acl, prio, sink);
}

fn verdict(g: &Global, ctx: &AclCtx, acl: &ACL, prio: u16, sink: &mut FlowSink) {
    let stage = acl_stage(acl);
    let ingress = &*acl.direction == "from-lport";
    let blocked = g.ct_blocked();
    let log = log_action(g, acl);
    let m = &*acl.r#match;
    match &*acl.action {
        "allow-stateless" => {
            lflow!(sink, stage, prio, m, format!("{log}next;"), hint = acl.uuid);
        }
        "allow" | "allow-related" if !ctx.has_stateful => {
            lflow!(sink, stage, prio, m, format!("{log}next;"), hint = acl.uuid);
        }
        "allow" | "allow-related" => {
            let label = if acl.label != 0 {
                format!("{} = 1; {} = {}; ", reg::ACL_LABEL, reg::LABEL, acl.label)
            } else {
                String::new()
            };
            let commit = format!("{} = 1; ", reg::CONNTRACK_COMMIT);
            lflow!(
                sink,
                stage,
                prio,
                format!("{} == 1 && ({m})", reg::ACL_HINT_ALLOW_NEW),
                format!("{commit}{label}{log}next;"),
                hint = acl.uuid
            );
            let relabel = if acl.label != 0 {
                format!("{commit}{label}")
            } else {
                String::new()
            };
            lflow!(
                sink,
                stage,
                prio,
                format!("{} == 1 && ({m})", reg::ACL_HINT_ALLOW),
                format!("{relabel}{log}next;"),
                hint = acl.uuid
            );
            if acl.log && acl.label != 0 && smap_bool(&acl.options, "log-related", false) {
                let st = if ingress { Stage::LsOutAcl } else { Stage::LsInAcl };
                let inv = if g.use_ct_inv_match { " && !ct.inv" } else { "" };
                let a = format!("{log}next;");
                lflow!(
                    sink,
                    st,
                    u16::MAX - 2,
                    format!(
                        "ct.est && !ct.rel && !ct.new{inv} && ct.rpl && {blocked} == 0 && ct_label.label == {}",
                        acl.label
                    ),
                    a.as_str(),
                    hint = acl.uuid
                );
                lflow!(
                    sink,
                    st,
                    u16::MAX - 2,
                    format!(
                        "!ct.est && ct.rel && !ct.new{inv} && {blocked} == 0 && ct_label.label == {}",
                        acl.label
                    ),
                    a.as_str(),
                    hint = acl.uuid
                );
            }
        }
        "drop" | "reject" => {
            let reject = &*acl.action == "reject";
            if ctx.has_stateful {
                // Not yet committed: just drop; committed: mark the
                // connection blocked.
                for (hint, commit) in [
                    (reg::ACL_HINT_DROP, String::new()),
                    (reg::ACL_HINT_BLOCK, format!("ct_commit {{ {blocked} = 1; }}; ")),
                ] {
                    let hint_m = format!("{hint} == 1");
                    if reject {
                        reject_flow(g, ctx, acl, stage, prio, &hint_m, &commit, sink);
                    } else {
                        lflow!(
                            sink,
                            stage,
                            prio,
                            format!("{hint_m} && ({m})"),
                            format!("{commit}{log}{}", g.implicit_drop_action),
                            hint = acl.uuid
                        );
                    }
                }
            } else if reject {
                reject_flow(g, ctx, acl, stage, prio, "", "", sink);
            } else {
                lflow!(
                    sink,
                    stage,
                    prio,
                    m,
                    format!("{log}{}", g.implicit_drop_action),
                    hint = acl.uuid
                );
            }
        }
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn reject_flow(
    g: &Global,
    ctx: &AclCtx,
    acl: &ACL,
    stage: Stage,
    prio: u16,
    extra_match: &str,
    extra_actions: &str,
    sink: &mut FlowSink,
) {
    let ingress = stage.pipeline() == crate::stage::Pipeline::Ingress;
    let next = if ingress {
        format!("next(pipeline=egress,table={});", Stage::LsOutQosMark.table())
    } else {
        format!("next(pipeline=ingress,table={});", Stage::LsInL2Lkup.table())
    };
    let mut m = String::new();
    if !extra_match.is_empty() {
        m.push_str(&format!("({extra_match}) && "));
    }
    m.push_str(&acl.r#match);
    let mut a = log_action(g, acl);
    if !extra_actions.is_empty() {
        a.push_str(extra_actions);
        a.push(' ');
    }
    a.push_str(&format!(
        "reg0 = 0; reject {{ /* eth.dst <-> eth.src; ip.dst <-> ip.src; is implicit. */ outport <-> inport; {next} }};"
    ));
    lflow!(
        sink,
        stage,
        prio,
        m,
        a,
        hint = acl.uuid,
        meter = ctx.reject_meter.clone()
    );
}
