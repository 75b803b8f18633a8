//! Sequence numbers: how `ovn-nbctl --wait=sb` and `--wait=hv` know that
//! northd (and the chassis) caught up. `NB_Global:nb_cfg` is copied to
//! `SB_Global:nb_cfg` in the same Southbound transaction as the flows it
//! produced; once that transaction commits, `NB_Global:sb_cfg` takes the
//! value; `NB_Global:hv_cfg` is the smallest `nb_cfg` the chassis report
//! in `Chassis_Private`.

use ovsdb::atom::Atom;
use ovsdb::db::Database;
use serde_json::{Value as Json, json};

fn first_row<'a>(db: &'a Database, table: &str) -> Option<(&'a ovsdb::schema::TableSchema, &'a ovsdb::row::Row)> {
    let (_, ts, t) = db.table_by_name(table)?;
    t.rows.values().min_by_key(|r| r.uuid).map(|r| (ts, &**r))
}

fn int(ts: &ovsdb::schema::TableSchema, r: &ovsdb::row::Row, c: &str) -> i64 {
    ts.column_id(c)
        .and_then(|id| r.field(id).as_set().first().and_then(Atom::as_integer))
        .unwrap_or(0)
}

fn update(table: &str, uuid: ovsdb::Uuid, row: Json) -> Json {
    json!({"op": "update", "table": table, "where": [["_uuid", "==", ["uuid", uuid.to_string()]]], "row": row})
}

/// The sequence-number writes of one round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CfgOps {
    pub sb: Vec<Json>,
    pub nb: Vec<Json>,
    /// The `nb_cfg` the Southbound transaction carries: once it commits,
    /// pass it as `committed_cfg` next round.
    pub next_cfg: i64,
}

/// `committed_cfg`: the `nb_cfg` of the last Southbound transaction that
/// committed (0: none yet). `now_ms`: wall clock, for the timestamps.
pub fn sequence_numbers(nb: &Database, sb: &Database, committed_cfg: i64, now_ms: i64) -> CfgOps {
    let mut out = CfgOps::default();
    let Some((nts, ng)) = first_row(nb, "NB_Global") else {
        return out;
    };
    let nb_cfg = int(nts, ng, "nb_cfg");
    out.next_cfg = nb_cfg;
    let mut nb_row = serde_json::Map::new();
    match first_row(sb, "SB_Global") {
        Some((sts, sg)) if int(sts, sg, "nb_cfg") != nb_cfg => {
            out.sb.push(update("SB_Global", sg.uuid, json!({"nb_cfg": nb_cfg})));
            nb_row.insert("nb_cfg_timestamp".into(), json!(now_ms));
        }
        Some(_) => {}
        // The differ inserts the singleton earlier in the same
        // transaction: it carries nb_cfg from the first commit on, as the
        // flows it came with do.
        None if nb_cfg != 0 => {
            out.sb.push(json!({"op": "update", "table": "SB_Global", "where": [], "row": {"nb_cfg": nb_cfg}}));
            nb_row.insert("nb_cfg_timestamp".into(), json!(now_ms));
        }
        None => {}
    }
    if committed_cfg != 0 && int(nts, ng, "sb_cfg") != committed_cfg {
        nb_row.insert("sb_cfg".into(), json!(committed_cfg));
        nb_row.insert("sb_cfg_timestamp".into(), json!(now_ms));
    }
    // The smallest nb_cfg among local chassis (with wrap-around as OVN
    // detects it), and the latest timestamp at that value.
    let (mut hv_cfg, mut hv_ts) = (nb_cfg, 0);
    if let Some((_, cts, ct)) = sb.table_by_name("Chassis_Private") {
        let remote = |chassis: Option<ovsdb::Uuid>| -> bool {
            let Some(c) = chassis else { return false };
            let Some((_, ts, t)) = sb.table_by_name("Chassis") else {
                return false;
            };
            let Some(row) = t.get(&c) else { return false };
            ts.column_id("other_config")
                .and_then(|id| {
                    row.field(id)
                        .get(&Atom::string("is-remote"))
                        .and_then(|a| a.as_str().map(|s| s.eq_ignore_ascii_case("true")))
                })
                .unwrap_or(false)
        };
        for row in ct.rows.values() {
            let chassis = cts
                .column_id("chassis")
                .and_then(|id| row.field(id).as_set().first().and_then(Atom::as_uuid));
            if remote(chassis) {
                continue;
            }
            let cfg = int(cts, row, "nb_cfg");
            let ts = int(cts, row, "nb_cfg_timestamp");
            let delta = cfg.wrapping_sub(hv_cfg);
            if cfg < hv_cfg || delta > i64::from(i32::MAX) {
                hv_cfg = cfg;
                hv_ts = ts;
            } else if cfg == hv_cfg && ts > hv_ts {
                hv_ts = ts;
            }
        }
    }
    if int(nts, ng, "hv_cfg") != hv_cfg {
        nb_row.insert("hv_cfg".into(), json!(hv_cfg));
        nb_row.insert("hv_cfg_timestamp".into(), json!(hv_ts));
    }
    if !nb_row.is_empty() {
        out.nb.push(update("NB_Global", ng.uuid, Json::Object(nb_row)));
    }
    out
}

#[cfg(test)]
mod tests {

    use ovsdb::schema::DatabaseSchema;
    use ovsdb::txn::transact;

    use super::*;

    fn db(text: &str) -> Database {
        let json: Json = serde_json::from_str(text).expect("schema JSON");
        Database::new(DatabaseSchema::from_json(&json).expect("schema"))
    }

    fn sb_nb_cfg(sb: &Database) -> Option<i64> {
        first_row(sb, "SB_Global").map(|(ts, r)| int(ts, r, "nb_cfg"))
    }

    /// On a fresh Southbound the transaction that creates SB_Global (the
    /// first compile's) already carries nb_cfg, so `--wait=sb` is
    /// answered by the first commit, not by a second round.
    #[test]
    fn nb_cfg_goes_with_the_first_transaction() {
        let mut nb = db(include_str!("../../../schemas/ovn-nb.ovsschema"));
        let mut sb = db(include_str!("../../../schemas/ovn-sb.ovsschema"));
        transact(&mut nb, &json!(["OVN_Northbound", {"op": "insert", "table": "NB_Global", "row": {"nb_cfg": 7}}]));
        let cfg = sequence_numbers(&nb, &sb, 0, 1000);
        assert_eq!(cfg.next_cfg, 7);
        // The differ's insert of the singleton, then the sequence numbers.
        let mut params = vec![json!("OVN_Southbound"), json!({"op": "insert", "table": "SB_Global", "row": {}})];
        params.extend(cfg.sb);
        let result = transact(&mut sb, &Json::Array(params));
        assert!(result.as_array().is_some_and(|r| r.iter().all(|o| o.get("error").is_none())), "{result}");
        assert_eq!(sb_nb_cfg(&sb), Some(7));
        // Nothing more to write for it next round.
        assert!(sequence_numbers(&nb, &sb, 7, 2000).sb.is_empty());
        // The Northbound learns when nb_cfg was copied.
        assert!(cfg.nb.iter().any(|op| op["row"].get("nb_cfg_timestamp").is_some()));
    }
}
