//! The intake routes: by API key and by signature, refused signatures, idempotent retries, the
//! intake scope, and messages only from the ticket's own customer.

use reqwest::StatusCode;
use serde_json::json;
use support_agent::channels::signature::header_value;

use super::support::{Desk, now};
use crate::common::TestDb;

const BODY: &str = r#"{"from":{"email":"Ann@Example.com","name":"Ann"},"subject":"Where is my order?","text":"It has not arrived."}"#;

#[tokio::test]
async fn intake_by_api_key_opens_a_numbered_ticket_for_a_new_customer_and_queues_triage() {
    let t = TestDb::new().await;
    let desk = Desk::start(&t, true).await;
    let key = desk.api_key("intake").await;
    let auth = format!("Bearer {key}");
    let (status, first) = desk
        .post_raw("/intake/tickets", &[("authorization", &auth)], BODY)
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["ticket"]["number"], 1);
    assert_eq!(first["ticket"]["subject"], "Where is my order?");
    assert_eq!(first["ticket"]["description"], "It has not arrived.");
    assert_eq!(first["customer"]["email"], "ann@example.com");
    assert_eq!(first["customer"]["name"], "Ann");
    let (status, second) = desk
        .post_raw("/intake/tickets", &[("authorization", &auth)], BODY)
        .await;
    assert_eq!(status, 201);
    assert_eq!(second["ticket"]["number"], 2);
    assert_eq!(
        second["customer"]["id"], first["customer"]["id"],
        "the customer is found by email"
    );
    assert_eq!(t.count("customers").await, 1);
    let triage: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'triage'")
        .fetch_one(&t.owner)
        .await
        .expect("count");
    assert_eq!(triage, 2, "triage queued for each ticket");
    // The number shows where tickets are read.
    let id = first["ticket"]["id"].as_str().expect("id");
    let shown = desk.api.get(&format!("/tickets/{id}"), &desk.token).await;
    assert_eq!(shown.body["ticket"]["number"], 1, "{}", shown.text);
}

#[tokio::test]
async fn intake_by_signature_opens_a_ticket() {
    let t = TestDb::new().await;
    let desk = Desk::start(&t, true).await;
    let (key_id, secret) = desk.signing_secret().await;
    assert!(secret.starts_with("whsec_"));
    let sig = header_value(&key_id, &secret, now(), BODY.as_bytes());
    let (status, body) = desk
        .post_raw("/intake/tickets", &[("x-support-signature", &sig)], BODY)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["ticket"]["number"], 1);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT ciphertext FROM intake_secrets")
        .fetch_one(&t.owner)
        .await
        .expect("sealed");
    assert!(
        !String::from_utf8_lossy(&stored).contains(&secret),
        "the secret is sealed at rest"
    );
}

