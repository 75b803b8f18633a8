//! rovsdb-tool against ovsdb-tool 3.1: the same commands on the same files
//! print the same bytes and exit alike; files each writes the other (and
//! Debian's ovsdb-server) reads.
//!
//! Normalisation beyond [`common::normalize`]: in `query` and `transact`
//! results, rows are sorted (a select's row order is unspecified, and
//! follows each implementation's hash tables), `_version` UUIDs, made anew
//! whenever a file is read, are masked, and so are the "details" and
//! "syntax" of errors (texts for people, which the `ovsdb` engine words
//! its own way; the error kinds must agree); in `show-log` of files two
//! tools wrote at different times, record dates are masked and lines
//! sorted (each writer orders a record's members its own way).

mod common;

use std::path::{Path, PathBuf};

use common::{Env, POPULATE_TYPES, Side, schema_path, test_schema_path};
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Sorts the rows of every select result and masks `_version` and the
/// texts of errors ("details", "syntax").
fn normalize_results(text: &str) -> String {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                if let Some(ver) = o.get_mut("_version") {
                    *ver = Value::String("VERSION".into());
                }
                if o.contains_key("error") {
                    for member in ["details", "syntax"] {
                        if let Some(text) = o.get_mut(member) {
                            *text = Value::String(member.to_uppercase());
                        }
                    }
                }
                o.values_mut().for_each(walk);
                if let Some(Value::Array(rows)) = o.get_mut("rows") {
                    rows.sort_by_key(|r| r.to_string());
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            walk(&mut v);
            v.to_string()
        }
        Err(_) => text.to_string(),
    }
}

