//! Bad input on every write route: wrong types, unknown fields, oversize bodies, invalid ids,
//! SQL and HTML metacharacters — a `4xx` problem document each, and no row changed.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Desk, server};
use crate::common::TestDb;

async fn counts(t: &TestDb) -> Vec<i64> {
    let mut out = Vec::new();
    for table in ["customers", "tickets", "messages", "documents", "api_keys"] {
        out.push(t.count(table).await);
    }
    out
}

#[tokio::test]
async fn every_write_route_refuses_bad_input_with_a_problem_document_and_writes_nothing() {
    let t = TestDb::new().await;
    let d = Desk::open(server(&t).await, "owner@alpha.test").await;
    let tk = d.ticket_id().to_owned();
    let cu = d.customer_id().to_owned();
    let draft = d.draft(&t, "A draft.").await;
    let before = counts(&t).await;
    let big = "x".repeat(70 * 1024);
    let cases: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/customers".into(),
            json!({"name": 7, "email": "a@b.test"}),
        ),
        (
            Method::POST,
            "/customers".into(),
            json!({"name": "A", "email": "not-an-email"}),
        ),
        (
            Method::POST,
            "/customers".into(),
            json!({"name": "A", "email": "a@b.test", "admin": true}),
        ),
        (
            Method::POST,
            "/customers".into(),
            json!({"name": "A", "email": "a@b.test", "phone": "call me"}),
        ),
        (
            Method::POST,
            "/customers".into(),
            json!({"name": "A", "email": "a@b.test", "stripe_customer_id": "acct_1"}),
        ),
        (
            Method::POST,
            "/customers".into(),
            json!({"name": big.clone(), "email": "a@b.test"}),
        ),
        (
            Method::PATCH,
            format!("/customers/{cu}"),
            json!({"email": "'; DROP TABLE customers; --"}),
        ),
        (
            Method::PATCH,
            "/customers/not-a-uuid".into(),
            json!({"name": "A"}),
        ),
        (
            Method::POST,
            "/tickets".into(),
            json!({"subject": "no customer"}),
        ),
        (
            Method::POST,
            "/tickets".into(),
            json!({"customer_id": cu, "customer_email": "maya@alpha.test", "subject": "both"}),
        ),
        (
            Method::POST,
            "/tickets".into(),
            json!({"customer_id": "1 OR 1=1", "subject": "s"}),
        ),
        (
            Method::POST,
            "/tickets".into(),
            json!({"customer_id": cu, "subject": "", "priority": "low"}),
        ),
        (
            Method::POST,
            "/tickets".into(),
            json!({"customer_id": cu, "subject": "s", "priority": "<script>"}),
        ),
        (Method::PATCH, format!("/tickets/{tk}"), json!({})),
        (
            Method::PATCH,
            format!("/tickets/{tk}"),
            json!({"status": "deleted"}),
        ),
        (
            Method::POST,
            format!("/tickets/{tk}/messages"),
            json!({"sender_type": "ai", "content": "x"}),
        ),
        (
            Method::POST,
            format!("/tickets/{tk}/messages"),
            json!({"sender_type": "agent", "content": ""}),
        ),
        (
            Method::POST,
            format!("/tickets/{tk}/messages"),
            json!({"sender_type": "agent", "content": "a\u{0}b"}),
        ),
        (
            Method::POST,
            format!("/tickets/{tk}/messages"),
            json!({"sender_type": "agent", "content": big.clone()}),
        ),
        (
            Method::POST,
            "/tickets/00000000-0000-0000-0000-00000000000g/messages".into(),
            json!({"sender_type": "agent", "content": "x"}),
        ),
        (
            Method::PATCH,
            format!("/tickets/{tk}/drafts/{draft}"),
            json!({"content": 5}),
        ),
        (
            Method::POST,
            format!("/tickets/{tk}/drafts/{draft}/approve"),
            json!({"content": "", "extra": 1}),
        ),
        (
            Method::POST,
            "/api-keys".into(),
            json!({"name": "k", "scope": "root"}),
        ),
        (Method::PATCH, "/me".into(), json!({"name": ""})),
    ];
    for (method, path, body) in cases {
        let a = d.call(method.clone(), &path, Some(body.clone())).await;
        let status = a.status.as_u16();
        assert!(
            (400..500).contains(&status),
            "{method} {path} {body}: {status} {}",
            a.text
        );
        assert_eq!(
            a.headers["content-type"].to_str().expect("ascii"),
            "application/problem+json",
            "{method} {path}"
        );
        assert!(
            a.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("https://support-agent.dev/problems/"))
        );
        assert!(
            !a.text.contains("<script>") || a.body["detail"].as_str().is_some(),
            "{}",
            a.text
        );
    }
    // Not JSON at all, and a JSON that is not an object.
    for (ct, body) in [
        ("application/json", "{nope"),
        ("text/plain", "hello"),
        ("application/json", "[1]"),
    ] {
        let res = d
            .api
            .server
            .client
            .post(d.api.server.at("/api/v1/customers"))
            .bearer_auth(&d.token)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .expect("post");
        assert!(
            res.status().is_client_error(),
            "{ct} {body}: {}",
            res.status()
        );
    }
    assert_eq!(counts(&t).await, before, "nothing was written");
    let stored: String = sqlx::query_scalar("SELECT email FROM customers WHERE id = $1::uuid")
        .bind(&cu)
        .fetch_one(&t.owner)
        .await
        .expect("email");
    assert_eq!(stored, "maya@alpha.test");
}

#[tokio::test]
async fn html_in_customer_text_is_stored_and_returned_as_text() {
    let t = TestDb::new().await;
    let d = Desk::open(server(&t).await, "owner@alpha.test").await;
    let text = "<script>alert(1)</script> '; DROP TABLE tickets; --";
    let m = d
        .call(
            Method::POST,
            &format!("/tickets/{}/messages", d.ticket_id()),
            Some(json!({"sender_type": "customer", "content": text})),
        )
        .await;
    assert_eq!(m.status, 201);
    assert_eq!(
        m.body["content"], text,
        "JSON carries it verbatim; pages escape it"
    );
    assert_eq!(t.count("tickets").await, 1);
}
