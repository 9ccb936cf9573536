//! Stripe actions (issue I2): refunds and subscription cancellations that the agent or an MCP
//! client proposes and only a person approves; approval executes exactly once.
//!
//! - **Propose** ([`propose_refund`], [`propose_subscription_cancel`], the tools of the same
//!   names): checks with the tenant's own Stripe access that the object is the ticket's
//!   customer's (and, for a refund, how much remains refundable), then records a `pending` row.
//!   Nothing is asked of Stripe but reads. A triage job may propose only on its own ticket.
//! - **Approve** ([`approve`]; REST, CLI and the inbox, never a tool): `pending → executing` in
//!   one conditional update, with a `stripe_action` job queued in the same transaction as a
//!   safety net; then the checks again, then the one write, with the idempotency key
//!   `action:{id}`; then `succeeded` with Stripe's id or `failed` with its error, and a note on
//!   the ticket. No answer from Stripe leaves the action `executing`; the job tries again with
//!   the same key, first asking Stripe whether the earlier request took effect.
//! - **Reject** ([`reject`]): `pending → rejected`; nothing is sent.
//!
//! Money is an integer in the currency's smallest unit throughout, written for people by
//! [`crate::stripe::money`].

pub mod handler;
pub mod store;

use std::time::Duration;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::customers;
use crate::messages::{self, Sender};
use crate::stripe::{ChargeId, StripeError, SubscriptionId, TenantClient, api, money, writes};
use crate::tickets::{self, Page};
use crate::tools::{Caller, Ctx, Scope};
use crate::{StoreError, Tenant, jobs};

use store::{Finish, NewAction};

/// What an action does.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    sqlx::Type,
    clap::ValueEnum,
    JsonSchema,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Refund (part of) a charge.
    Refund,
    /// Cancel a subscription, at the end of its period or now.
    SubscriptionCancel,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refund => "refund",
            Self::SubscriptionCancel => "subscription_cancel",
        }
    }

    /// The restricted key permission the write needs, as Stripe names it, and as its dashboard
    /// shows it.
    pub fn permission(self) -> (&'static str, &'static str) {
        match self {
            Self::Refund => ("rak_refund_write", "Refunds: Write"),
            Self::SubscriptionCancel => ("rak_subscription_write", "Subscriptions: Write"),
        }
    }
}

/// Where an action is: `pending → executing → succeeded | failed`, `pending → rejected`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    sqlx::Type,
    clap::ValueEnum,
    JsonSchema,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Pending,
    Rejected,
    Executing,
    Succeeded,
    Failed,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Rejected => "rejected",
            Self::Executing => "executing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// Why a charge is refunded, in Stripe's own words.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    sqlx::Type,
    clap::ValueEnum,
    JsonSchema,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
}

impl RefundReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Fraudulent => "fraudulent",
            Self::RequestedByCustomer => "requested_by_customer",
        }
    }
}

/// An action as the REST API, the CLI, the tools and the inbox show it.
#[derive(Debug, Clone, Serialize, JsonSchema, sqlx::FromRow)]
pub struct Action {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub kind: ActionKind,
    pub status: ActionStatus,
    /// A refund's amount in the currency's smallest unit (cents; yen for JPY).
    pub amount: Option<i64>,
    /// A refund's currency, lower-case ISO code (`usd`).
    pub currency: Option<String>,
    /// The amount as a person reads it, e.g. `$12.50`, `¥1,250`.
    #[sqlx(skip)]
    pub amount_formatted: Option<String>,
    /// The charge (`ch_…`) to refund or the subscription (`sub_…`) to cancel.
    pub stripe_object_id: String,
    /// The Stripe customer it belongs to: the ticket's customer's.
    pub stripe_customer_id: String,
    /// A refund's reason.
    pub reason: Option<RefundReason>,
    /// A cancellation's timing: at the end of the paid period (true) or now.
    pub at_period_end: Option<bool>,
    /// What Stripe made or changed: the refund (`re_…`) or the subscription.
    pub stripe_result_id: Option<String>,
    /// Why it failed, or why it has not finished yet.
    pub error: Option<String>,
    /// Who proposed it: `agent` (a triage job), `http` or `stdio` (an MCP client).
    pub proposed_by: String,
    /// The credential that approved or rejected it.
    pub decided_by: Option<String>,
    /// Why it was rejected, if the person said.
    pub decision_reason: Option<String>,
    /// Requests made to Stripe to carry it out.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Action {
    /// What it does, for a person: "refund of $10.05 on charge ch_…", "cancellation of
    /// subscription sub_… at the end of its period".
    pub fn summary(&self) -> String {
        match self.kind {
            ActionKind::Refund => format!(
                "refund of {} on charge {}",
                self.amount_formatted.as_deref().unwrap_or("?"),
                self.stripe_object_id
            ),
            ActionKind::SubscriptionCancel => format!(
                "cancellation of subscription {} {}",
                self.stripe_object_id,
                if self.at_period_end.unwrap_or(true) {
                    "at the end of its period"
                } else {
                    "now"
                }
            ),
        }
    }
}

