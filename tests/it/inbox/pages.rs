//! The pages' security properties over plain HTTP: the session cookie, CSRF, the CSP, escaping,
//! tenant isolation, and that cookies never authenticate the API.

use reqwest::StatusCode;

use super::support::{Browser, none, server, server_with, tenant_of, ticket_with_draft};
use crate::common::TestDb;

#[tokio::test]
async fn the_session_cookie_is_httponly_and_samesite_lax_and_login_logout_work() {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    let first = b.get("/").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location(), "/login");
    let signup = b.sign_up("Acme", "owner@acme.test").await;
    assert_eq!(signup.location(), "/tickets");
    let session = signup
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sa_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(session.contains("Path=/"), "{session}");
    assert!(!session.contains("Secure"), "plain http: {session}");
    let queue = b.get("/tickets").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert!(queue.body.contains("Queue"));

    // Logout ends the session at once: the old cookie no longer opens a page.
    let old = b.cookie("sa_session").expect("cookie").to_owned();
    let out = b.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    b.cookies.push(("sa_session".into(), old));
    let after = b.get("/tickets").await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "an ended session is refused"
    );
    assert_eq!(after.location(), "/login");

    // A wrong password is the login page again, 401, with the email kept.
    b.cookies.retain(|(k, _)| k != "sa_session");
    b.get("/login").await;
    let wrong = b
        .post(
            "/login",
            &[
                ("email", "owner@acme.test"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("owner@acme.test"));
    let right = b
        .post(
            "/login",
            &[
                ("email", "owner@acme.test"),
                ("password", crate::accounts::support::PASSWORD),
            ],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
    assert_eq!(b.get("/tickets").await.status, StatusCode::OK);
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let t = TestDb::new().await;
    let s = server_with(&t, |c| {
        c.public_url = Some("https://support.example.com".into())
    })
    .await;
    let mut b = Browser::new(&s);
    let login = b.get("/login").await;
    let csrf = login
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sa_csrf="))
        .expect("a CSRF cookie");
    assert!(
        csrf.contains("Secure") && csrf.contains("HttpOnly"),
        "{csrf}"
    );
    let signup = b.sign_up("Acme", "secure@acme.test").await;
    let session = signup
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sa_session="))
        .expect("session");
    assert!(session.contains("; Secure"), "{session}");
}

#[tokio::test]
async fn a_form_post_without_the_csrf_token_or_from_another_site_is_refused() {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "csrf@acme.test").await;
    let tenant = tenant_of(&t, "csrf@acme.test").await;
    let (ticket, _) = ticket_with_draft(
        &t.db,
        &tenant,
        ("Maya", "maya@example.com"),
        "Charged twice",
        "We refunded the second charge.",
        none(),
    )
    .await;
    let path = format!("/tickets/{ticket}/update");
    let fields = [("status", "solved"), ("priority", "high")];
    let without = b.post_raw(&path, &fields, None).await;
    assert_eq!(without.status, StatusCode::FORBIDDEN, "{}", without.body);
    assert!(without.body.contains("did not come from this site"));
    let forged = b
        .post_raw(
            &path,
            &[
                ("csrf", "A".repeat(43).as_str()),
                ("status", "solved"),
                ("priority", "high"),
            ],
            None,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let csrf = b.cookie("sa_csrf").expect("csrf").to_owned();
    let elsewhere = b
        .post_raw(
            &path,
            &[
                ("csrf", csrf.as_str()),
                ("status", "solved"),
                ("priority", "high"),
            ],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::FORBIDDEN,
        "another site's Origin"
    );
    let page = b.get(&format!("/tickets/{ticket}")).await;
    assert!(
        page.body
            .contains(r#"<option value="open" selected>open</option>"#),
        "unchanged"
    );
    // The same form with the token, from this site, works.
    let ok = b.post(&path, &fields).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = b.get(&format!("/tickets/{ticket}")).await;
    assert!(
        page.body
            .contains(r#"<option value="solved" selected>solved</option>"#)
    );
}

#[tokio::test]
async fn every_page_has_a_csp_without_unsafe_inline_and_loads_only_its_own_assets() {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "csp@acme.test").await;
    for path in ["/login", "/tickets", "/outcomes", "/knowledge", "/settings"] {
        let got = b.get(path).await;
        assert_eq!(got.status, StatusCode::OK, "{path}: {}", got.body);
        let csp = got
            .headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(got.headers["x-content-type-options"], "nosniff");
        assert!(!got.body.contains("<script>"), "{path}: no inline script");
        assert!(!got.body.contains(" style="), "{path}: no inline style");
        assert!(!got.body.contains(" onclick="), "{path}: no inline handler");
        assert!(
            got.body
                .contains(r#"<script src="/assets/app.js" defer></script>"#)
        );
    }
    let js = b.get("/assets/app.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/javascript")
    );
    let css = b.get("/assets/app.css").await;
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn customer_written_text_is_escaped() {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "xss@acme.test").await;
    let tenant = tenant_of(&t, "xss@acme.test").await;
    let (ticket, _) = ticket_with_draft(
        &t.db,
        &tenant,
        ("<img src=x onerror=alert(2)>", "mal@example.com"),
        "<script>alert(1)</script>",
        "Draft quoting </textarea><script>alert(3)</script>",
        none(),
    )
    .await;
    for path in ["/tickets".to_owned(), format!("/tickets/{ticket}")] {
        let got = b.get(&path).await;
        assert!(!got.body.contains("<script>alert"), "{path}");
        assert!(!got.body.contains("<img src=x"), "{path}");
        assert!(
            got.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn another_tenants_ticket_is_not_found_and_never_listed() {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut a = Browser::new(&s);
    a.sign_up("Acme", "a@acme.test").await;
    let ta = tenant_of(&t, "a@acme.test").await;
    let (ticket, draft) = ticket_with_draft(
        &t.db,
        &ta,
        ("Maya", "maya@example.com"),
        "Acme's secret ticket",
        "Acme's draft",
        none(),
    )
    .await;
    let mut other = Browser::new(&s);
    other.sign_up("Globex", "b@globex.test").await;
    let queue = other.get("/tickets").await;
    assert!(!queue.body.contains("Acme's secret ticket"));
    let pasted = other.get(&format!("/tickets/{ticket}")).await;
    assert_eq!(pasted.status, StatusCode::NOT_FOUND);
    assert!(!pasted.body.contains("Acme"));
    let approve = other
        .post(
            &format!("/tickets/{ticket}/drafts/{}/approve", draft.id),
            &[("content", "hijacked")],
        )
        .await;
    assert_eq!(approve.status, StatusCode::NOT_FOUND);
    let bad_id = other.get("/tickets/not-a-uuid").await;
    assert_eq!(bad_id.status, StatusCode::NOT_FOUND);
    // Still a draft for its owner.
    let page = a.get(&format!("/tickets/{ticket}")).await;
    assert!(page.body.contains("Acme&#39;s draft") || page.body.contains("Acme's draft"));
    assert!(page.body.contains("waiting for review") || page.body.contains("textarea"));
}

#[tokio::test]
async fn the_session_cookie_never_authenticates_the_api() {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "api@acme.test").await;
    let cookie = format!("sa_session={}", b.cookie("sa_session").expect("cookie"));
    for path in ["/api/v1/tickets", "/api/v1/me", "/api/v1/outcomes"] {
        let res = reqwest::Client::new()
            .get(s.at(path))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("GET");
        assert_eq!(res.status(), 401, "{path}");
    }
}

#[tokio::test]
async fn the_approve_button_says_what_will_happen_and_the_draft_can_be_edited_approved_and_discarded()
 {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "loop@acme.test").await;
    let tenant = tenant_of(&t, "loop@acme.test").await;
    let (ticket, draft) = ticket_with_draft(
        &t.db,
        &tenant,
        ("Maya Lopez", "maya@example.com"),
        "Charged twice",
        "Hello Maya,\nwe refunded it.",
        none(),
    )
    .await;
    let page = b.get(&format!("/tickets/{ticket}")).await;
    assert!(
        page.body.contains("Mark approved — no channel"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Hello Maya,\nwe refunded it."));
    let queue = b.get("/tickets").await;
    assert!(queue.body.contains("draft waits"));

    let edit = format!("/tickets/{ticket}/drafts/{}/edit", draft.id);
    let saved = b
        .post(
            &edit,
            &[("content", "Hello Maya,\r\nwe refunded the second charge.")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), format!("/tickets/{ticket}?done=saved"));
    let page = b.get(saved.location()).await;
    assert!(page.body.contains("Edit saved."));
    assert!(
        page.body
            .contains("Hello Maya,\nwe refunded the second charge."),
        "CRLF is stored as LF"
    );

    let approve = format!("/tickets/{ticket}/drafts/{}/approve", draft.id);
    let approved = b
        .post(
            &approve,
            &[("content", "Hello Maya,\nwe refunded the second charge.")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let page = b.get(approved.location()).await;
    assert!(
        page.body.contains("Approved. No email channel is set up"),
        "{}",
        page.body
    );
    assert!(page.body.contains("No draft waits for review"));
    assert!(page.body.contains(">approved<"));
    // Deciding twice is a conflict, shown as a page.
    let again = b.post(&approve, &[("content", "x")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let (second, d2) = ticket_with_draft(
        &t.db,
        &tenant,
        ("Maya Lopez", "maya@example.com"),
        "Where is my order?",
        "It ships today.",
        none(),
    )
    .await;
    let discarded = b
        .post(&format!("/tickets/{second}/drafts/{}/discard", d2.id), &[])
        .await;
    assert_eq!(
        discarded.status,
        StatusCode::SEE_OTHER,
        "{}",
        discarded.body
    );
    let page = b.get(discarded.location()).await;
    assert!(page.body.contains("Draft discarded."));
    let retriage = b.post(&format!("/tickets/{second}/triage"), &[]).await;
    assert_eq!(
        retriage.status,
        StatusCode::CONFLICT,
        "a discarded draft is a person's decision"
    );
}

#[tokio::test]
async fn settings_never_show_a_secret_and_the_claude_desktop_panel_makes_its_key() {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "keys@acme.test").await;
    let made = b.post("/settings/claude-desktop", &[]).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(made.body.contains("mcp-remote"));
    assert!(made.body.contains(&format!("{}/mcp", s.at(""))));
    assert!(made.body.contains("Bearer sa_"), "the new key, shown once");
    assert_eq!(made.headers["cache-control"], "no-store");
    let page = b.get("/settings").await;
    assert!(page.body.contains("Claude Desktop"));
    assert!(!page.body.contains("Bearer sa_"), "never shown again");
    for setting in [
        "JWT_SECRET",
        "SECRETS_KEY",
        "DATABASE_URL",
        "mcp-test-secret",
    ] {
        assert!(!page.body.contains(setting), "{setting}");
        assert!(!made.body.contains(setting), "{setting}");
    }
}
