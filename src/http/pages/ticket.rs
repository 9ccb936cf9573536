//! `/tickets/{id}`: the thread, the triage fields, the draft in an editable box with the
//! passages and charges it cites, approve-and-send, save edit, discard, re-run triage, status
//! and priority, the customer panel when Stripe is connected, and the Stripe actions the agent
//! proposed, to approve or reject. Every action is a form POST to the same `desk` or `actions`
//! function the REST API calls, then a redirect back here.

use axum::Extension;
use axum::extract::{Path, State};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{Section, csrf_field, page, when, words};
use super::{Csrf, PageError, PageForm, PageQuery, PageResult, Pages, parse_id, see_other};
use crate::accounts::{Credential, Principal};
use crate::actions::{self, Action, ActionFilter, ActionStatus};
use crate::desk::{self, inbox};
use crate::messages::{Decision, DraftState, Sender};
use crate::tickets::{Priority, Status};
use crate::tools::{
    self, CustomerOverviewArgs, CustomerOverviewOutput, GetTicketArgs, MessageView,
};

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    done: String,
}

#[derive(Debug, Deserialize)]
pub struct DraftForm {
    #[serde(default)]
    content: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
pub struct UpdateForm {
    status: Status,
    priority: Priority,
}

/// What a decision records as its author: the page session's token.
fn by(principal: &Principal) -> String {
    match principal.credential {
        Credential::Token { jti, .. } => format!("token:{jti}"),
        Credential::ApiKey { id, .. } => format!("api_key:{id}"),
    }
}

/// The text a browser sends (CRLF line breaks) as it was shown (LF).
fn as_shown(content: &str) -> String {
    content.replace("\r\n", "\n")
}

fn back(ticket: Uuid, done: &str) -> String {
    format!("/tickets/{ticket}?done={done}")
}

pub async fn show(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Extension(csrf): Extension<Csrf>,
    Path(id): Path<String>,
    PageQuery(notice): PageQuery<Notice>,
) -> PageResult {
    let id = parse_id(&id)?;
    let ctx = &pages.app.ctx;
    let caller = pages.caller(&principal);
    let thread = tools::get_ticket(ctx, &caller, GetTicketArgs::new(id)).await?;
    let draft = thread
        .messages
        .iter()
        .rev()
        .find(|m| m.sender_type == Sender::Ai && m.draft_state == Some(DraftState::Draft));
    let passages =
        inbox::cited_passages(ctx, &caller, draft.and_then(|d| d.citations.as_ref())).await?;
    let charges = inbox::cited(draft.and_then(|d| d.citations.as_ref()), "charge");
    let channel = crate::channels::email::status(ctx.db(), &principal.tenant)
        .await
        .map_err(crate::http::problem::Problem::from)?;
    let stripe_connected = crate::stripe::access::status(ctx.db(), &principal.tenant)
        .await
        .map(|s| s.connected)
        .unwrap_or(false);
    let overview: Option<Result<CustomerOverviewOutput, String>> =
        if stripe_connected && thread.customer.stripe_customer_id.is_some() {
            let args = CustomerOverviewArgs {
                customer_id: Some(thread.customer.id),
                email: None,
            };
            Some(
                tools::customer_overview(ctx, &caller, args)
                    .await
                    .map_err(|e| e.to_string()),
            )
        } else {
            None
        };
    let filter = ActionFilter {
        status: None,
        ticket_id: Some(id),
    };
    let proposed = actions::list(ctx, &principal.tenant, &filter, 20, None).await?;
    let t = &thread.ticket.summary;
    let c = &thread.customer;
    let approve_label = if channel.is_some() {
        format!("Send by email to {}", c.email)
    } else {
        "Mark approved \u{2014} no channel".to_owned()
    };
    let notice_text = match notice.done.as_str() {
        "approved" if channel.is_some() => {
            Some(format!("Approved: sending by email to {}.", c.email))
        }
        "approved" => Some("Approved. No email channel is set up, so nothing was sent.".to_owned()),
        "saved" => Some("Edit saved.".to_owned()),
        "discarded" => Some("Draft discarded.".to_owned()),
        "updated" => Some("Ticket updated.".to_owned()),
        "triage" => Some("Triage queued: the worker writes a new draft.".to_owned()),
        "action-succeeded" => Some("Done at Stripe: the action succeeded.".to_owned()),
        "action-failed" => Some("Stripe refused the action: its error is below.".to_owned()),
        "action-executing" => Some(
            "Stripe has not answered yet: the action is finished with the same idempotency key, \
             so it happens once."
                .to_owned(),
        ),
        "action-rejected" => Some("Action rejected: nothing was sent to Stripe.".to_owned()),
        _ => None,
    };
    let body = html! {
        p { a href="/tickets" { "← Queue" } }
        h1 { span.muted { "#" (t.number) " " } (t.subject) }
        @if let Some(n) = &notice_text { p.notice role="status" { (n) } }
        div.ticket-grid {
            section.thread aria-labelledby="thread-h" {
                h2 id="thread-h" { "Conversation" }
                article.msg.from-customer {
                    header { span.who { "Customer" } " · " (c.name) " · " time { (when(t.created_at)) } }
                    p.pre { (thread.ticket.description) }
                }
                @for m in &thread.messages {
                    @if draft.is_none_or(|d| d.id != m.id) { (message(m)) }
                }
                (draft_box(&csrf, t.id, draft, &approve_label, &passages, &charges, overview.as_ref()))
                (actions_panel(&csrf, t.id, &proposed.items))
            }
            aside.side {
                section aria-labelledby="triage-h" {
                    h2 id="triage-h" { "Triage" }
                    dl.fields {
                        dt { "Category" } dd { (t.category.as_deref().map(words).unwrap_or_else(|| "not triaged".into())) }
                        dt { "Confidence" } dd { (t.confidence.map(|c| format!("{c:.2}")).unwrap_or_else(|| "—".into())) }
                        dt { "Sentiment" } dd { (t.sentiment.as_deref().unwrap_or("—")) }
                        dt { "Language" } dd { (t.language.as_deref().unwrap_or("—")) }
                        dt { "Needs a person" } dd { @if t.needs_human { strong { "yes" } } @else { "no" } }
                        dt { "Triaged" } dd { (t.triaged_at.map(when).unwrap_or_else(|| "—".into())) }
                    }
                    form method="post" action={ "/tickets/" (t.id) "/triage" } {
                        (csrf_field(&csrf))
                        button type="submit" data-confirm="Run triage again? A draft still waiting is replaced." { "Re-run triage" }
                    }
                }
                section aria-labelledby="state-h" {
                    h2 id="state-h" { "Status and priority" }
                    form.stack method="post" action={ "/tickets/" (t.id) "/update" } {
                        (csrf_field(&csrf))
                        label for="status" { "Status" }
                        select id="status" name="status" {
                            @for s in [Status::Open, Status::Pending, Status::Solved, Status::Closed] {
                                option value=(s.as_str()) selected[s == t.status] { (s.as_str()) }
                            }
                        }
                        label for="priority" { "Priority" }
                        select id="priority" name="priority" {
                            @for p in [Priority::Low, Priority::Medium, Priority::High, Priority::Urgent] {
                                option value=(p.as_str()) selected[p == t.priority] { (p.as_str()) }
                            }
                        }
                        button type="submit" { "Save status and priority" }
                    }
                }
                (customer_panel(&thread.customer, stripe_connected, overview.as_ref()))
            }
        }
    };
    Ok(page(
        &format!("#{} {}", t.number, t.subject),
        Section::Queue,
        &csrf,
        body,
    ))
}

fn sender_label(m: &MessageView) -> (&'static str, &'static str) {
    match m.sender_type {
        Sender::Customer => ("Customer", "from-customer"),
        Sender::Agent => ("Agent", "from-agent"),
        Sender::Ai => ("AI draft", "from-ai"),
        Sender::Note => ("Internal note", "from-note"),
    }
}

fn draft_state(s: DraftState) -> &'static str {
    match s {
        DraftState::Draft => "waiting for review",
        DraftState::Approved => "approved",
        DraftState::Sent => "sent",
        DraftState::Discarded => "discarded",
    }
}

