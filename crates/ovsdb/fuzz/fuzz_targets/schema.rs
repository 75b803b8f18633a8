//! Schema parsing: any JSON is a schema or a clear error, and a parsed
//! schema prints to JSON that parses to the same schema.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovsdb::schema::DatabaseSchema;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(schema) = DatabaseSchema::from_json(&json) {
        let printed = schema.to_json();
        let again = DatabaseSchema::from_json(&printed).expect("printed schema parses");
        assert_eq!(again.to_json(), printed);
    }
});