/// Filters for listing; both optional.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    pub status: Option<ActionStatus>,
    pub ticket_id: Option<Uuid>,
}

/// Why an action could not be proposed or decided. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stripe cannot be asked: not configured, not connected, the customer not linked.
    #[error("{0}")]
    Unavailable(String),
    /// Stripe failed or refused a read the checks needed.
    #[error("{0}")]
    Upstream(String),
}

/// How long after an approval the worker takes over an action that the approval did not finish
/// (its process died, Stripe did not answer): longer than the approval's own attempts can take.
pub const TAKE_OVER_AFTER: Duration = Duration::from_secs(300);

/// A refund to propose.
#[derive(Debug, Clone)]
pub struct RefundProposal {
    pub ticket_id: Uuid,
    pub charge_id: ChargeId,
    /// Defaults to what remains refundable.
    pub amount: Option<i64>,
    pub reason: RefundReason,
}

/// A cancellation to propose.
#[derive(Debug, Clone)]
pub struct CancelProposal {
    pub ticket_id: Uuid,
    pub subscription_id: SubscriptionId,
    pub at_period_end: bool,
}

/// A proposal's result: the pending action, and whether this call created it (false: the same
/// proposal was open already, and this is it).
#[derive(Debug, Clone)]
pub struct Proposed {
    pub action: Action,
    pub created: bool,
}

/// Proposes refunding `amount` (default: what remains) of one of the ticket's customer's
/// charges. Asks Stripe only to read the charge.
pub async fn propose_refund(
    ctx: &Ctx,
    caller: &Caller,
    p: RefundProposal,
) -> Result<Proposed, ActionError> {
    if let Some(amount) = p.amount
        && amount <= 0
    {
        return Err(StoreError::invalid(
            "amount",
            "must be a positive integer in the currency's smallest unit (cents; yen for JPY)",
        )
        .into());
    }
    let (_, stripe_customer) = ticket_customer(ctx, caller, p.ticket_id).await?;
    let client = client(ctx, &caller.tenant).await?;
    let charge = read_charge(&client, caller, p.charge_id.as_str()).await?;
    if charge_customer(&charge).as_deref() != Some(stripe_customer.as_str()) {
        return Err(not_the_customers(caller, "charge_id", "charge").into());
    }
    let remaining =
        refundable(&charge).map_err(|reason| StoreError::invalid("charge_id", reason))?;
    let currency = charge.currency.to_string();
    let amount = p.amount.unwrap_or(remaining);
    if amount > remaining {
        return Err(StoreError::invalid(
            "amount",
            format!(
                "{} is more than the {} that remains refundable on {}",
                money::format(amount, &currency),
                money::format(remaining, &currency),
                p.charge_id
            ),
        )
        .into());
    }
    let proposed_by = caller.transport.to_string();
    let new = NewAction {
        ticket_id: p.ticket_id,
        kind: ActionKind::Refund,
        stripe_object_id: p.charge_id.as_str(),
        stripe_customer_id: &stripe_customer,
        amount: Some(amount),
        currency: Some(&currency),
        reason: Some(p.reason),
        at_period_end: None,
        proposed_by: &proposed_by,
    };
    let proposed = record(ctx, caller, &new).await?;
    if !proposed.created
        && (proposed.action.amount != Some(amount) || proposed.action.reason != Some(p.reason))
    {
        return Err(open_already(&proposed.action).into());
    }
    Ok(proposed)
}

