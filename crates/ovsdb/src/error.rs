//! The error object of RFC 7047 section 3.1 ("error", "details", "syntax").
//!
//! [`ErrorKind::tag`] is the one place where protocol error strings are
//! spelled; clients match on them, so they are exactly Open vSwitch's.
//! The `details` text is ours: it is meant for humans and no client parses it.

use std::fmt;

/// Which error the protocol reports. The string is [`ErrorKind::tag`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    SyntaxError,
    UnknownColumn,
    UnknownMutator,
    UnknownFunction,
    UnknownDatabase,
    ConstraintViolation,
    ReferentialIntegrity,
    DuplicateUuidName,
    DuplicateUuid,
    DomainError,
    RangeError,
    TimedOut,
    NotSupported,
    Aborted,
    NotOwner,
    NotAllowed,
    InvalidParameters,
    ResourcesExhausted,
    IoError,
    PermissionError,
    /// Open vSwitch's untagged errors (for example a set holding a duplicate).
    Generic,
    Internal,
}

impl ErrorKind {
    pub fn tag(self) -> &'static str {
        match self {
            ErrorKind::SyntaxError => "syntax error",
            ErrorKind::UnknownColumn => "unknown column",
            ErrorKind::UnknownMutator => "unknown mutator",
            ErrorKind::UnknownFunction => "unknown function",
            ErrorKind::UnknownDatabase => "unknown database",
            ErrorKind::ConstraintViolation => "constraint violation",
            ErrorKind::ReferentialIntegrity => "referential integrity violation",
            ErrorKind::DuplicateUuidName => "duplicate uuid-name",
            ErrorKind::DuplicateUuid => "duplicate uuid",
            ErrorKind::DomainError => "domain error",
            ErrorKind::RangeError => "range error",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::NotSupported => "not supported",
            ErrorKind::Aborted => "aborted",
            ErrorKind::NotOwner => "not owner",
            ErrorKind::NotAllowed => "not allowed",
            ErrorKind::InvalidParameters => "invalid parameters",
            ErrorKind::ResourcesExhausted => "resources exhausted",
            ErrorKind::IoError => "I/O error",
            ErrorKind::PermissionError => "permission error",
            ErrorKind::Generic => "ovsdb error",
            ErrorKind::Internal => "internal error",
        }
    }
}

/// An OVSDB error: a kind, a human explanation, and for syntax errors the
/// offending JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    pub details: String,
    pub syntax: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, details: impl Into<String>) -> Error {
        Error { kind, details: details.into(), syntax: None }
    }

    pub fn syntax(details: impl Into<String>) -> Error {
        Error::new(ErrorKind::SyntaxError, details)
    }

    /// A syntax-class error that also carries the JSON it was about.
    pub fn syntax_in(kind: ErrorKind, json: &serde_json::Value, details: impl Into<String>) -> Error {
        Error { kind, details: details.into(), syntax: Some(json.to_string()) }
    }

    pub fn constraint(details: impl Into<String>) -> Error {
        Error::new(ErrorKind::ConstraintViolation, details)
    }

    pub fn tag(&self) -> &'static str {
        self.kind.tag()
    }

    /// The error object as it appears on the wire.
    pub fn to_json(&self) -> serde_json::Value {
        let mut obj = serde_json::Map::new();
        obj.insert("error".into(), self.tag().into());
        if !self.details.is_empty() {
            obj.insert("details".into(), self.details.clone().into());
        }
        if let Some(syntax) = &self.syntax {
            obj.insert("syntax".into(), syntax.clone().into());
        }
        serde_json::Value::Object(obj)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.details.is_empty() {
            f.write_str(self.tag())
        } else {
            write!(f, "{}: {}", self.tag(), self.details)
        }
    }
}

impl std::error::Error for Error {}
