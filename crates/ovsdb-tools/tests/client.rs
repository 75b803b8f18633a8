//! rovsdb-client against ovsdb-client 3.1: the same commands with the same
//! arguments, against Debian's ovsdb-server and against rovsdb-server
//! serving the same data, must print the same bytes and exit alike.

mod common;

use common::{Side, populated, schema_path, test_schema_path};

fn schema_commands(side: Side) {
    let (env, r) = populated(side);
    let r = r.as_str();
    for args in [
        vec!["list-dbs", r],
        vec!["list-tables", r, "Types"],
        vec!["list-tables", r, "OVN_Northbound"],
        vec!["list-tables", r, "_Server"],
        vec!["list-columns", r, "Types"],
        vec!["list-columns", r, "Types", "Collections"],
        vec!["list-columns", r, "OVN_Northbound"],
        vec!["list-columns", r, "OVN_Northbound", "Logical_Switch_Port"],
        vec!["get-schema", r, "Types"],
        vec!["get-schema", r, "OVN_Northbound"],
        vec!["--pretty", "get-schema", r, "Types"],
        vec!["get-schema", r, "_Server"],
        vec!["get-schema-version", r, "Types"],
        vec!["get-schema-cksum", r, "Types"],
        vec!["get-schema-version", r, "OVN_Northbound"],
        vec!["get-schema-cksum", r, "OVN_Northbound"],
        vec!["-f", "csv", "list-tables", r, "Types"],
        vec!["-f", "json", "list-columns", r, "Types", "Scalars"],
        vec!["--bare", "list-columns", r, "Types", "Scalars"],
        vec![
            "needs-conversion",
            r,
            test_schema_path("types.ovsschema").to_str().unwrap(),
        ],
        vec![
            "needs-conversion",
            r,
            test_schema_path("types-v2.ovsschema").to_str().unwrap(),
        ],
        vec!["needs-conversion", r, schema_path("ovn-nb.ovsschema").to_str().unwrap()],
    ] {
        env.same("ovsdb-client", &args);
    }
}

#[test]
fn schema_commands_on_ovsdb_server() {
    schema_commands(Side::C);
}

#[test]
fn schema_commands_on_rovsdb_server() {
    schema_commands(Side::Rust);
}

fn dumps(side: Side) {
    let (env, r) = populated(side);
    let r = r.as_str();
    for db in ["Types", "OVN_Northbound"] {
        env.same("ovsdb-client", &["dump", r, db]);
    }
    for format in ["table", "list", "html", "csv", "json"] {
        for data in ["string", "bare", "json"] {
            env.same("ovsdb-client", &["-f", format, "-d", data, "dump", r, "Types"]);
        }
    }
    for args in [
        vec!["dump", r, "Types", "Collections"],
        vec!["dump", r, "Types", "Scalars", "name", "color", "r"],
        vec!["dump", r, "Types", "Scalars", "_uuid", "name"],
        vec!["dump", r, "Types", "Collections", "kids", "name", "kids"],
        vec!["--no-headings", "dump", r, "Types", "Scalars"],
        vec!["--bare", "dump", r, "Types"],
        vec!["--max-column-width=6", "dump", r, "Types", "Collections"],
        vec!["--pretty", "-f", "json", "dump", r, "Types", "Collections"],
        vec![
            "--format=csv",
            "--data=bare",
            "--no-headings",
            "dump",
            r,
            "OVN_Northbound",
            "Logical_Switch",
        ],
        vec!["dump", r, "_Server"],
        vec!["dump", r, "Types", "Nope"],
        vec!["dump", r, "Types", "Scalars", "nope"],
    ] {
        env.same("ovsdb-client", &args);
    }
}

#[test]
fn dumps_on_ovsdb_server() {
    dumps(Side::C);
}

#[test]
fn dumps_on_rovsdb_server() {
    dumps(Side::Rust);
}