/// Proposes cancelling one of the ticket's customer's subscriptions, at the end of its period
/// unless `at_period_end` is false. Asks Stripe only to read the subscription.
pub async fn propose_subscription_cancel(
    ctx: &Ctx,
    caller: &Caller,
    p: CancelProposal,
) -> Result<Proposed, ActionError> {
    let (_, stripe_customer) = ticket_customer(ctx, caller, p.ticket_id).await?;
    let client = client(ctx, &caller.tenant).await?;
    let sub = writes::subscription(&client, p.subscription_id.as_str())
        .await
        .map_err(|e| match e.status() {
            Some(404) => ActionError::Store(StoreError::NotFound("subscription")),
            _ => upstream(e),
        })?;
    if sub.customer.id().as_str() != stripe_customer {
        return Err(not_the_customers(caller, "subscription_id", "subscription").into());
    }
    if let Some(reason) = uncancellable(&sub, p.at_period_end) {
        return Err(StoreError::invalid("subscription_id", reason).into());
    }
    let proposed_by = caller.transport.to_string();
    let new = NewAction {
        ticket_id: p.ticket_id,
        kind: ActionKind::SubscriptionCancel,
        stripe_object_id: p.subscription_id.as_str(),
        stripe_customer_id: &stripe_customer,
        amount: None,
        currency: None,
        reason: None,
        at_period_end: Some(p.at_period_end),
        proposed_by: &proposed_by,
    };
    let proposed = record(ctx, caller, &new).await?;
    if !proposed.created && proposed.action.at_period_end != Some(p.at_period_end) {
        return Err(open_already(&proposed.action).into());
    }
    Ok(proposed)
}

async fn record(ctx: &Ctx, caller: &Caller, new: &NewAction<'_>) -> Result<Proposed, ActionError> {
    let mut tx = ctx.begin(caller).await?;
    let (action, created) = store::propose(&mut tx, new).await?;
    tx.commit().await?;
    if created {
        tracing::info!(tenant = %caller.tenant, action = %action.id, kind = action.kind.as_str(),
            ticket = %action.ticket_id, by = %action.proposed_by, "Stripe action proposed");
    }
    Ok(Proposed { action, created })
}

fn open_already(open: &Action) -> StoreError {
    StoreError::Conflict(format!(
        "this ticket has a {} {} of {} already (action {}): a person approves or rejects it \
         before another is proposed",
        open.status.as_str(),
        open.kind.as_str(),
        open.stripe_object_id,
        open.id
    ))
}

/// Another customer's object, refused. Staff learn why; a triage job (working for an outsider)
/// gets "not found", exactly as for an id that does not exist.
fn not_the_customers(caller: &Caller, field: &'static str, what: &'static str) -> StoreError {
    match caller.scope {
        Scope::Tenant => StoreError::invalid(
            field,
            format!("that {what} is not one of this ticket's customer's"),
        ),
        Scope::Ticket { .. } => StoreError::NotFound(what),
    }
}

/// The ticket (the job's own, for a triage job) and its customer's Stripe id.
async fn ticket_customer(
    ctx: &Ctx,
    caller: &Caller,
    ticket_id: Uuid,
) -> Result<(tickets::Ticket, String), ActionError> {
    if let Scope::Ticket { ticket_id: own, .. } = caller.scope
        && own != ticket_id
    {
        return Err(StoreError::invalid(
            "ticket_id",
            "a triage job proposes actions on its own ticket only",
        )
        .into());
    }
    let mut tx = ctx.begin(caller).await?;
    let ticket = tickets::store::get(&mut tx, ticket_id).await?;
    let customer = customers::store::get(&mut tx, ticket.customer_id).await?;
    tx.commit().await?;
    match customer.stripe_customer_id {
        Some(id) => Ok((ticket, id)),
        None => Err(ActionError::Unavailable(format!(
            "the ticket's customer {} is not linked to a Stripe customer: an operator can link \
             customers by email with `support-agent stripe link`",
            customer.id
        ))),
    }
}

