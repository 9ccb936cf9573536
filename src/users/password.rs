//! argon2id password hashing (SECURITY.md J3), off the async runtime's threads.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::StoreError;
use crate::config::Secret;

/// Shortest password accepted (SECURITY.md W1).
pub const MIN_PASSWORD: usize = 10;
/// Longest password accepted: argon2 takes any length, but an unbounded one is a cheap DoS.
pub const MAX_PASSWORD: usize = 256;

/// The password rules: 10 to 256 characters, and neither the account's email nor its name.
pub fn check_policy(password: &Secret, name: &str, email: &str) -> Result<(), StoreError> {
    let p = password.expose();
    let len = p.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&len) {
        return Err(StoreError::invalid(
            "password",
            format!("must have {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
    let same = |other: &str| p.trim().eq_ignore_ascii_case(other.trim());
    if same(email) || same(name) {
        return Err(StoreError::invalid(
            "password",
            "must not be the account's email address or name",
        ));
    }
    Ok(())
}

/// A hash of a password nobody knows, with the same parameters as real ones: login verifies
/// against it when the email is unknown, so that an unknown email and a wrong password take the
/// same time (SECURITY.md W1).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let salt = SaltString::generate(&mut OsRng);
        let mut random = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut random);
        Argon2::default()
            .hash_password(&random, &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    });
    &DUMMY
}

/// Hashes with argon2id and its recommended parameters, in the PHC string format.
pub async fn hash_password(password: &Secret) -> Result<String, StoreError> {
    let len = password.expose().chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&len) {
        return Err(StoreError::invalid(
            "password",
            format!("must have {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
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
