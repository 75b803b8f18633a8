//! Where a database server is: the active connection methods of
//! ovsdb-server(1) (`unix:FILE`, `tcp:HOST:PORT`, `ssl:HOST:PORT`) and the
//! comma-separated lists that Open vSwitch tools accept for fail-over.

use std::fmt;
use std::path::PathBuf;

/// One remote.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Remote {
    Unix(PathBuf),
    /// Host (a name, an IPv4 address, or an IPv6 address without brackets)
    /// and port.
    Tcp { host: String, port: u16 },
    /// Parsed so that configurations naming it are understood; connecting
    /// needs TLS, which the driver does not offer yet.
    Ssl { host: String, port: u16 },
}

/// The port Open vSwitch assumes for `tcp:` and `ssl:` without one.
pub const DEFAULT_PORT: u16 = 6640;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    #[error("empty remote")]
    Empty,
    #[error("{0}: unknown connection method (expected unix:, tcp: or ssl:)")]
    UnknownMethod(String),
    #[error("{0}: missing host")]
    MissingHost(String),
    #[error("{0}: bad port")]
    BadPort(String),
    #[error("{0}: missing socket path")]
    MissingPath(String),
}

impl Remote {
    /// Parses one remote: `unix:PATH`, `tcp:HOST[:PORT]`, `ssl:HOST[:PORT]`,
    /// with IPv6 hosts in brackets (`tcp:[::1]:6641`).
    pub fn parse(text: &str) -> Result<Remote, RemoteError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(RemoteError::Empty);
        }
        let (method, rest) = text.split_once(':').ok_or_else(|| RemoteError::UnknownMethod(text.into()))?;
        match method {
            "unix" if rest.is_empty() => Err(RemoteError::MissingPath(text.into())),
            "unix" => Ok(Remote::Unix(PathBuf::from(rest))),
            "tcp" | "ssl" => {
                let (host, port) = split_host_port(text, rest)?;
                Ok(if method == "tcp" { Remote::Tcp { host, port } } else { Remote::Ssl { host, port } })
            }
            _ => Err(RemoteError::UnknownMethod(text.into())),
        }
    }

    /// Parses a comma-separated list, as `--db=unix:a,tcp:127.0.0.1:6641`.
    pub fn parse_list(text: &str) -> Result<Vec<Remote>, RemoteError> {
        let remotes = text.split(',').filter(|s| !s.trim().is_empty()).map(Remote::parse).collect::<Result<Vec<_>, _>>()?;
        if remotes.is_empty() {
            return Err(RemoteError::Empty);
        }
        Ok(remotes)
    }
}

fn split_host_port(text: &str, rest: &str) -> Result<(String, u16), RemoteError> {
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(|| RemoteError::MissingHost(text.into()))?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(RemoteError::BadPort(text.into())),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(RemoteError::MissingHost(text.into()));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p.parse().map_err(|_| RemoteError::BadPort(text.into()))?,
    };
    Ok((host.to_string(), port))
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host_port = |f: &mut fmt::Formatter<'_>, method: &str, host: &str, port: u16| {
            if host.contains(':') {
                write!(f, "{method}:[{host}]:{port}")
            } else {
                write!(f, "{method}:{host}:{port}")
            }
        };
        match self {
            Remote::Unix(path) => write!(f, "unix:{}", path.display()),
            Remote::Tcp { host, port } => host_port(f, "tcp", host, *port),
            Remote::Ssl { host, port } => host_port(f, "ssl", host, *port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_methods() {
        assert_eq!(Remote::parse("unix:/run/db.sock"), Ok(Remote::Unix("/run/db.sock".into())));
        assert_eq!(Remote::parse("tcp:127.0.0.1:6641"), Ok(Remote::Tcp { host: "127.0.0.1".into(), port: 6641 }));
        assert_eq!(Remote::parse("tcp:db.example"), Ok(Remote::Tcp { host: "db.example".into(), port: 6640 }));
        assert_eq!(Remote::parse("ssl:[::1]:6642"), Ok(Remote::Ssl { host: "::1".into(), port: 6642 }));
        assert_eq!(Remote::parse("ssl:[::1]:6642").unwrap().to_string(), "ssl:[::1]:6642");
        assert_eq!(Remote::parse("tcp:10.0.0.1:6641").unwrap().to_string(), "tcp:10.0.0.1:6641");
    }

    #[test]
    fn rejects_bad_remotes() {
        for bad in ["", "punix:/x", "unix:", "tcp::1", "tcp:h:port", "tcp:h:99999", "tcp:[::1", "tcp:[::1]x", "nocolon"] {
            assert!(Remote::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists() {
        let l = Remote::parse_list("unix:/a, tcp:127.0.0.1:1,").unwrap();
        assert_eq!(l, vec![Remote::Unix("/a".into()), Remote::Tcp { host: "127.0.0.1".into(), port: 1 }]);
        assert_eq!(Remote::parse_list(" , "), Err(RemoteError::Empty));
        assert!(Remote::parse_list("unix:/a,bogus:1").is_err());
    }
}