/// The tenant's own Stripe client, or what to set up (the tools' own words for it).
async fn client<'s>(ctx: &'s Ctx, tenant: &Tenant) -> Result<TenantClient<'s>, ActionError> {
    let caller = Caller::staff(*tenant, crate::audit::Transport::Agent);
    crate::tools::stripe_client(ctx, &caller)
        .await
        .map_err(|e| match e {
            crate::tools::ToolError::Infrastructure(e) => ActionError::Store(e),
            e => ActionError::Unavailable(e.to_string()),
        })
}

fn upstream(e: StripeError) -> ActionError {
    tracing::warn!(error = %e, "a Stripe read for an action failed");
    ActionError::Upstream(format!("{e}; {}", e.advice()))
}

async fn read_charge(
    client: &TenantClient<'_>,
    caller: &Caller,
    id: &str,
) -> Result<stripe_shared::Charge, ActionError> {
    api::charge(client, id).await.map_err(|e| match e.status() {
        // Another tenant's charge is not in this tenant's account: Stripe does not know it.
        Some(404) => ActionError::Store(match caller.scope {
            Scope::Tenant => StoreError::NotFound("charge in this tenant's Stripe account"),
            Scope::Ticket { .. } => StoreError::NotFound("charge"),
        }),
        _ => upstream(e),
    })
}

fn charge_customer(charge: &stripe_shared::Charge) -> Option<String> {
    charge.customer.as_ref().map(|c| c.id().as_str().to_owned())
}

/// What remains refundable on a charge, or why nothing is.
fn refundable(charge: &stripe_shared::Charge) -> Result<i64, String> {
    if charge.status.as_str() != "succeeded" || !charge.paid {
        return Err(format!(
            "the charge did not succeed ({}): there is nothing to refund",
            charge.status.as_str()
        ));
    }
    let captured = if charge.captured {
        charge.amount_captured
    } else {
        0
    };
    let remaining = captured - charge.amount_refunded;
    if remaining <= 0 {
        return Err("the charge is refunded in full already".into());
    }
    Ok(remaining)
}

/// Why a subscription cannot be cancelled this way, if it cannot.
fn uncancellable(sub: &stripe_shared::Subscription, at_period_end: bool) -> Option<String> {
    match sub.status.as_str() {
        "canceled" | "incomplete_expired" => {
            return Some(format!(
                "the subscription has ended already ({})",
                sub.status.as_str()
            ));
        }
        _ => {}
    }
    if at_period_end && sub.cancel_at_period_end {
        return Some("the subscription is set to end at the end of its period already".into());
    }
    None
}

