//! The JSON-RPC decoder: arbitrary bytes, split at an arbitrary point, must
//! frame and parse without panicking, and framing must not depend on how
//! the bytes were split. A `transact` request read in one pass
//! (`transact_request`) must be the request the usual parse gives, what
//! it found (the database name, the operations split or their places) the
//! params' elements.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovsdb::rpc::{Framer, Message, transact_request};

fn frame_all(chunks: &[&[u8]]) -> Vec<Result<serde_json::Value, String>> {
    let mut f = Framer::new(1 << 16);
    let mut out = Vec::new();
    for chunk in chunks {
        f.push(chunk);
        loop {
            let frame = match f.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            };
            check_transact(frame);
            match ovsdb::rpc::parse_frame(frame) {
                Ok(v) => out.push(Ok(v)),
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }
    out
}

/// `transact_request` agrees with the usual parse of the same frame.
fn check_transact(frame: &[u8]) {
    let Some(request) = transact_request(frame) else { return };
    let parsed = ovsdb::rpc::parse_frame(frame).expect("a transact read in one pass parses");
    let Ok(Message::Request { method, params, id }) = Message::from_json(parsed) else {
        panic!("a transact read in one pass is a request");
    };
    assert_eq!(method, "transact");
    assert_eq!(id, request.id);
    let items = request.found.items_json(request.params).expect("what was found parses");
    assert_eq!(items, params);
    let whole: serde_json::Value = serde_json::from_str(request.params).expect("params parse");
    assert_eq!(whole, serde_json::Value::Array(params));
}

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize) % (data.len() + 1);
    let whole = frame_all(&[data]);
    let parts = frame_all(&[&data[..split], &data[split..]]);
    // An error may be detected at a different point, but every value framed
    // before it must be the same.
    let ok = |v: &Vec<Result<serde_json::Value, String>>| v.iter().take_while(|r| r.is_ok()).count();
    let n = ok(&whole).min(ok(&parts));
    assert_eq!(whole[..n], parts[..n]);
    for v in whole.into_iter().flatten() {
        if let Ok(m) = Message::from_json(v) {
            let again = Message::from_json(m.to_json()).expect("printed message parses");
            assert_eq!(again, m);
        }
    }
});
