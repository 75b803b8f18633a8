//! Monitor conditions as a client states them, and their life on the wire:
//! each table's condition is *acked* (the server applies it), *requested*
//! (a `monitor_cond_change` is in flight) or *new* (set locally, not sent
//! yet). Only one change request is in flight at a time; changes made
//! meanwhile wait and go out together when it is answered.
//!
//! A sequence number counts answered change requests, so a caller can wait
//! until the replica holds exactly the rows of the conditions it set
//! ([`Conditions::set`] returns the number to wait for).

use std::collections::BTreeMap;

use ovsdb::condition::Function;
use serde_json::{Value as Json, json};

/// One clause: `[column, function, value]` of RFC 7047, the value in JSON
/// notation (`ovsdb::Datum::to_json` makes one).
#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    pub column: String,
    pub function: Function,
    pub value: Json,
}

impl Clause {
    pub fn new(column: impl Into<String>, function: Function, value: impl Into<Json>) -> Clause {
        Clause { column: column.into(), function, value: value.into() }
    }

    pub fn eq(column: impl Into<String>, value: impl Into<Json>) -> Clause {
        Clause::new(column, Function::Eq, value)
    }

    /// `_uuid == uuid`.
    pub fn uuid(uuid: ovsdb::Uuid) -> Clause {
        Clause::eq("_uuid", json!(["uuid", uuid.to_string()]))
    }

    pub fn to_json(&self) -> Json {
        json!([self.column, self.function.name(), self.value])
    }
}

/// Which rows of a table a monitor follows: all, none, or those matching
/// any of the clauses.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Condition {
    #[default]
    True,
    False,
    /// Never empty (an empty list is [`Condition::False`], as in
    /// Open vSwitch's IDL; on the wire an empty list would mean "all").
    Any(Vec<Clause>),
}

impl Condition {
    pub fn any(clauses: Vec<Clause>) -> Condition {
        if clauses.is_empty() { Condition::False } else { Condition::Any(clauses) }
    }

