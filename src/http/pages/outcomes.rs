//! `/outcomes`: how the agent does over a chosen period ([`crate::stats::outcomes`]), with a
//! small chart drawn by the server as inline SVG (markup, so the CSP needs no exception).

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Section, duration, page, percent, words};
use super::{Csrf, PageQuery, PageResult, Pages};
use crate::accounts::Principal;
use crate::stats::outcomes::{self, DayOutcomes, OutcomeFigures};

#[derive(Debug, Deserialize)]
pub struct Period {
    #[serde(default = "thirty")]
    days: u32,
}

fn thirty() -> u32 {
    30
}

const PERIODS: [u32; 4] = [7, 30, 90, 365];

pub async fn show(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Extension(csrf): Extension<Csrf>,
    PageQuery(period): PageQuery<Period>,
) -> PageResult {
    let mut tx = pages.app.ctx.db().begin(&principal.tenant).await?;
    let o = outcomes::compute(&mut tx, period.days).await?;
    tx.commit().await?;
    let body = html! {
        h1 { "Outcomes" }
        form.filters method="get" action="/outcomes" aria-label="Period" {
            label { "Period "
                select name="days" {
                    @for d in PERIODS { option value=(d) selected[d == o.days] { "last " (d) " days" } }
                    @if !PERIODS.contains(&o.days) { option value=(o.days) selected { "last " (o.days) " days" } }
                }
            }
            button type="submit" { "Show" }
        }
        p.muted { "Drafts written since " (o.since.format("%Y-%m-%d %H:%M UTC")) ", and what people did with them." }
        (figures(&o.all, "outcomes-all"))
        h2 { "Drafts per day" }
        (chart(&o.by_day))
        h2 { "By category" }
        @if o.by_category.is_empty() {
            p.muted { "No drafts in this period." }
        } @else {
            table.outcomes id="by-category" {
                thead { tr {
                    th scope="col" { "Category" }
                    th scope="col" { "Drafts" }
                    th scope="col" { "Approved unchanged" }
                    th scope="col" { "Approved after editing" }
                    th scope="col" { "Discarded" }
                    th scope="col" { "Waiting" }
                    th scope="col" { "Edited (chars changed)" }
                    th scope="col" { "First reply, median" }
                    th scope="col" { "Resolved by the agent" }
                } }
                tbody {
                    @for c in &o.by_category {
                        @let f = &c.figures;
                        tr {
                            td data-label="Category" { (words(&c.category)) }
                            td data-label="Drafts" { (f.drafts.written) }
                            td data-label="Approved unchanged" { (f.drafts.approved_unchanged) }
                            td data-label="Approved after editing" { (f.drafts.approved_edited) }
                            td data-label="Discarded" { (f.drafts.discarded) }
                            td data-label="Waiting" { (f.drafts.waiting) }
                            td data-label="Edited (chars changed)" { (percent(f.edited_share_changed)) }
                            td data-label="First reply, median" { (f.first_reply.median_seconds.map_or_else(|| "—".into(), duration)) }
                            td data-label="Resolved by the agent" { (percent(f.resolved_by_agent_share)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Outcomes", Section::Outcomes, &csrf, body))
}

/// The headline figures; each value carries a `data-figure` name for tests and scripts.
fn figures(f: &OutcomeFigures, id: &str) -> Markup {
    let d = &f.drafts;
    let rows: [(&str, &str, String); 10] = [
        ("written", "Drafts written", d.written.to_string()),
        (
            "approved_unchanged",
            "Approved unchanged",
            d.approved_unchanged.to_string(),
        ),
        (
            "approved_edited",
            "Approved after editing",
            d.approved_edited.to_string(),
        ),
        (
            "edited_share_changed",
            "Characters changed in edited drafts",
            percent(f.edited_share_changed),
        ),
        ("discarded", "Discarded", d.discarded.to_string()),
        ("waiting", "Waiting for a person", d.waiting.to_string()),
        (
            "median",
            "Customer message to first approved reply, median",
            f.first_reply
                .median_seconds
                .map_or_else(|| "—".into(), duration),
        ),
        (
            "p90",
            "… 90th percentile",
            f.first_reply
                .p90_seconds
                .map_or_else(|| "—".into(), duration),
        ),
        (
            "tickets_with_drafts",
            "Tickets with a draft",
            f.tickets_with_drafts.to_string(),
        ),
        (
            "resolved_by_agent_share",
            "Resolved by the agent with a person's approval",
            percent(f.resolved_by_agent_share),
        ),
    ];
    html! {
        dl.figures id=(id) {
            @for (key, label, value) in &rows {
                div.figure {
                    dt { (label) }
                    dd data-figure=(key) { (value) }
                }
            }
        }
    }
}

/// Stacked bars per day: approved unchanged, approved after editing, discarded, waiting.
fn chart(days: &[DayOutcomes]) -> Markup {
    const W: f64 = 640.0;
    const H: f64 = 160.0;
    const TOP: f64 = 10.0;
    let max = days
        .iter()
        .map(|d| d.drafts.written)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = days.len().max(1) as f64;
    let slot = W / n;
    let bar = (slot * 0.7).max(1.0);
    let scale = (H - TOP) / max;
    let mut rects = Vec::new();
    let mut labels = Vec::new();
    for (i, d) in days.iter().enumerate() {
        let x = i as f64 * slot + (slot - bar) / 2.0;
        let mut y = H;
        let c = d.drafts;
        for (count, colour, what) in [
            (c.approved_unchanged, "#2f7d32", "approved unchanged"),
            (c.approved_edited, "#1565c0", "approved after editing"),
            (c.discarded, "#b23c17", "discarded"),
            (c.waiting, "#757575", "waiting"),
        ] {
            if count > 0 {
                let h = count as f64 * scale;
                y -= h;
                rects.push((x, y, h, colour, format!("{}: {count} {what}", d.day)));
            }
        }
        if days.len() <= 31 {
            labels.push((x + bar / 2.0, d.day.get(5..).unwrap_or(&d.day).to_owned()));
        }
    }
    let summary = format!(
        "Drafts per day over {} days with drafts, at most {} a day",
        days.len(),
        max as i64
    );
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (H + 20.0) } role="img" aria-label=(summary) {
                line x1="0" y1=(H) x2=(W) y2=(H) stroke="#888" stroke-width="1" {}
                @for (x, y, h, colour, title) in &rects {
                    rect x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) fill=(colour) {
                        title { (title) }
                    }
                }
                @for (x, label) in &labels {
                    text x=(format!("{x:.1}")) y=(H + 14.0) font-size="9" text-anchor="middle" fill="#555" { (label) }
                }
            }
            figcaption {
                span.key.k-unchanged { "approved unchanged" } " "
                span.key.k-edited { "approved after editing" } " "
                span.key.k-discarded { "discarded" } " "
                span.key.k-waiting { "waiting" }
            }
        }
    }
}
