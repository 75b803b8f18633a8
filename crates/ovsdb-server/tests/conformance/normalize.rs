//! Normalisation of transcripts before comparison; the reasons are in the
//! top comment of `conformance.rs`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::runner::{Event, Received};

/// One received thing, normalised: a message, or a marker string such as
/// `"<closed>"`.
#[derive(Debug, Clone, PartialEq)]
pub struct NormEvent {
    pub step: usize,
    pub conn: String,
    pub value: Value,
}

const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Every UUID written in `text`, in lower case (servers print them so):
/// the ones a case chose itself, which stay as they are.
pub fn uuids_in(text: &str) -> impl Iterator<Item = String> {
    (0..text.len().saturating_sub(35))
        .filter_map(move |i| text.get(i..i + 36))
        .filter(|s| is_uuid(s))
        .map(str::to_ascii_lowercase)
}

pub fn normalize(events: &[Event], client_uuids: &HashSet<String>) -> Vec<NormEvent> {
    let mut labeler = Labeler { client_uuids, labels: HashMap::new() };
    // Rows are named by the order of the insert results that created them:
    // transact results are ordered, so this order is the same in every run.
    for event in events {
        let Received::Message(msg) = &event.what else { continue };
        let Some(results) = msg.get("result").and_then(Value::as_array) else { continue };
        for result in results {
            if let Some(Value::String(uuid)) = result.get("uuid").and_then(|u| u.get(1)) {
                labeler.label(uuid, true);
            }
        }
    }
    let mut out: Vec<NormEvent> = events
        .iter()
        .map(|event| {
            let value = match &event.what {
                Received::Message(Value::Object(envelope)) => {
                    // The envelope is not an error object even when its
                    // "error" member is a string.
                    let unordered_result = event.reply_to.as_deref() == Some("list_dbs");
                    let canon_member = |labeler: &mut Labeler, k: &str, v: &Value| match (k, v) {
                        ("result", Value::Array(names)) if unordered_result => {
                            Value::Array(labeler.unordered(names, true))
                        }
                        _ => labeler.canon(v, true),
                    };
                    Value::Object(envelope.iter().map(|(k, v)| (k.clone(), canon_member(&mut labeler, k, v))).collect())
                }
                Received::Message(other) => labeler.canon(other, true),
                Received::Closed => json!("<closed>"),
                Received::TimedOut => json!("<timed out>"),
                Received::Garbage(text) => json!(format!("<not JSON: {text}>")),
                Received::Unusable => json!("<connection unusable>"),
                Received::ConnectFailed(e) => json!(format!("<connect failed: {e}>")),
            };
            NormEvent { step: event.step, conn: event.conn.clone(), value }
        })
        .collect();
    order_notification_runs(&mut out);
    out
}

/// Notifications for different monitors, received on one connection
/// between the same two other messages, come in no defined order (Open
/// vSwitch walks a hash table): each such run is ordered by monitor id.
/// Notifications of one monitor keep their order.
fn order_notification_runs(events: &mut [NormEvent]) {
    let is_notification = |e: &NormEvent| e.value.get("method").is_some_and(|m| !m.is_null());
    let mut start = 0;
    while start < events.len() {
        let mut end = start;
        while end < events.len() && is_notification(&events[end]) {
            end += 1;
        }
        if end == start {
            start += 1;
            continue;
        }
        // Positions in this run, per (step, connection), sorted stably by
        // monitor id; other connections' messages stay where they are.
        let mut groups: HashMap<(usize, String), Vec<usize>> = HashMap::new();
        for (idx, e) in events.iter().enumerate().take(end).skip(start) {
            groups.entry((e.step, e.conn.clone())).or_default().push(idx);
        }
        for positions in groups.values() {
            let mut run: Vec<NormEvent> = positions.iter().map(|&i| events[i].clone()).collect();
            run.sort_by_cached_key(|e| e.value["params"][0].to_string());
            for (&pos, e) in positions.iter().zip(run) {
                events[pos] = e;
            }
        }
        start = end;
    }
}

struct Labeler<'a> {
    client_uuids: &'a HashSet<String>,
    /// Server-made UUID → its symbolic name.
    labels: HashMap<String, String>,
}

impl Labeler<'_> {
    /// The symbolic name of `uuid`, made if `assign`; "?" for a UUID not
    /// yet named when not assigning.
    fn label(&mut self, uuid: &str, assign: bool) -> String {
        if uuid == NIL_UUID || self.client_uuids.contains(uuid) {
            return uuid.to_string();
        }
        if let Some(label) = self.labels.get(uuid) {
            return label.clone();
        }
        if !assign {
            return "?".to_string();
        }
        let label = format!("<uuid{}>", self.labels.len() + 1);
        self.labels.insert(uuid.to_string(), label.clone());
        label
    }

    /// The canonical form of `v`. With `assign` false this is a probe
    /// that names nothing, used to order unordered collections.
    fn canon(&mut self, v: &Value, assign: bool) -> Value {
        match v {
            Value::String(s) if is_uuid(s) => Value::String(self.label(s, assign)),
            Value::String(s) if s.starts_with('{') => match serde_json::from_str::<Value>(s) {
                Ok(parsed @ Value::Object(_)) => json!({"<JSON text>": self.canon(&parsed, assign)}),
                _ => v.clone(),
            },
            Value::Array(items) => match items.as_slice() {
                [Value::String(kind), Value::Array(elems)] if kind == "set" || kind == "map" => {
                    json!([kind, self.unordered(elems, assign)])
                }
                _ => Value::Array(items.iter().map(|it| self.canon(it, assign)).collect()),
            },
            Value::Object(obj) => {
                if let Some(Value::String(tag)) = obj.get("error") {
                    return json!({"error": tag});
                }
                let mut entries: Vec<(String, &String, &Value)> = obj
                    .iter()
                    .map(|(k, v)| {
                        let probe = json!([self.canon(&json!(k), false), self.canon(v, false)]);
                        (probe.to_string(), k, v)
                    })
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let mut out = Map::new();
                for (_, k, v) in entries {
                    let key = match self.canon(&json!(k), assign) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let value = match (k.as_str(), v) {
                        ("rows", Value::Array(rows)) => Value::Array(self.unordered(rows, assign)),
                        _ => self.canon(v, assign),
                    };
                    out.insert(key, value);
                }
                Value::Object(out)
            }
            _ => v.clone(),
        }
    }

    /// Elements of an unordered collection: named in the order of their
    /// probes, returned sorted.
    fn unordered(&mut self, items: &[Value], assign: bool) -> Vec<Value> {
        let mut probed: Vec<(String, &Value)> =
            items.iter().map(|it| (self.canon(it, false).to_string(), it)).collect();
        probed.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<Value> = probed.into_iter().map(|(_, it)| self.canon(it, assign)).collect();
        out.sort_by_cached_key(Value::to_string);
        out
    }
}
