//! Column types of ovsdb(7): base types with constraints, and the set/map
//! shape around them (RFC 7047 section 3.2, `<type>` and `<base-type>`).

use serde_json::{Map, Value as Json};

use crate::atom::{Atom, AtomicType, is_id};
use crate::datum::Datum;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefType {
    Strong,
    Weak,
}

/// An atomic type and the constraints on its values.
#[derive(Clone, Debug, PartialEq)]
pub struct BaseType {
    pub atomic: AtomicType,
    /// Allowed values, sorted; when present the other constraints are unset.
    pub enum_: Option<Vec<Atom>>,
    pub min_integer: i64,
    pub max_integer: i64,
    pub min_real: f64,
    pub max_real: f64,
    pub min_length: u64,
    pub max_length: u64,
    pub ref_table: Option<String>,
    pub ref_type: RefType,
}

/// Length limits are counted as Open vSwitch counts them: unsigned 32-bit.
pub const UNLIMITED_LENGTH: u64 = u32::MAX as u64;

impl BaseType {
    pub fn new(atomic: AtomicType) -> BaseType {
        BaseType {
            atomic,
            enum_: None,
            min_integer: i64::MIN,
            max_integer: i64::MAX,
            min_real: -f64::MAX,
            max_real: f64::MAX,
            min_length: 0,
            max_length: UNLIMITED_LENGTH,
            ref_table: None,
            ref_type: RefType::Strong,
        }
    }

    pub fn has_constraints(&self) -> bool {
        self.enum_.is_some()
            || match self.atomic {
                AtomicType::Integer => self.min_integer != i64::MIN || self.max_integer != i64::MAX,
                AtomicType::Real => self.min_real != -f64::MAX || self.max_real != f64::MAX,
                AtomicType::String => self.min_length != 0 || self.max_length != UNLIMITED_LENGTH,
                AtomicType::Uuid => self.ref_table.is_some(),
                AtomicType::Boolean => false,
            }
    }

    pub fn without_constraints(&self) -> BaseType {
        BaseType::new(self.atomic)
    }

    pub fn is_strong_ref(&self) -> bool {
        self.ref_table.is_some() && self.ref_type == RefType::Strong
    }

    pub fn is_weak_ref(&self) -> bool {
        self.ref_table.is_some() && self.ref_type == RefType::Weak
    }

    pub fn from_json(json: &Json) -> Result<BaseType> {
        if let Json::String(name) = json {
            return atomic_from_json(json, name).map(BaseType::new);
        }
        let mut p = ObjectParser::new(json, "ovsdb type")?;
        let ty = p.required_string("type")?;
        let mut base = BaseType::new(atomic_from_json(json, ty)?);
        if let Some(e) = p.optional("enum") {
            let set_type = Type::set_of(base.without_constraints(), 1, u32::MAX);
            let d = Datum::from_json(&set_type, e, None)?;
            base.enum_ = Some(d.into_keys());
        } else {
            match base.atomic {
                AtomicType::Integer => {
                    base.min_integer = p.optional_integer("minInteger")?.unwrap_or(i64::MIN);
                    base.max_integer = p.optional_integer("maxInteger")?.unwrap_or(i64::MAX);
                    if base.min_integer > base.max_integer {
                        return Err(syntax(json, "minInteger exceeds maxInteger"));
                    }
                }
                AtomicType::Real => {
                    base.min_real = p.optional_real("minReal")?.unwrap_or(-f64::MAX);
                    base.max_real = p.optional_real("maxReal")?.unwrap_or(f64::MAX);
                    if base.min_real > base.max_real {
                        return Err(syntax(json, "minReal exceeds maxReal"));
                    }
                }
                AtomicType::String => {
                    base.min_length = p.optional_uint("minLength")?.unwrap_or(0);
                    base.max_length = p.optional_uint("maxLength")?.unwrap_or(UNLIMITED_LENGTH);
                    if base.min_length > base.max_length {
                        return Err(syntax(json, "minLength exceeds maxLength"));
                    }
                }
                AtomicType::Uuid => {
                    if let Some(table) = p.optional_id("refTable")? {
                        base.ref_table = Some(table.to_string());
                        base.ref_type = match p.optional_id("refType")? {
                            None | Some("strong") => RefType::Strong,
                            Some("weak") => RefType::Weak,
                            Some(other) => {
                                return Err(syntax(
                                    json,
                                    format!("refType must be \"strong\" or \"weak\", not \"{other}\""),
                                ));
                            }
                        };
                    }
                }
                AtomicType::Boolean => {}
            }
        }
        p.finish()?;
        Ok(base)
    }

