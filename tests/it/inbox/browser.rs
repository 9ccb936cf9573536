//! The inbox in headless Chromium, driven over WebDriver (fantoccini → chromedriver on a free
//! loopback port, started here): sign up, log in, open the desk's ticket, edit the draft,
//! approve it, see the state change and the outcome figures move (checked against SQL); the
//! `<script>` ticket renders as text; a form without its CSRF token is refused; a second tenant
//! sees none of it and a pasted URL is 404; every control of the ticket page is reached by Tab,
//! named, and shows its focus, and nothing moves as the page loads or the draft is edited.
//! Screenshots go to `target/inbox-screenshots/`
//! (`SUPPORT_AGENT_WRITE_SCREENSHOTS=1` also refreshes the README's, under `docs/`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use support_agent::Tenant;
use support_agent::audit::Transport;
use support_agent::knowledge::{self, IngestOptions, SearchSettings};
use support_agent::tools::{self, Caller, Ctx, SearchKnowledgeArgs};
use uuid::Uuid;

use super::support::{server, tenant_of, ticket_with_draft};
use crate::accounts::support::PASSWORD;
use crate::common::TestDb;
use crate::knowledge::support::hash_embedder;
use crate::mcp::support::Server;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("chromedriver")
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver; scripts/test-tools.sh installs it)");
        // Dropped (killed and waited for) on every path, a failed start too.
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        // Ready when it answers its status (it starts in well under a second).
        for _ in 0..200 {
            if let Ok(r) = client.get(format!("{}/status", driver.url)).send().await
                && r.status().is_success()
            {
                return driver;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not start on {}", driver.url);
    }

    /// A new browser session: its own profile, so its own cookies.
    async fn browser(&self) -> Client {
        let mut args = vec![
            "--headless=new",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--window-size=1280,900",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ];
        if running_as_root() {
            args.push("--no-sandbox");
        }
        let mut caps = serde_json::Map::new();
        let mut options = json!({ "args": args });
        if Path::new("/usr/lib/chromium/chromium").exists() {
            options["binary"] = json!("/usr/lib/chromium/chromium");
        }
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(ROOT).join("target/inbox-screenshots");
    std::fs::create_dir_all(&dir).expect("target/inbox-screenshots");
    dir
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), &png).expect("write");
    let for_readme = matches!(name, "queue" | "ticket");
    if for_readme && std::env::var("SUPPORT_AGENT_WRITE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(Path::new(ROOT).join(format!("docs/inbox-{name}.png")), &png)
            .expect("write docs/");
    }
}

async fn fill(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.expect(css);
    e.clear().await.expect("clear");
    e.send_keys(text).await.expect("type");
}

async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .for_element(Locator::Css(css))
        .await
        .expect(css)
        .text()
        .await
        .expect("text")
}

/// The text of `css` once it contains `needle`: after a click or a submit, the next page may
/// not have loaded yet.
async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..400 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if t.contains(needle) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{css} never said {needle:?}; it says {last:?}");
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

async fn sign_up(c: &Client, base: &str, name: &str, email: &str) {
    c.goto(&format!("{base}/signup")).await.expect("goto");
    fill(c, "#name", name).await;
    fill(c, "#email", email).await;
    fill(c, "#password", PASSWORD).await;
    click(c, "button[type=submit].primary").await;
    wait_text(c, "main h1", "Queue").await;
}

/// A server, chromedriver, and a browser signed up as `email` (tenant "Northwind").
async fn signed_up(t: &TestDb, email: &str) -> (Server, Driver, Client, Tenant) {
    let s = server(t).await;
    let driver = Driver::start().await;
    let c = driver.browser().await;
    sign_up(&c, &s.at(""), "Northwind", email).await;
    let tenant = tenant_of(t, email).await;
    (s, driver, c, tenant)
}