/// Masks the dates of `show-log` records.
fn mask_dates(text: &str) -> String {
    text.lines()
        .map(|l| match (l.starts_with("record "), l.find(": 20")) {
            (true, Some(i)) if l.len() >= i + 25 => format!("{}: DATE{}", &l[..i], &l[i + 25..]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A database file with a history: records written by Debian's
/// ovsdb-server (with column diffs), by ovsdb-tool and by rovsdb-tool. The
/// server runs in an environment of its own, dropped (which stops it)
/// before the file is copied out.
fn history_file(env: &Env) -> PathBuf {
    let mut server_env = Env::new();
    let db = server_env.create_db("hist", &test_schema_path("types.ovsschema"));
    let remote = server_env.start_server("hist-server", Side::C, std::slice::from_ref(&db));
    for txn in [
        POPULATE_TYPES,
        r#"["Types", {"op": "update", "table": "Scalars", "where": [["name", "==", "alpha"]], "row": {"i": 1, "name": "renamed"}}]"#,
        r#"["Types", {"op": "mutate", "table": "Collections", "where": [], "mutations": [["smap", "insert", ["map", [["new", "x"]]]], ["ints", "delete", 2]]}]"#,
        r#"["Types", {"op": "delete", "table": "Scalars", "where": [["color", "==", "red"]]}]"#,
    ] {
        let out = server_env.run(Side::C, "ovsdb-client", &["transact", &remote, txn]);
        assert!(out.status == 0 && !out.stdout.contains("error"), "{out:?}");
    }
    let file = env.path("hist.db");
    std::fs::copy(&db, &file).unwrap();
    drop(server_env);
    let f = s(&file);
    for (side, txn) in [
        (
            Side::C,
            r#"["Types", {"op": "update", "table": "Limited", "where": [], "row": {"x": 5}}, {"op": "comment", "comment": "by ovsdb-tool"}]"#,
        ),
        (
            Side::Rust,
            r#"["Types", {"op": "insert", "table": "Limited", "row": {"x": 6}}, {"op": "comment", "comment": "by rovsdb-tool"}]"#,
        ),
        (
            Side::Rust,
            r#"["Types", {"op": "update", "table": "Collections", "where": [["name", "==", "empty"]], "row": {"strs": ["set", ["p", "q"]], "imap": ["map", [[5, 0.5]]]}}]"#,
        ),
    ] {
        let out = env.run(side, "ovsdb-tool", &["transact", f, txn]);
        assert!(out.status == 0 && !out.stdout.contains("error"), "{side:?}: {out:?}");
    }
    file
}

#[test]
fn schema_and_file_reports() {
    let env = Env::new();
    let hist = history_file(&env);
    let schemas = [
        schema_path("ovn-nb.ovsschema"),
        schema_path("ovn-sb.ovsschema"),
        schema_path("vswitch.ovsschema"),
        schema_path("_server.ovsschema"),
        test_schema_path("types.ovsschema"),
        test_schema_path("types-v2.ovsschema"),
    ];
    for schema in &schemas {
        for cmd in ["schema-name", "schema-version", "schema-cksum"] {
            env.same("ovsdb-tool", &[cmd, s(schema)]);
        }
    }
    let h = s(&hist);
    for args in [
        vec!["db-name", h],
        vec!["db-version", h],
        vec!["db-cksum", h],
        vec!["db-is-standalone", h],
        vec!["db-is-clustered", h],
        vec!["show-log", h],
        vec!["-m", "show-log", h],
        vec!["-mm", "show-log", h],
        vec!["--more", "--more", "show-log", h],
        vec!["needs-conversion", h, s(&schemas[4])],
        vec!["needs-conversion", h, s(&schemas[5])],
        vec![
            "query",
            h,
            r#"["Types", {"op": "select", "table": "Scalars", "where": [["name", "==", "renamed"]], "columns": ["name", "i", "r", "u"]}]"#,
        ],
        vec!["compare-versions", "1.2.3", "<", "1.10.0"],
        vec!["compare-versions", "1.2.3", ">=", "1.10.0"],
        vec!["compare-versions", "2.0.0", "==", "2.0.0"],
        vec!["compare-versions", "2.0", "==", "2.0.0"],
        vec!["compare-versions", "2.0.0", "=~", "2.0.0"],
    ] {
        env.same("ovsdb-tool", &args);
    }
    // The defaults: OVS_DBDIR/conf.db and OVS_PKGDATADIR/vswitch.ovsschema.
    std::fs::copy(&hist, env.path("conf.db")).unwrap();
    std::fs::copy(schema_path("vswitch.ovsschema"), env.path("vswitch.ovsschema")).unwrap();
    for cmd in [
        "db-name",
        "db-version",
        "schema-name",
        "schema-cksum",
        "show-log",
        "needs-conversion",
    ] {
        env.same("ovsdb-tool", &[cmd]);
    }
}

/// The checksums the installed Open vSwitch and OVN schemas state are the
/// ones rovsdb-tool computes.
#[test]
fn schema_checksums() {
    let env = Env::new();
    for file in [
        "/usr/share/openvswitch/vswitch.ovsschema",
        "/usr/share/ovn/ovn-nb.ovsschema",
        "/usr/share/ovn/ovn-sb.ovsschema",
    ] {
        let stated = env.run(Side::C, "ovsdb-tool", &["schema-cksum", file]);
        let computed = env.run(Side::Rust, "ovsdb-tool", &["calculate-schema-cksum", file]);
        assert_eq!((stated.status, computed.status), (0, 0), "{file}");
        assert_eq!(stated.stdout, computed.stdout, "{file}");
    }
}

#[test]
fn transactions_on_files() {
    let env = Env::new();
    let hist = history_file(&env);
    let (a, b) = (env.path("a.db"), env.path("b.db"));
    std::fs::copy(&hist, &a).unwrap();
    std::fs::copy(&hist, &b).unwrap();
    for txn in [
        r#"["Types", {"op": "select", "table": "Collections", "where": []}]"#,
        r#"["Types", {"op": "update", "table": "Scalars", "where": [["i", ">=", 0]], "row": {"opt_i": ["set", []], "r": 0.125}}]"#,
        r#"["Types", {"op": "mutate", "table": "Collections", "where": [], "mutations": [["ints", "insert", ["set", [100]]]]}]"#,
        r#"["Types", {"op": "delete", "table": "Limited", "where": [["x", "==", 6]]}]"#,
        r#"["Types", {"op": "update", "table": "Scalars", "where": [], "row": {"small": 6}}]"#,
        r#"["Types", {"op": "update", "table": "Scalars", "where": [], "row": {"fixed": "x"}}]"#,
        r#"["Types", {"op": "insert", "table": "Nope", "row": {}}]"#,
        r#"["Types", {"op": "wait", "table": "Limited", "where": [], "columns": ["x"], "until": "==", "rows": [], "timeout": 0}]"#,
        r#"["Nope", {"op": "select", "table": "Scalars", "where": []}]"#,
        r#"["Types", {"op": "select", "table": "Scalars", "where": [], "columns": ["name", "i", "r", "opt_i", "color"]}]"#,
    ] {
        for cmd in ["query", "transact"] {
            let c = env.run(Side::C, "ovsdb-tool", &[cmd, s(&a), txn]);
            let r = env.run(Side::Rust, "ovsdb-tool", &[cmd, s(&b), txn]);
            assert_eq!((c.status, &c.stderr), (r.status, &r.stderr), "{cmd} {txn}");
            let (c_out, r_out) = (c.stdout.replace("/a.db", "/X.db"), r.stdout.replace("/b.db", "/X.db"));
            assert_eq!(normalize_results(&c_out), normalize_results(&r_out), "{cmd} {txn}");
        }
    }
    // Both files went through the same changes: each tool sees the same
    // contents in either (records dated differently).
    let all = r#"["Types", {"op": "select", "table": "Scalars", "where": []}, {"op": "select", "table": "Collections", "where": []},
                   {"op": "select", "table": "Limited", "where": []}]"#;
    for side in [Side::C, Side::Rust] {
        let qa = env.run(side, "ovsdb-tool", &["query", s(&a), all]);
        let qb = env.run(side, "ovsdb-tool", &["query", s(&b), all]);
        assert_eq!(normalize_results(&qa.stdout), normalize_results(&qb.stdout), "{side:?}");
    }
    // The records say the same, though each writer lists rows and columns
    // in its own order, which show-log's hash order can show.
    let log = |f: &Path| {
        let mut lines: Vec<String> = mask_dates(&env.run(Side::C, "ovsdb-tool", &["-mm", "show-log", s(f)]).stdout)
            .lines()
            .map(String::from)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(log(&a), log(&b));
    env.same("ovsdb-tool", &["-mm", "show-log", s(&b)]);

    for bad in ["", "[", "{}", "[\"Types\", tru]"] {
        let (c, r) = (
            env.run(Side::C, "ovsdb-tool", &["query", s(&a), bad]),
            env.run(Side::Rust, "ovsdb-tool", &["query", s(&b), bad]),
        );
        assert_eq!(
            (c.status, c.stdout, c.stderr.replace("a.db", "X")),
            (r.status, r.stdout, r.stderr.replace("b.db", "X"))
        );
    }
}

/// Compaction and conversion by both tools, into new files and in place:
/// the results hold the same rows and every tool and server reads them.
#[test]
fn compact_and_convert() {
    let mut env = Env::new();
    let hist = history_file(&env);
    let v2 = test_schema_path("types-v2.ovsschema");
    let all = r#"["Types", {"op": "select", "table": "Scalars", "where": []}, {"op": "select", "table": "Collections", "where": []},
                   {"op": "select", "table": "Child", "where": []}]"#;
    let mut results = Vec::new();
    for side in [Side::C, Side::Rust] {
        let tag = format!("{side:?}");
        let copy = env.path(&format!("{tag}.db"));
        std::fs::copy(&hist, &copy).unwrap();
        let compacted = env.path(&format!("{tag}-compacted.db"));
        let converted = env.path(&format!("{tag}-converted.db"));
        for args in [
            vec!["compact", s(&copy), s(&compacted)],
            vec!["compact", s(&copy)],
            vec!["convert", s(&copy), s(&v2), s(&converted)],
            vec!["convert", s(&copy), s(&v2)],
        ] {
            let out = env.run(side, "ovsdb-tool", &args);
            assert_eq!(
                (out.status, out.stdout.as_str(), out.stderr.as_str()),
                (0, "", ""),
                "{side:?} {args:?}"
            );
        }
        // Every file made reads the same with both tools.
        let mut row = Vec::new();
        for file in [&compacted, &converted, &copy] {
            let c = env.run(Side::C, "ovsdb-tool", &["query", s(file), all]);
            let r = env.run(Side::Rust, "ovsdb-tool", &["query", s(file), all]);
            assert_eq!(c.status, 0, "{}", c.stderr);
            assert_eq!(
                normalize_results(&c.stdout),
                normalize_results(&r.stdout),
                "{side:?} {}",
                file.display()
            );
            row.push(normalize_results(&c.stdout));
            env.same("ovsdb-tool", &["db-version", s(file)]);
            let log = env.run(Side::C, "ovsdb-tool", &["-mm", "show-log", s(file)]);
            assert_eq!(log.status, 0, "{}", log.stderr);
        }
        assert_eq!(row[1], row[2], "in-place and separate conversion agree");
        results.push(row);
    }
    assert_eq!(
        results[0], results[1],
        "ovsdb-tool's and rovsdb-tool's files hold the same rows"
    );

    // Debian's ovsdb-server serves what rovsdb-tool wrote.
    let converted = env.path("Rust-converted.db");
    let remote = env.start_server("serve", Side::C, &[converted]);
    let dump = env.run(
        Side::C,
        "ovsdb-client",
        &["dump", &remote, "Types", "Scalars", "name", "i", "added", "level"],
    );
    assert_eq!(dump.status, 0, "{}", dump.stderr);
    assert!(
        dump.stdout.contains("renamed") && dump.stdout.contains("added"),
        "{}",
        dump.stdout
    );

    // A conversion the data does not survive leaves the file alone.
    let bad = test_schema_path("types-bad.ovsschema");
    let target = env.path("full.db");
    std::fs::copy(&hist, &target).unwrap();
    let grow = r#"["Types", {"op": "mutate", "table": "Collections", "where": [], "mutations": [["ints", "insert", ["set", [7, 8, 9]]]]}]"#;
    assert_eq!(
        env.run(Side::Rust, "ovsdb-tool", &["transact", s(&target), grow])
            .status,
        0
    );
    let before = std::fs::read(&target).unwrap();
    let out = env.run(Side::Rust, "ovsdb-tool", &["convert", s(&target), s(&bad)]);
    assert_eq!(out.status, 1);
    assert!(
        out.stderr.starts_with("ovsdb-tool: ") && out.stderr.contains("column ints"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&target).unwrap(), before);
}

#[test]
fn create_writes_what_ovsdb_tool_writes() {
    let env = Env::new();
    for (i, schema) in [
        schema_path("ovn-nb.ovsschema"),
        schema_path("ovn-sb.ovsschema"),
        schema_path("vswitch.ovsschema"),
        test_schema_path("types.ovsschema"),
    ]
    .iter()
    .enumerate()
    {
        let (c, r) = (env.path(&format!("c{i}.db")), env.path(&format!("r{i}.db")));
        assert_eq!(env.run(Side::C, "ovsdb-tool", &["create", s(&c), s(schema)]).status, 0);
        assert_eq!(
            env.run(Side::Rust, "ovsdb-tool", &["create", s(&r), s(schema)]).status,
            0
        );
        assert_eq!(
            std::fs::read(&c).unwrap(),
            std::fs::read(&r).unwrap(),
            "{}",
            schema.display()
        );
        // Creating over an existing file fails alike.
        env.same("ovsdb-tool", &["create", s(&c), s(schema)]);
    }
    // The default file and schema: the same file, made by each in turn.
    std::fs::copy(schema_path("vswitch.ovsschema"), env.path("vswitch.ovsschema")).unwrap();
    let conf = env.path("conf.db");
    let mut made = Vec::new();
    for side in [Side::C, Side::Rust] {
        assert_eq!(env.run(side, "ovsdb-tool", &["create"]).status, 0, "{side:?}");
        made.push(std::fs::read(&conf).unwrap());
        std::fs::remove_file(&conf).unwrap();
    }
    assert_eq!(made[0], made[1]);
}

#[test]
fn bad_files_and_arguments() {
    let mut env = Env::new();
    let good = env.create_db("good", &test_schema_path("types.ovsschema"));
    let out = env.run(Side::C, "ovsdb-tool", &["transact", s(&good), POPULATE_TYPES]);
    assert_eq!(out.status, 0);
    let bytes = std::fs::read(&good).unwrap();
    let schema_len = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let body_end = schema_len + bytes[schema_len..].iter().position(|&b| b == b'\n').unwrap() + 1;

    let dir = env.dir.path().to_path_buf();
    let write = |name: &str, content: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    let mut bad_hash = bytes.clone();
    bad_hash[schema_len + 3] ^= 1;
    let mut bad_header = bytes.clone();
    bad_header[body_end] = b'X';
    let files = [
        write("empty.db", b""),
        write("garbage.db", b"this is not a database\n"),
        write("truncated.db", &bytes[..bytes.len() - 10]),
        write("badhash.db", &bad_hash),
        write("badheader.db", &bad_header),
        write(
            "notjson.db",
            &[
                b"OVSDB JSON 4 ".to_vec(),
                b"2ca1a8e7ac1bc1e8ce1e6d9b7b7a23c1bc4be8d1\n{{{\n".to_vec(),
            ]
            .concat(),
        ),
        env.path("missing.db"),
    ];
    for f in &files {
        for cmd in ["db-name", "db-version", "db-cksum", "show-log", "db-is-standalone"] {
            env.same("ovsdb-tool", &[cmd, s(f)]);
        }
        env.same("ovsdb-tool", &["-m", "show-log", s(f)]);
    }

    // A file in use by a server is locked.
    let served = env.path("served.db");
    std::fs::copy(&good, &served).unwrap();
    env.start_server("locker", Side::C, std::slice::from_ref(&served));
    env.same("ovsdb-tool", &["transact", s(&served), r#"["Types"]"#]);
    env.same("ovsdb-tool", &["compact", s(&served)]);
    env.same("ovsdb-tool", &["query", s(&served), r#"["Types"]"#]);

    // Clustered files are recognised, not otherwise handled.
    let clustered = env.path("clustered.db");
    let out = env.run(
        Side::C,
        "ovsdb-tool",
        &[
            "create-cluster",
            s(&clustered),
            s(&test_schema_path("types.ovsschema")),
            "unix:/nowhere",
        ],
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    for args in [
        vec!["db-name", s(&clustered)],
        vec!["db-is-clustered", s(&clustered)],
        vec!["db-is-standalone", s(&clustered)],
        vec!["db-version", s(&clustered)],
    ] {
        env.same("ovsdb-tool", &args);
    }
    let out = env.run(Side::Rust, "ovsdb-tool", &["show-log", s(&clustered)]);
    assert_eq!(out.status, 1);
    assert!(
        out.stderr.contains("clustered databases are not supported"),
        "{}",
        out.stderr
    );

    // Schema files.
    let bad_json = write("bad.ovsschema", b"{\"name\": ");
    for args in [
        vec!["schema-name", "/nonexistent.ovsschema"],
        vec!["schema-version", s(&bad_json)],
        vec!["create", "x.db", s(&bad_json)],
    ] {
        env.same("ovsdb-tool", &args);
    }
    // An invalid schema fails in both; the engine words some reasons
    // differently from Open vSwitch.
    let invalid = write(
        "invalid.ovsschema",
        br#"{"name": "x", "tables": {"T": {"columns": {"a": {"type": "int"}}}}}"#,
    );
    for side in [Side::C, Side::Rust] {
        let out = env.run(side, "ovsdb-tool", &["schema-name", s(&invalid)]);
        assert_eq!(out.status, 1);
        assert!(
            out.stderr
                .starts_with("ovsdb-tool: syntax \"\"int\"\": syntax error: failed to parse"),
            "{}",
            out.stderr
        );
    }

    // Command lines.
    for args in [
        vec![],
        vec!["bogus"],
        vec!["--bogus", "db-name"],
        vec!["-x", "db-name"],
        vec!["db-name", "a", "b"],
        vec!["query"],
        vec!["transact", "a", "b", "c"],
        vec!["compare-versions", "1.0.0"],
        vec!["db-is-clustered"],
        vec!["--cid=nonsense", "db-name"],
    ] {
        env.same("ovsdb-tool", &args);
    }
}