    /// The form `get_schema` returns: a bare type name unless constrained.
    pub fn to_json(&self) -> Json {
        if !self.has_constraints() {
            return self.atomic.name().into();
        }
        let mut obj = Map::new();
        obj.insert("type".into(), self.atomic.name().into());
        if let Some(values) = &self.enum_ {
            let d = Datum::set(values.clone());
            obj.insert("enum".into(), d.to_json_set());
        }
        match self.atomic {
            AtomicType::Integer => {
                if self.min_integer != i64::MIN {
                    obj.insert("minInteger".into(), self.min_integer.into());
                }
                if self.max_integer != i64::MAX {
                    obj.insert("maxInteger".into(), self.max_integer.into());
                }
            }
            AtomicType::Real => {
                if self.min_real != -f64::MAX {
                    obj.insert("minReal".into(), crate::atom::real_to_json(self.min_real));
                }
                if self.max_real != f64::MAX {
                    obj.insert("maxReal".into(), crate::atom::real_to_json(self.max_real));
                }
            }
            AtomicType::String => {
                if self.min_length != 0 {
                    obj.insert("minLength".into(), self.min_length.into());
                }
                if self.max_length != UNLIMITED_LENGTH {
                    obj.insert("maxLength".into(), self.max_length.into());
                }
            }
            AtomicType::Uuid => {
                if let Some(t) = &self.ref_table {
                    obj.insert("refTable".into(), t.clone().into());
                    if self.ref_type == RefType::Weak {
                        obj.insert("refType".into(), "weak".into());
                    }
                }
            }
            AtomicType::Boolean => {}
        }
        Json::Object(obj)
    }

