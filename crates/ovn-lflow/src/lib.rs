//! `ovn-lflow`: OVN's logical-flow language, as written by northd in the
//! Southbound `Logical_Flow` table and described in ovn-sb(5).
//!
//! # Layout
//!
//! - [`lexer`]: tokens shared by matches and actions; [`value`] holds the
//!   constants they carry (integers in five notations, masks, strings).
//! - [`symtab`]: the fields, subfields and predicates OVN 23.03 defines,
//!   with widths, levels of measurement, prerequisites and writability.
//! - [`expr`]: match expressions: parse tree, parser, canonical printer.
//! - [`normalize`]: a parse tree plus address sets and port groups becomes
//!   a small disjunction of conjunctions of masked field matches, where a
//!   crossing of value sets stays a conjunctive match.
//! - [`actions`]: the action language: typed tree, parser with argument
//!   checks, canonical printer.
//! - [`sb`]: reads dumps of the Southbound tables the checks need and
//!   checks every flow; it knows JSON, not sockets.
//! - [`error`]: one error type per family of operations.
//!
//! Printing is canonical: for any tree `x` the parser produced,
//! `parse(print(x)) == x`. Nothing here does I/O.

pub mod actions;
pub mod error;
pub mod expr;
pub mod lexer;
pub mod normalize;
pub mod sb;
pub mod symtab;
pub mod value;

pub use error::{DumpError, ParseError, ResolveError};
