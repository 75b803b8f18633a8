//! Any text: the action parser returns Ok or Err, never panics; what it
//! accepts prints back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovn_lflow::actions;
use ovn_lflow::symtab::SymbolTable;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let t = SymbolTable::ovn();
    let Ok(a) = actions::parse(s) else { return };
    let printed = actions::display(&a, t).to_string();
    assert_eq!(actions::parse(&printed).as_ref(), Ok(&a), "reprint `{printed}` of `{s}`");
});
