//! Which addresses a tenant's mail servers may have: public ones, unless the operator allows
//! private ones (`EMAIL_ALLOW_PRIVATE_HOSTS`). The address checked is the one connected to, so a
//! name that resolves differently a second later (DNS rebinding) gains nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long a name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a host cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HostError {
    #[error(
        "{host} resolves to {addr}, a private, loopback or link-local address: refused (an \
         operator may allow it with EMAIL_ALLOW_PRIVATE_HOSTS=true)"
    )]
    Private { host: String, addr: IpAddr },
    #[error("{host} does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
}

/// The address to connect to for `host:port`: its first address, when every address it
/// resolves to is public (or private ones are allowed).
pub async fn resolve(host: &str, port: u16, allow_private: bool) -> Result<SocketAddr, HostError> {
    let unresolved = |reason: String| HostError::Unresolved {
        host: host.to_owned(),
        reason,
    };
    let lookup = tokio::net::lookup_host((host, port));
    let addrs: Vec<SocketAddr> = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
        .await
        .map_err(|_| unresolved(format!("no answer within {RESOLVE_TIMEOUT:?}")))?
        .map_err(|e| unresolved(e.to_string()))?
        .collect();
    let first = *addrs
        .first()
        .ok_or_else(|| unresolved("no address".into()))?;
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(HostError::Private {
            host: host.to_owned(),
            addr: bad.ip(),
        });
    }
    Ok(first)
}

/// False for loopback, private, link-local, shared (CGNAT), unspecified, broadcast, multicast,
/// documentation and unique-local addresses, and IPv4 addresses written as IPv6.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..=19).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || first == 0x0064 && ip.segments()[1] == 0xff9b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_private_and_link_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn a_loopback_name_is_refused_unless_private_hosts_are_allowed() {
        let refused = resolve("localhost", 25, false).await;
        assert!(
            matches!(refused, Err(HostError::Private { .. })),
            "{refused:?}"
        );
        let allowed = resolve("127.0.0.1", 25, true).await.expect("allowed");
        assert!(allowed.ip().is_loopback());
    }
}