fn message(m: &MessageView) -> Markup {
    let (who, class) = sender_label(m);
    html! {
        article class={ "msg " (class) } {
            header {
                span.who { (who) }
                @if let Some(s) = m.draft_state { " · " span.badge data-state=(draft_state(s)) { (draft_state(s)) } }
                @if m.original_content.is_some() { " · edited by a person" }
                @if let Some(d) = m.delivery_state { " · delivery: " (d.as_str()) }
                " · " time { (when(m.created_at)) }
            }
            p.pre { (m.content) }
            @if let Some(e) = &m.delivery_error { p.error { "Delivery failed: " (e) } }
        }
    }
}

fn draft_box(
    csrf: &super::Csrf,
    ticket: Uuid,
    draft: Option<&MessageView>,
    approve_label: &str,
    passages: &[crate::knowledge::SearchHit],
    charges: &[String],
    overview: Option<&Result<CustomerOverviewOutput, String>>,
) -> Markup {
    html! {
        section.draft aria-labelledby="draft-h" {
            h2 id="draft-h" { "Draft reply" }
            @match draft {
                None => { p.muted.placeholder { "No draft waits for review on this ticket." } }
                Some(d) => {
                    form.stack.draft-form method="post" action={ "/tickets/" (ticket) "/drafts/" (d.id) "/edit" } {
                        (csrf_field(csrf))
                        label for="content" { "The agent's draft — edit it before sending" }
                        textarea id="content" name="content" rows="12" required { (d.content) }
                        // Filled by the script when the text differs; rendered here, with its
                        // height reserved, so that nothing moves when the script starts.
                        p.muted.edit-status id="edit-status" aria-live="polite" {}
                        div.actions {
                            button.primary type="submit" formaction={ "/tickets/" (ticket) "/drafts/" (d.id) "/approve" } { (approve_label) }
                            button type="submit" { "Save edit" }
                        }
                    }
                    form.inline method="post" action={ "/tickets/" (ticket) "/drafts/" (d.id) "/discard" } {
                        (csrf_field(csrf))
                        button.danger type="submit" data-confirm="Discard this draft?" { "Discard draft" }
                    }
                    h3 { "Sources the draft cites" }
                    @if passages.is_empty() && charges.is_empty() {
                        p.muted { "It cites no sources." }
                    }
                    @for p in passages {
                        blockquote.passage {
                            p.title { strong { (p.title) } }
                            @if !p.heading_path.is_empty() { p.crumbs { (p.heading_path.join(" › ")) } }
                            p.pre { (p.text) }
                        }
                    }
                    @for id in charges {
                        @let found = overview.and_then(|o| o.as_ref().ok()).and_then(|o| o.charges.iter().find(|c| &c.id == id));
                        div.charge-cite {
                            "Charge " code { (id) }
                            @if let Some(c) = found { " · " (c.amount_formatted) " · " (c.status) " · " (when(c.created)) }
                        }
                    }
                }
            }
        }
    }
}

