//! What every request meets first: a request id, the `Host` allow-list (against DNS rebinding),
//! the `Origin` allow-list with CORS for the configured origins, and the client's address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use uuid::Uuid;

use super::problem::Problem;

/// The request's id: the client's `X-Request-Id` when it is sane, else a new one; echoed on
/// the response and attached to every log line of the request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Lower case, without a trailing slash: how origins are compared.
pub fn normalise_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The edge's configuration, shared by its middleware.
#[derive(Debug, Clone, Default)]
pub struct Edge {
    /// Accepted `Host` values (`name` or `name:port`), lower case.
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call the server, normalised.
    pub allowed_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpRange>,
    /// The server's own origin (its public URL), normalised: the inbox pages' forms post from it.
    pub public_origin: Option<String>,
}

pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    if status.is_server_error() {
        span.in_scope(|| tracing::warn!(status = status.as_u16(), "request failed"));
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// Refuses a `Host` not on the list, and an `Origin` not on the list; answers CORS preflights
/// and marks responses for the allowed origins. Requests without `Origin` (not from a browser)
/// pass.
pub async fn host_and_origin(State(edge): State<Arc<Edge>>, req: Request, next: Next) -> Response {
    if !host_allowed(&edge, req.headers()) {
        tracing::warn!(host = ?req.headers().get(header::HOST), "refused a request for a host this server does not answer to");
        return Problem::forbidden("the Host header names no host this server answers to")
            .into_response();
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .map(|o| o.to_str().map(normalise_origin));
    let origin = match origin {
        None => return next.run(req).await,
        // The server's own pages (a form posting to its own origin) are not cross-origin.
        Some(Ok(o)) if is_own_origin(&edge, req.headers(), &o) => return next.run(req).await,
        Some(Ok(o)) if edge.allowed_origins.contains(&o) => o,
        Some(_) => {
            tracing::warn!(origin = ?req.headers().get(header::ORIGIN), "refused a request from a disallowed Origin");
            return Problem::forbidden("Origin is not allowed").into_response();
        }
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "authorization, content-type, idempotency-key, if-match, x-request-id, \
                 x-support-signature, mcp-protocol-version, mcp-session-id",
            ),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(req).await
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("etag, location, retry-after, x-request-id"),
    );
    h.append(header::VARY, HeaderValue::from_static("origin"));
    response
}

/// True when `origin` is this server's own: its public URL's, or the scheme and `Host` of the
/// request itself (a `Host` already on the allow-list).
fn is_own_origin(edge: &Edge, headers: &HeaderMap, origin: &str) -> bool {
    if edge.public_origin.as_deref() == Some(origin) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest == host)
}

fn host_allowed(edge: &Edge, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let host = host.trim().to_ascii_lowercase();
    let bare = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') => {
            name.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned()
        }
        _ => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    };
    edge.allowed_hosts
        .iter()
        .any(|a| *a == host || a.trim_start_matches('[').trim_end_matches(']') == bare)
}

/// An address range, `10.0.0.0/8` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{raw}' is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{raw}' has an invalid prefix length"))?,
        };
        Ok(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> Option<(u128, u8)> {
            match ip {
                IpAddr::V4(v) => Some((u128::from(u32::from(v)), 32)),
                IpAddr::V6(v) => match v.to_ipv4_mapped() {
                    Some(v4) => Some((u128::from(u32::from(v4)), 32)),
                    None => Some((u128::from(v), 128)),
                },
            }
        };
        let (Some((a, width)), Some((b, width_b))) = (bits(self.addr), bits(ip)) else {
            return false;
        };
        if width != width_b {
            return false;
        }
        let shift = u32::from(width - self.prefix.min(width));
        a.checked_shr(shift) == b.checked_shr(shift)
    }
}

/// The client's address: the peer's, or — when the peer is a trusted proxy — the last address in
/// `X-Forwarded-For` that is not one of the trusted proxies.
pub fn client_ip(
    edge: &Edge,
    peer: Option<&ConnectInfo<SocketAddr>>,
    headers: &HeaderMap,
) -> IpAddr {
    let peer = peer.map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let trusted = |ip: IpAddr| edge.trusted_proxies.iter().any(|r| r.contains(ip));
    if !trusted(peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted(*ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let edge = Edge {
            trusted_proxies: vec![IpRange::parse("10.0.0.0/8").expect("range")],
            ..Edge::default()
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 10.1.1.1"),
        );
        let via = |ip: [u8; 4]| ConnectInfo(SocketAddr::from((ip, 9000)));
        assert_eq!(
            client_ip(&edge, Some(&via([10, 0, 0, 1])), &headers),
            IpAddr::from([1, 2, 3, 4])
        );
        assert_eq!(
            client_ip(&edge, Some(&via([8, 8, 8, 8])), &headers),
            IpAddr::from([8, 8, 8, 8]),
            "an untrusted peer cannot choose its address"
        );
        assert!(IpRange::parse("10.0.0.0/33").is_err());
        assert!(
            IpRange::parse("::1")
                .expect("v6")
                .contains("::1".parse().expect("ip"))
        );
    }
}
