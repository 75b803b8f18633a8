//! Long options in the style of `getopt_long`: `--name`, `--name=value`,
//! `--name value` for options that require a value, and short aliases.

use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// `--detach`
    None,
    /// `--pidfile[=FILE]`: a value only with `=`.
    Optional,
    /// `--remote=X` or `--remote X`.
    Required,
}

/// One option a program accepts.
#[derive(Clone, Debug)]
pub struct Spec {
    pub long: &'static str,
    pub short: Option<char>,
    pub arg: Arg,
}

pub const fn opt(long: &'static str, arg: Arg) -> Spec {
    Spec { long, short: None, arg }
}

pub const fn short(long: &'static str, short: char, arg: Arg) -> Spec {
    Spec { long, short: Some(short), arg }
}

/// Options every daemon accepts, as Open vSwitch daemons do.
pub const DAEMON_OPTIONS: &[Spec] = &[
    opt("pidfile", Arg::Optional),
    opt("overwrite-pidfile", Arg::None),
    opt("detach", Arg::None),
    opt("no-chdir", Arg::None),
    opt("monitor", Arg::None),
    opt("no-self-confinement", Arg::None),
    opt("user", Arg::Required),
    opt("log-file", Arg::Optional),
    opt("syslog-target", Arg::Required),
    opt("syslog-method", Arg::Required),
    short("verbose", 'v', Arg::Optional),
    opt("unixctl", Arg::Required),
    short("help", 'h', Arg::None),
    short("version", 'V', Arg::None),
];

#[derive(Debug, Default, Clone)]
pub struct Parsed {
    /// Options in command-line order, by long name.
    pub options: Vec<(String, Option<String>)>,
    pub positional: Vec<String>,
}

impl Parsed {
    pub fn has(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }

    /// The last value given for `name` (`Some(None)` if given without one).
    pub fn last(&self, name: &str) -> Option<Option<&str>> {
        self.options.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_deref())
    }

    /// Every value given for a repeatable option.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.options.iter().filter(|(n, _)| n == name).filter_map(|(_, v)| v.as_deref()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionError {
    #[error("unrecognized option '{0}'")]
    Unknown(String),
    #[error("option '--{0}' requires an argument")]
    MissingValue(String),
    #[error("option '--{0}' doesn't allow an argument")]
    UnexpectedValue(String),
}

/// Parses `args` (without the program name) against `specs`. `--` ends
/// the options.
pub fn parse(args: &[String], specs: &[&[Spec]]) -> Result<Parsed, OptionError> {
    let mut by_long: HashMap<&str, &Spec> = HashMap::new();
    let mut by_short: HashMap<char, &Spec> = HashMap::new();
    for spec in specs.iter().flat_map(|s| s.iter()) {
        by_long.insert(spec.long, spec);
        if let Some(c) = spec.short {
            by_short.insert(c, spec);
        }
    }
    let mut out = Parsed::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            out.positional.extend(it.cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            // Unique prefixes work, as with getopt_long.
            let spec = match by_long.get(name) {
                Some(s) => *s,
                None => {
                    let matches: Vec<&&Spec> = by_long.iter().filter(|(l, _)| l.starts_with(name)).map(|(_, s)| s).collect();
                    match matches.as_slice() {
                        [one] => **one,
                        _ => return Err(OptionError::Unknown(arg.clone())),
                    }
                }
            };
            let value = match (spec.arg, inline) {
                (Arg::None, Some(_)) => return Err(OptionError::UnexpectedValue(spec.long.into())),
                (Arg::None, None) => None,
                (Arg::Optional, v) => v,
                (Arg::Required, Some(v)) => Some(v),
                (Arg::Required, None) => {
                    Some(it.next().cloned().ok_or_else(|| OptionError::MissingValue(spec.long.into()))?)
                }
            };
            out.options.push((spec.long.to_string(), value));
        } else if let Some(body) = arg.strip_prefix('-').filter(|b| !b.is_empty()) {
            let mut chars = body.char_indices();
            while let Some((i, c)) = chars.next() {
                let spec = by_short.get(&c).ok_or_else(|| OptionError::Unknown(format!("-{c}")))?;
                let rest = &body[i + c.len_utf8()..];
                match spec.arg {
                    Arg::None => out.options.push((spec.long.into(), None)),
                    Arg::Optional => {
                        out.options.push((spec.long.into(), (!rest.is_empty()).then(|| rest.to_string())));
                        break;
                    }
                    Arg::Required => {
                        let v = if rest.is_empty() {
                            it.next().cloned().ok_or_else(|| OptionError::MissingValue(spec.long.into()))?
                        } else {
                            rest.to_string()
                        };
                        out.options.push((spec.long.into(), Some(v)));
                        break;
                    }
                }
            }
        } else {
            out.positional.push(arg.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn long_and_short() {
        let extra = [opt("remote", Arg::Required)];
        let p = parse(&args("--remote=punix:/a --remote ptcp:0 --pidfile --log-file=/l -vfile:dbg --detach db1 db2"), &[DAEMON_OPTIONS, &extra]).unwrap();
        assert_eq!(p.all("remote"), vec!["punix:/a", "ptcp:0"]);
        assert_eq!(p.last("pidfile"), Some(None));
        assert_eq!(p.last("log-file"), Some(Some("/l")));
        assert_eq!(p.last("verbose"), Some(Some("file:dbg")));
        assert!(p.has("detach"));
        assert_eq!(p.positional, vec!["db1", "db2"]);
    }

    #[test]
    fn errors() {
        assert!(matches!(parse(&args("--bogus"), &[DAEMON_OPTIONS]), Err(OptionError::Unknown(_))));
        assert!(matches!(parse(&args("--detach=1"), &[DAEMON_OPTIONS]), Err(OptionError::UnexpectedValue(_))));
        assert!(matches!(parse(&args("--unixctl"), &[DAEMON_OPTIONS]), Err(OptionError::MissingValue(_))));
        // "--pid" is a prefix of both pidfile options only if ambiguous; here it is not unique.
        assert!(parse(&args("--no-ch"), &[DAEMON_OPTIONS]).unwrap().has("no-chdir"));
    }
}
