//! The `t.body` HMAC-SHA256 signature scheme shared by the intake webhook
//! (`channels::signature`) and Stripe's webhooks (`stripe::webhooks::signature`):
//! `hex(HMAC-SHA256(secret, t + "." + body))`, with the secret used whole as the key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub type HmacSha256 = Hmac<Sha256>;

/// The MAC of `t + "." + body` under `secret`, to finalise or to verify against.
pub fn mac_for(secret: &str, t: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `hex(HMAC-SHA256(secret, t + "." + body))`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    hex(&mac_for(secret, t, body).finalize().into_bytes())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string of at most `max_bytes` bytes; `None` for anything else.
pub fn hex_decode(s: &str, max_bytes: usize) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 2 * max_bytes {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_odd_long_or_non_hex_strings() {
        assert_eq!(hex(&[0, 1, 0xab, 0xff]), "0001abff");
        assert_eq!(hex_decode("0001abff", 4), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(hex_decode("0001abff", 3), None);
        assert_eq!(hex_decode("abc", 4), None);
        assert_eq!(hex_decode("zz", 4), None);
        assert_eq!(sign("k", 1, b"x").len(), 64);
    }
}
