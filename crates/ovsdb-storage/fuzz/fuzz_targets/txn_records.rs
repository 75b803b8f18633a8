//! Transaction records built from the input by a small grammar (tables,
//! a few row UUIDs, columns, values of every shape, right or wrong for the
//! column), framed with correct headers after a fixed schema record: the
//! decoder and the database must cope with anything a record can say.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value as Json, json};

const UUIDS: [&str; 4] = [
    "00000000-0000-4000-8000-000000000001",
    "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003",
    "ffffffff-0000-4000-8000-000000000004",
];

fn schema() -> Json {
    json!({"name": "F", "tables": {
        "A": {"columns": {
            "i": {"type": "integer"},
            "r": {"type": {"key": "real", "min": 0, "max": 1}},
            "s": {"type": {"key": {"type": "string", "enum": ["set", ["x", "y"]]}, "min": 1, "max": 2}},
            "m": {"type": {"key": "string", "value": {"type": "integer", "minInteger": 0}, "min": 0, "max": "unlimited"}},
            "b": {"type": {"key": {"type": "uuid", "refTable": "B"}, "min": 0, "max": "unlimited"}},
            "w": {"type": {"key": "string", "value": {"type": "uuid", "refTable": "B", "refType": "weak"}, "min": 0, "max": 3}}},
            "indexes": [["i"]], "isRoot": true},
        "B": {"columns": {"v": {"type": "integer"}, "e": {"type": "string", "ephemeral": true}}, "isRoot": false}}})
}

fn atom(u: &mut Unstructured) -> Result<Json> {
    Ok(match u.int_in_range(0..=6)? {
        0 => json!(u.int_in_range(-2i64..=3)?),
        1 => json!(*u.choose(&[0.5, -1.25, 1e300])?),
        2 => json!(*u.choose(&["x", "y", "", "k"])?),
        3 => json!(["uuid", *u.choose(&UUIDS)?]),
        4 => json!(u.arbitrary::<bool>()?),
        5 => json!(["uuid", "not-a-uuid"]),
        _ => Json::Null,
    })
}

fn value(u: &mut Unstructured, depth: u32) -> Result<Json> {
    Ok(match u.int_in_range(0..=3)? {
        0 => atom(u)?,
        1 => {
            let n = u.int_in_range(0..=4)?;
            json!(["set", (0..n).map(|_| atom(u)).collect::<Result<Vec<_>>>()?])
        }
        2 => {
            let n = u.int_in_range(0..=4)?;
            let pairs = (0..n)
                .map(|_| Ok(json!([atom(u)?, atom(u)?])))
                .collect::<Result<Vec<_>>>()?;
            json!(["map", pairs])
        }
        _ if depth < 2 => json!([value(u, depth + 1)?, value(u, depth + 1)?]),
        _ => json!({}),
    })
}

fn row(u: &mut Unstructured) -> Result<Json> {
    if u.ratio(1, 5)? {
        return Ok(Json::Null);
    }
    let mut obj = Map::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let col = *u.choose(&["i", "r", "s", "m", "b", "w", "v", "e", "_uuid", "_version", "zz"])?;
        obj.insert(col.to_string(), value(u, 0)?);
    }
    Ok(Json::Object(obj))
}

fn record(u: &mut Unstructured) -> Result<Json> {
    let mut obj = Map::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let table = *u.choose(&["A", "B", "A", "B", "_date", "_comment", "_is_diff", "Z"])?;
        let v = match table {
            "A" | "B" => {
                let mut rows = Map::new();
                for _ in 0..u.int_in_range(0..=3)? {
                    let uuid = if u.ratio(1, 20)? { "bogus" } else { *u.choose(&UUIDS)? };
                    rows.insert(uuid.to_string(), row(u)?);
                }
                Json::Object(rows)
            }
            _ => atom(u)?,
        };
        obj.insert(table.to_string(), v);
    }
    if u.arbitrary::<bool>()? {
        obj.insert("_is_diff".into(), json!(true));
    }
    Ok(Json::Object(obj))
}

fuzz_target!(|data: &[u8]| {
    let schema = schema();
    let mut file = Vec::new();
    ovsdb_storage::frame::write_record(&mut file, "JSON", &schema);
    let mut u = Unstructured::new(data);
    while !u.is_empty() {
        let Ok(rec) = record(&mut u) else { break };
        ovsdb_storage::frame::write_record(&mut file, "JSON", &rec);
    }
    if let Ok(loaded) = ovsdb_storage::load::load(&file) {
        // Whatever was read can be written as a snapshot and read back.
        let body = ovsdb_storage::file_txn::encode_snapshot(&loaded.db, None, 0);
        let mut copy = Vec::new();
        ovsdb_storage::frame::write_record(&mut copy, "JSON", &schema);
        ovsdb_storage::frame::write_header(&mut copy, "JSON", &body);
        copy.extend_from_slice(&body);
        let again = ovsdb_storage::load::load(&copy).expect("a snapshot of a loaded database reads back");
        assert_eq!(again.db.n_rows(), loaded.db.n_rows());
    }
});
