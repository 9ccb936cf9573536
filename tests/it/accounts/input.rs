//! Bad input, enumeration and abuse: problem documents, identical answers, throttles, and the
//! login lookup that a temporary table cannot hijack.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::support::{Api, PASSWORD};
use crate::common::TestDb;

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_byte_identical_answers() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    api.register("known@acme.test").await;
    let unknown = api
        .post(
            "/auth/login",
            None,
            json!({"email": "nobody@acme.test", "password": PASSWORD}),
        )
        .await;
    let wrong = api
        .post(
            "/auth/login",
            None,
            json!({"email": "known@acme.test", "password": "not the password"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!((unknown.status, &unknown.text), (wrong.status, &wrong.text));
    assert_eq!(
        unknown.body["type"],
        "https://support-agent.dev/problems/unauthorized"
    );
}

#[tokio::test]
async fn registration_checks_its_fields_and_refuses_a_taken_email() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    for (body, field) in [
        (
            json!({"name": "A", "email": "a@acme.test", "password": "short"}),
            "password",
        ),
        (
            json!({"name": "A", "email": "a@acme.test", "password": "x".repeat(257)}),
            "password",
        ),
        (
            json!({"name": "A", "email": "long-enough@acme.test", "password": "LONG-ENOUGH@acme.test"}),
            "password",
        ),
        (
            json!({"name": "A long enough name", "email": "n@acme.test", "password": "A long enough name"}),
            "password",
        ),
        (
            json!({"name": "A", "email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"name": "", "email": "a@acme.test", "password": PASSWORD}),
            "name",
        ),
        (
            json!({"name": 7, "email": "a@acme.test", "password": PASSWORD}),
            "name",
        ),
        (
            json!({"name": "A", "email": "a@acme.test", "password": PASSWORD, "admin": true}),
            "admin",
        ),
        (json!({"name": "A", "email": "a@acme.test"}), "password"),
    ] {
        let a = api.post("/auth/register", None, body.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.text
        );
        assert_eq!(a.body["errors"][0]["field"], field, "{body}: {}", a.text);
    }
    assert_eq!(t.count("users").await, 0, "nothing half-written");
    api.register("taken@acme.test").await;
    let taken = api
        .post(
            "/auth/register",
            None,
            json!({"name": "B", "email": "TAKEN@acme.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    let not_json = api
        .server
        .client
        .post(api.server.at("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .header("x-request-id", "my-request-42")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        not_json.headers()["x-request-id"],
        "my-request-42",
        "echoed"
    );
    let unknown_route = api.get("/nothing-here", "x").await;
    assert_eq!(unknown_route.status, StatusCode::NOT_FOUND);
    assert!(
        unknown_route.headers.contains_key("x-request-id"),
        "made when absent"
    );
}

#[tokio::test]
async fn login_is_throttled_per_email_and_per_client_address() {
    let t = TestDb::new().await;
    let api = Api::start_with(&t, |c| {
        c.accounts.auth_attempts_per_minute_per_email = 2;
        c.accounts.auth_attempts_per_minute_per_ip = 3;
    })
    .await;
    let attempt = |email: &'static str| {
        let api = &api;
        async move {
            api.post(
                "/auth/login",
                None,
                json!({"email": email, "password": "wrong password!"}),
            )
            .await
        }
    };
    assert_eq!(
        attempt("a@acme.test").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        attempt("a@acme.test").await.status,
        StatusCode::UNAUTHORIZED
    );
    let limited = attempt("a@acme.test").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    assert_eq!(limited.body["limit"], "AUTH_ATTEMPTS_PER_MINUTE_PER_EMAIL");
    // The address has made 3 attempts by now; the 4th, for another email, is refused too.
    let by_ip = attempt("b@acme.test").await;
    assert_eq!(by_ip.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(by_ip.body["limit"], "AUTH_ATTEMPTS_PER_MINUTE_PER_IP");
}

#[tokio::test]
async fn the_login_lookup_cannot_be_hijacked_by_a_temporary_table() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    let real = api.register("real@acme.test").await;
    let db_name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&t.owner)
        .await
        .expect("name");
    sqlx::query(AssertSqlSafe(format!(
        "GRANT TEMPORARY ON DATABASE {db_name} TO support_agent_app"
    )))
    .execute(&t.owner)
    .await
    .expect("grant");
    let mut conn = PgConnection::connect(&t.app_url)
        .await
        .expect("service role");
    sqlx::raw_sql(
        "CREATE TEMP TABLE users (id uuid, email text, password_hash text); \
         INSERT INTO pg_temp.users VALUES \
           ('00000000-0000-0000-0000-000000000001', 'real@acme.test', 'forged');",
    )
    .execute(&mut conn)
    .await
    .expect("the attacker's temporary table");
    let (id, hash): (uuid::Uuid, Option<String>) =
        sqlx::query_as("SELECT id, password_hash FROM auth_user_by_email('real@acme.test')")
            .fetch_one(&mut conn)
            .await
            .expect("lookup");
    assert_eq!(id.to_string(), real["user"]["id"].as_str().expect("id"));
    assert!(
        hash.is_some_and(|h| h.starts_with("$argon2id$")),
        "the real row"
    );
}