#[tokio::test]
async fn wrong_stale_replayed_and_unknown_signatures_are_refused_with_401() {
    let t = TestDb::new().await;
    let desk = Desk::start(&t, true).await;
    let (key_id, secret) = desk.signing_secret().await;
    let body = BODY.as_bytes();
    let refused = [
        (
            "wrong secret",
            header_value(&key_id, "whsec_wrong", now(), body),
        ),
        // Ten seconds past the five-minute tolerance, so that the requests sent before these
        // (the clock is read once, here) cannot bring them back inside it; the exact boundary
        // is `signature::tests::a_time_more_than_five_minutes_either_side_is_stale`'s.
        ("stale", header_value(&key_id, &secret, now() - 310, body)),
        (
            "from the future",
            header_value(&key_id, &secret, now() + 310, body),
        ),
        (
            "other body",
            header_value(&key_id, &secret, now(), b"{\"other\":1}"),
        ),
        (
            "unknown key",
            header_value(
                &format!("ik_{}_0000000000000000", desk.user_id.replace('-', "")),
                &secret,
                now(),
                body,
            ),
        ),
        ("malformed", "t=1,v1=zz".to_owned()),
    ];
    for (why, sig) in &refused {
        let (status, problem) = desk
            .post_raw("/intake/tickets", &[("x-support-signature", sig)], BODY)
            .await;
        assert_eq!(status, 401, "{why}: {problem}");
    }
    let sig = header_value(&key_id, &secret, now(), body);
    let (status, _) = desk
        .post_raw("/intake/tickets", &[("x-support-signature", &sig)], BODY)
        .await;
    assert_eq!(status, 201);
    let (status, problem) = desk
        .post_raw("/intake/tickets", &[("x-support-signature", &sig)], BODY)
        .await;
    assert_eq!(status, 401, "a replayed signature: {problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("used already")),
        "{problem}"
    );
    assert_eq!(t.count("tickets").await, 1, "only the valid request wrote");
    // Another tenant's key id does not open this tenant's secret.
    let other = desk.other("other@acme.test").await;
    let forged = header_value(
        &key_id.replace(
            &desk.user_id.replace('-', ""),
            &other.user_id.replace('-', ""),
        ),
        &secret,
        now(),
        body,
    );
    let (status, _) = desk
        .post_raw("/intake/tickets", &[("x-support-signature", &forged)], BODY)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_idempotent_retry_gets_the_same_ticket_and_the_same_key_with_another_body_is_422() {
    let t = TestDb::new().await;
    let desk = Desk::start(&t, true).await;
    let auth = format!("Bearer {}", desk.api_key("intake").await);
    let headers = [
        ("authorization", auth.as_str()),
        ("idempotency-key", "order-42"),
    ];
    let (s1, first) = desk.post_raw("/intake/tickets", &headers, BODY).await;
    let (s2, again) = desk.post_raw("/intake/tickets", &headers, BODY).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(again, first, "the first answer, replayed");
    assert_eq!(t.count("tickets").await, 1);
    let other = BODY.replace("Where is my order?", "Another question");
    let (status, problem) = desk.post_raw("/intake/tickets", &headers, &other).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(t.count("tickets").await, 1, "nothing written");
    // The signed path too: a retry is signed anew, and gets the first answer.
    let (key_id, secret) = desk.signing_secret().await;
    let mut answers = Vec::new();
    for _ in 0..2 {
        let sig = header_value(&key_id, &secret, now(), BODY.as_bytes());
        let h = [
            ("x-support-signature", sig.as_str()),
            ("idempotency-key", "signed-1"),
        ];
        answers.push(desk.post_raw("/intake/tickets", &h, BODY).await);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    assert_eq!(answers[0].0, 201);
    assert_eq!(answers[0], answers[1]);
    assert_eq!(t.count("tickets").await, 2);
}

#[tokio::test]
async fn an_intake_key_can_open_tickets_but_cannot_read_anything() {
    let t = TestDb::new().await;
    let desk = Desk::start(&t, true).await;
    let key = desk.api_key("intake").await;
    let (status, created) = desk
        .post_raw(
            "/intake/tickets",
            &[("authorization", &format!("Bearer {key}"))],
            BODY,
        )
        .await;
    assert_eq!(status, 201);
    let id = created["ticket"]["id"].as_str().expect("id");
    for path in [
        "/tickets".to_owned(),
        format!("/tickets/{id}"),
        "/customers".into(),
        "/channels/email".into(),
    ] {
        let a = desk.api.get(&path, &key).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.text);
    }
    let a = desk
        .api
        .send(
            reqwest::Method::POST,
            "/channels/webhook/secret",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // A full key may use the intake as well.
    let full = desk.api_key("full").await;
    let (status, _) = desk
        .post_raw(
            "/intake/tickets",
            &[("authorization", &format!("Bearer {full}"))],
            BODY,
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_message_from_anyone_but_the_tickets_customer_is_404() {
    let t = TestDb::new().await;
    let desk = Desk::start(&t, true).await;
    let auth = format!("Bearer {}", desk.api_key("intake").await);
    let h = [("authorization", auth.as_str())];
    let (_, ann) = desk.post_raw("/intake/tickets", &h, BODY).await;
    let bob = BODY.replace("Ann@Example.com", "bob@example.com");
    let (_, bobs) = desk.post_raw("/intake/tickets", &h, &bob).await;
    let ann_ticket = ann["ticket"]["id"].as_str().expect("id");
    let path = format!("/intake/tickets/{ann_ticket}/messages");
    let from_bob = json!({"from": {"email": "bob@example.com"}, "text": "Show me Ann's order"});
    let (status, problem) = desk.post_raw(&path, &h, &from_bob.to_string()).await;
    assert_eq!(status, 404, "{problem}");
    let from_ann = json!({"from": {"email": "ANN@example.com"}, "text": "Any news?"});
    let (status, added) = desk.post_raw(&path, &h, &from_ann.to_string()).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["message"]["sender_type"], "customer");
    assert_eq!(added["message"]["content"], "Any news?");
    assert_eq!(t.count("messages").await, 1);
    // Another tenant's ticket is not found either, whoever writes.
    let other = desk.other("other@acme.test").await;
    let other_auth = format!("Bearer {}", other.api_key("intake").await);
    let (status, _) = desk
        .post_raw(
            &path,
            &[("authorization", &other_auth)],
            &from_ann.to_string(),
        )
        .await;
    assert_eq!(status, 404);
    assert!(bobs["ticket"]["id"].is_string());
}

#[tokio::test]
async fn ticket_numbers_are_per_tenant_and_unique_under_concurrent_intake() {
    let t = TestDb::with_max_connections(10).await;
    let desk = Desk::start(&t, true).await;
    let auth = format!("Bearer {}", desk.api_key("intake").await);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..16 {
        let api = desk.api.api_clone().await;
        let auth = auth.clone();
        set.spawn(async move {
            let body = BODY.replace("Ann@Example.com", &format!("c{i}@example.com"));
            let res = api
                .server
                .client
                .post(api.server.at("/api/v1/intake/tickets"))
                .header("authorization", auth)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send");
            assert_eq!(res.status(), 201);
            let v: serde_json::Value = res.json().await.expect("json");
            v["ticket"]["number"].as_i64().expect("number")
        });
    }
    let mut numbers: Vec<i64> = set.join_all().await;
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=16).collect::<Vec<_>>());
    let other = desk.other("other@acme.test").await;
    let auth = format!("Bearer {}", other.api_key("intake").await);
    let (_, first) = other
        .post_raw("/intake/tickets", &[("authorization", &auth)], BODY)
        .await;
    assert_eq!(first["ticket"]["number"], 1, "another tenant counts from 1");
}
