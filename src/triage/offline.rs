//! The offline engine, used when no chat model is configured: a retrieval-only draft assembled
//! from the best-matching knowledge passages and the customer's Stripe facts through
//! `prompts/triage/offline_draft.md`, the category from the nearest labelled tickets (kNN), and
//! priority, sentiment, language and needs-human from explicit rules.

use std::collections::HashSet;

use uuid::Uuid;

use super::{TriageResult, guard, knn, rules};
use crate::knowledge::SharedEmbedder;
use crate::knowledge::embed::cosine;
use crate::prompts::replies::{self, OfflineDraft};
use crate::stripe::billing_views::{InvoiceView, SubscriptionView};
use crate::stripe::views::ChargeView;
use crate::tickets::similar;
use crate::tools::{
    self, Caller, Ctx, FetchStripeCharges, FetchStripeChargesArgs, GetTicketOutput, ListInvoices,
    ListInvoicesArgs, ListSubscriptions, ListSubscriptionsArgs, SearchKnowledge,
    SearchKnowledgeArgs, ToolError,
};
use crate::worker::JobError;

/// Passages the draft quotes at most.
const PASSAGES: usize = 2;
/// Cosine similarity (all-MiniLM-L6-v2) below which a passage does not answer the question.
pub const MIN_SIMILARITY: f32 = 0.40;
/// Longest passage quoted, in characters.
const MAX_PASSAGE: usize = 700;

/// Triage without a language model.
pub struct Offline {
    embedder: SharedEmbedder,
}

impl Offline {
    pub fn new(embedder: SharedEmbedder) -> Self {
        Self { embedder }
    }

    /// Triage of one trigger (`trigger` is the message answered, or the ticket's own id).
    pub async fn triage(
        &self,
        ctx: &Ctx,
        caller: &Caller,
        thread: &GetTicketOutput,
        trigger: Uuid,
        seen: &mut HashSet<String>,
    ) -> Result<TriageResult, JobError> {
        let ticket = &thread.ticket;
        let asked = thread
            .messages
            .iter()
            .find(|m| m.id == trigger)
            .map_or(ticket.description.as_str(), |m| m.content.as_str());
        let text = format!("{}\n{}", ticket.summary.subject, asked);
        let query = self
            .embed(std::slice::from_ref(&text))
            .await?
            .pop()
            .unwrap_or_default();

        let vote = self
            .classify(ctx, caller, ticket.summary.id, trigger, &query)
            .await?;
        let passages = self.passages(ctx, caller, &text, &query, seen).await?;
        let charges = charges(ctx, caller, thread, seen).await?;
        let billing = billing(ctx, caller, thread, &text, seen).await?;

        let evidence = !passages.is_empty() || !charges.is_empty() || !billing.lines.is_empty();
        let priority = rules::priority(&text);
        let sentiment = rules::sentiment(&text);
        let (category, confidence) = vote.map_or(("uncategorized".to_owned(), 0.0), |v| {
            (v.category, v.confidence)
        });
        Ok(TriageResult {
            reply: draft(thread, &passages, &charges, &billing),
            chunk_ids: passages.iter().fold(Vec::new(), |mut ids, p| {
                if !ids.contains(&p.id) {
                    ids.push(p.id.clone());
                }
                ids
            }),
            charge_ids: charges
                .iter()
                .map(|c| c.0.clone())
                .chain(billing.ids.iter().cloned())
                .collect(),
            needs_human: rules::needs_human(evidence, confidence, priority, sentiment),
            category,
            priority,
            sentiment,
            language: rules::language(&text).unwrap_or_default(),
            confidence,
        })
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, JobError> {
        self.embedder
            .embed(texts)
            .await
            .map_err(|e| JobError::Transient(e.to_string()))
    }

    /// Stores the ticket's embedding (for its opening) and votes over its labelled neighbours.
    async fn classify(
        &self,
        ctx: &Ctx,
        caller: &Caller,
        ticket: Uuid,
        trigger: Uuid,
        query: &[f32],
    ) -> Result<Option<knn::Vote>, JobError> {
        let store = |e: crate::StoreError| JobError::Transient(e.to_string());
        // The tenant's labelled tickets, not only this customer's: the server votes with their
        // categories (snake_case labels, never the tickets' text), so this runs for the
        // tenant rather than in the job's ticket scope.
        let mut tx = ctx.db().begin(&caller.tenant).await.map_err(store)?;
        if trigger == ticket {
            similar::set_embedding(&mut tx, ticket, self.embedder.model(), query)
                .await
                .map_err(store)?;
        }
        let k = i64::try_from(knn::K).unwrap_or(10);
        let neighbours =
            similar::nearest_labelled(&mut tx, query, self.embedder.model(), Some(ticket), k)
                .await
                .map_err(store)?;
        tx.commit().await.map_err(store)?;
        Ok(knn::vote(&neighbours))
    }

    /// The knowledge passages that answer `text`: found by the hybrid search, kept when close
    /// enough in meaning to the question.
    async fn passages(
        &self,
        ctx: &Ctx,
        caller: &Caller,
        text: &str,
        query: &[f32],
        seen: &mut HashSet<String>,
    ) -> Result<Vec<Passage>, JobError> {
        let args = SearchKnowledgeArgs {
            query: text.chars().take(2000).collect(),
            limit: Some(4),
        };
        let found = match tools::invoke::<SearchKnowledge>(ctx, caller, args).await {
            Ok(found) => found,
            Err(ToolError::Infrastructure(e)) => return Err(JobError::Transient(e.to_string())),
            Err(e) => {
                tracing::warn!(error = %e, "knowledge search unavailable; drafting without it");
                return Ok(Vec::new());
            }
        };
        if let Ok(value) = serde_json::to_value(&found) {
            guard::collect_ids(&value, seen);
        }
        let hits: Vec<Passage> = found
            .results
            .into_iter()
            .map(|r| Passage {
                id: r.citation_id,
                title: r.hit.title,
                text: r.hit.text.trim().to_owned(),
            })
            .collect();
        // Quote the paragraphs that answer, not whole chunks: each paragraph is embedded and
        // compared with the question, and the closest ones above the bar are kept.
        let paragraphs: Vec<Passage> = hits.iter().flat_map(paragraphs).collect();
        if paragraphs.is_empty() {
            return Ok(paragraphs);
        }
        let inputs: Vec<String> = paragraphs
            .iter()
            .map(|p| format!("{}\n{}", p.title, p.text))
            .collect();
        let vectors = self.embed(&inputs).await?;
        let mut scored: Vec<(f32, Passage)> = paragraphs
            .into_iter()
            .zip(vectors)
            .map(|(p, v)| (cosine(query, &v), p))
            .filter(|(score, _)| *score >= MIN_SIMILARITY)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(scored.into_iter().map(|(_, p)| p).take(PASSAGES).collect())
    }
}

/// The paragraphs of a passage, each titled with the heading it sits under.
fn paragraphs(hit: &Passage) -> Vec<Passage> {
    let mut heading = hit.title.clone();
    let mut out = Vec::new();
    for block in hit
        .text
        .split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        if let Some(h) = block.strip_prefix('#') {
            heading = h.trim_start_matches('#').trim().to_owned();
            continue;
        }
        out.push(Passage {
            id: hit.id.clone(),
            title: heading.clone(),
            text: block.replace('\n', " "),
        });
    }
    out
}

