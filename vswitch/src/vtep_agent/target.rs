//! Where the OVSDB server is: `unix:PATH`, `tcp:IP:PORT` or `ssl:IP:PORT`, as every OVSDB
//! client names it.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Unix(PathBuf),
    Tcp(SocketAddr),
    Ssl(SocketAddr),
}

impl Target {
    pub fn parse(s: &str) -> Result<Target, String> {
        let bad =
            || format!("vtep agent: database {s:?} is not unix:PATH, tcp:IP:PORT or ssl:IP:PORT");
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        let addr = || rest.parse::<SocketAddr>().map_err(|_| bad());
        match kind {
            "unix" if !rest.is_empty() => Ok(Target::Unix(PathBuf::from(rest))),
            "tcp" => Ok(Target::Tcp(addr()?)),
            "ssl" => Ok(Target::Ssl(addr()?)),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds_and_refuses_others() {
        assert_eq!(
            Target::parse("unix:/run/vtep.sock"),
            Ok(Target::Unix("/run/vtep.sock".into()))
        );
        assert!(matches!(
            Target::parse("tcp:192.0.2.1:6640"),
            Ok(Target::Tcp(_))
        ));
        assert!(matches!(
            Target::parse("ssl:[2001:db8::1]:6640"),
            Ok(Target::Ssl(_))
        ));
        for bad in ["", "unix:", "tcp:192.0.2.1", "ptcp:6640", "/run/vtep.sock"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
