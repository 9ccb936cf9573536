//! What a person does at the desk: drafts edited, approved, discarded, with transitions checked
//! and the deciding credential recorded; notes; triage again; tickets changed only if unchanged.

use reqwest::Method;
use serde_json::json;

use super::{Desk, server};
use crate::common::TestDb;

#[tokio::test]
async fn a_draft_is_edited_then_approved_once_and_the_models_text_is_kept() {
    let t = TestDb::new().await;
    let d = Desk::open(server(&t).await, "owner@alpha.test").await;
    let id = d.draft(&t, "The model's reply.").await;
    let path = |tail: &str| format!("/tickets/{}/drafts/{id}{tail}", d.ticket_id());
    let edited = d
        .call(
            Method::PATCH,
            &path(""),
            Some(json!({"content": "A person's reply."})),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["content"], "A person's reply.");
    assert_eq!(edited.body["original_content"], "The model's reply.");
    let approved = d
        .call(
            Method::POST,
            &path("/approve"),
            Some(json!({"content": "Final reply."})),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.body["draft_state"], "approved");
    assert_eq!(
        approved.body["original_content"], "The model's reply.",
        "still the model's own"
    );
    assert!(approved.body["decided_at"].is_string());
    for again in ["/approve", "/discard"] {
        let twice = d.call(Method::POST, &path(again), None).await;
        assert_eq!(twice.status, 409, "{again}: {}", twice.text);
    }
    let late = d
        .call(Method::PATCH, &path(""), Some(json!({"content": "x"})))
        .await;
    assert_eq!(late.status, 409);
    let (decided_by, jobs): (String, i64) = sqlx::query_as(
        "SELECT m.decided_by, (SELECT count(*) FROM jobs j WHERE j.kind = 'deliver' AND j.message_id = m.id) \
         FROM messages m WHERE m.id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&t.owner)
    .await
    .expect("row");
    assert!(decided_by.starts_with("token:"), "{decided_by}");
    assert_eq!(jobs, 1, "the approved reply is queued for delivery once");
}

#[tokio::test]
async fn a_discarded_draft_stays_discarded_and_triage_again_replaces_only_an_open_draft() {
    let t = TestDb::new().await;
    let d = Desk::open(server(&t).await, "owner@alpha.test").await;
    let first = d.draft(&t, "First attempt.").await;
    let again = d
        .call(
            Method::POST,
            &format!("/tickets/{}/triage", d.ticket_id()),
            None,
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(again.body["status"], "queued");
    let gone: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE id = $1::uuid")
        .bind(&first)
        .fetch_one(&t.owner)
        .await
        .expect("count");
    assert_eq!(gone, 0, "the open draft was replaced");
    let queued: String = sqlx::query_scalar(
        "SELECT status FROM jobs WHERE kind = 'triage' AND ticket_id = $1::uuid",
    )
    .bind(d.ticket_id())
    .fetch_one(&t.owner)
    .await
    .expect("job");
    assert_eq!(queued, "queued");
    let second = d.draft(&t, "Second attempt.").await;
    let discarded = d
        .call(
            Method::POST,
            &format!("/tickets/{}/drafts/{second}/discard", d.ticket_id()),
            None,
        )
        .await;
    assert_eq!(
        discarded.body["draft_state"], "discarded",
        "{}",
        discarded.text
    );
    let refused = d
        .call(
            Method::POST,
            &format!("/tickets/{}/triage", d.ticket_id()),
            None,
        )
        .await;
    assert_eq!(
        refused.status, 409,
        "a decided draft is not replaced: {}",
        refused.text
    );
}

#[tokio::test]
async fn a_note_is_never_triaged_nor_sent_and_only_an_agent_reply_can_be_sent() {
    let t = TestDb::new().await;
    let d = Desk::open(server(&t).await, "owner@alpha.test").await;
    let path = format!("/tickets/{}/messages", d.ticket_id());
    let jobs = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs")
            .fetch_one(&t.owner)
            .await
            .expect("count")
    };
    let before = jobs().await;
    let note = d
        .call(
            Method::POST,
            &path,
            Some(json!({"sender_type": "note", "content": "VIP, be kind."})),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.text);
    assert_eq!(note.body["sender_type"], "note");
    assert_eq!(jobs().await, before, "no triage, no delivery");
    let sent_note = d
        .call(
            Method::POST,
            &path,
            Some(json!({"sender_type": "note", "content": "x", "send": true})),
        )
        .await;
    assert_eq!(sent_note.status, 422);
    let reply = d
        .call(
            Method::POST,
            &path,
            Some(json!({"sender_type": "agent", "content": "On it.", "send": true})),
        )
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(jobs().await, before + 1, "the reply is queued for delivery");
    let customer = d
        .call(
            Method::POST,
            &path,
            Some(json!({"sender_type": "customer", "content": "Thanks!"})),
        )
        .await;
    assert_eq!(customer.status, 201);
    assert_eq!(jobs().await, before + 2, "a customer's message is triaged");
    let listed = d.call(Method::GET, &path, None).await;
    let kinds: Vec<_> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["sender_type"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(kinds, ["note", "agent", "customer"], "oldest first");
}

#[tokio::test]
async fn a_ticket_changes_only_if_nobody_changed_it_since_it_was_read() {
    let t = TestDb::new().await;
    let d = Desk::open(server(&t).await, "owner@alpha.test").await;
    let path = format!("/tickets/{}", d.ticket_id());
    let read = d.call(Method::GET, &path, None).await;
    let tag = read.headers["etag"].to_str().expect("etag").to_owned();
    let with = |tag: &str| {
        let req = d
            .api
            .server
            .client
            .patch(d.api.server.at(&format!("/api/v1{path}")))
            .bearer_auth(&d.token)
            .header("if-match", tag)
            .json(&json!({"priority": "high"}));
        async move { req.send().await.expect("patch") }
    };
    let first = with(&tag).await;
    assert_eq!(first.status(), 200);
    let newer = first.headers()["etag"].to_str().expect("etag").to_owned();
    assert_ne!(newer, tag);
    let stale = with(&tag).await;
    assert_eq!(stale.status(), 412, "someone changed it first");
    let problem: serde_json::Value = stale.json().await.expect("problem");
    assert_eq!(
        problem["type"],
        "https://support-agent.dev/problems/precondition-failed"
    );
    assert_eq!(with(&newer).await.status(), 200);
    assert_eq!(with("\"nonsense\"").await.status(), 412);
}

#[tokio::test]
async fn an_operator_approves_and_discards_drafts_from_the_command_line() {
    let t = TestDb::new().await;
    let d = Desk::open(server(&t).await, "owner@alpha.test").await;
    let one = d.draft(&t, "Draft one.").await;
    let out = crate::cli::run(
        &t,
        &[
            "drafts",
            "approve",
            "--user",
            &d.user_id,
            "--message",
            &one,
            "--content",
            "Edited.",
            "--json",
        ],
    )
    .json();
    assert_eq!(
        (out["draft_state"].as_str(), out["content"].as_str()),
        (Some("approved"), Some("Edited."))
    );
    crate::cli::run(
        &t,
        &["drafts", "discard", "--user", &d.user_id, "--message", &one],
    )
    .fails_with("approved already");
    let (by,): (String,) = sqlx::query_as("SELECT decided_by FROM messages WHERE id = $1::uuid")
        .bind(&one)
        .fetch_one(&t.owner)
        .await
        .expect("row");
    assert_eq!(by, "operator");
}

#[tokio::test]
async fn the_hosts_a_draft_may_link_to_are_set_through_the_api() {
    let t = TestDb::new().await;
    let d = Desk::open(server(&t).await, "owner@alpha.test").await;
    let empty = d.call(Method::GET, "/settings", None).await;
    assert_eq!(empty.body["link_domains"], json!([]), "{}", empty.text);
    let set = d
        .call(
            Method::PUT,
            "/settings",
            Some(json!({"link_domains": ["Acme.com", "help.acme.com"]})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.body["link_domains"],
        json!(["acme.com", "help.acme.com"])
    );
    let bad = d
        .call(
            Method::PUT,
            "/settings",
            Some(json!({"link_domains": ["not a host"]})),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["errors"][0]["field"], "link_domains");
    let kept = d.call(Method::GET, "/settings", None).await;
    assert_eq!(
        kept.body["link_domains"],
        json!(["acme.com", "help.acme.com"])
    );
}
