//! Match expressions: the parse tree, its parser and its canonical printer.
//!
//! The tree stays close to the source: `!` is a node, address sets and
//! port groups stay symbolic (`$name`, `@name`), so that printing and
//! parsing again gives back the same tree, and a changed address set does
//! not require reparsing. Type checks that need no environment (widths,
//! string vs. integer, levels of measurement) happen while parsing; the
//! rest happens in [`crate::normalize`].

use std::fmt;

use crate::error::ParseError;
use crate::lexer::{Tok, Token, tokenize};
use crate::symtab::{Level, SymId, SymKind, SymbolTable};
use crate::value::{Format, IntConst, Quoted};

/// Nesting limit for parentheses, so hostile input cannot exhaust the stack.
pub const MAX_PAREN_DEPTH: usize = 100;

/// A field, or a bit range of one (`reg0[0..15]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Field {
    pub sym: SymId,
    pub ofs: u32,
    /// Number of bits selected; 0 for string fields.
    pub n_bits: u32,
}

impl Field {
    pub fn whole(sym: SymId, table: &SymbolTable) -> Field {
        Field { sym, ofs: 0, n_bits: table.get(sym).width }
    }

    pub fn display<'a>(&'a self, table: &'a SymbolTable) -> impl fmt::Display + 'a {
        FieldDisplay(self, table)
    }
}

struct FieldDisplay<'a>(&'a Field, &'a SymbolTable);

impl fmt::Display for FieldDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (field, table) = (self.0, self.1);
        let sym = table.get(field.sym);
        f.write_str(sym.name)?;
        if field.ofs != 0 || field.n_bits != sym.width {
            if field.n_bits == 1 {
                write!(f, "[{}]", field.ofs)?;
            } else {
                write!(f, "[{}..{}]", field.ofs, field.ofs + field.n_bits - 1)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Const {
    Int(IntConst),
    Str(String),
    /// `$name`: the addresses of an Address_Set (or `$pg_ip4` style sets).
    AddrSet(String),
    /// `@name`: the ports of a Port_Group.
    PortGroup(String),
}

impl fmt::Display for Const {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Const::Int(c) => write!(f, "{c}"),
            Const::Str(s) => write!(f, "{}", Quoted(s)),
            Const::AddrSet(s) => write!(f, "${s}"),
            Const::PortGroup(s) => write!(f, "@{s}"),
        }
    }
}

/// One constant or a `{ ... }` set of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConstSet {
    pub values: Vec<Const>,
    pub curly: bool,
}

impl fmt::Display for ConstSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.curly && self.values.len() == 1 {
            return write!(f, "{}", self.values[0]);
        }
        f.write_str("{")?;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{v}")?;
        }
        f.write_str("}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl RelOp {
    pub fn as_str(self) -> &'static str {
        match self {
            RelOp::Eq => "==",
            RelOp::Ne => "!=",
            RelOp::Lt => "<",
            RelOp::Le => "<=",
            RelOp::Gt => ">",
            RelOp::Ge => ">=",
        }
    }

    /// The operator with operands swapped: `c < f` is `f > c`.
    pub fn turn(self) -> RelOp {
        match self {
            RelOp::Lt => RelOp::Gt,
            RelOp::Le => RelOp::Ge,
            RelOp::Gt => RelOp::Lt,
            RelOp::Ge => RelOp::Le,
            r => r,
        }
    }

    /// The logical negation: `!(f < c)` is `f >= c`.
    pub fn invert(self) -> RelOp {
        match self {
            RelOp::Eq => RelOp::Ne,
            RelOp::Ne => RelOp::Eq,
            RelOp::Lt => RelOp::Ge,
            RelOp::Le => RelOp::Gt,
            RelOp::Gt => RelOp::Le,
            RelOp::Ge => RelOp::Lt,
        }
    }

    fn from_tok(t: &Tok) -> Option<RelOp> {
        Some(match t {
            Tok::Eq => RelOp::Eq,
            Tok::Ne => RelOp::Ne,
            Tok::Lt => RelOp::Lt,
            Tok::Le => RelOp::Le,
            Tok::Gt => RelOp::Gt,
            Tok::Ge => RelOp::Ge,
            _ => return None,
        })
    }
}