/// The desk's ticket: Maya was charged twice; the draft cites the refund policy.
async fn desk(t: &TestDb, tenant: &Tenant) -> (Uuid, Uuid, Uuid) {
    let policy = "# Refunds\n\n## Double charges\n\nWhen a card is charged twice for one order we \
                  refund the second charge at once; the money is back in 5 to 10 business days.\n";
    knowledge::ingest_upload(
        &t.db,
        hash_embedder().as_ref(),
        tenant,
        "refunds.md",
        policy.as_bytes(),
        &IngestOptions::default(),
    )
    .await
    .expect("ingest");
    let ctx = Ctx::new(t.db.clone()).with_knowledge(hash_embedder(), SearchSettings::default());
    let caller = Caller::staff(*tenant, Transport::Http);
    let found = tools::search_knowledge(
        &ctx,
        &caller,
        SearchKnowledgeArgs {
            query: "charged twice refund".into(),
            limit: Some(1),
        },
    )
    .await
    .expect("search");
    let chunk = found.results[0].citation_id.clone();
    let (ticket, draft) = ticket_with_draft(
        &t.db,
        tenant,
        ("Maya Lopez", "maya@example.com"),
        "Charged twice for order #1042",
        "Hi Maya,\n\nSorry about that: you were charged twice for order #1042. We have refunded \
         the second charge; the money is back on your card in 5 to 10 business days.\n\nBest,\nNorthwind support",
        json!([{"kind": "chunk", "id": chunk}]),
    )
    .await;
    let (xss, _) = ticket_with_draft(
        &t.db,
        tenant,
        ("Mallory", "mallory@example.com"),
        "<script>alert(1)</script>",
        "We do not run scripts.",
        json!([]),
    )
    .await;
    (ticket, draft.id, xss)
}

/// Drafts written and approved after editing, counted straight from the table.
async fn sql_counts(t: &TestDb, tenant: &Tenant) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*), \
                count(*) FILTER (WHERE draft_state IN ('approved','sent') \
                                   AND coalesce(original_content, content) <> content), \
                count(*) FILTER (WHERE draft_state = 'draft') \
         FROM messages WHERE user_id = $1 AND sender_type = 'ai'",
    )
    .bind(tenant.id())
    .fetch_one(&t.owner)
    .await
    .expect("count")
}

async fn figure(c: &Client, key: &str) -> String {
    text(c, &format!("#outcomes-all dd[data-figure={key}]")).await
}