/// A knowledge passage the draft quotes.
#[derive(Debug)]
struct Passage {
    id: String,
    title: String,
    text: String,
}

/// The customer's last charges as (id, line), when the tenant has Stripe access.
async fn charges(
    ctx: &Ctx,
    caller: &Caller,
    thread: &GetTicketOutput,
    seen: &mut HashSet<String>,
) -> Result<Vec<(String, String)>, JobError> {
    if thread.customer.stripe_customer_id.is_none() {
        return Ok(Vec::new());
    }
    let args = FetchStripeChargesArgs {
        customer_id: Some(thread.customer.id),
        limit: Some(3),
        ..Default::default()
    };
    let found = match tools::invoke::<FetchStripeCharges>(ctx, caller, args).await {
        Ok(found) => found,
        Err(ToolError::Infrastructure(e)) => return Err(JobError::Transient(e.to_string())),
        Err(e) => {
            tracing::info!(error = %e, "no Stripe facts for this draft");
            return Ok(Vec::new());
        }
    };
    if let Ok(value) = serde_json::to_value(&found) {
        guard::collect_ids(&value, seen);
    }
    Ok(found
        .charges
        .iter()
        .map(|c| (c.id.clone(), charge_line(c)))
        .collect())
}

fn charge_line(c: &ChargeView) -> String {
    let date = c.created.format("%Y-%m-%d");
    let refunded = if c.amount_refunded > 0 {
        format!(", {} refunded", c.amount_refunded_formatted)
    } else {
        String::new()
    };
    format!("- {date}: {} ({}{refunded})", c.amount_formatted, c.status)
}

/// What the draft says about the customer's invoices and subscriptions, and the ids it cites.
#[derive(Debug, Default)]
struct Billing {
    lines: Vec<String>,
    ids: Vec<String>,
}

impl Billing {
    fn cite(&mut self, id: &str) {
        if !id.is_empty() && !self.ids.iter().any(|i| i == id) {
            self.ids.push(id.to_owned());
        }
    }
}