/// What an action does, for a person, with a refund's reason: "refund of ¥1,250 on charge
/// ch_… (duplicate)".
fn action_what(a: &Action) -> String {
    match a.reason {
        Some(r) => format!("{} ({})", a.summary(), words(r.as_str())),
        None => a.summary(),
    }
}

/// The refunds and cancellations proposed on this ticket: approve or reject a pending one.
fn actions_panel(csrf: &super::Csrf, ticket: Uuid, items: &[Action]) -> Markup {
    html! {
        @if !items.is_empty() {
            section.actions-panel aria-labelledby="actions-h" {
                h2 id="actions-h" { "Stripe actions" }
                @for a in items {
                    article.action data-status=(a.status.as_str()) {
                        p { strong { (action_what(a)) } " · " span.badge { (a.status.as_str()) } }
                        p.muted { "Proposed by " (a.proposed_by) " · " time { (when(a.created_at)) }
                            @if let Some(by) = &a.decided_by { " · decided by " (by) } }
                        @if let Some(id) = &a.stripe_result_id { p { "Stripe: " code { (id) } } }
                        @if let Some(e) = &a.error { p.error { (e) } }
                        @if let Some(r) = &a.decision_reason { p.muted { "Reason: " (r) } }
                        @if a.status == ActionStatus::Pending {
                            div.actions {
                                form.inline method="post" action={ "/tickets/" (ticket) "/actions/" (a.id) "/approve" } {
                                    (csrf_field(csrf))
                                    button.primary type="submit" data-confirm={ (action_what(a)) " at Stripe now?" } { "Approve: " (action_what(a)) }
                                }
                                form.inline method="post" action={ "/tickets/" (ticket) "/actions/" (a.id) "/reject" } {
                                    (csrf_field(csrf))
                                    label for={ "reason-" (a.id) } { "Reason (optional)" }
                                    input id={ "reason-" (a.id) } name="reason" type="text" maxlength="2000";
                                    button.danger type="submit" { "Reject" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn customer_panel(
    c: &crate::tools::CustomerView,
    stripe_connected: bool,
    overview: Option<&Result<CustomerOverviewOutput, String>>,
) -> Markup {
    html! {
        section.customer aria-labelledby="customer-h" {
            h2 id="customer-h" { "Customer" }
            p { strong { (c.name) } br; (c.email) @if let Some(p) = &c.phone { br; (p) } }
            @match overview {
                None if !stripe_connected => { p.muted { "Stripe is not connected (Settings)." } }
                None => { p.muted { "Not linked to a Stripe customer." } }
                Some(Err(e)) => { p.error { (e) } }
                Some(Ok(o)) => {
                    @if let Some(s) = &o.stripe_customer {
                        p.muted { "Stripe " code { (s.id) }
                            @if let Some(b) = &s.balance_formatted { " · balance " (b) }
                            @if s.delinquent == Some(true) { " · delinquent" } }
                    }
                    h3 { "Open tickets" }
                    @if o.open_tickets.is_empty() { p.muted { "None." } }
                    ul { @for t in &o.open_tickets { li { a href={ "/tickets/" (t.id) } { "#" (t.number) " " (t.subject) } } } }
                    h3 { "Recent charges" }
                    @if o.charges.is_empty() { p.muted { "None." } }
                    ul { @for ch in &o.charges { li { (ch.amount_formatted) " · " (ch.status) @if ch.refunded { " · refunded" } " · " (when(ch.created)) } } }
                    h3 { "Refunds" }
                    @if o.refunds.is_empty() { p.muted { "None." } }
                    ul { @for r in &o.refunds { li { (r.amount_formatted) " · " (r.status.as_deref().unwrap_or("—")) " · " (when(r.created)) } } }
                    h3 { "Open disputes" }
                    @if o.open_disputes.is_empty() { p.muted { "None." } }
                    ul { @for d in &o.open_disputes { li { (d.amount_formatted) " · " (d.status) " · " (d.reason) } } }
                    h3 { "Subscriptions" }
                    @if o.subscriptions.is_empty() { p.muted { "None." } }
                    ul.subscriptions { @for sub in &o.subscriptions { li {
                        strong { (sub.name) } " · " (sub.amount_formatted)
                        @if let Some(i) = &sub.interval { " / " (i) }
                        " · " (sub.status)
                        @if let Some(end) = sub.access_ends_at { " · " strong { "access ends " (when(end)) } }
                        @else if let Some(renews) = sub.current_period_end { " · renews " (when(renews)) }
                        @if let Some(trial) = sub.trial_end { " · trial until " (when(trial)) }
                    } } }
                    h3 { "Last failed payment" }
                    @match &o.last_failed_payment {
                        None => { p.muted { "None." } }
                        Some(f) => { p.failed-payment {
                            (f.amount_formatted) " · " (when(f.at))
                            @if let Some(code) = &f.failure_code { " · " code { (code) } }
                            @if let Some(m) = &f.failure_message { " · " (m) }
                            @if let Some(b) = &f.brand { " · " (b) }
                            @if let Some(l) = &f.last4 { " ····" (l) }
                        } }
                    }
                    h3 { "Unpaid invoices" }
                    @if o.unpaid_invoices.is_empty() { p.muted { "None." } }
                    ul.invoices { @for inv in &o.unpaid_invoices { li {
                        (inv.number.as_deref().unwrap_or(inv.id.as_str())) " · " (inv.amount_due_formatted) " due"
                        " · " (inv.status.as_deref().unwrap_or("—"))
                        " · " (inv.attempt_count) " attempts"
                        @if let Some(next) = inv.next_payment_attempt { " · next try " (when(next)) }
                    } } }
                }
            }
        }
    }
}

fn ids(id: &str, message_id: &str) -> Result<(Uuid, Uuid), PageError> {
    Ok((parse_id(id)?, parse_id(message_id)?))
}

pub async fn edit(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Path((id, message_id)): Path<(String, String)>,
    PageForm(form): PageForm<DraftForm>,
) -> PageResult {
    let (ticket, message) = ids(&id, &message_id)?;
    desk::edit_draft(
        pages.app.ctx.db(),
        &principal.tenant,
        ticket,
        message,
        &as_shown(&form.content),
        &by(&principal),
    )
    .await?;
    Ok(see_other(&back(ticket, "saved")))
}

/// Approves the draft with the text in the box (unchanged text counts as approved unchanged)
/// and hands it to the email channel, as `POST …/approve` does.
pub async fn approve(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Path((id, message_id)): Path<(String, String)>,
    PageForm(form): PageForm<DraftForm>,
) -> PageResult {
    let (ticket, message) = ids(&id, &message_id)?;
    let content = as_shown(&form.content);
    desk::decide_draft(
        pages.app.ctx.db(),
        &principal.tenant,
        ticket,
        message,
        Decision::Approve,
        Some(&content),
        &by(&principal),
    )
    .await?;
    Ok(see_other(&back(ticket, "approved")))
}

pub async fn discard(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Path((id, message_id)): Path<(String, String)>,
) -> PageResult {
    let (ticket, message) = ids(&id, &message_id)?;
    desk::decide_draft(
        pages.app.ctx.db(),
        &principal.tenant,
        ticket,
        message,
        Decision::Discard,
        None,
        &by(&principal),
    )
    .await?;
    Ok(see_other(&back(ticket, "discarded")))
}

pub async fn retriage(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> PageResult {
    let ticket = parse_id(&id)?;
    desk::retriage(pages.app.ctx.db(), &principal.tenant, ticket).await?;
    Ok(see_other(&back(ticket, "triage")))
}

pub async fn update(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    PageForm(form): PageForm<UpdateForm>,
) -> PageResult {
    let ticket = parse_id(&id)?;
    desk::update_ticket(
        pages.app.ctx.db(),
        &principal.tenant,
        ticket,
        None,
        Some(form.status),
        Some(form.priority),
    )
    .await?;
    Ok(see_other(&back(ticket, "updated")))
}

pub async fn approve_action(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Path((id, action_id)): Path<(String, String)>,
) -> PageResult {
    let (ticket, action) = ids(&id, &action_id)?;
    let a = actions::get(&pages.app.ctx, &principal.tenant, action).await?;
    if a.ticket_id != ticket {
        return Err(PageError::not_found());
    }
    let a = actions::approve(&pages.app.ctx, &principal.tenant, action, &by(&principal)).await?;
    let done = match a.status {
        ActionStatus::Succeeded => "action-succeeded",
        ActionStatus::Executing => "action-executing",
        _ => "action-failed",
    };
    Ok(see_other(&back(ticket, done)))
}

pub async fn reject_action(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Path((id, action_id)): Path<(String, String)>,
    PageForm(form): PageForm<RejectForm>,
) -> PageResult {
    let (ticket, action) = ids(&id, &action_id)?;
    let a = actions::get(&pages.app.ctx, &principal.tenant, action).await?;
    if a.ticket_id != ticket {
        return Err(PageError::not_found());
    }
    let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
    actions::reject(
        &pages.app.ctx,
        &principal.tenant,
        action,
        &by(&principal),
        reason,
    )
    .await?;
    Ok(see_other(&back(ticket, "action-rejected")))
}
