//! `/tickets`: the queue, newest first, filtered by status, priority, category and "needs a
//! person", a page at a time (keyset paging: `cursor`).

use axum::Extension;
use axum::extract::State;
use maud::html;
use serde::Deserialize;

use super::layout::{Section, page, when, words};
use super::{Csrf, PageError, PageQuery, PageResult, Pages};
use crate::accounts::Principal;
use crate::desk::inbox;
use crate::tickets::{Priority, Status};
use crate::tools::ListTicketsArgs;

/// The filters as the form sends them: an empty value is "any".
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    category: String,
    /// `yes`, `no` or empty.
    #[serde(default)]
    needs_human: String,
    #[serde(default)]
    cursor: String,
}

const STATUSES: [&str; 4] = ["open", "pending", "solved", "closed"];
const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];

fn parse<T: serde::de::DeserializeOwned>(field: &str, raw: &str) -> Result<Option<T>, PageError> {
    if raw.is_empty() {
        return Ok(None);
    }
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map(Some)
        .map_err(|_| {
            PageError::new(
                axum::http::StatusCode::BAD_REQUEST,
                format!("There is no {field} \u{201c}{raw}\u{201d}."),
            )
        })
}

fn nonempty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.trim().to_owned())
}

pub async fn show(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Extension(csrf): Extension<Csrf>,
    PageQuery(f): PageQuery<Filters>,
) -> PageResult {
    let caller = pages.caller(&principal);
    let needs_human = match f.needs_human.as_str() {
        "" => None,
        "yes" => Some(true),
        "no" => Some(false),
        other => {
            return Err(PageError::new(
                axum::http::StatusCode::BAD_REQUEST,
                format!("\u{201c}{other}\u{201d} is not yes or no."),
            ));
        }
    };
    let args = ListTicketsArgs {
        status: parse::<Status>("status", &f.status)?,
        priority: parse::<Priority>("priority", &f.priority)?,
        customer_id: None,
        needs_human,
        category: nonempty(&f.category),
        limit: Some(25),
        cursor: nonempty(&f.cursor),
    };
    let queue = inbox::queue(&pages.app.ctx, &caller, args).await?;
    let categories = inbox::categories(&pages.app.ctx, &caller).await?;
    let next = queue.next_cursor.as_ref().map(|c| {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("status", &f.status)
            .append_pair("priority", &f.priority)
            .append_pair("category", &f.category)
            .append_pair("needs_human", &f.needs_human)
            .append_pair("cursor", c)
            .finish();
        format!("/tickets?{q}")
    });
    let body = html! {
        h1 { "Queue" }
        form.filters method="get" action="/tickets" aria-label="Filter the queue" {
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s) selected[f.status == s] { (s) } }
                }
            }
            label { "Priority "
                select name="priority" {
                    option value="" { "any" }
                    @for p in PRIORITIES { option value=(p) selected[f.priority == p] { (p) } }
                }
            }
            label { "Category "
                select name="category" {
                    option value="" { "any" }
                    @for c in &categories { option value=(c) selected[&f.category == c] { (words(c)) } }
                }
            }
            label { "Needs a person "
                select name="needs_human" {
                    option value="" { "any" }
                    option value="yes" selected[f.needs_human == "yes"] { "yes" }
                    option value="no" selected[f.needs_human == "no"] { "no" }
                }
            }
            button type="submit" { "Filter" }
        }
        @if queue.rows.is_empty() {
            p.empty { "No tickets match." }
        } @else {
            table.queue {
                thead { tr {
                    th scope="col" { "#" }
                    th scope="col" { "Subject" }
                    th scope="col" { "Customer" }
                    th scope="col" { "Status" }
                    th scope="col" { "Priority" }
                    th scope="col" { "Category" }
                    th scope="col" { "Needs a person" }
                    th scope="col" { "Draft" }
                    th scope="col" { "Created" }
                } }
                tbody {
                    @for row in &queue.rows {
                        @let t = &row.ticket;
                        tr.needs-human[t.needs_human] {
                            td data-label="#" { (t.number) }
                            td data-label="Subject" { a href={ "/tickets/" (t.id) } { (t.subject) } }
                            td data-label="Customer" {
                                @if let Some(c) = &row.customer { (c.name) " " span.muted { "<" (c.email) ">" } }
                            }
                            td data-label="Status" { span.badge { (t.status.as_str()) } }
                            td data-label="Priority" { span class={ "badge p-" (t.priority.as_str()) } { (t.priority.as_str()) } }
                            td data-label="Category" {
                                @match &t.category {
                                    Some(c) => { (words(c)) @if let Some(conf) = t.confidence { " " span.muted { "(" (format!("{conf:.2}")) ")" } } }
                                    None => { span.muted { "not triaged" } }
                                }
                            }
                            td data-label="Needs a person" { @if t.needs_human { strong { "yes" } } @else { "no" } }
                            td data-label="Draft" { @if row.draft_waiting { span.badge.waiting { "draft waits" } } @else { span.muted { "—" } } }
                            td data-label="Created" { (when(t.created_at)) }
                        }
                    }
                }
            }
        }
        @if let Some(href) = &next {
            p { a.button href=(href) rel="next" { "Older tickets →" } }
        }
    };
    Ok(page("Queue", Section::Queue, &csrf, body))
}