/// For a question about a charge, the latest invoices with the subscription each bills; for a
/// request to cancel, when access to each subscription ends. Nothing for other questions, or
/// when the customer has no Stripe records the tenant can reach.
async fn billing(
    ctx: &Ctx,
    caller: &Caller,
    thread: &GetTicketOutput,
    text: &str,
    seen: &mut HashSet<String>,
) -> Result<Billing, JobError> {
    let mut out = Billing::default();
    let (charged, cancel) = (rules::about_billing(text), rules::about_cancelling(text));
    if thread.customer.stripe_customer_id.is_none() || !(charged || cancel) {
        return Ok(out);
    }
    let customer_id = Some(thread.customer.id);
    let subs = ListSubscriptionsArgs {
        customer_id,
        limit: Some(5),
        ..Default::default()
    };
    let Some(subs) = offline_call::<ListSubscriptions>(ctx, caller, subs, seen).await? else {
        return Ok(out);
    };
    let subscriptions = subs.subscriptions;
    if charged {
        let args = ListInvoicesArgs {
            customer_id,
            limit: Some(3),
            ..Default::default()
        };
        if let Some(found) = offline_call::<ListInvoices>(ctx, caller, args, seen).await? {
            for invoice in &found.invoices {
                let sub = invoice
                    .subscription
                    .as_deref()
                    .and_then(|id| subscriptions.iter().find(|s| s.id == id));
                out.lines.push(invoice_line(invoice, sub));
                out.cite(&invoice.id);
                if let Some(s) = sub {
                    out.cite(&s.id);
                }
            }
        }
    }
    if cancel {
        for s in &subscriptions {
            out.lines.push(access_line(s));
            out.cite(&s.id);
        }
    }
    Ok(out)
}

/// Runs a read-only tool for the offline draft; `None` when it cannot answer (Stripe not
/// connected, failing): the draft then goes without it.
async fn offline_call<T: tools::Tool>(
    ctx: &Ctx,
    caller: &Caller,
    args: T::Args,
    seen: &mut HashSet<String>,
) -> Result<Option<T::Output>, JobError>
where
    T::Args: serde::Serialize,
{
    match tools::invoke::<T>(ctx, caller, args).await {
        Ok(found) => {
            if let Ok(value) = serde_json::to_value(&found) {
                guard::collect_ids(&value, seen);
            }
            Ok(Some(found))
        }
        Err(ToolError::Infrastructure(e)) => Err(JobError::Transient(e.to_string())),
        Err(e) => {
            tracing::info!(tool = T::NAME, error = %e, "no Stripe facts for this draft");
            Ok(None)
        }
    }
}

fn invoice_line(i: &InvoiceView, sub: Option<&SubscriptionView>) -> String {
    let number = i.number.as_deref().unwrap_or(&i.id);
    let date = i.created.format("%Y-%m-%d");
    let status = i.status.as_deref().unwrap_or("draft");
    let amount = if status == "paid" {
        &i.amount_paid_formatted
    } else {
        &i.amount_due_formatted
    };
    let what = match sub {
        Some(s) => format!(
            " for your {} subscription, period {} to {}",
            s.name,
            i.period_start.format("%Y-%m-%d"),
            i.period_end.format("%Y-%m-%d")
        ),
        None => String::new(),
    };
    format!("- {date}: invoice {number}, {amount} ({status}){what}")
}

fn access_line(s: &SubscriptionView) -> String {
    let day = |d: &chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d").to_string();
    match (&s.access_ends_at, &s.current_period_end) {
        (Some(end), _) if s.status == "canceled" => {
            format!("- Your {} subscription ended on {}.", s.name, day(end))
        }
        (Some(end), _) => format!(
            "- Your {} subscription is set to end: your access continues until {}.",
            s.name,
            day(end)
        ),
        (None, Some(end)) => format!(
            "- Your {} subscription ({}) is paid until {}; once it is cancelled, your access \
             continues until that date and it does not renew.",
            s.name,
            s.amount_formatted,
            day(end)
        ),
        (None, None) => format!("- Your {} subscription is {}.", s.name, s.status),
    }
}

fn draft(
    thread: &GetTicketOutput,
    passages: &[Passage],
    charges: &[(String, String)],
    billing: &Billing,
) -> String {
    let passages: String = passages
        .iter()
        .map(|p| {
            let text: String = p.text.chars().take(MAX_PASSAGE).collect();
            format!("{} (from our help centre):\n{}\n\n", p.title, text)
        })
        .collect();
    let charges = if charges.is_empty() {
        String::new()
    } else {
        let lines: Vec<&str> = charges.iter().map(|(_, l)| l.as_str()).collect();
        format!("Your recent payments:\n{}\n\n", lines.join("\n"))
    };
    let first_name = thread
        .customer
        .name
        .split_whitespace()
        .next()
        .unwrap_or("there");
    let billing = if billing.lines.is_empty() {
        String::new()
    } else {
        format!(
            "Your invoices and subscriptions:\n{}\n\n",
            billing.lines.join("\n")
        )
    };
    replies::offline_draft(OfflineDraft {
        customer_name: first_name,
        subject: &thread.ticket.summary.subject,
        passages: &passages,
        charges: &charges,
        billing: &billing,
    })
}
