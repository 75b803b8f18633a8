//! Error families of the crate. Every parse error carries the byte offset
//! at which it was found, so a caller can point at the offending text.

use thiserror::Error;

/// Why a match or action string was rejected by the lexer or the parser.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The text is not made of valid tokens (bad number, unterminated
    /// string, stray character).
    #[error("column {}: {msg}", .pos + 1)]
    Lex { pos: usize, msg: String },
    /// Tokens are valid but do not form the expected construct.
    #[error("column {}: syntax error at {found}: {msg}", .pos + 1)]
    Syntax { pos: usize, found: String, msg: String },
    /// Well formed, but the types do not agree (width, string vs. integer,
    /// level of measurement, writability, argument ranges).
    #[error("column {}: {msg}", .pos + 1)]
    Type { pos: usize, msg: String },
}

impl ParseError {
    /// Byte offset into the input at which the error was detected.
    pub fn pos(&self) -> usize {
        match self {
            ParseError::Lex { pos, .. }
            | ParseError::Syntax { pos, .. }
            | ParseError::Type { pos, .. } => *pos,
        }
    }

    /// Renders the error with the input line and a caret under the column,
    /// the way an operator wants to see it on a terminal.
    pub fn render(&self, input: &str) -> String {
        let pos = self.pos().min(input.len());
        let col = input[..pos].chars().count();
        format!("{self}\n  {input}\n  {}^", " ".repeat(col))
    }
}

/// Why a parsed match could not be turned into its normal form: the
/// problem lies in the environment (address sets, port groups) or in the
/// combination of the expression with it, not in the text itself.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResolveError {
    #[error("unknown address set ${0}")]
    UnknownAddressSet(String),
    #[error("unknown port group @{0}")]
    UnknownPortGroup(String),
    #[error("address set ${set} holds {width}-bit value {value}, too wide for {field_width}-bit field {field}")]
    SetValueTooWide { set: String, value: String, width: u32, field: String, field_width: u32 },
    #[error("{0}")]
    Type(String),
    #[error("expression is too complex to normalise (more than {0} terms)")]
    TooComplex(usize),
}

/// Why a dump of the Southbound Logical_Flow table could not be read.
#[derive(Debug, Error)]
pub enum DumpError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unexpected dump layout: {0}")]
    Layout(String),
}
