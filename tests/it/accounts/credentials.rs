//! Every kind of bad credential answers 401, on the REST API and on MCP alike.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::{Api, PASSWORD, access};
use crate::common::TestDb;
use crate::mcp::support::{AUDIENCE, ISSUER, SECRET};

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn signed(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

fn claims(sub: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 600,
           "jti": Uuid::now_v7().to_string()})
}

#[tokio::test]
async fn expired_forged_unsigned_misaddressed_early_and_orphaned_tokens_are_refused() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    let tokens = api.register("victim@acme.test").await;
    let sub = tokens["user"]["id"].as_str().expect("id").to_owned();
    let mut expired = claims(&sub);
    expired["exp"] = json!(now() - 120);
    let mut other_audience = claims(&sub);
    other_audience["aud"] = json!("someone-else");
    let mut early = claims(&sub);
    early["nbf"] = json!(now() + 3600);
    let mut no_jti = claims(&sub);
    no_jti.as_object_mut().expect("object").remove("jti");
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims(&sub).to_string());
    let unsigned = format!("{header}.{body}.");
    let bad = [
        ("expired", signed(&expired, SECRET)),
        (
            "forged",
            signed(&claims(&sub), "another-secret-0123456789abcdef-0123"),
        ),
        ("alg=none", unsigned),
        ("other audience", signed(&other_audience, SECRET)),
        ("not yet valid", signed(&early, SECRET)),
        ("without jti", signed(&no_jti, SECRET)),
        (
            "unknown user",
            signed(&claims(&Uuid::now_v7().to_string()), SECRET),
        ),
        ("garbage", "not-a-token".to_owned()),
    ];
    for (what, token) in &bad {
        let rest = api.get("/me", token).await;
        assert_eq!(
            rest.status,
            StatusCode::UNAUTHORIZED,
            "{what} over REST: {}",
            rest.text
        );
        assert_eq!(
            rest.headers["content-type"].to_str().expect("ascii"),
            "application/problem+json"
        );
        let (status, _) = api.mcp(token, "list_tickets", json!({})).await;
        assert_eq!(status, 401, "{what} over MCP");
    }
    // A token whose user has since been deleted.
    let live = access(&tokens);
    let deleted = api
        .send(
            Method::DELETE,
            "/me",
            Some(&live),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(api.get("/me", &live).await.status, StatusCode::UNAUTHORIZED);
    let (status, _) = api.mcp(&live, "list_tickets", json!({})).await;
    assert_eq!(status, 401, "a deleted user's token over MCP");
}
