//! The outcome figures: what the page, `GET /api/v1/outcomes` and `support-agent outcomes`
//! show are the same, and equal a direct SQL count of the rows.

use reqwest::StatusCode;
use serde_json::Value;
use support_agent::Tenant;

use super::support::{Browser, decide, none, server, tenant_of, ticket_with_draft};
use crate::common::TestDb;

/// The value the page shows for `data-figure="key"` in its headline figures.
fn figure(page: &str, key: &str) -> String {
    let (_, rest) = page
        .split_once(&format!(r#"data-figure="{key}">"#))
        .unwrap_or_else(|| panic!("no figure {key}"));
    rest.split('<').next().unwrap_or("").to_owned()
}

struct Sql {
    written: i64,
    unchanged: i64,
    edited: i64,
    discarded: i64,
    waiting: i64,
    tickets: i64,
    tickets_unchanged: i64,
}

/// Counted straight from the tables, through the owner's read policy, for one tenant.
async fn count(t: &TestDb, tenant: &Tenant) -> Sql {
    let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), \
                count(*) FILTER (WHERE draft_state IN ('approved','sent') \
                                   AND coalesce(original_content, content) = content), \
                count(*) FILTER (WHERE draft_state IN ('approved','sent') \
                                   AND coalesce(original_content, content) <> content), \
                count(*) FILTER (WHERE draft_state = 'discarded'), \
                count(*) FILTER (WHERE draft_state = 'draft'), \
                count(DISTINCT ticket_id), \
                count(DISTINCT ticket_id) FILTER (WHERE draft_state IN ('approved','sent') \
                                   AND coalesce(original_content, content) = content) \
         FROM messages WHERE user_id = $1 AND sender_type = 'ai' \
           AND created_at >= now() - interval '30 days'",
    )
    .bind(tenant.id())
    .fetch_one(&t.owner)
    .await
    .expect("count");
    Sql {
        written: row.0,
        unchanged: row.1,
        edited: row.2,
        discarded: row.3,
        waiting: row.4,
        tickets: row.5,
        tickets_unchanged: row.6,
    }
}

#[tokio::test]
async fn the_outcome_figures_of_the_page_the_api_and_the_cli_equal_a_direct_sql_count() {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "figures@acme.test").await;
    let tenant = tenant_of(&t, "figures@acme.test").await;
    let maya = ("Maya", "maya@example.com");
    // Two approved unchanged, one approved after editing one character in ten, one
    // discarded, one waiting; and another tenant's rows, which must not count.
    for subject in ["One", "Two"] {
        let (ticket, d) =
            ticket_with_draft(&t.db, &tenant, maya, subject, "Thanks, done.", none()).await;
        decide(&t.db, &tenant, ticket, &d, true, None).await;
    }
    let (ticket, d) = ticket_with_draft(&t.db, &tenant, maya, "Three", "0123456789", none()).await;
    decide(&t.db, &tenant, ticket, &d, true, Some("0123X56789")).await;
    let (ticket, d) = ticket_with_draft(&t.db, &tenant, maya, "Four", "Wrong answer", none()).await;
    decide(&t.db, &tenant, ticket, &d, false, None).await;
    ticket_with_draft(&t.db, &tenant, maya, "Five", "Waiting", none()).await;
    let mut other = Browser::new(&s);
    other.sign_up("Globex", "other@globex.test").await;
    let globex = tenant_of(&t, "other@globex.test").await;
    let (ticket, d) = ticket_with_draft(&t.db, &globex, maya, "Theirs", "Theirs", none()).await;
    decide(&t.db, &globex, ticket, &d, true, None).await;

    let sql = count(&t, &tenant).await;
    assert_eq!(
        (
            sql.written,
            sql.unchanged,
            sql.edited,
            sql.discarded,
            sql.waiting
        ),
        (5, 2, 1, 1, 1)
    );

    // The page.
    let page = b.get("/outcomes?days=30").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let p = &page.body;
    assert_eq!(figure(p, "written"), sql.written.to_string());
    assert_eq!(figure(p, "approved_unchanged"), sql.unchanged.to_string());
    assert_eq!(figure(p, "approved_edited"), sql.edited.to_string());
    assert_eq!(figure(p, "discarded"), sql.discarded.to_string());
    assert_eq!(figure(p, "waiting"), sql.waiting.to_string());
    assert_eq!(figure(p, "tickets_with_drafts"), sql.tickets.to_string());
    assert_eq!(figure(p, "edited_share_changed"), "10%");
    let share = sql.tickets_unchanged as f64 / sql.tickets as f64;
    assert_eq!(
        figure(p, "resolved_by_agent_share"),
        format!("{:.0}%", share * 100.0)
    );
    assert!(p.contains("<svg"), "the chart");
    assert!(p.contains("by-category"));

    // The API, with an API key of the tenant.
    let key = b.post("/settings/api-keys", &[("name", "figures")]).await;
    let raw = key
        .body
        .split("<code class=\"copyable\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the new key")
        .to_owned();
    let api: Value = reqwest::Client::new()
        .get(s.at("/api/v1/outcomes?days=30"))
        .bearer_auth(&raw)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(api["drafts"]["written"], sql.written);
    assert_eq!(api["drafts"]["approved_unchanged"], sql.unchanged);
    assert_eq!(api["drafts"]["approved_edited"], sql.edited);
    assert_eq!(api["drafts"]["discarded"], sql.discarded);
    assert_eq!(api["drafts"]["waiting"], sql.waiting);
    assert_eq!(api["tickets_with_drafts"], sql.tickets);
    assert_eq!(api["tickets_approved_unchanged"], sql.tickets_unchanged);
    assert!((api["edited_share_changed"].as_f64().expect("share") - 0.1).abs() < 1e-9);
    assert_eq!(api["first_reply"]["replies"], sql.unchanged + sql.edited);
    assert!(
        api["first_reply"]["median_seconds"]
            .as_f64()
            .expect("median")
            >= 0.0
    );
    assert_eq!(api["by_category"][0]["category"], "uncategorized");
    assert_eq!(api["by_category"][0]["drafts"]["written"], sql.written);
    assert_eq!(api["by_day"][0]["drafts"]["written"], sql.written);
    let bad = reqwest::Client::new()
        .get(s.at("/api/v1/outcomes?days=0"))
        .bearer_auth(&raw)
        .send()
        .await
        .expect("GET");
    assert_eq!(bad.status(), 422);

    // The CLI.
    let user = tenant.id().to_string();
    let cli = crate::cli::run(&t, &["outcomes", "--user", &user, "--days", "30", "--json"]);
    let out = cli.json();
    assert_eq!(out["drafts"], api["drafts"]);
    assert_eq!(out["tickets_with_drafts"], api["tickets_with_drafts"]);
    let text = crate::cli::run(&t, &["outcomes", "--user", &user]);
    assert!(
        text.stdout.contains("approved unchanged 2"),
        "{}",
        text.stdout
    );
}
