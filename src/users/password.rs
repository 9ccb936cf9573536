//! argon2id password hashing (SECURITY.md J3), off the async runtime's threads.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::StoreError;
use crate::config::Secret;

/// Longest password accepted: argon2 takes any length, but an unbounded one is a cheap DoS.
pub const MAX_PASSWORD: usize = 1024;

/// Hashes with argon2id and its recommended parameters, in the PHC string format.
pub async fn hash_password(password: &Secret) -> Result<String, StoreError> {
    let len = password.expose().chars().count();
    if !(8..=MAX_PASSWORD).contains(&len) {
        return Err(StoreError::invalid(
            "password",
            format!("must have 8 to {MAX_PASSWORD} characters"),
        ));
    }
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::invalid("password", e.to_string()))
    })
    .await
    .map_err(|e| StoreError::invalid("password", e.to_string()))?
}

/// Checks a password against a stored PHC hash; a malformed hash verifies nothing.
pub async fn verify_password_hash(password: &Secret, hash: &str) -> bool {
    let (password, hash) = (password.clone(), hash.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}