#[tokio::test]
async fn a_person_signs_up_logs_in_edits_and_approves_the_draft_and_sees_the_outcomes_move() {
    let t = TestDb::new().await;
    let (s, driver, c, tenant) = signed_up(&t, "owner@northwind.test").await;
    let base = s.at("");
    let (ticket, draft, xss) = desk(&t, &tenant).await;

    // Log out, and in again.
    click(&c, "form.logout button").await;
    wait_text(&c, "main h1", "Log in").await;
    fill(&c, "#email", "owner@northwind.test").await;
    fill(&c, "#password", PASSWORD).await;
    click(&c, "button[type=submit].primary").await;
    wait_text(&c, "main h1", "Queue").await;

    // The queue: newest first, the draft waiting.
    let rows = text(&c, "table.queue tbody").await;
    assert!(rows.contains("Charged twice for order #1042"), "{rows}");
    assert!(rows.contains("Maya Lopez"), "{rows}");
    assert!(rows.contains("draft waits"), "{rows}");
    let first = text(&c, "table.queue tbody tr:first-child").await;
    assert!(
        first.contains("<script>alert(1)</script>"),
        "newest first: {first}"
    );
    screenshot(&c, "queue").await;

    // The outcomes before: one draft waits of two.
    c.goto(&format!("{base}/outcomes")).await.expect("goto");
    assert_eq!(figure(&c, "written").await, "2");
    assert_eq!(figure(&c, "approved_edited").await, "0");
    assert_eq!(figure(&c, "waiting").await, "2");

    // The ticket: the thread, the draft with its cited passage, the approve button's promise.
    c.goto(&format!("{base}/tickets")).await.expect("goto");
    c.find(Locator::LinkText("Charged twice for order #1042"))
        .await
        .expect("the ticket's link")
        .click()
        .await
        .expect("click");
    wait_text(&c, "main h1", "Charged twice for order #1042").await;
    let box_text = c
        .find(Locator::Css("#content"))
        .await
        .expect("the draft box")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert!(box_text.starts_with("Hi Maya,"), "{box_text}");
    let cited = text(&c, "blockquote.passage").await;
    assert!(
        cited.contains("Refunds") && cited.contains("Double charges"),
        "{cited}"
    );
    assert!(cited.contains("5 to 10 business days"), "{cited}");
    let approve = text(&c, "button.primary[formaction$='/approve']").await;
    assert_eq!(approve, "Mark approved \u{2014} no channel");
    screenshot(&c, "ticket").await;
    c.set_window_size(390, 844).await.expect("phone width");
    screenshot(&c, "ticket-phone").await;
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(
        overflow,
        json!(false),
        "no sideways scrolling at phone width"
    );
    c.set_window_size(1280, 900).await.expect("desktop width");

    // Edit the draft and approve it: the state changes, the box goes.
    fill(
        &c,
        "#content",
        "Hi Maya,\n\nYou were charged twice for order #1042: we refunded the second charge \
         today. Expect it in 5 to 10 business days.\n\nBest,\nNorthwind support",
    )
    .await;
    click(&c, "button.primary[formaction$='/approve']").await;
    wait_text(&c, "p.notice", "Approved.").await;
    let thread = text(&c, "section.thread").await;
    assert!(thread.contains("approved"), "{thread}");
    assert!(thread.contains("edited by a person"), "{thread}");
    assert!(thread.contains("No draft waits for review"), "{thread}");

    // The outcomes after: they moved, and equal the rows.
    c.goto(&format!("{base}/outcomes")).await.expect("goto");
    let (written, edited, waiting) = sql_counts(&t, &tenant).await;
    assert_eq!((written, edited, waiting), (2, 1, 1));
    assert_eq!(figure(&c, "written").await, written.to_string());
    assert_eq!(figure(&c, "approved_edited").await, edited.to_string());
    assert_eq!(figure(&c, "waiting").await, waiting.to_string());
    assert_ne!(figure(&c, "median").await, "\u{2014}");
    screenshot(&c, "outcomes").await;

    // The <script> ticket renders as text, and runs nothing.
    c.goto(&format!("{base}/tickets/{xss}"))
        .await
        .expect("goto");
    assert!(
        text(&c, "main h1")
            .await
            .contains("<script>alert(1)</script>")
    );
    assert!(c.get_alert_text().await.is_err(), "no alert opened");
    let scripts = c
        .execute("return document.scripts.length;", vec![])
        .await
        .expect("script");
    assert_eq!(scripts, json!(1), "only /assets/app.js");

    // A form without its CSRF token is refused, and changes nothing.
    c.execute(
        "const f = document.createElement('form'); f.method = 'post'; \
         f.action = arguments[0]; \
         for (const [k, v] of [['status', 'closed'], ['priority', 'low']]) { \
           const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); } \
         document.body.appendChild(f); f.submit();",
        vec![json!(format!("/tickets/{ticket}/update"))],
    )
    .await
    .expect("submit a form without the token");
    wait_text(&c, "main h1", "403").await;
    assert!(
        text(&c, "p.error")
            .await
            .contains("did not come from this site")
    );
    let status: String = sqlx::query_scalar("SELECT status FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&t.owner)
        .await
        .expect("status");
    assert_eq!(status, "open");

    // A second tenant, in another browser: sees none of it; a pasted URL is 404.
    let other = driver.browser().await;
    sign_up(&other, &base, "Globex", "owner@globex.test").await;
    let queue = text(&other, "main").await;
    assert!(queue.contains("No tickets match."), "{queue}");
    assert!(!queue.contains("Charged twice"), "{queue}");
    other
        .goto(&format!("{base}/tickets/{ticket}"))
        .await
        .expect("goto");
    assert!(text(&other, "main h1").await.starts_with("404"));
    other
        .goto(&format!("{base}/tickets/{ticket}/drafts/{draft}/approve"))
        .await
        .expect("goto");
    assert!(!text(&other, "body").await.contains("Maya"));

    other.close().await.expect("close");
    c.close().await.expect("close");
}

/// What the focused element is, as a person tabbing through the page meets it.
#[derive(Debug, serde::Deserialize)]
struct Focused {
    /// Its place in the document, which tells two controls of the same name apart.
    at: i64,
    tag: String,
    name: String,
    outline: String,
    width: f64,
    visible: bool,
}

const FOCUSED: &str = "const e = document.activeElement; const s = getComputedStyle(e); \
    const label = e.getAttribute('aria-label') || (e.labels && e.labels.length ? e.labels[0].innerText : ''); \
    return { at: [...document.querySelectorAll('*')].indexOf(e), tag: e.tagName.toLowerCase(), \
             name: (label || e.innerText || e.value || '').trim().slice(0, 80), \
             outline: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0, \
             visible: e.matches(':focus-visible') };";

/// Presses Tab, as a person's keyboard does (to whatever has the focus, a file input too).
async fn tab(c: &Client) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let tab: char = fantoccini::key::Key::Tab.into();
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: tab })
        .then(KeyAction::Up { value: tab });
    c.perform_actions(keys).await.expect("Tab");
}

