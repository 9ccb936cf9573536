//! The frame every page shares: head, navigation, the signed-in account, and small pieces
//! (the CSRF field, labels, times).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::{CSRF_FIELD, Csrf};

/// Which section of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Queue,
    Outcomes,
    Knowledge,
    Settings,
}

/// A page of a signed-in person.
pub fn page(title: &str, section: Section, csrf: &Csrf, body: Markup) -> Response {
    let nav = [
        (Section::Queue, "/tickets", "Queue"),
        (Section::Outcomes, "/outcomes", "Outcomes"),
        (Section::Knowledge, "/knowledge", "Knowledge"),
        (Section::Settings, "/settings", "Settings"),
    ];
    document(
        title,
        html! {
            header.top {
                a.brand href="/tickets" { "support-agent" }
                nav aria-label="Main" {
                    ul {
                        @for (s, href, label) in nav {
                            li {
                                a href=(href) aria-current=[(s == section).then_some("page")] { (label) }
                            }
                        }
                    }
                }
                form.logout method="post" action="/logout" {
                    (csrf_field(csrf))
                    button type="submit" { "Log out" }
                }
            }
            main id="main" { (body) }
        },
    )
}

/// A page for someone not signed in (sign-up, login, errors).
pub fn bare(title: &str, body: Markup) -> Response {
    document(
        title,
        html! {
            header.top { a.brand href="/" { "support-agent" } }
            main id="main" .narrow { (body) }
        },
    )
}

fn document(title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · support-agent" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (body)
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// The hidden field every form carries.
pub fn csrf_field(csrf: &Csrf) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(csrf.0); }
}

/// The page shown for an error, with its status.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut r = bare(
        title,
        html! {
            h1 { (status.as_u16()) " · " (title) }
            p.error role="alert" { (message) }
            p { a href="/tickets" { "Back to the queue" } }
        },
    );
    *r.status_mut() = status;
    r
}

/// `2026-12-14 09:30 UTC`.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A `snake_case` label as words: `refund_request` → `refund request`.
pub fn words(label: &str) -> String {
    label.replace('_', " ")
}

/// A duration in seconds as a person reads it: `45 s`, `12 min`, `3.5 h`, `2.0 d`.
pub fn duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 90.0 * 60.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 36.0 * 3600.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.1} d", secs / 86_400.0)
    }
}

/// A share as a percentage, `—` when there is none.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "—".to_owned(), |s| format!("{:.0}%", s * 100.0))
}