fn transactions(side: Side) {
    let (env, r) = populated(side);
    let r = r.as_str();
    for txn in [
        r#"["Types", {"op": "select", "table": "Scalars", "where": [["i", ">", 0]], "columns": ["name", "i", "r", "u"]}]"#,
        r#"["Types", {"op": "select", "table": "Collections", "where": [], "columns": ["name", "smap", "imap", "reals"]}]"#,
        r#"["Types", {"op": "update", "table": "Scalars", "where": [["name", "==", "alpha"]], "row": {"i": 43}},
                     {"op": "mutate", "table": "Collections", "where": [], "mutations": [["ints", "insert", ["set", [9]]]]},
                     {"op": "comment", "comment": "hello"}]"#,
        r#"["Types", {"op": "insert", "table": "Nope", "row": {}}]"#,
        r#"["Types", {"op": "update", "table": "Scalars", "where": [], "row": {"small": 99}}]"#,
        r#"["Types", {"op": "update", "table": "Scalars", "where": [], "row": {"fixed": "no"}}]"#,
        r#"["Types", {"op": "select", "table": "Scalars", "where": [["nope", "==", 1]]}]"#,
        r#"["Types", {"op": "delete", "table": "Child", "where": [["name", "==", "kid1"]]}]"#,
        r#"["Types", {"op": "abort"}]"#,
        r#"["Nope", {"op": "select", "table": "Scalars", "where": []}]"#,
        r#"["Types"]"#,
    ] {
        env.same("ovsdb-client", &["transact", r, txn]);
        env.same("ovsdb-client", &["--pretty", "transact", r, txn]);
        env.same("ovsdb-client", &["query", r, txn]);
    }
    for bad in [
        "",
        "[",
        "{}",
        "[1]",
        "[\"Types\", tru]",
        "\"Types\"",
        "[\"a\\u0000\"]",
        "[1e999]",
    ] {
        env.same("ovsdb-client", &["transact", r, bad]);
        env.same("ovsdb-client", &["query", r, bad]);
    }
    // The server named nowhere: the default, in OVS_RUNDIR.
    env.same("ovsdb-client", &["transact", r#"["Types"]"#]);
}

#[test]
fn transactions_on_ovsdb_server() {
    transactions(Side::C);
}

#[test]
fn transactions_on_rovsdb_server() {
    transactions(Side::Rust);
}

/// Mistakes on the command line: same message, same status.
#[test]
fn bad_command_lines() {
    let (env, r) = populated(Side::C);
    let r = r.as_str();
    let nowhere = format!("unix:{}", env.path("nowhere.sock").display());
    for args in [
        vec![],
        vec!["bogus"],
        vec!["--bogus", "list-dbs"],
        vec!["-x", "list-dbs"],
        vec!["--format"],
        vec!["-f"],
        vec!["-f", "yaml", "list-dbs", r],
        vec!["-d", "xml", "list-dbs", r],
        vec!["--timeout=abc", "list-dbs", r],
        vec!["-t", "0", "list-dbs", r],
        vec!["list-dbs", r, "extra"],
        vec!["list-tables", r],
        vec!["list-tables", r, "Types", "extra"],
        vec!["get-schema", r, "Nope"],
        vec!["list-dbs"],
        vec!["list-dbs", &nowhere],
        vec!["dump", &nowhere],
        vec!["list-dbs", "nosuch:thing"],
        vec!["transact"],
        vec!["transact", r, "[]", "extra"],
        vec!["monitor", r, "Types"],
        vec!["monitor", r, "Types", "Nope"],
        vec!["monitor", r, "Types", "Scalars", "nope"],
        vec!["monitor", r, "Types", "Scalars", "name,name"],
        vec!["monitor", r, "Types", "Scalars", "name", "i,name"],
        vec!["monitor", r, "Types", "ALL", "name"],
        vec!["monitor-cond", r, "Types", "[[\"nope\",\"==\",1]]", "Scalars"],
        vec!["monitor-cond", r, "Types", "[", "Scalars"],
        vec!["monitor-cond", r, "Types", "[]", "Nope"],
        vec!["monitor-cond", r, "Types", "[true]", "ALL"],
        vec!["lock", r],
        vec!["wait", r, "Types", "sideways"],
        vec!["convert", r, "/nonexistent.ovsschema"],
        vec!["needs-conversion", r, "/nonexistent.ovsschema"],
    ] {
        env.same("ovsdb-client", &args);
    }
}