/// Presses Tab from where the focus is until it leaves the page or comes back round: every
/// control met, in order.
async fn tab_through(c: &Client) -> Vec<Focused> {
    let mut reached: Vec<Focused> = Vec::new();
    for _ in 0..200 {
        tab(c).await;
        let f: Focused = serde_json::from_value(c.execute(FOCUSED, vec![]).await.expect("focused"))
            .expect("a focused element");
        if f.tag == "body" || reached.iter().any(|r| r.at == f.at) {
            break;
        }
        reached.push(f);
    }
    reached
}

/// Where the top of the element `css` is on the page, in CSS pixels.
async fn top_of(c: &Client, css: &str) -> f64 {
    let e = c.find(Locator::Css(css)).await.expect(css);
    e.rectangle().await.expect("its rectangle").1
}

/// The layout shifts Chromium recorded since the page started (the Layout Instability API).
async fn layout_shift(c: &Client) -> f64 {
    let v = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; let sum = 0; \
             new PerformanceObserver(l => { for (const e of l.getEntries()) { if (!e.hadRecentInput) sum += e.value; } }) \
               .observe({ type: 'layout-shift', buffered: true }); \
             setTimeout(() => done(sum), 400);",
            vec![],
        )
        .await
        .expect("layout-shift observer");
    v.as_f64().expect("a number")
}

#[tokio::test]
async fn the_ticket_page_is_reachable_by_keyboard_with_visible_focus_and_nothing_moves() {
    let t = TestDb::new().await;
    let (s, _driver, c, tenant) = signed_up(&t, "keys@northwind.test").await;
    let base = s.at("");
    let (ticket, _, _) = desk(&t, &tenant).await;
    c.goto(&format!("{base}/tickets/{ticket}"))
        .await
        .expect("goto");
    wait_text(&c, "main h1", "Charged twice").await;

    // No layout shift while the page and its draft load.
    assert_eq!(layout_shift(&c).await, 0.0, "the page moved while loading");

    // Tab from the top of the page through every control: each is reached, has a name, and
    // shows where the focus is.
    let reached = tab_through(&c).await;
    let names: Vec<&str> = reached.iter().map(|f| f.name.as_str()).collect();
    for wanted in [
        "Queue",
        "Log out",
        "The agent's draft — edit it before sending",
        "Mark approved \u{2014} no channel",
        "Save edit",
        "Discard draft",
        "Re-run triage",
        "Status",
        "Priority",
        "Save status and priority",
    ] {
        assert!(
            names.contains(&wanted),
            "{wanted:?} is not reached by Tab; reached {names:?}"
        );
    }
    for f in &reached {
        assert!(!f.name.is_empty(), "a control without a name: {f:?}");
        assert!(
            f.visible && f.outline != "none" && f.width >= 2.0,
            "focus is not visible on {f:?}"
        );
    }

    // Editing the draft says so under the box, and nothing below it moves.
    let approve = "button.primary[formaction$='/approve']";
    let before = top_of(&c, approve).await;
    c.find(Locator::Css("#content"))
        .await
        .expect("box")
        .send_keys(" Thanks for waiting.")
        .await
        .expect("type");
    wait_text(&c, ".edit-status", "Edited: not saved yet.").await;
    let after = top_of(&c, approve).await;
    assert_eq!(
        before, after,
        "the buttons moved when the edit status appeared"
    );

    // Every page fits a phone's width, and every control on it is reached by Tab with a name.
    c.set_window_size(390, 844).await.expect("phone width");
    for path in ["/tickets", "/outcomes", "/knowledge", "/settings"] {
        c.goto(&format!("{base}{path}")).await.expect("goto");
        let fits = c
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            )
            .await
            .expect("script");
        assert_eq!(fits, json!(true), "{path} scrolls sideways at phone width");
        let controls = c
            .execute(
                "return [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')] \
                   .filter(e => e.offsetParent !== null && e.tabIndex >= 0).length;",
                vec![],
            )
            .await
            .expect("script")
            .as_u64()
            .expect("a count");
        let reached = tab_through(&c).await;
        for f in &reached {
            assert!(
                !f.name.is_empty(),
                "{path}: a control without a name: {f:?}"
            );
            assert!(
                f.visible && f.outline != "none",
                "{path}: focus not visible on {f:?}"
            );
        }
        let names: Vec<&str> = reached.iter().map(|f| f.name.as_str()).collect();
        assert!(
            names.len() as u64 >= controls,
            "{path}: Tab reached {} of {controls} controls: {names:?}",
            names.len()
        );
    }
    c.close().await.expect("close");
}