    /// Checks `atom` (already of the right atomic type) against the constraints.
    pub fn check(&self, atom: &Atom) -> Result<()> {
        if let Some(values) = &self.enum_ {
            if values.binary_search(atom).is_err() {
                let allowed: Vec<String> = values.iter().map(crate::display::atom_to_string).collect();
                return Err(Error::constraint(format!(
                    "{} is not one of the allowed values ({})",
                    crate::display::atom_to_string(atom),
                    allowed.join(", ")
                )));
            }
            return Ok(());
        }
        match atom {
            Atom::Integer(i) if *i < self.min_integer || *i > self.max_integer => {
                Err(Error::constraint(range_message(i, &self.min_integer, &self.max_integer,
                    self.min_integer != i64::MIN, self.max_integer != i64::MAX)))
            }
            Atom::Real(r) if *r < self.min_real || *r > self.max_real => {
                Err(Error::constraint(range_message(r, &self.min_real, &self.max_real,
                    self.min_real != -f64::MAX, self.max_real != f64::MAX)))
            }
            Atom::String(_) if self.min_length == 0 && self.max_length == UNLIMITED_LENGTH => Ok(()),
            Atom::String(s) => {
                let n = s.chars().count() as u64;
                if n < self.min_length {
                    Err(Error::constraint(format!(
                        "\"{s}\" has {n} characters, fewer than the minimum of {}", self.min_length)))
                } else if n > self.max_length {
                    Err(Error::constraint(format!(
                        "\"{s}\" has {n} characters, more than the maximum of {}", self.max_length)))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

fn range_message<T: std::fmt::Display>(v: &T, min: &T, max: &T, has_min: bool, has_max: bool) -> String {
    match (has_min, has_max) {
        (true, true) => format!("{v} is outside the allowed range {min} to {max}"),
        (true, false) => format!("{v} is below the minimum allowed value {min}"),
        _ => format!("{v} is above the maximum allowed value {max}"),
    }
}

fn atomic_from_json(json: &Json, name: &str) -> Result<AtomicType> {
    AtomicType::from_name(name).ok_or_else(|| syntax(json, format!("unknown atomic type \"{name}\"")))
}

fn syntax(json: &Json, details: impl Into<String>) -> Error {
    Error::syntax_in(crate::ErrorKind::SyntaxError, json, details)
}

/// A column's type: a key base type, an optional value base type (a map),
/// and bounds on the number of elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Type {
    pub key: BaseType,
    pub value: Option<BaseType>,
    pub min: u32,
    /// `u32::MAX` means "unlimited".
    pub max: u32,
}

impl Type {
    pub fn scalar(atomic: AtomicType) -> Type {
        Type { key: BaseType::new(atomic), value: None, min: 1, max: 1 }
    }

    pub fn set_of(key: BaseType, min: u32, max: u32) -> Type {
        Type { key, value: None, min, max }
    }

    pub fn is_scalar(&self) -> bool {
        self.min == 1 && self.max == 1 && self.value.is_none()
    }

    pub fn is_optional_scalar(&self) -> bool {
        self.min == 0 && self.max == 1 && self.value.is_none()
    }

    pub fn is_optional(&self) -> bool {
        self.min == 0
    }

    /// More than one element possible: diffs are element-wise.
    pub fn is_composite(&self) -> bool {
        self.max > 1
    }

    pub fn is_set(&self) -> bool {
        self.value.is_none() && (self.min != 1 || self.max != 1)
    }

    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    pub fn from_json(json: &Json) -> Result<Type> {
        if let Json::String(_) = json {
            let key = BaseType::from_json(json)?;
            return Ok(Type { key, value: None, min: 1, max: 1 });
        }
        let Json::Object(_) = json else {
            return Err(syntax(json, "ovsdb type expected"));
        };
        let mut p = ObjectParser::new(json, "ovsdb type")?;
        let key = BaseType::from_json(p.required("key")?)?;
        let value = p.optional("value").map(BaseType::from_json).transpose()?;
        let min = match p.optional("min") {
            None => 1,
            Some(Json::Number(n)) if n.as_u64().is_some_and(|n| n <= 1) => n.as_u64().unwrap_or(1) as u32,
            Some(_) => return Err(syntax(json, "bad min or max value")),
        };
        let max = match p.optional("max") {
            None => 1,
            Some(Json::String(s)) if s == "unlimited" => u32::MAX,
            Some(Json::Number(n)) if n.as_u64().is_some_and(|n| (1..u32::MAX as u64).contains(&n)) => {
                n.as_u64().unwrap_or(1) as u32
            }
            Some(_) => return Err(syntax(json, "bad min or max value")),
        };
        p.finish()?;
        if min > max {
            return Err(syntax(json, "bad min or max value"));
        }
        Ok(Type { key, value, min, max })
    }

    pub fn to_json(&self) -> Json {
        if self.is_scalar() && !self.key.has_constraints() {
            return self.key.to_json();
        }
        let mut obj = Map::new();
        obj.insert("key".into(), self.key.to_json());
        if let Some(v) = &self.value {
            obj.insert("value".into(), v.to_json());
        }
        if self.min != 1 {
            obj.insert("min".into(), self.min.into());
        }
        if self.max == u32::MAX {
            obj.insert("max".into(), "unlimited".into());
        } else if self.max != 1 {
            obj.insert("max".into(), self.max.into());
        }
        Json::Object(obj)
    }

    /// Plain words for messages: "string", "set of up to 4 integers",
    /// "map of (string, string) pairs".
    pub fn to_english(&self) -> String {
        let key = self.key.atomic.name();
        if self.is_scalar() {
            return key.to_string();
        }
        let mut s = String::from(if self.value.is_some() { "map" } else { "set" });
        if self.max == u32::MAX {
            if self.min > 0 {
                s += &format!(" of {} or more", self.min);
            } else {
                s += " of";
            }
        } else if self.min > 0 {
            s += &format!(" of {} to {}", self.min, self.max);
        } else {
            s += &format!(" of up to {}", self.max);
        }
        match &self.value {
            None => s += &format!(" {key}s"),
            Some(v) => s += &format!(" ({key}, {}) pairs", v.atomic.name()),
        }
        s
    }
}

/// What an [`ObjectParser`] is reading, for its messages.
enum What {
    Text(String),
    Operation(usize, usize),
}

impl std::fmt::Display for What {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Text(t) => f.write_str(t),
            What::Operation(n, of) => write!(f, "ovsdb operation {n} of {of}"),
        }
    }
}

/// Reads the members of a JSON object and complains about missing, mistyped
/// and unexpected ones, in the manner of RFC 7047 parsers.
pub(crate) struct ObjectParser<'a> {
    json: &'a Json,
    obj: &'a Map<String, Json>,
    used: Vec<&'a str>,
    what: What,
    /// Set once a member was missing or mistyped; `finish` then stays quiet
    /// so that the first complaint is the one reported.
    pub failed: bool,
}

impl<'a> ObjectParser<'a> {
    pub fn new(json: &'a Json, what: impl Into<String>) -> Result<ObjectParser<'a>> {
        ObjectParser::with(json, What::Text(what.into()))
    }

    /// For operation `n` of `of` in a transaction: the description is only
    /// formatted if there is something to complain about.
    pub fn for_operation(json: &'a Json, n: usize, of: usize) -> Result<ObjectParser<'a>> {
        ObjectParser::with(json, What::Operation(n, of))
    }

    fn with(json: &'a Json, what: What) -> Result<ObjectParser<'a>> {
        match json {
            Json::Object(obj) => Ok(ObjectParser { json, obj, used: Vec::new(), what, failed: false }),
            _ => Err(syntax(json, format!("{what} must be a JSON object"))),
        }
    }

    /// Records a complaint about the object as a whole.
    pub fn fail(&mut self, details: impl Into<String>) -> Error {
        self.failed = true;
        syntax(self.json, details)
    }

    pub fn optional(&mut self, name: &'a str) -> Option<&'a Json> {
        let v = self.obj.get(name)?;
        self.used.push(name);
        Some(v)
    }

    pub fn required(&mut self, name: &'a str) -> Result<&'a Json> {
        match self.optional(name) {
            Some(v) => Ok(v),
            None => {
                let what = self.what.to_string();
                Err(self.fail(format!("{what}: required '{name}' member is missing")))
            }
        }
    }

    fn mismatch(&mut self, name: &str) -> Error {
        let what = self.what.to_string();
        self.fail(format!("{what}: member '{name}' has the wrong type"))
    }

    pub fn required_string(&mut self, name: &'a str) -> Result<&'a str> {
        match self.required(name)? {
            Json::String(s) => Ok(s),
            _ => Err(self.mismatch(name)),
        }
    }

    pub fn required_id(&mut self, name: &'a str) -> Result<&'a str> {
        match self.required(name)? {
            Json::String(s) if is_id(s) => Ok(s),
            _ => Err(self.mismatch(name)),
        }
    }

    pub fn optional_id(&mut self, name: &'a str) -> Result<Option<&'a str>> {
        match self.optional(name) {
            None => Ok(None),
            Some(Json::String(s)) if is_id(s) => Ok(Some(s)),
            Some(_) => Err(self.mismatch(name)),
        }
    }

    pub fn optional_string(&mut self, name: &'a str) -> Result<Option<&'a str>> {
        match self.optional(name) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.mismatch(name)),
        }
    }

    pub fn optional_bool(&mut self, name: &'a str) -> Result<Option<bool>> {
        match self.optional(name) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.mismatch(name)),
        }
    }

    pub fn optional_integer(&mut self, name: &'a str) -> Result<Option<i64>> {
        match self.optional(name) {
            None => Ok(None),
            Some(Json::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(_) => Err(self.mismatch(name)),
        }
    }

    pub fn optional_real(&mut self, name: &'a str) -> Result<Option<f64>> {
        match self.optional(name) {
            None => Ok(None),
            Some(Json::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(self.mismatch(name)),
        }
    }

    pub fn optional_uint(&mut self, name: &'a str) -> Result<Option<u64>> {
        match self.optional_integer(name)? {
            None => Ok(None),
            Some(n) if (0..=UNLIMITED_LENGTH as i64).contains(&n) => Ok(Some(n as u64)),
            Some(_) => Err(self.fail(format!("{name} out of valid range 0 to {UNLIMITED_LENGTH}"))),
        }
    }

    pub fn optional_array(&mut self, name: &'a str) -> Result<Option<&'a Vec<Json>>> {
        match self.optional(name) {
            None => Ok(None),
            Some(Json::Array(a)) => Ok(Some(a)),
            Some(_) => Err(self.mismatch(name)),
        }
    }

    pub fn required_array(&mut self, name: &'a str) -> Result<&'a Vec<Json>> {
        match self.required(name)? {
            Json::Array(a) => Ok(a),
            _ => Err(self.mismatch(name)),
        }
    }

    pub fn required_object(&mut self, name: &'a str) -> Result<&'a Map<String, Json>> {
        match self.required(name)? {
            Json::Object(o) => Ok(o),
            _ => Err(self.mismatch(name)),
        }
    }

    /// Fails if the object has members nobody asked for.
    pub fn finish(self) -> Result<()> {
        let unused: Vec<&String> = self.obj.keys().filter(|k| !self.used.contains(&k.as_str())).collect();
        match unused.as_slice() {
            [] => Ok(()),
            [one] => Err(syntax(self.json, format!("{}: member '{one}' is not allowed here", self.what))),
            [first, rest @ ..] => Err(syntax(
                self.json,
                format!("{}: member '{first}' and {} other(s) are not allowed here", self.what, rest.len()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round(j: Json) -> Json {
        Type::from_json(&j).unwrap().to_json()
    }

    #[test]
    fn normalises_like_get_schema() {
        assert_eq!(round(json!("string")), json!("string"));
        assert_eq!(round(json!({"key": "string"})), json!("string"));
        assert_eq!(round(json!({"key": {"type": "string"}, "min": 0})), json!({"key": "string", "min": 0}));
        assert_eq!(
            round(json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"})),
            json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"})
        );
        assert_eq!(
            round(json!({"key": {"type": "integer", "minInteger": 0, "maxInteger": 4095}})),
            json!({"key": {"type": "integer", "minInteger": 0, "maxInteger": 4095}})
        );
        assert_eq!(
            round(json!({"key": {"type": "uuid", "refTable": "T", "refType": "strong"}})),
            json!({"key": {"type": "uuid", "refTable": "T"}})
        );
        assert_eq!(
            round(json!({"key": {"type": "string", "enum": ["set", ["b", "a"]]}})),
            json!({"key": {"type": "string", "enum": ["set", ["a", "b"]]}})
        );
        assert_eq!(
            round(json!({"key": {"type": "string", "enum": "a"}})),
            json!({"key": {"type": "string", "enum": "a"}})
        );
    }

    #[test]
    fn rejects_bad_types() {
        for bad in [
            json!("int"),
            json!({"key": "string", "min": 2}),
            json!({"key": "string", "max": 0}),
            json!({"key": "string", "min": 1, "max": "lots"}),
            json!({"key": {"type": "integer", "minInteger": 5, "maxInteger": 4}}),
            json!({"key": {"type": "string", "minInteger": 5}}),
            json!({"key": {"type": "uuid", "refTable": "T", "refType": "soft"}}),
            json!({"key": "string", "colour": "red"}),
            json!(7),
        ] {
            let e = Type::from_json(&bad).unwrap_err();
            assert_eq!(e.tag(), "syntax error", "{bad}");
        }
    }

    #[test]
    fn english() {
        let t = Type::from_json(&json!({"key": "integer", "min": 0, "max": 4})).unwrap();
        assert_eq!(t.to_english(), "set of up to 4 integers");
        let t = Type::from_json(&json!({"key": "string", "value": "uuid", "min": 0, "max": "unlimited"})).unwrap();
        assert_eq!(t.to_english(), "map of (string, uuid) pairs");
    }
}
