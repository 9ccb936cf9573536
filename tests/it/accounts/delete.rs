//! Deleting an account removes every row it owns, in every tenant table, and nothing else.

use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use super::support::{Api, PASSWORD, access};
use crate::common::{TestDb, new_customer, new_ticket};

/// Rows per tenant table (every table with a user_id column, and users) for `user`.
async fn rows_of(t: &TestDb, user: Uuid) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname",
    )
    .fetch_all(&t.owner)
    .await
    .expect("tables");
    assert!(tables.len() >= 12, "{tables:?}");
    let mut counts = Vec::new();
    for table in tables.into_iter().chain(["users".to_owned()]) {
        let column = if table == "users" { "id" } else { "user_id" };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE {column} = $1"
        )))
        .bind(user)
        .fetch_one(&t.owner)
        .await
        .expect("count");
        counts.push((table, n));
    }
    counts
}

async fn busy_tenant(t: &TestDb, api: &Api, email: &str) -> (Uuid, String) {
    let tokens = api.register(email).await;
    let id: Uuid = tokens["user"]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let token = access(&tokens);
    let tenant = support_agent::Tenant::from_trusted_operator_input(id);
    let c = new_customer(&t.db, &tenant, "Cust", "cust@example.com").await;
    new_ticket(&t.db, &tenant, c.id, "help").await;
    api.post(
        "/api-keys",
        Some(&token),
        json!({"name": "k", "scope": "full"}),
    )
    .await;
    let (status, _) = api.mcp(&token, "list_tickets", json!({})).await;
    assert_eq!(status, 200);
    (id, token)
}

#[tokio::test]
async fn deleting_an_account_leaves_no_row_of_it_and_takes_nothing_of_another() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    let (a, token) = busy_tenant(&t, &api, "a@acme.test").await;
    let (b, _) = busy_tenant(&t, &api, "b@acme.test").await;
    let before_b = rows_of(&t, b).await;
    assert!(rows_of(&t, a).await.iter().filter(|(_, n)| *n > 0).count() >= 7);
    let wrong = api
        .send(
            Method::DELETE,
            "/me",
            Some(&token),
            Some(json!({"password": "wrong password"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let done = api
        .send(
            Method::DELETE,
            "/me",
            Some(&token),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text);
    for (table, n) in rows_of(&t, a).await {
        assert_eq!(n, 0, "{table} still holds rows of the deleted tenant");
    }
    assert_eq!(
        rows_of(&t, b).await,
        before_b,
        "the other tenant is untouched"
    );
    assert_eq!(
        api.get("/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_deletes_a_tenant_from_the_command_line() {
    let t = TestDb::new().await;
    let api = Api::start(&t).await;
    let (a, token) = busy_tenant(&t, &api, "a@acme.test").await;
    let user = a.to_string();
    let out =
        crate::cli::run_beside_server(&t, &["users", "delete", "--user", &user, "--json"]).json();
    assert_eq!(out["deleted"], user);
    assert!(rows_of(&t, a).await.iter().all(|(_, n)| *n == 0));
    assert_eq!(
        api.get("/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    crate::cli::run_beside_server(&t, &["users", "delete", "--user", &user]).fails_with("no user");
}
