//! The corpus: case files in `tests/conformance/cases/*.case`.
//!
//! A case file holds cases; each case is a script of steps on named client
//! connections (`c1`, `c2`, ...), opened on first use:
//!
//! ```text
//! # a comment
//! case insert-and-select
//! c1 transact "Types" {"op": "insert", "table": "Scalars", "row": {"i": 1}}
//!        {"op": "select", "table": "Scalars", "where": []}
//! c2 monitor "Types" "m" {"Scalars": {}}
//! ```
//!
//! A step starts in column 0; indented lines continue it. Step forms:
//!
//! - `CONN [pending] [id=JSON] [save=NAME=POINTER] METHOD JSON...`: a
//!   request whose params are the JSON values that follow, in order; its id
//!   is the case's next integer unless given. The runner waits for the
//!   reply, unless `pending` (a request expected to stay unanswered for
//!   now, such as a blocked `wait`). `save` keeps the part of the reply at
//!   the JSON pointer POINTER (such as `/result/0/uuid`) as NAME; a later
//!   step's JSON string `"$NAME"` stands for it, so a case can name a row
//!   or a transaction id that the server chose.
//! - `CONN notify METHOD JSON...`: a notification (id null).
//! - `CONN raw JSON`: one JSON value sent exactly as written (bad shapes).
//! - `CONN text "STRING"`: the string's characters sent as bytes (bad JSON).
//! - `CONN close`: the client closes the connection. No barrier follows
//!   (the server notices the close in its own time): `await` what the close
//!   causes.
//! - `CONN await METHOD`: read until a notification METHOD arrives, for
//!   events the server triggers on its own (a lock freed by a disconnect, a
//!   timed-out wait).
//! - `CONN await-reply JSON`: read until the reply with this id arrives.
//! - `CONN await-close`: read until the server closes the connection.
//! - `ctl COMMAND ARG...`: `ovs-appctl -t SERVER-CONTROL-SOCKET COMMAND
//!   ARG...`; `$DIR` in an argument is the server's directory, which holds
//!   the database files (`types.db`, `refs.db`, `idx.db`). Whether it
//!   succeeded (ovs-appctl's failure status varies between 1 and 2) and its
//!   standard output are recorded on the pseudo-connection `ctl`. As
//!   after `close`, no barrier follows: `await` the effects.
//!
//! After every step the runner synchronises every open connection (see
//! `runner.rs`), so everything a step causes is attributed to it.

use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// "file:line" of the `case` line.
    pub origin: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// The step as written, for reports.
    pub text: String,
    pub conn: String,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub enum Action {
    Request { method: String, params: Vec<Value>, id: Option<Value>, pending: bool, save: Option<(String, String)> },
    Notify { method: String, params: Vec<Value> },
    Raw(Value),
    Text(String),
    Close,
    Await(String),
    AwaitReply(Value),
    AwaitClose,
    Ctl(Vec<String>),
}

/// Every case of every file in `dir`, files in name order.
pub fn load(dir: &Path) -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("cases dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    files.sort();
    let mut cases: Vec<Case> = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read case file");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        cases.extend(parse(&name, &text).unwrap_or_else(|e| panic!("{e}")));
    }
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        panic!("case {} defined twice", w[0]);
    }
    cases
}

pub fn parse(file: &str, text: &str) -> Result<Vec<Case>, String> {
    // Join continuation lines onto the line that starts the step.
    let mut units: Vec<(usize, String)> = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            let Some((_, unit)) = units.last_mut() else {
                return Err(format!("{file}:{}: continuation line with nothing to continue", idx + 1));
            };
            unit.push('\n');
            unit.push_str(line);
        } else {
            units.push((idx + 1, line.to_string()));
        }
    }
    let mut cases: Vec<Case> = Vec::new();
    for (line, unit) in units {
        let at = |e: String| format!("{file}:{line}: {e}");
        if let Some(name) = unit.strip_prefix("case ") {
            cases.push(Case { name: name.trim().to_string(), origin: format!("{file}:{line}"), steps: Vec::new() });
            continue;
        }
        let Some(case) = cases.last_mut() else { return Err(at("step before any `case`".into())) };
        let step = parse_step(&unit).map_err(at)?;
        case.steps.push(step);
    }
    if let Some(empty) = cases.iter().find(|c| c.steps.is_empty()) {
        return Err(format!("{}: case {} has no steps", empty.origin, empty.name));
    }
    Ok(cases)
}

fn parse_step(unit: &str) -> Result<Step, String> {
    let (conn, mut rest) = split_word(unit);
    if conn.is_empty() {
        return Err("empty step".into());
    }
    if conn == "ctl" {
        let args: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
        if args.is_empty() {
            return Err("`ctl` needs a command".into());
        }
        return Ok(Step { text: unit.to_string(), conn: conn.to_string(), action: Action::Ctl(args) });
    }
    let mut pending = false;
    let mut id = None;
    let mut save = None;
    let verb = loop {
        let (word, tail) = split_word(rest);
        rest = tail;
        if word == "pending" {
            pending = true;
        } else if let Some(json) = word.strip_prefix("id=") {
            id = Some(serde_json::from_str(json).map_err(|e| format!("bad id {json}: {e}"))?);
        } else if let Some(spec) = word.strip_prefix("save=") {
            let (name, pointer) = spec.split_once('=').ok_or(format!("bad save {spec}: want NAME=POINTER"))?;
            save = Some((name.to_string(), pointer.to_string()));
        } else if word.is_empty() {
            return Err("step without a verb".into());
        } else {
            break word;
        }
    };
    let values = || json_values(rest);
    let one = || -> Result<Value, String> {
        let mut v = values()?;
        if v.len() != 1 {
            return Err(format!("`{verb}` takes exactly one JSON value"));
        }
        Ok(v.remove(0))
    };
    let plain_request = !matches!(verb, "raw" | "text" | "notify" | "close" | "await" | "await-reply" | "await-close");
    if save.is_some() && (pending || !plain_request) {
        return Err("`save` needs a request that is not pending".into());
    }
    let action = match verb {
        "raw" => Action::Raw(one()?),
        "text" => match one()? {
            Value::String(s) => Action::Text(s),
            _ => return Err("`text` takes a JSON string".into()),
        },
        "notify" => {
            let (method, tail) = split_word(rest);
            Action::Notify { method: method.to_string(), params: json_values(tail)? }
        }
        "close" => Action::Close,
        "await" => Action::Await(rest.trim().to_string()),
        "await-reply" => Action::AwaitReply(one()?),
        "await-close" => Action::AwaitClose,
        method => Action::Request { method: method.to_string(), params: values()?, id, pending, save },
    };
    Ok(Step { text: unit.to_string(), conn: conn.to_string(), action })
}

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn json_values(s: &str) -> Result<Vec<Value>, String> {
    serde_json::Deserializer::from_str(s)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad JSON: {e}"))
}
