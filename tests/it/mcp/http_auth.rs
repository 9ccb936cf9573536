//! SECURITY.md M1 over HTTP: every request's bearer token verified, 401 pointing at the RFC 9728
//! metadata, Origin allow-list, health check and graceful shutdown; the real server on port 0.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::support::{ALLOWED_ORIGIN, AUDIENCE, ISSUER, SECRET, Server, seed, token_for};
use crate::common::TestDb;

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn hs256(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("encode")
}

fn claims(sub: &str, iss: &str, aud: &str, exp: u64) -> Value {
    json!({"sub": sub, "iss": iss, "aud": aud, "iat": now(), "exp": exp, "jti": uuid::Uuid::now_v7().to_string()})
}

fn alg_none(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

fn list_tools() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string()
}

#[tokio::test]
async fn every_bad_token_gets_401_with_the_resource_metadata_challenge() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let server = Server::spawn(&t.db).await;
    let sub = a.tenant.id().to_string();
    let later = now() + 600;
    let cases = [
        ("no token", None),
        ("malformed", Some("not-a-jwt".to_owned())),
        (
            "alg=none",
            Some(alg_none(&claims(&sub, ISSUER, AUDIENCE, later))),
        ),
        (
            "wrong key",
            Some(hs256(
                &claims(&sub, ISSUER, AUDIENCE, later),
                "another-secret-0123456789abcdef0123",
            )),
        ),
        (
            "expired",
            Some(hs256(&claims(&sub, ISSUER, AUDIENCE, now() - 3600), SECRET)),
        ),
        (
            "wrong aud",
            Some(hs256(
                &claims(&sub, ISSUER, "some-other-api", later),
                SECRET,
            )),
        ),
        (
            "wrong iss",
            Some(hs256(
                &claims(&sub, "https://evil.example", AUDIENCE, later),
                SECRET,
            )),
        ),
    ];
    let metadata = format!(
        "http://{}/.well-known/oauth-protected-resource",
        server.addr
    );
    for (case, token) in cases {
        let res = server.post_raw(token.as_deref(), list_tools()).await;
        assert_eq!(res.status(), 401, "{case}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(challenge.starts_with("Bearer "), "{case}: {challenge}");
        assert!(
            challenge.contains(&format!("resource_metadata=\"{metadata}\"")),
            "{case}: {challenge}"
        );
        if token.is_some() {
            assert!(
                challenge.contains("error=\"invalid_token\""),
                "{case}: {challenge}"
            );
        }
        let body = res.text().await.expect("body");
        assert!(
            !body.contains(token.as_deref().unwrap_or("\u{0}")),
            "{case}: the token is echoed"
        );
    }
    let ok = server
        .post_raw(Some(&token_for(&a.tenant)), list_tools())
        .await;
    assert_eq!(ok.status(), 200, "a valid token still works");
}

#[tokio::test]
async fn the_protected_resource_metadata_names_the_resource_and_authorization_servers() {
    let t = TestDb::new().await;
    let server = Server::spawn(&t.db).await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let url = format!("http://{}{path}", server.addr);
        let res = server.client.get(url).send().await.expect("get");
        assert_eq!(res.status(), 200, "{path}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["resource"], format!("http://{}/mcp", server.addr));
        assert_eq!(
            body["authorization_servers"],
            json!(["https://auth.example.com"])
        );
        assert_eq!(body["bearer_methods_supported"], json!(["header"]));
    }
}

#[tokio::test]
async fn a_disallowed_origin_gets_403_and_an_allowed_one_is_served() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let server = Server::spawn(&t.db).await;
    let token = token_for(&a.tenant);
    for (origin, status) in [
        ("https://evil.example", 403),
        ("null", 403),
        (ALLOWED_ORIGIN, 200),
    ] {
        let res = server
            .client
            .post(&server.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-11-25")
            .header("Origin", origin)
            .bearer_auth(&token)
            .body(list_tools())
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), status, "{origin}");
    }
    let no_token = server
        .client
        .post(&server.url)
        .header("Origin", "https://evil.example");
    let res = no_token.body(list_tools()).send().await.expect("send");
    assert_eq!(res.status(), 403, "the Origin is checked before the token");
}

#[tokio::test]
async fn health_answers_and_the_server_shuts_down_gracefully() {
    let t = TestDb::new().await;
    let mut server = Server::spawn(&t.db).await;
    let res = server
        .client
        .get(format!("http://{}/healthz", server.addr))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    server.stop();
    let done = server.done.take().expect("running");
    let finished = tokio::time::timeout(std::time::Duration::from_secs(10), done).await;
    finished
        .expect("stops within 10 s")
        .expect("joins")
        .expect("serves cleanly");
    let after = server
        .client
        .get(format!("http://{}/healthz", server.addr))
        .send()
        .await;
    assert!(after.is_err(), "no longer listening");
}