/// A parsed match expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    Bool(bool),
    Cmp { field: Field, op: RelOp, rhs: ConstSet },
    /// A field named alone, meaning `field != 0` (`vlan.present`, `tcp`).
    Test(Field),
    Not(Box<Expr>),
    /// Conjunction; never directly contains another `And`.
    And(Vec<Expr>),
    /// Disjunction; never directly contains another `Or`.
    Or(Vec<Expr>),
    ChassisResident(String),
}

impl Expr {
    /// Prints the canonical form, which parses back to `self`.
    pub fn display<'a>(&'a self, table: &'a SymbolTable) -> impl fmt::Display + 'a {
        ExprDisplay(self, table)
    }

    /// The one symbol every comparison in `self` is about, if there is one.
    pub fn unique_symbol(&self) -> Option<SymId> {
        match self {
            Expr::Cmp { field, .. } | Expr::Test(field) => Some(field.sym),
            Expr::Not(e) => e.unique_symbol(),
            Expr::And(v) | Expr::Or(v) => {
                let first = v.first()?.unique_symbol()?;
                v[1..].iter().all(|e| e.unique_symbol() == Some(first)).then_some(first)
            }
            Expr::Bool(_) | Expr::ChassisResident(_) => None,
        }
    }

    /// True if a comparison in `self` names a nominal symbol: what makes a
    /// predicate nominal.
    pub fn mentions_nominal(&self, table: &SymbolTable) -> bool {
        match self {
            Expr::Cmp { field, .. } | Expr::Test(field) => table.get(field.sym).level == Level::Nominal,
            Expr::Not(e) => e.mentions_nominal(table),
            Expr::And(v) | Expr::Or(v) => v.iter().any(|e| e.mentions_nominal(table)),
            Expr::Bool(_) | Expr::ChassisResident(_) => false,
        }
    }

    /// Calls `f` on every address set and port group named in `self`.
    pub fn for_each_set(&self, f: &mut impl FnMut(&Const)) {
        match self {
            Expr::Cmp { rhs, .. } => rhs.values.iter().filter(|c| matches!(c, Const::AddrSet(_) | Const::PortGroup(_))).for_each(f),
            Expr::Not(e) => e.for_each_set(f),
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.for_each_set(f)),
            _ => {}
        }
    }
}

struct ExprDisplay<'a>(&'a Expr, &'a SymbolTable);

impl ExprDisplay<'_> {
    fn write(&self, f: &mut fmt::Formatter<'_>, e: &Expr, nested: bool) -> fmt::Result {
        let t = self.1;
        match e {
            Expr::Bool(b) => write!(f, "{}", *b as u8),
            Expr::Cmp { field, op, rhs } => write!(f, "{} {} {}", field.display(t), op.as_str(), rhs),
            Expr::Test(field) => write!(f, "{}", field.display(t)),
            Expr::ChassisResident(p) => write!(f, "is_chassis_resident({})", Quoted(p)),
            Expr::Not(inner) => {
                f.write_str("!")?;
                match &**inner {
                    Expr::Test(_) | Expr::Bool(_) | Expr::ChassisResident(_) => self.write(f, inner, true),
                    Expr::And(_) | Expr::Or(_) => self.write(f, inner, true),
                    other => {
                        f.write_str("(")?;
                        self.write(f, other, false)?;
                        f.write_str(")")
                    }
                }
            }
            Expr::And(v) | Expr::Or(v) => {
                let op = if matches!(e, Expr::And(_)) { " && " } else { " || " };
                if nested {
                    f.write_str("(")?;
                }
                for (i, sub) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    self.write(f, sub, true)?;
                }
                if nested {
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for ExprDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, self.0, false)
    }
}

/// Parses a match expression against OVN's symbol table.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with(input, SymbolTable::ovn())
}

/// Parses a match expression against `table`.
pub fn parse_with(input: &str, table: &SymbolTable) -> Result<Expr, ParseError> {
    let toks = tokenize(input)?;
    let mut p = Parser::new(&toks, table);
    let e = p.expr()?;
    p.expect_end()?;
    Ok(e)
}

