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
    /// Not valid before (validated when present; issued tokens carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The token's own id, by which it is revoked (required).
    pub jti: String,
    /// The session it was issued from (a login); absent for operator-issued tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// A token whose signature and claims check out. Whether it has been revoked, or its user
/// deleted, is the database's to say (`accounts::revocations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub tenant: Tenant,
    pub jti: Uuid,
    pub sid: Option<Uuid>,
    /// Seconds since the epoch.
    pub issued_at: u64,
    pub expires_at: u64,
}

/// A token just signed, with what its holder needs to know about it.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub token: String,
    pub jti: Uuid,
    pub expires_at: chrono::DateTime<chrono::Utc>,
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
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token has been revoked")]
    Revoked,
    #[error("the token's user no longer exists")]
    UnknownUser,
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

    /// Verifies signature, algorithm, `exp`, `nbf`, `iss`, `aud`, `sub` and `jti`.
    pub fn verify(&self, token: &str) -> Result<Verified, AuthError> {
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
        validation.validate_nbf = true;
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
            match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::MissingRequiredClaim(c) => AuthError::MissingClaim(c.clone()),
                ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                    AuthError::AlgorithmNotAllowed
                }
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                // A claim missing or of the wrong type (no `sub` or `jti` string) fails
                // deserialising.
                ErrorKind::Json(e) if e.to_string().contains("jti") => {
                    AuthError::MissingClaim("jti".into())
                }
                ErrorKind::Json(_) => AuthError::MissingClaim("sub".into()),
                _ => AuthError::Malformed,
            }
        })?;
        let c = data.claims;
        let user_id = Uuid::parse_str(&c.sub).map_err(|_| AuthError::BadSubject)?;
        let jti = Uuid::parse_str(&c.jti).map_err(|_| AuthError::Malformed)?;
        let sid = c
            .sid
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|_| AuthError::Malformed)?;
        Ok(Verified {
            tenant: Tenant::from_verified_subject(user_id),
            jti,
            sid,
            issued_at: c.iat,
            expires_at: c.exp,
        })
    }

    /// Issues a token for `user_id` valid for `ttl`, from session `sid` when a login made it,
    /// signed with the configured private key when there is one, else with the HS256 secret.
    pub fn issue(
        &self,
        user_id: Uuid,
        ttl: Duration,
        sid: Option<Uuid>,
    ) -> Result<IssuedToken, SettingError> {
        let now = jsonwebtoken::get_current_timestamp();
        let jti = Uuid::now_v7();
        let exp = now + ttl.as_secs();
        let claims = Claims {
            sub: user_id.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: Some(now),
            exp,
            jti: jti.to_string(),
            sid: sid.map(|s| s.to_string()),
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
        let token =
            jsonwebtoken::encode(&header, &claims, key).map_err(|e| SettingError::Invalid {
                name: "JWT_SIGNING_KEY",
                reason: e.to_string(),
            })?;
        let expires_at =
            chrono::DateTime::from_timestamp(i64::try_from(exp).unwrap_or(i64::MAX), 0)
                .unwrap_or_else(chrono::Utc::now);
        Ok(IssuedToken {
            token,
            jti,
            expires_at,
        })
    }
}
