//! Key material: the HS256 secret and PEM keys named by `kid`, each pinned to one algorithm.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::config::SettingError;

/// Shortest HS256 secret accepted (SECURITY.md J3).
pub const MIN_SECRET_BYTES: usize = 32;

/// A verification key and the only algorithm it may be used with (SECURITY.md J1).
pub struct PinnedKey {
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// Parses `KID=ALG:PATH[,KID=ALG:PATH…]` into public keys by kid.
pub fn parse_public_keys(spec: &str) -> Result<HashMap<String, PinnedKey>, SettingError> {
    let mut keys = HashMap::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (kid, alg, pem) = read_spec("JWT_PUBLIC_KEYS", entry)?;
        let key = match alg {
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
            _ => DecodingKey::from_rsa_pem(&pem),
        }
        .map_err(|e| invalid("JWT_PUBLIC_KEYS", format!("key {kid}: {e}")))?;
        keys.insert(kid, PinnedKey { alg, key });
    }
    Ok(keys)
}

/// Parses `KID=ALG:PATH` into a private signing key.
pub fn parse_signing_key(spec: &str) -> Result<(String, Algorithm, EncodingKey), SettingError> {
    let (kid, alg, pem) = read_spec("JWT_SIGNING_KEY", spec.trim())?;
    let key = match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .map_err(|e| invalid("JWT_SIGNING_KEY", format!("key {kid}: {e}")))?;
    Ok((kid, alg, key))
}

fn read_spec(
    name: &'static str,
    entry: &str,
) -> Result<(String, Algorithm, Vec<u8>), SettingError> {
    let (kid, rest) = entry
        .split_once('=')
        .ok_or_else(|| invalid(name, format!("'{entry}' is not KID=ALG:PATH")))?;
    let (alg, path) = rest
        .split_once(':')
        .ok_or_else(|| invalid(name, format!("'{entry}' is not KID=ALG:PATH")))?;
    let alg = match alg {
        "EdDSA" => Algorithm::EdDSA,
        "RS256" => Algorithm::RS256,
        other => {
            return Err(invalid(
                name,
                format!("algorithm {other} is not EdDSA or RS256"),
            ));
        }
    };
    if kid.is_empty() {
        return Err(invalid(name, "a key id (kid) must not be empty"));
    }
    let pem = std::fs::read(path).map_err(|e| invalid(name, format!("cannot read {path}: {e}")))?;
    Ok((kid.to_owned(), alg, pem))
}

fn invalid(name: &'static str, reason: impl Into<String>) -> SettingError {
    SettingError::Invalid {
        name,
        reason: reason.into(),
    }
}
