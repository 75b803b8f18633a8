//! The update appliers: arbitrary JSON as the `params` of an `update`,
//! `update2` or `update3` notification to a monitoring session, and as a
//! monitor reply to a bare replica. Nothing may panic; an update the
//! replica rejects leaves it untouched, and the session then drops the
//! connection to resynchronise from scratch.
//!
//! The same input also goes through the direct reader (JSON text straight
//! into the replica, as the client reads what it receives): whatever it
//! accepts, the tree reader accepts too, with the same result.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use ovsdb::monitor::Version;
use ovsdb::rpc::Message;
use ovsdb_client::core::{Command, Config, Core, Phase};
use ovsdb_client::replica::Replica;
use ovsdb_client::Remote;
use serde_json::{Value as Json, json};

/// Every shape of column: scalars of each type, optional, bounded and
/// unbounded sets, maps, references, enums.
fn schema() -> Json {
    json!({"name": "D", "version": "1.0.0", "tables": {
        "T": {"columns": {
            "s": {"type": "string"},
            "i": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 10}}},
            "r": {"type": "real"},
            "b": {"type": "boolean"},
            "u": {"type": {"key": {"type": "uuid", "refTable": "U"}, "min": 0, "max": 1}},
            "e": {"type": {"key": {"type": "string", "enum": ["set", ["x", "y"]]}}},
            "set2": {"type": {"key": "integer", "min": 0, "max": 2}},
            "set": {"type": {"key": "string", "min": 1, "max": "unlimited"}},
            "map": {"type": {"key": "string", "value": "real", "min": 0, "max": "unlimited"}}}},
        "U": {"columns": {"n": {"type": "integer"}}, "isRoot": true}}})
}

const ROW_T: &str = "00000000-0000-0000-0000-00000000000a";
const ROW_U: &str = "00000000-0000-0000-0000-00000000000b";

fn initial(version: Version) -> Json {
    let t = json!({"s": "a", "set": ["set", ["p", "q"]], "map": ["map", [["k", 1.5]]]});
    let u = json!({"n": 1});
    match version {
        Version::V1 => json!({"T": {ROW_T: {"new": t}}, "U": {ROW_U: {"new": u}}}),
        _ => json!({"T": {ROW_T: {"initial": t}}, "U": {ROW_U: {"initial": u}}}),
    }
}

/// A session that is monitoring, its replica holding one row per table.
fn monitoring(version: Version) -> Core {
    let now = Instant::now();
    let mut cfg = Config::new("D", vec![Remote::Unix("/x".into())]).monitor("T", &[]).monitor("U", &[]);
    cfg.max_version = version;
    let mut core = Core::new(cfg, now);
    core.handle_timeout(now);
    core.handle_connected(now);
    let recv = |core: &mut Core, id: u64, result: Json| {
        core.handle_message(now, Message::Reply { result, id: json!(id) });
    };
    // No _Server: straight to the schema, then the monitor of `version`.
    core.handle_message(now, Message::Error { error: json!("unknown database"), id: json!(1) });
    recv(&mut core, 2, schema());
    recv(&mut core, 3, initial(version));
    core.take_commands();
    assert_eq!(core.phase(), Phase::Monitoring);
    core
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(json) = serde_json::from_slice::<Json>(rest) else { return };
    let version = match selector % 3 {
        0 => Version::V1,
        1 => Version::V2,
        _ => Version::V3,
    };

    // As a notification to a monitoring session. (Without _Server the
    // session monitors with monitor_cond at most, so update3 is tried on a
    // V2 session: it must be handled all the same.)
    let mut core = monitoring(if version == Version::V1 { Version::V1 } else { Version::V2 });
    let before = core.replica().seqno();
    let method = ["update", "update2", "update3"][(selector % 3) as usize];
    let params = match json {
        Json::Array(a) if selector & 0x80 != 0 => a,
        other => match version {
            Version::V3 => vec![json!(["monid", "D"]), json!("11111111-1111-1111-1111-111111111111"), other],
            _ => vec![json!(["monid", "D"]), other],
        },
    };
    let message = Message::Notification { method: method.into(), params: params.clone() };
    let mut twin = monitoring(if version == Version::V1 { Version::V1 } else { Version::V2 });
    // As bytes, a message is refused only if its text is (a string with
    // a null byte): then the connection drops before any reader sees it.
    let framed = twin.handle_frame(Instant::now(), &message.to_bytes());
    let bytes_refused = ovsdb::rpc::parse_frame(&message.to_bytes()).is_err();
    assert_eq!(framed.is_err(), bytes_refused, "{framed:?}");
    core.handle_message(Instant::now(), message);
    let commands = core.take_commands();
    if !bytes_refused {
        assert_eq!(contents(twin.replica()), contents(core.replica()), "the direct reader disagrees");
        assert_eq!(twin.take_commands(), commands);
    }
    if core.status().stats.inconsistencies > 0 {
        assert_eq!(commands, vec![Command::Disconnect]);
        assert_eq!(core.replica().seqno(), before, "a rejected update changed the replica");
    }
    let _ = core.replica_mut().take_changes();

    // As a monitor reply to a bare replica.
    let Some(updates) = params.last() else { return };
    let mut replica = Replica::new("D");
    let schema = ovsdb::schema::DatabaseSchema::from_json(&schema()).expect("schema");
    let monitored = schema.tables.iter().enumerate().map(|(i, t)| (i, t.user_columns().map(|(c, _)| c).collect())).collect();
    replica.set_schema(schema, monitored);
    let seqno = replica.seqno();
    let mut direct = replica.clone();
    if replica.replace(version, updates).is_err() {
        assert_eq!(replica.seqno(), seqno);
    }
    let _ = replica.take_changes();

    // The fuzzer's own text, read directly: accepted only if the tree
    // reader accepts it, with the same rows.
    if let Ok(text) = std::str::from_utf8(rest) {
        let mut tree = direct.clone();
        if direct.replace_text(version, text).is_ok() {
            let json: Json = serde_json::from_str(text).expect("accepted text is JSON");
            tree.replace(version, &json).expect("the tree reader accepts what the direct reader accepts");
            assert_eq!(contents(&direct), contents(&tree));
        } else {
            assert_eq!(direct.seqno(), seqno);
        }
    }
});

/// Every row of both tables, every column.
fn contents(replica: &Replica) -> Vec<Json> {
    ["T", "U"]
        .iter()
        .map(|name| {
            let t = replica.table(name).expect("table");
            let columns: Vec<_> = t.schema.user_columns().map(|(c, _)| c).collect();
            t.to_json(&columns)
        })
        .collect()
}
