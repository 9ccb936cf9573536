//! SECURITY.md J1–J3: algorithms pinned per key, every required claim checked.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support_agent::auth::{AuthError, JwtAuth};
use support_agent::config::{JwtSettings, Secret, SettingError};
use uuid::Uuid;

const SECRET: &str = "0123456789abcdef0123456789abcdef-test-only";
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");

fn settings() -> JwtSettings {
    JwtSettings {
        jwt_secret: Some(Secret::new(SECRET)),
        jwt_issuer: "support-agent".into(),
        jwt_audience: "support-agent-mcp".into(),
        jwt_public_keys: format!("ed1=EdDSA:{KEYS}/ed25519.pub.pem,rsa1=RS256:{KEYS}/rsa.pub.pem"),
        jwt_signing_key: None,
        token_max_ttl: std::time::Duration::from_secs(90 * 86_400),
    }
}

fn auth() -> JwtAuth {
    JwtAuth::from_settings(&settings()).expect("settings")
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(user: Uuid) -> Value {
    json!({"sub": user.to_string(), "iss": "support-agent", "aud": "support-agent-mcp", "iat": now(), "exp": now() + 600, "jti": Uuid::now_v7().to_string()})
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("encode")
}

fn with_kid(alg: Algorithm, kid: &str, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, key).expect("encode")
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).expect("fixture key")
}

#[test]
fn a_valid_token_of_each_key_kind_yields_its_tenant() {
    let user = Uuid::now_v7();
    let auth = auth();
    let hs = hs256(&claims(user), SECRET.as_bytes());
    let ed = with_kid(
        Algorithm::EdDSA,
        "ed1",
        &claims(user),
        &EncodingKey::from_ed_pem(&pem("ed25519.pem")).expect("ed key"),
    );
    let rs = with_kid(
        Algorithm::RS256,
        "rsa1",
        &claims(user),
        &EncodingKey::from_rsa_pem(&pem("rsa.pem")).expect("rsa key"),
    );
    for token in [hs, ed, rs] {
        assert_eq!(auth.verify(&token).expect("valid").tenant.id(), user);
    }
}

#[test]
fn issued_tokens_verify_and_carry_every_required_claim() {
    let user = Uuid::now_v7();
    let auth = auth();
    let token = auth
        .issue(user, Duration::from_secs(3600), None)
        .expect("issue")
        .token;
    assert_eq!(auth.verify(&token).expect("valid").tenant.id(), user);
    let mut s = settings();
    s.jwt_signing_key = Some(format!("ed1=EdDSA:{KEYS}/ed25519.pem"));
    let signed = JwtAuth::from_settings(&s)
        .expect("settings")
        .issue(user, Duration::from_secs(60), None)
        .expect("issue")
        .token;
    assert_eq!(
        auth.verify(&signed)
            .expect("EdDSA token verifies")
            .tenant
            .id(),
        user
    );
}

#[test]
fn alg_none_is_rejected() {
    let user = Uuid::now_v7();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims(user).to_string());
    for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert!(auth().verify(&token).is_err(), "alg=none accepted: {token}");
    }
}

#[test]
fn an_hs256_token_signed_with_the_rsa_public_key_is_rejected() {
    // The classic confusion: the attacker uses the public key as an HMAC secret.
    let token = with_kid(
        Algorithm::HS256,
        "rsa1",
        &claims(Uuid::now_v7()),
        &EncodingKey::from_secret(&pem("rsa.pub.pem")),
    );
    assert_eq!(auth().verify(&token), Err(AuthError::AlgorithmNotAllowed));
    // And an RS256 token presented without a kid is checked against the HS256 secret's pin.
    let rs = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims(Uuid::now_v7()),
        &EncodingKey::from_rsa_pem(&pem("rsa.pem")).expect("rsa key"),
    )
    .expect("encode");
    assert_eq!(auth().verify(&rs), Err(AuthError::AlgorithmNotAllowed));
}

#[test]
fn a_token_signed_with_another_key_is_rejected() {
    let token = hs256(
        &claims(Uuid::now_v7()),
        b"another-secret-of-at-least-32-bytes!!",
    );
    assert_eq!(auth().verify(&token), Err(AuthError::BadSignature));
    let unknown = with_kid(
        Algorithm::EdDSA,
        "nope",
        &claims(Uuid::now_v7()),
        &EncodingKey::from_ed_pem(&pem("ed25519.pem")).expect("key"),
    );
    assert_eq!(auth().verify(&unknown), Err(AuthError::UnknownKey));
}

#[test]
fn expired_tokens_are_rejected() {
    let mut c = claims(Uuid::now_v7());
    c["exp"] = json!(now() - 3600);
    assert_eq!(
        auth().verify(&hs256(&c, SECRET.as_bytes())),
        Err(AuthError::Expired)
    );
}

#[test]
fn a_wrong_issuer_or_audience_is_rejected() {
    let mut c = claims(Uuid::now_v7());
    c["iss"] = json!("someone-else");
    assert_eq!(
        auth().verify(&hs256(&c, SECRET.as_bytes())),
        Err(AuthError::WrongIssuer)
    );
    let mut c = claims(Uuid::now_v7());
    c["aud"] = json!("another-server");
    assert_eq!(
        auth().verify(&hs256(&c, SECRET.as_bytes())),
        Err(AuthError::WrongAudience)
    );
}

#[test]
fn missing_claims_are_rejected() {
    for claim in ["sub", "iss", "aud", "exp"] {
        let mut c = claims(Uuid::now_v7());
        c.as_object_mut().expect("object").remove(claim);
        let err = auth()
            .verify(&hs256(&c, SECRET.as_bytes()))
            .expect_err(claim);
        assert!(
            matches!(err, AuthError::MissingClaim(_)),
            "{claim}: {err:?}"
        );
    }
    let mut c = claims(Uuid::now_v7());
    c["sub"] = json!("not-a-uuid");
    assert_eq!(
        auth().verify(&hs256(&c, SECRET.as_bytes())),
        Err(AuthError::BadSubject)
    );
}

#[test]
fn garbage_is_malformed() {
    for token in ["", "abc", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30"] {
        assert!(auth().verify(token).is_err(), "{token:?}");
    }
}

#[test]
fn short_hs256_secrets_are_refused_at_start() {
    let mut s = settings();
    s.jwt_secret = Some(Secret::new("too-short"));
    assert!(matches!(
        JwtAuth::from_settings(&s),
        Err(SettingError::Invalid {
            name: "JWT_SECRET",
            ..
        })
    ));
    let mut s = settings();
    s.jwt_public_keys = "bad=HS256:/etc/hostname".into();
    assert!(
        JwtAuth::from_settings(&s).is_err(),
        "only EdDSA and RS256 keys by kid"
    );
}
