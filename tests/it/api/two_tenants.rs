//! Two tenants through every route: A never reads, changes or deletes B's rows — each is `404`
//! exactly like an unknown id — and nothing of B appears in any of A's answers.

use reqwest::Method;
use serde_json::json;

use super::{Desk, server};
use crate::common::TestDb;

#[tokio::test]
async fn a_tenant_gets_404_for_every_route_on_another_tenants_ids_and_sees_nothing_of_them() {
    let t = TestDb::new().await;
    let a = Desk::open(server(&t).await, "owner@alpha.test").await;
    let b = Desk::open(a.api.api_clone().await, "owner@beta.test").await;
    let b_draft = b.draft(&t, "B's private draft about Maya at beta.").await;
    let b_doc = b
        .upload(
            "b-secrets.md",
            "# B internal\n\nBeta's refund policy is secret.",
        )
        .await;
    assert_eq!(b_doc.status, 201, "{}", b_doc.text);
    let (bc, bt) = (b.customer_id().to_owned(), b.ticket_id().to_owned());
    let bd = b_doc.body["id"].as_str().expect("doc id").to_owned();
    let unknown = uuid::Uuid::now_v7().to_string();
    let probes: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/customers/{bc}"), None),
        (
            Method::PATCH,
            format!("/customers/{bc}"),
            Some(json!({"name": "Hijacked"})),
        ),
        (Method::GET, format!("/customers/{bc}/export"), None),
        (Method::DELETE, format!("/customers/{bc}"), None),
        (Method::GET, format!("/tickets/{bt}"), None),
        (
            Method::PATCH,
            format!("/tickets/{bt}"),
            Some(json!({"status": "closed"})),
        ),
        (Method::POST, format!("/tickets/{bt}/triage"), None),
        (Method::GET, format!("/tickets/{bt}/messages"), None),
        (
            Method::POST,
            format!("/tickets/{bt}/messages"),
            Some(json!({"sender_type": "note", "content": "A was here"})),
        ),
        (
            Method::PATCH,
            format!("/tickets/{bt}/drafts/{b_draft}"),
            Some(json!({"content": "rewritten by A"})),
        ),
        (
            Method::POST,
            format!("/tickets/{bt}/drafts/{b_draft}/approve"),
            None,
        ),
        (
            Method::POST,
            format!("/tickets/{bt}/drafts/{b_draft}/discard"),
            None,
        ),
        (Method::DELETE, format!("/tickets/{bt}"), None),
        (Method::DELETE, format!("/knowledge/documents/{bd}"), None),
        (
            Method::POST,
            "/tickets".to_owned(),
            Some(json!({"customer_id": bc, "subject": "planted"})),
        ),
    ];
    for (method, path, body) in probes {
        let theirs = a.call(method.clone(), &path, body.clone()).await;
        assert_eq!(theirs.status, 404, "{method} {path}: {}", theirs.text);
        let made_up = path
            .replace(&bc, &unknown)
            .replace(&bt, &unknown)
            .replace(&bd, &unknown);
        let never = a.call(method.clone(), &made_up, body).await;
        assert_eq!(
            (theirs.status, theirs.body["detail"].clone()),
            (never.status, never.body["detail"].clone()),
            "{method} {path}: another tenant's id answers exactly like one that never existed"
        );
    }
    // Nothing of B in A's lists and searches.
    for path in [
        "/customers",
        "/customers?query=maya",
        "/tickets",
        "/knowledge/documents",
        "/knowledge/search?q=refund%20policy",
        "/stats",
        "/api-keys",
    ] {
        let seen = a.call(Method::GET, path, None).await;
        assert_eq!(seen.status, 200, "{path}: {}", seen.text);
        for secret in [bc.as_str(), bt.as_str(), bd.as_str(), "beta", "secret"] {
            assert!(
                !seen.text.to_lowercase().contains(secret),
                "{path} shows {secret}: {}",
                seen.text
            );
        }
    }
    // B's rows are untouched.
    let ticket = b.call(Method::GET, &format!("/tickets/{bt}"), None).await;
    assert_eq!(ticket.body["ticket"]["status"], "open");
    assert_eq!(
        ticket.body["messages"][0]["content"],
        "B's private draft about Maya at beta."
    );
    assert_eq!(ticket.body["messages"][0]["draft_state"], "draft");
}

#[tokio::test]
async fn the_export_holds_exactly_the_customers_rows() {
    let t = TestDb::new().await;
    let a = Desk::open(server(&t).await, "owner@alpha.test").await;
    let other = a
        .api
        .post(
            "/customers",
            Some(&a.token),
            json!({"name": "Otto", "email": "otto@alpha.test"}),
        )
        .await
        .body;
    a.api
        .post(
            "/tickets",
            Some(&a.token),
            json!({"customer_id": other["id"], "subject": "Otto's own"}),
        )
        .await;
    a.call(
        Method::POST,
        &format!("/tickets/{}/messages", a.ticket_id()),
        Some(json!({"sender_type": "customer", "content": "Please refund one."})),
    )
    .await;
    let export = a
        .call(
            Method::GET,
            &format!("/customers/{}/export", a.customer_id()),
            None,
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.body["customer"]["email"], "maya@alpha.test");
    let tickets = export.body["tickets"].as_array().expect("tickets");
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["subject"], "Charged twice");
    assert_eq!(tickets[0]["messages"][0]["content"], "Please refund one.");
    assert!(!export.text.contains("Otto"), "nothing of another customer");
}
