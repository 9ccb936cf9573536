//! Stripe's `Stripe-Signature` header (SECURITY.md W4): `t=<unix>,v1=<hex>[,v1=<hex>…]`, where
//! each `v1` is `hex(HMAC-SHA256(secret, t + "." + body))` under one of the endpoint's signing
//! secrets (`whsec_…`, used whole as the key, as Stripe's own libraries do). During a rotation
//! Stripe signs with every secret still valid, so any `v1` matching any of our secrets passes.
//! The timestamp must be within five minutes of the server's clock; digests are compared in
//! constant time (`Mac::verify_slice`).

use hmac::Mac;

use crate::config::Secret;
use crate::signing::{hex_decode, mac_for};

/// The header Stripe signs with.
pub const HEADER: &str = "stripe-signature";
/// How far the signature's timestamp may be from the server's clock, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused. Each is a `400`, as Stripe expects; none says which secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed: expected t=<unix>,v1=<hex>")]
    Malformed,
    #[error("the signature's timestamp is more than 5 minutes from the server's clock")]
    Stale,
    #[error("no signature matches this endpoint's signing secret")]
    Mismatch,
}

/// A parsed header: the timestamp and every `v1` signature (other schemes are ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub t: i64,
    pub v1: Vec<Vec<u8>>,
}

/// Parses `t=…,v1=…` (several `v1`, and `v0` or other schemes, are allowed).
pub fn parse(value: &str) -> Result<Header, SignatureError> {
    let (mut t, mut v1) = (None, Vec::new());
    for part in value.split(',') {
        let Some((name, val)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed);
        };
        match name.trim() {
            "t" => t = Some(val.trim().parse().map_err(|_| SignatureError::Malformed)?),
            "v1" => {
                if let Some(sig) = hex_decode(val.trim(), 32).filter(|sig| sig.len() == 32) {
                    v1.push(sig);
                }
            }
            _ => {}
        }
        if v1.len() > 16 {
            return Err(SignatureError::Malformed);
        }
    }
    match t {
        Some(t) if !v1.is_empty() => Ok(Header { t, v1 }),
        _ => Err(SignatureError::Malformed),
    }
}

/// Checks `header` against `body` and `secrets` at the time `now` (unix seconds).
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[Secret],
    now: i64,
) -> Result<(), SignatureError> {
    let h = parse(header.ok_or(SignatureError::Missing)?)?;
    if (now - h.t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    // Every pair is tried (no early exit on the first secret) so that the time taken does not
    // tell which secret, if any, came close.
    let mut matched = false;
    for secret in secrets {
        let mac = mac_for(secret.expose(), h.t, body);
        for sig in &h.v1 {
            matched |= mac.clone().verify_slice(sig).is_ok();
        }
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// `hex(HMAC-SHA256(secret, t + "." + body))`.
pub use crate::signing::sign;

/// A whole header value as Stripe sends it, signed with each of `secrets` (tests, benchmarks).
pub fn header_value(secrets: &[&str], t: i64, body: &[u8]) -> String {
    let mut out = format!("t={t}");
    for s in secrets {
        out.push_str(",v1=");
        out.push_str(&sign(s, t, body));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn secrets(s: &[&str]) -> Vec<Secret> {
        s.iter().map(|s| Secret::new(*s)).collect()
    }

    #[test]
    fn a_signature_of_any_current_secret_passes_within_the_tolerance() {
        let body = br#"{"id":"evt_1"}"#;
        let header = header_value(&["whsec_new"], NOW, body);
        let both = secrets(&["whsec_old", "whsec_new"]);
        assert_eq!(verify(Some(&header), body, &both, NOW + 299), Ok(()));
        // Stripe signing with two secrets during a rotation, we knowing one of them.
        let rotating = header_value(&["whsec_old", "whsec_new"], NOW, body);
        assert_eq!(
            verify(Some(&rotating), body, &secrets(&["whsec_old"]), NOW),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_secret_a_stale_time_or_a_changed_byte_is_refused() {
        let body = br#"{"id":"evt_1"}"#;
        let ours = secrets(&["whsec_ours"]);
        let header = header_value(&["whsec_ours"], NOW, body);
        let other = header_value(&["whsec_theirs"], NOW, body);
        assert_eq!(
            verify(Some(&other), body, &ours, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&header), body, &ours, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header), body, &ours, NOW - 301),
            Err(SignatureError::Stale)
        );
        let mut changed = body.to_vec();
        changed[3] ^= 1;
        assert_eq!(
            verify(Some(&header), &changed, &ours, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(None, body, &ours, NOW), Err(SignatureError::Missing));
        assert_eq!(
            verify(Some(&header), body, &[], NOW),
            Err(SignatureError::Mismatch)
        );
        for bad in ["", "t=x,v1=00", "v1=00", "t=1", "garbage"] {
            assert!(verify(Some(bad), body, &ours, NOW).is_err(), "{bad:?}");
        }
    }
}
