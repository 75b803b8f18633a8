//! Any bytes as JSON, parsed the way the tools read server replies and
//! database records: no panic; whatever parses prints to text that parses
//! back and prints the same, member order aside (printing is not
//! lossless: reals keep 15 digits, as Open vSwitch prints them); and feeding the bytes in two
//! pieces, as a stream arrives, parses the same as feeding them at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovsdb_tools::ovs_json::{self, Json, Parser};

fuzz_target!(|data: &[u8]| {
    let whole = Json::parse(data);
    if let Ok(json) = &whole {
        let reparse = |text: String| Json::parse(text.as_bytes()).expect("printed JSON parses");
        let canonical = reparse(json.to_text(ovs_json::SORT)).to_text(ovs_json::SORT);
        for flags in [0, ovs_json::PRETTY, ovs_json::SORT | ovs_json::PRETTY] {
            assert_eq!(reparse(json.to_text(flags)).to_text(ovs_json::SORT), canonical);
        }
    }
    let split = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let mut p = Parser::new(true);
    let n = p.feed(&data[..split]);
    if n == split {
        p.feed(&data[split..]);
    }
    match (p.finish(), &whole) {
        (Ok(a), Ok(b)) => assert!(a.equal(b)),
        (Err(a), Err(b)) => assert_eq!(&a, b),
        (a, b) => panic!("split parse {a:?} but whole parse {b:?}"),
    }
});
