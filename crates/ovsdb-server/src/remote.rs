//! Remotes, in Open vSwitch's notation: where the server listens
//! (`punix:`, `ptcp:`) or connects out (`unix:`, `tcp:`), or a database
//! column that lists more of them (`db:DB,TABLE,COLUMN`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Remote {
    /// Listen on a Unix socket.
    PUnix(PathBuf),
    /// Listen on TCP.
    PTcp(SocketAddr),
    /// Connect to a Unix socket and serve over that connection.
    Unix(PathBuf),
    /// Connect out over TCP.
    Tcp(String),
    /// Read more remotes from a database column.
    Db { db: String, table: String, column: String },
}

/// Per-remote settings, from a `db:` remote's row (the Connection and
/// Manager tables' columns) or defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct RemoteOptions {
    /// Send an echo after this long without input; drop after twice that.
    pub probe: Option<std::time::Duration>,
    /// Sessions may not write or take locks.
    pub read_only: bool,
}

impl RemoteOptions {
    /// As Open vSwitch: probes every 5 s over TCP, none on Unix sockets.
    pub fn defaults_for(remote: &Remote) -> RemoteOptions {
        RemoteOptions { probe: remote.needs_probes().then_some(std::time::Duration::from_secs(5)), read_only: false }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RemoteError {
    #[error("{0}: unknown remote type (expected punix:, ptcp:, unix:, tcp: or db:)")]
    Unknown(String),
    #[error("{0}: TLS remotes are not supported yet")]
    Tls(String),
    #[error("{0}: bad address")]
    BadAddress(String),
}

impl Remote {
    pub fn parse(s: &str) -> Result<Remote, RemoteError> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| RemoteError::Unknown(s.into()))?;
        match kind {
            "punix" => Ok(Remote::PUnix(PathBuf::from(rest))),
            "unix" => Ok(Remote::Unix(PathBuf::from(rest))),
            "ptcp" => parse_ptcp(rest).map(Remote::PTcp).ok_or_else(|| RemoteError::BadAddress(s.into())),
            "tcp" => {
                if rest.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
                    Ok(Remote::Tcp(rest.trim_start_matches('[').replace("]:", ":")))
                } else {
                    Err(RemoteError::BadAddress(s.into()))
                }
            }
            "db" => {
                let parts: Vec<&str> = rest.split(',').collect();
                match parts.as_slice() {
                    [db, table, column] => {
                        Ok(Remote::Db { db: (*db).into(), table: (*table).into(), column: (*column).into() })
                    }
                    _ => Err(RemoteError::BadAddress(s.into())),
                }
            }
            "ssl" | "pssl" => Err(RemoteError::Tls(s.into())),
            _ => Err(RemoteError::Unknown(s.into())),
        }
    }

    /// Listening and outgoing connections are probed for liveness over
    /// TCP; Unix sockets are not, as in Open vSwitch.
    pub fn needs_probes(&self) -> bool {
        matches!(self, Remote::PTcp(_) | Remote::Tcp(_))
    }
}

/// `ptcp:PORT[:IP]`; port 0 picks a free port.
fn parse_ptcp(rest: &str) -> Option<SocketAddr> {
    let (port, ip) = match rest.split_once(':') {
        Some((p, ip)) => (p, ip.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok()?),
        None => (rest, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
    };
    Some(SocketAddr::new(ip, port.parse().ok()?))
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::PUnix(p) => write!(f, "punix:{}", p.display()),
            Remote::Unix(p) => write!(f, "unix:{}", p.display()),
            Remote::PTcp(a) => match a.ip() {
                IpAddr::V6(ip) => write!(f, "ptcp:{}:[{ip}]", a.port()),
                ip => write!(f, "ptcp:{}:{ip}", a.port()),
            },
            Remote::Tcp(a) => write!(f, "tcp:{a}"),
            Remote::Db { db, table, column } => write!(f, "db:{db},{table},{column}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(Remote::parse("punix:/tmp/x.sock").unwrap(), Remote::PUnix("/tmp/x.sock".into()));
        assert_eq!(Remote::parse("ptcp:6641").unwrap().to_string(), "ptcp:6641:0.0.0.0");
        assert_eq!(Remote::parse("ptcp:6641:127.0.0.1").unwrap().to_string(), "ptcp:6641:127.0.0.1");
        assert_eq!(Remote::parse("tcp:127.0.0.1:6641").unwrap(), Remote::Tcp("127.0.0.1:6641".into()));
        assert_eq!(
            Remote::parse("db:Open_vSwitch,Open_vSwitch,manager_options").unwrap(),
            Remote::Db { db: "Open_vSwitch".into(), table: "Open_vSwitch".into(), column: "manager_options".into() }
        );
        assert!(matches!(Remote::parse("ssl:1.2.3.4:6641"), Err(RemoteError::Tls(_))));
        assert!(Remote::parse("bogus").is_err());
        assert!(Remote::parse("tcp:nohost").is_err());
        assert!(Remote::parse("ptcp:notaport").is_err());
    }
}
