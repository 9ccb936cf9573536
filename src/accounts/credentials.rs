//! Opaque credentials that carry their tenant: `sa_<user_id>_<secret>` (API keys) and
//! `rt_<user_id>_<secret>` (refresh tokens).
//!
//! The user id lets a credential be checked inside its tenant's own transaction, before any
//! tenant is known and without the owner role; the secret is 32 random bytes, and only its
//! SHA-256 is stored, so a database dump holds nothing that authenticates.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Secret;

/// Which kind of opaque credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ApiKey,
    Refresh,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Self::ApiKey => "sa",
            Self::Refresh => "rt",
        }
    }
}

/// A credential as presented: whose it claims to be, and the digest to look it up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented {
    pub user_id: Uuid,
    pub hash: [u8; 32],
}

/// A new credential: the text to hand out once, its digest, and the part safe to show later.
#[derive(Debug)]
pub struct Minted {
    pub token: Secret,
    pub hash: [u8; 32],
    /// `sa_0190f1f48e3a…_Xy12`: enough to recognise it, nothing to use.
    pub prefix: String,
}

/// Makes a credential of `kind` for `user_id`.
pub fn mint(kind: Kind, user_id: Uuid) -> Minted {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let user = user_id.simple().to_string();
    let token = format!("{}_{user}_{secret}", kind.prefix());
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Minted {
        hash: digest(&token),
        prefix: format!("{}_{}…_{tail}", kind.prefix(), &user[..12]),
        token: Secret::new(token),
    }
}

/// Reads a presented credential of `kind`; `None` when it is not one (the caller answers 401).
pub fn parse(kind: Kind, raw: &str) -> Option<Presented> {
    let raw = raw.trim();
    let mut parts = raw.splitn(3, '_');
    let (prefix, user, secret) = (parts.next()?, parts.next()?, parts.next()?);
    if prefix != kind.prefix() || user.len() != 32 || secret.len() != 43 || raw.len() > 100 {
        return None;
    }
    let user_id = Uuid::try_parse(user).ok()?;
    URL_SAFE_NO_PAD
        .decode(secret)
        .ok()
        .filter(|b| b.len() == 32)?;
    Some(Presented {
        user_id,
        hash: digest(raw),
    })
}

/// True when `raw` looks like an API key (so that a bearer is not tried as a JWT).
pub fn is_api_key(raw: &str) -> bool {
    raw.trim_start().starts_with("sa_")
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_credential_parses_back_to_its_user_and_digest() {
        let user = Uuid::now_v7();
        for kind in [Kind::ApiKey, Kind::Refresh] {
            let m = mint(kind, user);
            let p = parse(kind, m.token.expose()).expect("parses");
            assert_eq!((p.user_id, p.hash), (user, m.hash));
            assert!(
                !m.prefix.contains(&m.token.expose()[20..]),
                "the prefix hides the secret"
            );
        }
        let key = mint(Kind::ApiKey, user);
        assert!(
            parse(Kind::Refresh, key.token.expose()).is_none(),
            "kinds do not mix"
        );
        assert!(is_api_key(key.token.expose()));
    }

    #[test]
    fn malformed_credentials_are_refused() {
        let good = mint(Kind::ApiKey, Uuid::now_v7());
        let t = good.token.expose();
        for bad in [
            "",
            "sa_",
            "sa_x_y",
            &t[..t.len() - 1],
            &format!("{t}A"),
            &t.replacen("sa_", "xx_", 1),
            "sa_0190f1f48e3a7c1e9d2b5a6f7e8d9c0b_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(parse(Kind::ApiKey, bad).is_none(), "{bad:?}");
        }
    }
}