/// Token cursor shared by the match and action parsers.
pub(crate) struct Parser<'a> {
    pub toks: &'a [Token],
    pub i: usize,
    pub table: &'a SymbolTable,
    /// Parity of enclosing `!`: nominal fields may only be tested for
    /// equality once these are taken into account.
    not: bool,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub fn new(toks: &'a [Token], table: &'a SymbolTable) -> Self {
        Parser { toks, i: 0, table, not: false, depth: 0 }
    }

    pub fn peek(&self) -> &'a Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }

    pub fn peek2(&self) -> &'a Tok {
        &self.toks[(self.i + 1).min(self.toks.len() - 1)].tok
    }

    pub fn pos(&self) -> usize {
        self.toks[self.i.min(self.toks.len() - 1)].start
    }

    pub fn bump(&mut self) -> &'a Tok {
        let t = self.peek();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    pub fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.bump();
            true
        } else {
            false
        }
    }

    pub fn eat_id(&mut self, id: &str) -> bool {
        if matches!(self.peek(), Tok::Id(s) if s == id) {
            self.bump();
            true
        } else {
            false
        }
    }

    pub fn syntax<T>(&self, msg: impl Into<String>) -> Result<T, ParseError> {
        let found = match self.peek() {
            Tok::End => "end of input".to_string(),
            t => format!("`{t}'"),
        };
        Err(ParseError::Syntax { pos: self.pos(), found, msg: msg.into() })
    }

    pub fn type_err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError::Type { pos, msg: msg.into() })
    }

    pub fn expect(&mut self, t: &Tok) -> Result<(), ParseError> {
        if self.eat(t) { Ok(()) } else { self.syntax(format!("expecting `{t}'")) }
    }

    pub fn expect_end(&self) -> Result<(), ParseError> {
        if *self.peek() == Tok::End { Ok(()) } else { self.syntax("expecting end of input") }
    }

    /// A small non-negative decimal integer (bit indexes, table numbers).
    pub fn small_int(&mut self) -> Result<u32, ParseError> {
        match self.peek() {
            Tok::Int(IntConst { value, mask: None, format: Format::Decimal }) if *value <= i32::MAX as u128 => {
                let v = *value as u32;
                self.bump();
                Ok(v)
            }
            _ => self.syntax("expecting small integer"),
        }
    }

    /// `name` or `name[lo..hi]` or `name[bit]`.
    pub fn field(&mut self) -> Result<Field, ParseError> {
        let pos = self.pos();
        let sym = match self.peek() {
            Tok::Id(name) => match self.table.lookup(name) {
                Some(s) => s,
                None => return self.syntax("expecting field name"),
            },
            Tok::Template(_) => return self.type_err(pos, "unexpanded template variable"),
            _ => return self.syntax("expecting field name"),
        };
        self.bump();
        let s = self.table.get(sym);
        if !self.eat(&Tok::LSquare) {
            return Ok(Field { sym, ofs: 0, n_bits: s.width });
        }
        if s.is_string() {
            return self.type_err(pos, format!("cannot select subfield of string field {}", s.name));
        }
        let lo = self.small_int()?;
        let hi = if self.eat(&Tok::Ellipsis) { self.small_int()? } else { lo };
        self.expect(&Tok::RSquare)?;
        if lo > hi {
            return self.type_err(pos, format!("invalid bit range {lo} to {hi}"));
        }
        if hi >= s.width {
            return self.type_err(pos, format!("cannot select bits {lo} to {hi} of {}-bit field {}", s.width, s.name));
        }
        if s.level == Level::Nominal && (lo != 0 || hi != s.width - 1) {
            return self.type_err(pos, format!("cannot select subfield of nominal field {}", s.name));
        }
        Ok(Field { sym, ofs: lo, n_bits: hi - lo + 1 })
    }

    pub fn expr(&mut self) -> Result<Expr, ParseError> {
        let first = self.not_expr()?;
        let is_and = match self.peek() {
            Tok::And => true,
            Tok::Or => false,
            _ => return Ok(first),
        };
        let op = self.bump().clone();
        let mut items = Vec::new();
        push_flat(&mut items, first, is_and);
        loop {
            let e = self.not_expr()?;
            push_flat(&mut items, e, is_and);
            if !self.eat(&op) {
                break;
            }
        }
        if matches!(self.peek(), Tok::And | Tok::Or) {
            return self.syntax("&& and || must be parenthesized when used together");
        }
        Ok(if is_and { Expr::And(items) } else { Expr::Or(items) })
    }

    fn not_expr(&mut self) -> Result<Expr, ParseError> {
        if !self.eat(&Tok::Not) {
            return Ok(self.primary()?.0);
        }
        let pos = self.pos();
        self.not = !self.not;
        let res = self.primary();
        self.not = !self.not;
        let (e, atomic) = res?;
        if !atomic {
            return self.type_err(pos, "missing parentheses around operand of !");
        }
        Ok(Expr::Not(Box::new(e)))
    }

    /// Returns the expression and whether it is "atomic" (may follow `!`
    /// without parentheses).
    fn primary(&mut self) -> Result<(Expr, bool), ParseError> {
        let pos = self.pos();
        if self.eat(&Tok::LParen) {
            if self.depth >= MAX_PAREN_DEPTH {
                return self.type_err(pos, "parentheses nested too deeply");
            }
            self.depth += 1;
            let e = self.expr();
            self.depth -= 1;
            let e = e?;
            self.expect(&Tok::RParen)?;
            return Ok((e, true));
        }
        match self.peek() {
            Tok::Template(_) => self.type_err(pos, "unexpanded template variable"),
            Tok::Id(name) => {
                if *self.peek2() == Tok::LParen {
                    if name != "is_chassis_resident" {
                        return self.syntax("expecting a field name; the only function is is_chassis_resident()");
                    }
                    self.bump();
                    self.bump();
                    let Tok::Str(port) = self.peek() else {
                        return self.syntax("expecting string");
                    };
                    self.bump();
                    self.expect(&Tok::RParen)?;
                    return Ok((Expr::ChassisResident(port.clone()), true));
                }
                let field = self.field()?;
                let Some(op) = RelOp::from_tok(self.peek()) else {
                    if field.n_bits == 0 || *self.peek() == Tok::Equals {
                        return self.syntax("expecting relational operator");
                    }
                    if field.n_bits > 1 && !self.not {
                        return self.type_err(pos, "explicit `!= 0' is required for inequality test of multibit field against 0");
                    }
                    let zero = ConstSet { values: vec![Const::Int(IntConst::new(0, Format::Hex))], curly: false };
                    self.check_cmp(pos, &field, RelOp::Ne, &zero)?;
                    return Ok((Expr::Test(field), true));
                };
                self.bump();
                let rhs = self.const_set()?;
                self.check_cmp(pos, &field, op, &rhs)?;
                Ok((Expr::Cmp { field, op, rhs }, false))
            }
            _ => {
                let c1 = self.const_set()?;
                if RelOp::from_tok(self.peek()).is_none()
                    && !c1.curly
                    && matches!(c1.values.as_slice(), [Const::Int(IntConst { value: 0 | 1, mask: None, format: Format::Decimal })])
                {
                    let Const::Int(c) = &c1.values[0] else { unreachable!() };
                    return Ok((Expr::Bool(c.value == 1), true));
                }
                let Some(r1) = RelOp::from_tok(self.peek()) else {
                    return self.syntax("expecting relational operator");
                };
                self.bump();
                let field_pos = self.pos();
                let field = self.field()?;
                let Some(r2) = RelOp::from_tok(self.peek()) else {
                    self.check_cmp(field_pos, &field, r1.turn(), &c1)?;
                    return Ok((Expr::Cmp { field, op: r1.turn(), rhs: c1 }, false));
                };
                self.bump();
                let c2 = self.const_set()?;
                let low = |r| matches!(r, RelOp::Lt | RelOp::Le);
                let high = |r| matches!(r, RelOp::Gt | RelOp::Ge);
                if !((low(r1) && low(r2)) || (high(r1) && high(r2))) {
                    return self.type_err(pos, "range expressions must have the form `x < field < y' or `x > field > y', with each `<' optionally replaced by `<=' or `>' by `>='");
                }
                self.check_cmp(field_pos, &field, r1.turn(), &c1)?;
                self.check_cmp(field_pos, &field, r2, &c2)?;
                Ok((Expr::And(vec![Expr::Cmp { field, op: r1.turn(), rhs: c1 }, Expr::Cmp { field, op: r2, rhs: c2 }]), false))
            }
        }
    }

    pub fn constant(&mut self) -> Result<Const, ParseError> {
        let c = match self.peek() {
            Tok::Int(c) => Const::Int(*c),
            Tok::Str(s) => Const::Str(s.clone()),
            Tok::AddrSet(s) => Const::AddrSet(s.clone()),
            Tok::PortGroup(s) => Const::PortGroup(s.clone()),
            Tok::Template(_) => return self.type_err(self.pos(), "unexpanded template variable"),
            _ => return self.syntax("expecting constant"),
        };
        self.bump();
        Ok(c)
    }

    pub fn const_set(&mut self) -> Result<ConstSet, ParseError> {
        if !self.eat(&Tok::LCurly) {
            return Ok(ConstSet { values: vec![self.constant()?], curly: false });
        }
        let mut values: Vec<Const> = Vec::new();
        loop {
            let c = self.constant()?;
            if let Some(first) = values.first()
                && is_string_const(first) != is_string_const(&c)
            {
                self.i -= 1;
                return self.syntax(if is_string_const(first) { "expecting string" } else { "expecting integer" });
            }
            values.push(c);
            self.eat(&Tok::Comma);
            if self.eat(&Tok::RCurly) {
                return Ok(ConstSet { values, curly: true });
            }
        }
    }

    /// The checks ovn-sb(5) imposes on `field op constants`.
    fn check_cmp(&self, pos: usize, field: &Field, op: RelOp, cs: &ConstSet) -> Result<(), ParseError> {
        let sym = self.table.get(field.sym);
        if let SymKind::OvnField = sym.kind {
            return self.type_err(pos, format!("{} may only be assigned, not matched", sym.name));
        }
        let string_set = cs.values.first().is_some_and(is_string_const);
        if sym.is_string() != string_set {
            return self.type_err(
                pos,
                format!(
                    "{} field {} is not compatible with {} constant",
                    if sym.is_string() { "string" } else { "integer" },
                    sym.name,
                    if string_set { "string" } else { "integer" }
                ),
            );
        }
        if !sym.is_string() {
            for c in &cs.values {
                if let Const::Int(c) = c {
                    let w = c.width();
                    if w > sym.width {
                        return self.type_err(pos, format!("{w}-bit constant is not compatible with {}-bit field {}", sym.width, sym.name));
                    }
                }
            }
        }
        if !matches!(op, RelOp::Eq | RelOp::Ne) {
            if cs.curly {
                return self.type_err(pos, "only == and != operators may be used with value sets");
            }
            if sym.level != Level::Ordinal {
                return self.type_err(pos, format!("only == and != operators may be used with {} field {}", sym.level.name(), sym.name));
            }
            match cs.values.first() {
                Some(Const::Int(c)) if c.mask.is_some() => {
                    return self.type_err(pos, "only == and != operators may be used with masked constants; use a subfield instead (e.g. eth.src[0..15] > 0x1111)");
                }
                Some(Const::AddrSet(_)) => return self.type_err(pos, "only == and != operators may be used with an address set"),
                _ => {}
            }
        }
        if sym.level == Level::Nominal {
            if let SymKind::Predicate { .. } = sym.kind {
                for c in &cs.values {
                    if let Const::Int(c) = c {
                        let positive = (c.value & 1 == 1) ^ (op == RelOp::Ne) ^ self.not;
                        if !positive {
                            let n = sym.name;
                            return self.type_err(pos, format!("nominal predicate {n} may only be tested positively, e.g. `{n}' or `{n} == 1' but not `!{n}' or `{n} == 0'"));
                        }
                    }
                }
            } else if op != if self.not { RelOp::Ne } else { RelOp::Eq } {
                return self.type_err(pos, format!("nominal field {} may only be tested for equality (taking enclosing `!' operators into account)", sym.name));
            }
        }
        Ok(())
    }
}

fn is_string_const(c: &Const) -> bool {
    matches!(c, Const::Str(_) | Const::PortGroup(_))
}

fn push_flat(items: &mut Vec<Expr>, e: Expr, is_and: bool) {
    match e {
        Expr::And(v) if is_and => items.extend(v),
        Expr::Or(v) if !is_and => items.extend(v),
        e => items.push(e),
    }
}
