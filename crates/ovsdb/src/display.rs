//! The human-readable notation of atoms and datums used by ovs-vsctl,
//! ovsdb-client's table output and error messages: `[a, b]`, `{k=v}`,
//! strings quoted only when they would otherwise be ambiguous.

use crate::atom::Atom;
use crate::datum::Datum;
use crate::types::Type;
use crate::uuid::Uuid;

pub fn atom_to_string(atom: &Atom) -> String {
    let mut out = String::new();
    write_atom(&mut out, atom);
    out
}

pub fn write_atom(out: &mut String, atom: &Atom) {
    match atom {
        Atom::Integer(i) => out.push_str(&i.to_string()),
        Atom::Real(r) => out.push_str(&format_g(*r, 15)),
        Atom::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Atom::String(s) => {
            if string_needs_quotes(s) {
                out.push_str(&serde_json::to_string(&**s).unwrap_or_default());
            } else {
                out.push_str(s);
            }
        }
        Atom::Uuid(u) => out.push_str(&u.to_string()),
    }
}

/// `[a, b]` for sets, `{k=v}` for maps, bare for a present scalar.
pub fn datum_to_string(datum: &Datum, ty: &Type) -> String {
    let mut out = String::new();
    let bracket = ty.max > 1 || datum.is_empty();
    let (open, close) = if ty.is_map() { ('{', '}') } else { ('[', ']') };
    if bracket {
        out.push(open);
    }
    match datum {
        Datum::Set(a) => {
            for (i, atom) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_atom(&mut out, atom);
            }
        }
        Datum::Map(p) => {
            for (i, (k, v)) in p.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_atom(&mut out, k);
                out.push('=');
                write_atom(&mut out, v);
            }
        }
    }
    if bracket {
        out.push(close);
    }
    out
}

/// A string is printed bare only if it reads as an identifier-like word
/// that could not be taken for a boolean or a UUID.
pub fn string_needs_quotes(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return true,
    }
    if !bytes.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')) {
        return true;
    }
    s == "true" || s == "false" || Uuid::parse(s).is_some()
}

/// C's `%.{precision}g`.
pub fn format_g(x: f64, precision: usize) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if !x.is_finite() {
        return if x.is_nan() { "nan".into() } else if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, x)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_format_matches_c() {
        assert_eq!(format_g(1.0, 15), "1");
        assert_eq!(format_g(0.1, 15), "0.1");
        assert_eq!(format_g(1.5e20, 15), "1.5e+20");
        assert_eq!(format_g(1e-5, 15), "1e-05");
        assert_eq!(format_g(123456.789, 15), "123456.789");
        assert_eq!(format_g(-2.25, 15), "-2.25");
    }

    #[test]
    fn quoting() {
        assert!(!string_needs_quotes("br-int"));
        assert!(string_needs_quotes(""));
        assert!(string_needs_quotes("true"));
        assert!(string_needs_quotes("1abc"));
        assert!(string_needs_quotes("a b"));
        assert!(string_needs_quotes("550e8400-e29b-41d4-a716-446655440000"));
        assert_eq!(atom_to_string(&Atom::string("a\"b")), "\"a\\\"b\"");
    }
}
