//! The JSON-RPC decoder: arbitrary bytes, split at an arbitrary point, must
//! frame and parse without panicking, and framing must not depend on how
//! the bytes were split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovsdb::rpc::{Framer, Message};

fn frame_all(chunks: &[&[u8]]) -> Vec<Result<serde_json::Value, String>> {
    let mut f = Framer::new(1 << 16);
    let mut out = Vec::new();
    for chunk in chunks {
        f.push(chunk);
        loop {
            match f.next() {
                Ok(Some(v)) => out.push(Ok(v)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }
    out
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