    /// The `where` of a monitor request: `[true]`, `[false]` or the clauses.
    pub fn to_json(&self) -> Json {
        match self {
            Condition::True => json!([true]),
            Condition::False => json!([false]),
            Condition::Any(clauses) => Json::Array(clauses.iter().map(Clause::to_json).collect()),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct TableCondition {
    acked: Condition,
    requested: Option<Condition>,
    new: Option<Condition>,
}

impl TableCondition {
    fn latest(&self) -> &Condition {
        self.new.as_ref().or(self.requested.as_ref()).unwrap_or(&self.acked)
    }
}

/// The conditions of every table of one monitor.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    tables: BTreeMap<String, TableCondition>,
    /// Answered change requests.
    seqno: u64,
    /// The largest number [`Conditions::set`] has handed out.
    promised: u64,
}

impl Conditions {
    /// Sets `table`'s condition, returning the sequence number at which the
    /// replica will reflect it.
    pub fn set(&mut self, table: &str, condition: Condition) -> u64 {
        let any_requested = self.tables.values().any(|t| t.requested.is_some());
        let t = self.tables.entry(table.to_string()).or_default();
        if *t.latest() != condition {
            t.new = Some(condition);
        }
        let expected = if t.new.is_some() {
            // After the change in flight (if any), then ours.
            self.seqno + u64::from(any_requested) + 1
        } else {
            self.seqno + u64::from(t.requested.is_some())
        };
        self.promised = self.promised.max(expected);
        expected
    }

    /// Sets a condition that holds from the start (part of the first
    /// monitor request, promising nothing).
    pub fn set_initial(&mut self, table: &str, condition: Condition) {
        self.tables.entry(table.to_string()).or_default().acked = condition;
    }

    /// The condition the server applies (or will, once monitoring starts).
    pub fn acked(&self, table: &str) -> Condition {
        self.tables.get(table).map(|t| t.acked.clone()).unwrap_or_default()
    }

    /// The condition most recently set.
    pub fn latest(&self, table: &str) -> Condition {
        self.tables.get(table).map(|t| t.latest().clone()).unwrap_or_default()
    }

    pub fn seqno(&self) -> u64 {
        self.seqno
    }

    pub fn in_flight(&self) -> bool {
        self.tables.values().any(|t| t.requested.is_some())
    }

    /// The `<monitor-cond-change-requests>` for conditions set since the
    /// last request, which now count as requested. None if nothing changed
    /// or a request is still in flight.
    pub fn take_changes(&mut self) -> Option<Json> {
        if self.in_flight() {
            return None;
        }
        let mut requests = serde_json::Map::new();
        for (name, t) in &mut self.tables {
            if let Some(c) = t.new.take() {
                requests.insert(name.clone(), json!([{"where": c.to_json()}]));
                t.requested = Some(c);
            }
        }
        (!requests.is_empty()).then_some(Json::Object(requests))
    }

    /// The server answered the change request.
    pub fn ack(&mut self) {
        for t in self.tables.values_mut() {
            if let Some(c) = t.requested.take() {
                t.acked = c;
            }
        }
        self.seqno += 1;
        self.catch_up();
    }

    /// The connection is starting over. When the monitor will start from
    /// scratch (`resuming` false), every condition set so far can go in the
    /// monitor request itself. When resuming from a transaction id, the
    /// server must first see the acked conditions (the ones the replica
    /// reflects) and the rest follows as a change; a change that was in
    /// flight may or may not have been applied, so then the replica cannot
    /// be trusted and this returns true: the caller must resync from
    /// scratch (and call again with `resuming` false).
    pub fn restart(&mut self, resuming: bool) -> bool {
        if !resuming {
            for t in self.tables.values_mut() {
                if let Some(c) = t.new.take().or(t.requested.take()) {
                    t.acked = c;
                }
                t.requested = None;
            }
            return false;
        }
        let mut lost_in_flight = false;
        for t in self.tables.values_mut() {
            if let Some(c) = t.requested.take() {
                lost_in_flight = true;
                t.new.get_or_insert(c);
            }
        }
        lost_in_flight
    }

    /// The monitor started with the acked conditions: if none is waiting to
    /// be sent, every promise made so far is kept.
    pub fn monitoring(&mut self) {
        self.catch_up();
    }

    fn catch_up(&mut self) {
        if self.tables.values().all(|t| t.requested.is_none() && t.new.is_none()) {
            self.seqno = self.seqno.max(self.promised);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_is(n: &str) -> Condition {
        Condition::any(vec![Clause::eq("name", n)])
    }

    #[test]
    fn json_forms() {
        assert_eq!(Condition::True.to_json(), json!([true]));
        assert_eq!(Condition::any(vec![]).to_json(), json!([false]));
        assert_eq!(name_is("a").to_json(), json!([["name", "==", "a"]]));
    }

    #[test]
    fn one_change_in_flight_at_a_time() {
        let mut c = Conditions::default();
        assert_eq!(c.set("T", name_is("a")), 1);
        assert_eq!(c.take_changes(), Some(json!({"T": [{"where": [["name", "==", "a"]]}]})));
        // While that is in flight, two more changes: only the last is sent,
        // after the first is answered.
        assert_eq!(c.set("T", name_is("b")), 2);
        assert_eq!(c.set("U", Condition::False), 2);
        assert_eq!(c.take_changes(), None);
        c.ack();
        assert_eq!(c.seqno(), 1);
        assert_eq!(c.acked("T"), name_is("a"));
        assert_eq!(
            c.take_changes(),
            Some(json!({"T": [{"where": [["name", "==", "b"]]}], "U": [{"where": [false]}]}))
        );
        c.ack();
        assert_eq!(c.seqno(), 2);
        // Setting the same condition again promises nothing new.
        assert_eq!(c.set("T", name_is("b")), 2);
        assert_eq!(c.take_changes(), None);
    }

    #[test]
    fn restart_from_scratch_folds_everything_into_the_request() {
        let mut c = Conditions::default();
        c.set("T", name_is("a"));
        c.take_changes();
        let want = c.set("T", name_is("b"));
        assert!(!c.restart(false));
        assert_eq!(c.acked("T"), name_is("b"));
        assert_eq!(c.take_changes(), None);
        c.monitoring();
        assert_eq!(c.seqno(), want);
    }

    #[test]
    fn restart_resuming_resends_what_was_in_flight() {
        let mut c = Conditions::default();
        c.set("T", name_is("a"));
        c.take_changes();
        // Lost in flight: the caller must drop its transaction id.
        assert!(c.restart(true));
        assert!(!c.restart(false));
        assert_eq!(c.acked("T"), name_is("a"));

        // Nothing in flight: resume with the acked condition, then change.
        let mut c = Conditions::default();
        c.set("T", name_is("a"));
        c.take_changes();
        c.ack();
        let want = c.set("T", name_is("b"));
        assert!(!c.restart(true));
        assert_eq!(c.acked("T"), name_is("a"));
        c.monitoring();
        assert!(c.seqno() < want);
        assert!(c.take_changes().is_some());
        c.ack();
        assert_eq!(c.seqno(), want);
    }
}