/// One page of the tenant's actions, newest first.
pub async fn list(
    ctx: &Ctx,
    tenant: &Tenant,
    filter: &ActionFilter,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<Action>, StoreError> {
    let mut tx = ctx.db().begin(tenant).await?;
    if let Some(ticket) = filter.ticket_id {
        tickets::store::get(&mut tx, ticket).await?;
    }
    let page = store::list(&mut tx, filter, limit, cursor).await?;
    tx.commit().await?;
    Ok(page)
}

/// The tenant's action `id`.
pub async fn get(ctx: &Ctx, tenant: &Tenant, id: Uuid) -> Result<Action, StoreError> {
    let mut tx = ctx.db().begin(tenant).await?;
    let action = store::get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(action)
}

/// Rejects a pending action; nothing is sent to Stripe.
pub async fn reject(
    ctx: &Ctx,
    tenant: &Tenant,
    id: Uuid,
    by: &str,
    reason: Option<&str>,
) -> Result<Action, StoreError> {
    let mut tx = ctx.db().begin(tenant).await?;
    let Some(action) = store::reject(&mut tx, id, by, reason).await? else {
        return Err(not_pending(&mut tx, id, "rejected").await);
    };
    tx.commit().await?;
    tracing::info!(%tenant, action = %id, %by, "Stripe action rejected");
    Ok(action)
}

async fn not_pending(tx: &mut crate::TenantTx, id: Uuid, verb: &str) -> StoreError {
    match store::get(tx, id).await {
        Ok(a) => StoreError::Conflict(format!(
            "the action is {} already: only a pending action can be {verb}",
            a.status.as_str()
        )),
        Err(e) => e,
    }
}

/// Approves a pending action and carries it out: exactly one write at Stripe, however often
/// and however concurrently it is approved. The result is `succeeded` or `failed`, or still
/// `executing` when Stripe did not answer (the worker then finishes it).
pub async fn approve(
    ctx: &Ctx,
    tenant: &Tenant,
    id: Uuid,
    by: &str,
) -> Result<Action, ActionError> {
    let mut tx = ctx.db().begin(tenant).await?;
    let Some(action) = store::start_executing(&mut tx, id, by).await? else {
        return Err(not_pending(&mut tx, id, "approved").await.into());
    };
    jobs::store::enqueue_action(&mut tx, action.ticket_id, action.id, TAKE_OVER_AFTER).await?;
    tx.commit().await?;
    tracing::info!(%tenant, action = %id, %by, kind = action.kind.as_str(), "Stripe action approved");
    execute(ctx, tenant, action).await
}

/// What one run of an executing action came to.
enum Run {
    /// Stripe made or changed this object.
    Done(String),
    /// It cannot be done; why.
    Refused(String),
    /// No answer (a timeout, a dropped connection, Stripe unavailable): try again later with the
    /// same key.
    Unanswered(String),
    /// Another run finished it meanwhile.
    Superseded,
}

/// Carries out an executing action (after its approval, or again after a crash or an unanswered
/// request) and records how it ended. Anything but `executing` is returned as it is.
pub async fn execute(ctx: &Ctx, tenant: &Tenant, action: Action) -> Result<Action, ActionError> {
    if action.status != ActionStatus::Executing {
        return Ok(action);
    }
    let run = match client(ctx, tenant).await {
        Ok(client) => run(ctx, tenant, &client, &action).await?,
        // After a request that may have taken effect, only Stripe can say how it ended: the
        // action waits, executing, until Stripe can be asked again.
        Err(ActionError::Unavailable(why)) if action.attempts > 0 => Run::Unanswered(format!(
            "{why}; an earlier request may have taken effect, so it is tried again once Stripe \
             can be reached"
        )),
        Err(ActionError::Unavailable(why)) => Run::Refused(why),
        Err(e) => return Err(e),
    };
    let mut tx = ctx.db().begin(tenant).await?;
    let (how, note) = match &run {
        Run::Superseded => {
            drop(tx);
            return Ok(get(ctx, tenant, action.id).await?);
        }
        Run::Unanswered(why) => {
            let kept = store::note_unfinished(&mut tx, action.id, why).await?;
            tx.commit().await?;
            tracing::warn!(%tenant, action = %action.id, error = %why,
                "a Stripe action is unfinished: it is tried again with the same idempotency key");
            return Ok(match kept {
                Some(a) => a,
                None => get(ctx, tenant, action.id).await?,
            });
        }
        Run::Done(result_id) => (
            Finish::Succeeded { result_id },
            done_note(&action, result_id),
        ),
        Run::Refused(why) => (Finish::Failed { error: why }, failed_note(&action, why)),
    };
    let Some(finished) = store::finish(&mut tx, action.id, &how).await? else {
        // Another run finished it first: its note and result stand.
        drop(tx);
        return Ok(get(ctx, tenant, action.id).await?);
    };
    messages::store::add(&mut tx, action.ticket_id, Sender::Note, &note).await?;
    jobs::store::settle_action(&mut tx, action.id).await?;
    tx.commit().await?;
    tracing::info!(%tenant, action = %action.id, status = finished.status.as_str(), "Stripe action finished");
    Ok(finished)
}

/// The checks, then the one write. After an earlier attempt (whose answer may have been lost),
/// Stripe is first asked whether it took effect.
async fn run(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &TenantClient<'_>,
    action: &Action,
) -> Result<Run, ActionError> {
    let retry = action.attempts > 0;
    let check = match action.kind {
        ActionKind::Refund => check_refund(client, action, retry).await,
        ActionKind::SubscriptionCancel => check_cancel(client, action, retry).await,
    };
    match check {
        Ok(None) => {}
        Ok(Some(done)) => return Ok(done),
        Err(e) => return Ok(unanswered_or(e, action.kind)),
    }
    let mut tx = ctx.db().begin(tenant).await?;
    let counted = store::count_attempt(&mut tx, action.id).await?;
    tx.commit().await?;
    if counted.is_none() {
        return Ok(Run::Superseded);
    }
    let result = match action.kind {
        ActionKind::Refund => {
            let reason = action
                .reason
                .and_then(|r| writes::refund_reason(r.as_str()))
                .ok_or_else(|| StoreError::invalid("reason", "missing on a refund"))?;
            let amount = action
                .amount
                .ok_or_else(|| StoreError::invalid("amount", "missing on a refund"))?;
            writes::refund(client, action.id, &action.stripe_object_id, amount, reason)
                .await
                .map(|r| r.id.as_str().to_owned())
        }
        ActionKind::SubscriptionCancel => writes::cancel_subscription(
            client,
            action.id,
            &action.stripe_object_id,
            action.at_period_end.unwrap_or(true),
        )
        .await
        .map(|s| s.id.as_str().to_owned()),
    };
    Ok(match result {
        Ok(id) => Run::Done(id),
        Err(e) => unanswered_or(e, action.kind),
    })
}

/// Before refunding: the charge is still the customer's and the amount still refundable; after
/// an earlier attempt, the refund it made, if Stripe has it (found by the action id in its
/// metadata).
async fn check_refund(
    client: &TenantClient<'_>,
    action: &Action,
    retry: bool,
) -> Result<Option<Run>, StripeError> {
    if retry {
        let refunds = api::refunds_of(client, &action.stripe_object_id).await?;
        let id = action.id.to_string();
        let made = refunds.iter().find(|r| {
            r.metadata
                .as_ref()
                .and_then(|m| m.get("support_agent_action"))
                .is_some_and(|a| *a == id)
        });
        if let Some(r) = made {
            return Ok(Some(Run::Done(r.id.as_str().to_owned())));
        }
    }
    let charge = match api::charge(client, &action.stripe_object_id).await {
        Ok(c) => c,
        Err(e) if e.status() == Some(404) => {
            return Ok(Some(Run::Refused(format!(
                "Stripe no longer knows charge {} in this tenant's account",
                action.stripe_object_id
            ))));
        }
        Err(e) => return Err(e),
    };
    if charge_customer(&charge).as_deref() != Some(action.stripe_customer_id.as_str()) {
        return Ok(Some(Run::Refused(format!(
            "charge {} no longer belongs to the ticket's customer",
            action.stripe_object_id
        ))));
    }
    let currency = charge.currency.to_string();
    let amount = action.amount.unwrap_or(0);
    match refundable(&charge) {
        Err(why) => Ok(Some(Run::Refused(why))),
        Ok(remaining) if amount > remaining => Ok(Some(Run::Refused(format!(
            "{} is more than the {} that remains refundable now",
            money::format(amount, &currency),
            money::format(remaining, &currency)
        )))),
        Ok(_) => Ok(None),
    }
}

/// Before cancelling: the subscription is still the customer's and not ended; after an earlier
/// attempt, whether it took effect.
async fn check_cancel(
    client: &TenantClient<'_>,
    action: &Action,
    retry: bool,
) -> Result<Option<Run>, StripeError> {
    let sub = match writes::subscription(client, &action.stripe_object_id).await {
        Ok(s) => s,
        Err(e) if e.status() == Some(404) => {
            return Ok(Some(Run::Refused(format!(
                "Stripe no longer knows subscription {} in this tenant's account",
                action.stripe_object_id
            ))));
        }
        Err(e) => return Err(e),
    };
    if sub.customer.id().as_str() != action.stripe_customer_id {
        return Ok(Some(Run::Refused(format!(
            "subscription {} no longer belongs to the ticket's customer",
            action.stripe_object_id
        ))));
    }
    let at_period_end = action.at_period_end.unwrap_or(true);
    if retry {
        let ended = matches!(sub.status.as_str(), "canceled" | "incomplete_expired");
        if ended || (at_period_end && sub.cancel_at_period_end) {
            return Ok(Some(Run::Done(sub.id.as_str().to_owned())));
        }
    }
    Ok(uncancellable(&sub, at_period_end).map(Run::Refused))
}

/// A failed request: unanswered (try again with the same key) or refused, with what to do.
fn unanswered_or(e: StripeError, kind: ActionKind) -> Run {
    if e.is_retryable() {
        return Run::Unanswered(format!(
            "{e}; it is tried again with the same idempotency key"
        ));
    }
    if e.status() == Some(403) {
        let (permission, label) = kind.permission();
        let named = match &e {
            StripeError::Api { message, .. } => rak_in(message),
            _ => None,
        };
        return Run::Refused(format!(
            "Stripe refused: the tenant's restricted key lacks the {} permission ({}): create a \
             restricted key that has it and connect it with `support-agent stripe connect`",
            label,
            named.unwrap_or_else(|| permission.to_owned())
        ));
    }
    Run::Refused(e.to_string())
}

/// The `rak_…` permission Stripe names in a 403's message.
fn rak_in(message: &str) -> Option<String> {
    let start = message.find("'rak_")? + 1;
    let len = message[start..].find('\'')?;
    let name = &message[start..start + len];
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then(|| name.to_owned())
}

fn done_note(action: &Action, result_id: &str) -> String {
    let by = action.decided_by.as_deref().unwrap_or("a person");
    match action.kind {
        ActionKind::Refund => format!(
            "Stripe action {}: the {} was made (refund {result_id}), approved by {by}.",
            action.id,
            action.summary()
        ),
        ActionKind::SubscriptionCancel => format!(
            "Stripe action {}: the {} was made, approved by {by}.",
            action.id,
            action.summary()
        ),
    }
}

fn failed_note(action: &Action, why: &str) -> String {
    format!(
        "Stripe action {}: the {} failed: {why}",
        action.id,
        action.summary()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_stripe_names_in_a_403_is_read_from_its_message() {
        let m = "The provided key 'rk_test_****abcd' does not have the required permissions for \
                 this endpoint on account 'acct_1'. Having the 'rak_refund_write' permission \
                 would allow this request to continue.";
        assert_eq!(rak_in(m).as_deref(), Some("rak_refund_write"));
        assert_eq!(rak_in("no permission named"), None);
        assert_eq!(rak_in("'rak_x y'"), None);
    }

    #[test]
    fn a_403_says_which_permission_the_key_lacks() {
        let e = StripeError::Api {
            status: 403,
            kind: "invalid_request_error".into(),
            code: None,
            message: "Having the 'rak_refund_write' permission would allow this request to \
                      continue."
                .into(),
        };
        let Run::Refused(why) = unanswered_or(e, ActionKind::Refund) else {
            panic!("a 403 is a refusal");
        };
        assert!(
            why.contains("Refunds: Write") && why.contains("rak_refund_write"),
            "{why}"
        );
        let unanswered = unanswered_or(
            StripeError::Timeout(Duration::from_secs(1), 3),
            ActionKind::Refund,
        );
        assert!(matches!(unanswered, Run::Unanswered(_)));
    }
}
