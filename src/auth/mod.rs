//! JSON Web Tokens (RFC 8725; SECURITY.md J1–J3): the only way a request becomes a [`Tenant`].

mod keys;

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use keys::MIN_SECRET_BYTES;
use keys::PinnedKey;

use crate::Tenant;
use crate::config::{JwtSettings, SettingError};

/// The claims this service issues and requires.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// `users.id` of the tenant.
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
}

/// Why a token was refused. The messages are safe to show a client; none echoes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not allowed for its key")]
    AlgorithmNotAllowed,
    #[error("the token names an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was not issued by this service's issuer")]
    WrongIssuer,
    #[error("the token is not meant for this server (audience)")]
    WrongAudience,
    #[error("the token lacks the {0} claim")]
    MissingClaim(String),
    #[error("the token's subject is not a user id")]
    BadSubject,
}

/// Verifies and issues tokens with keys pinned from configuration; the token's own `alg` is only
/// compared against the key's pinned algorithm, never trusted.
pub struct JwtAuth {
    issuer: String,
    audience: String,
    secret: Option<(EncodingKey, DecodingKey)>,
    public_keys: HashMap<String, PinnedKey>,
    signing_key: Option<(String, Algorithm, EncodingKey)>,
}

impl JwtAuth {
    pub fn from_settings(s: &JwtSettings) -> Result<Self, SettingError> {
        let secret = match &s.jwt_secret {
            Some(secret) if secret.expose().len() < MIN_SECRET_BYTES => {
                return Err(SettingError::Invalid {
                    name: "JWT_SECRET",
                    reason: format!("must be at least {MIN_SECRET_BYTES} bytes of random data"),
                });
            }
            Some(secret) => Some((
                EncodingKey::from_secret(secret.expose().as_bytes()),
                DecodingKey::from_secret(secret.expose().as_bytes()),
            )),
            None => None,
        };
        let public_keys = keys::parse_public_keys(&s.jwt_public_keys)?;
        let signing_key = s
            .jwt_signing_key
            .as_deref()
            .filter(|k| !k.trim().is_empty())
            .map(keys::parse_signing_key)
            .transpose()?;
        if secret.is_none() && public_keys.is_empty() {
            return Err(SettingError::Missing("JWT_SECRET"));
        }
        for (name, value) in [
            ("JWT_ISSUER", &s.jwt_issuer),
            ("JWT_AUDIENCE", &s.jwt_audience),
        ] {
            if value.trim().is_empty() {
                return Err(SettingError::Invalid {
                    name,
                    reason: "must not be empty".into(),
                });
            }
        }
        Ok(Self {
            issuer: s.jwt_issuer.clone(),
            audience: s.jwt_audience.clone(),
            secret,
            public_keys,
            signing_key,
        })
    }

    /// The audience tokens must name: this server.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Verifies signature, algorithm, `exp`, `iss`, `aud` and `sub`, and yields the tenant.
    pub fn verify(&self, token: &str) -> Result<Tenant, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        let (alg, key) = match header.kid.as_deref() {
            Some(kid) => {
                let pinned = self.public_keys.get(kid).ok_or(AuthError::UnknownKey)?;
                (pinned.alg, &pinned.key)
            }
            None => {
                let (_, key) = self.secret.as_ref().ok_or(AuthError::UnknownKey)?;
                (Algorithm::HS256, key)
            }
        };
        if header.alg != alg {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
            match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::MissingRequiredClaim(c) => AuthError::MissingClaim(c.clone()),
                ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                    AuthError::AlgorithmNotAllowed
                }
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                // A claim of the wrong type (e.g. no `sub` string) fails deserialising.
                ErrorKind::Json(_) => AuthError::MissingClaim("sub".into()),
                _ => AuthError::Malformed,
            }
        })?;
        let user_id = Uuid::parse_str(&data.claims.sub).map_err(|_| AuthError::BadSubject)?;
        Ok(Tenant::from_verified_subject(user_id))
    }

    /// Issues a token for `user_id` valid for `ttl`, signed with the configured private key when
    /// there is one, else with the HS256 secret.
    pub fn issue(&self, user_id: Uuid, ttl: Duration) -> Result<String, SettingError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + ttl.as_secs(),
        };
        let (header, key) = match (&self.signing_key, &self.secret) {
            (Some((kid, alg, key)), _) => {
                let mut header = Header::new(*alg);
                header.kid = Some(kid.clone());
                (header, key)
            }
            (None, Some((key, _))) => (Header::new(Algorithm::HS256), key),
            (None, None) => return Err(SettingError::Missing("JWT_SECRET")),
        };
        jsonwebtoken::encode(&header, &claims, key).map_err(|e| SettingError::Invalid {
            name: "JWT_SIGNING_KEY",
            reason: e.to_string(),
        })
    }
}
