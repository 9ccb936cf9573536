//! Register → login → refresh → logout, sessions and API keys, each step asserted.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::support::{Api, PASSWORD, access, refresh};
use crate::common::TestDb;

#[tokio::test]
async fn register_login_refresh_and_logout_each_do_what_they_say() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    let registered = api.register(" Owner@Acme.TEST ").await;
    assert_eq!(registered["token_type"], "Bearer");
    assert_eq!(registered["expires_in"], 900, "15 minutes");
    assert_eq!(registered["user"]["email"], "owner@acme.test", "normalised");
    assert!(refresh(&registered).starts_with("rt_"));
    let me = api.get("/me", &access(&registered)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], registered["user"]["id"]);

    let login = api
        .post(
            "/auth/login",
            None,
            json!({"email": "owner@acme.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    let tokens = login.body;
    assert_eq!(tokens["user"], registered["user"]);

    let renewed = api
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": refresh(&tokens)}),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.text);
    assert_ne!(refresh(&renewed.body), refresh(&tokens), "rotated");
    let fresh = access(&renewed.body);
    assert_eq!(api.get("/me", &fresh).await.status, StatusCode::OK);

    let out = api.post("/auth/logout", Some(&fresh), json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/me", &fresh).await.status,
        StatusCode::UNAUTHORIZED,
        "logout stops the access token on the next request"
    );
    assert_eq!(
        api.get("/me", &access(&tokens)).await.status,
        StatusCode::UNAUTHORIZED,
        "and every other access token of that session"
    );
    let again = api
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": refresh(&renewed.body)}),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "its refresh token too"
    );
    assert_eq!(
        api.get("/me", &access(&registered)).await.status,
        StatusCode::OK,
        "the registration's own session is another one"
    );
}

#[tokio::test]
async fn a_refresh_token_used_twice_ends_its_whole_session() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    let first = api.register("reuse@acme.test").await;
    let second = api
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": refresh(&first)}),
        )
        .await
        .body;
    // An attacker replays the first refresh token.
    let replay = api
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": refresh(&first)}),
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.get("/me", &access(&second)).await.status,
        StatusCode::UNAUTHORIZED,
        "the access token issued from the session is dead"
    );
    let legit = api
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": refresh(&second)}),
        )
        .await;
    assert_eq!(
        legit.status,
        StatusCode::UNAUTHORIZED,
        "so is its newest refresh token"
    );
}

#[tokio::test]
async fn me_renames_and_a_password_change_ends_the_other_sessions() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    let a = api.register("owner@acme.test").await;
    let other = api
        .post(
            "/auth/login",
            None,
            json!({"email": "owner@acme.test", "password": PASSWORD}),
        )
        .await
        .body;
    let renamed = api
        .send(
            Method::PATCH,
            "/me",
            Some(&access(&a)),
            Some(json!({"name": "Acme Help"})),
        )
        .await;
    assert_eq!(renamed.body["name"], "Acme Help", "{}", renamed.text);
    let wrong = api
        .post(
            "/me/password",
            Some(&access(&a)),
            json!({"current": "not the password", "new": "another long password"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let changed = api
        .post(
            "/me/password",
            Some(&access(&a)),
            json!({"current": PASSWORD, "new": "another long password"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    assert_eq!(
        api.get("/me", &access(&a)).await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        api.get("/me", &access(&other)).await.status,
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    let old = api
        .post(
            "/auth/login",
            None,
            json!({"email": "owner@acme.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_api_key_works_on_mcp_until_it_is_deleted_and_is_never_shown_again() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    let a = access(&api.register("keys@acme.test").await);
    let created = api
        .post(
            "/api-keys",
            Some(&a),
            json!({"name": "Claude Desktop", "scope": "full"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.body["key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("sa_"));
    for field in ["id", "name", "scope", "prefix", "created_at"] {
        assert!(created.body.get(field).is_some(), "{field}");
    }
    let (status, body) = api.mcp(&key, "list_tickets", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["result"]["structuredContent"]["tickets"].is_array(),
        "{body}"
    );
    let listed = api.get("/api-keys", &a).await;
    let items = listed.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert!(items[0].get("key").is_none(), "the key is shown once only");
    assert!(!listed.text.contains(&key[20..]), "nor any of its secret");
    assert!(items[0]["last_used_at"].is_string(), "its use is recorded");
    let id = items[0]["id"].as_str().expect("id");
    let deleted = api
        .send(Method::DELETE, &format!("/api-keys/{id}"), Some(&a), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let (status, _) = api.mcp(&key, "list_tickets", json!({})).await;
    assert_eq!(status, 401, "refused at once");
    assert_eq!(api.get("/me", &key).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_intake_key_cannot_read_tickets_or_use_the_account() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    let a = access(&api.register("intake@acme.test").await);
    let key = api
        .post(
            "/api-keys",
            Some(&a),
            json!({"name": "Website form", "scope": "intake"}),
        )
        .await
        .body["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let (status, body) = api.mcp(&key, "list_tickets", json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    let me = api.get("/me", &key).await;
    assert_eq!(me.status, StatusCode::FORBIDDEN);
    let keys = api.get("/api-keys", &key).await;
    assert_eq!(
        keys.status,
        StatusCode::FORBIDDEN,
        "nor mint itself a full key"
    );
}
