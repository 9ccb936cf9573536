//! The worker's triage job: load the thread under the job's tenant, run the engine, guard the
//! result, and store exactly one draft and the triage fields in one transaction.
//!
//! The engine's tools run for [`Caller::for_ticket`]: the ticket named by the job row and that
//! ticket's customer (SECURITY.md D1). The ticket's author is an outsider, so whatever the ticket
//! asks the model to do, another customer's records are "not found" to it. The handler's own
//! bookkeeping (the ticket's customer, categories, the token ledger, storing the result) is the
//! server's, and runs for the tenant.
//!
//! Two per-tenant limits shape the result (SECURITY.md D5): `TENANT_LLM_TOKENS_PER_DAY` (a job
//! that would pass it ends with the holding reply, flagged for a person) and
//! `MAX_DRAFTS_PER_TICKET` (no further draft; the ticket is flagged). Either is noted on the job.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::Utc;
use uuid::Uuid;

use super::guard::{self, Decision};
use super::{Engine, Limits, TriageResult, agent};
use crate::jobs::{ClaimedJob, JobKind};
use crate::limits::until_utc_midnight;
use crate::llm::{ChatModel, LlmError, usage};
use crate::prompts::{self, replies};
use crate::tickets::{self, Priority, store::TriageFields};
use crate::tools::{self, Caller, Ctx, GetTicketArgs, GetTicketOutput, ToolError};
use crate::worker::{Done, Handler, JobError};
use crate::{StoreError, Tenant, draft_check, messages};

/// Triage as a queue handler.
pub struct TriageHandler {
    ctx: Ctx,
    engine: Engine,
    limits: Limits,
    /// Model refusals already logged: each cause once per process, not once per job.
    refusals: Mutex<HashSet<String>>,
}

/// What a triage job works on, from its row.
#[derive(Debug, Clone, Copy)]
struct Work {
    ticket_id: Uuid,
    /// The customer message answered, or the ticket itself for a new ticket.
    trigger_id: Uuid,
}

impl Work {
    fn of(job: &ClaimedJob) -> Result<Self, JobError> {
        match (job.ticket_id, job.trigger_id()) {
            (Some(ticket_id), Some(trigger_id)) => Ok(Self {
                ticket_id,
                trigger_id,
            }),
            _ => Err(JobError::Permanent("a triage job without a ticket".into())),
        }
    }
}

impl TriageHandler {
    pub fn new(ctx: Ctx, engine: Engine, limits: Limits) -> Self {
        Self {
            ctx,
            engine,
            limits,
            refusals: Mutex::default(),
        }
    }

    /// Logs a refusal the operator must fix (a bad key, an unknown model, a model without tool
    /// calls) the first time its cause is seen; the job's note carries it every time.
    fn report_refusal(&self, model: &ChatModel, cause: &str) {
        let first = self
            .refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cause.to_owned());
        if first {
            tracing::error!(
                "the model refused the request ({cause}); model {} at {}: triage jobs end with \
                 the holding reply, flagged for a person, until this is fixed",
                model.model(),
                model.base_url()
            );
        } else {
            tracing::debug!(cause, "the model refused the request again");
        }
    }

    /// The customer of the job's ticket, read by the server: the scope the engine runs in.
    async fn customer_of(&self, tenant: &Tenant, work: Work) -> Result<Uuid, JobError> {
        let mut tx = self.ctx.db().begin(tenant).await.map_err(transient)?;
        let ticket = tickets::store::get(&mut tx, work.ticket_id)
            .await
            .map_err(|e| match e {
                e if e.is_infrastructure() => transient(e),
                other => JobError::Permanent(format!("ticket {}: {other}", work.ticket_id)),
            })?;
        tx.commit().await.map_err(transient)?;
        Ok(ticket.customer_id)
    }

    async fn thread(&self, caller: &Caller, work: Work) -> Result<GetTicketOutput, JobError> {
        tools::get_ticket(&self.ctx, caller, GetTicketArgs::new(work.ticket_id))
            .await
            .map_err(|e| match e {
                ToolError::Infrastructure(e) => JobError::Transient(e.to_string()),
                other => JobError::Permanent(format!("ticket {}: {other}", work.ticket_id)),
            })
    }

    async fn categories(&self, tenant: &Tenant) -> Result<Vec<String>, JobError> {
        let mut tx = self.ctx.db().begin(tenant).await.map_err(transient)?;
        let categories = tickets::store::categories(&mut tx, 50)
            .await
            .map_err(transient)?;
        tx.commit().await.map_err(transient)?;
        Ok(categories)
    }

    /// Runs the engine. A model that cannot finish within its budget, or whose context overflows,
    /// still leaves a result: the holding reply, flagged for a person. The note says which daily
    /// limit stopped the job, when one did.
    async fn decide(
        &self,
        caller: &Caller,
        work: Work,
        thread: &GetTicketOutput,
        seen: &mut HashSet<String>,
    ) -> Result<(TriageResult, Option<String>), JobError> {
        match &self.engine {
            Engine::Llm(model) => {
                let cap = self.ctx.limits().settings.tenant_llm_tokens_per_day;
                let used = self.tokens_used(&caller.tenant).await?;
                if used >= cap {
                    return Ok((holding(), Some(token_limit_note(cap))));
                }
                let mut limits = self.limits;
                let remaining = u32::try_from(cap - used).unwrap_or(u32::MAX);
                let daily_binds = remaining < limits.max_tokens;
                limits.max_tokens = limits.max_tokens.min(remaining);
                let categories = self.categories(&caller.tenant).await?;
                let request =
                    prompts::triage_request(work.ticket_id, work.trigger_id, thread, &categories);
                let opening = agent::opening(request);
                let mut spent = 0;
                let run = agent::run(&self.ctx, caller, model, opening, limits, &mut spent).await;
                self.record_tokens(&caller.tenant, spent).await?;
                match run {
                    Ok(outcome) => {
                        seen.extend(outcome.seen_ids);
                        Ok((outcome.result, None))
                    }
                    Err(agent::AgentError::Llm(LlmError::Transient(e))) => {
                        Err(JobError::Transient(e))
                    }
                    // The operator's to fix, not the ticket's: the job still ends in one draft
                    // (the holding reply) and a person sees the ticket; the note says why.
                    Err(agent::AgentError::Llm(LlmError::Permanent(cause))) => {
                        self.report_refusal(model, &cause);
                        Ok((holding(), Some(refusal_note(&cause))))
                    }
                    Err(agent::AgentError::Tool(e)) => Err(JobError::Transient(e)),
                    Err(agent::AgentError::Budget(b)) if daily_binds && b.is_tokens() => {
                        Ok((holding(), Some(token_limit_note(cap))))
                    }
                    Err(
                        e @ (agent::AgentError::Budget(_)
                        | agent::AgentError::Llm(LlmError::ContextLengthExceeded)),
                    ) => {
                        tracing::warn!(ticket = %work.ticket_id, error = %e, "triage fell back to the holding reply");
                        Ok((holding(), None))
                    }
                }
            }
            Engine::Offline(offline) => {
                let result = offline
                    .triage(&self.ctx, caller, thread, work.trigger_id, seen)
                    .await?;
                Ok((result, None))
            }
        }
    }

    async fn tokens_used(&self, tenant: &Tenant) -> Result<u64, JobError> {
        let mut tx = self.ctx.db().begin(tenant).await.map_err(transient)?;
        let used = usage::today(&mut tx).await.map_err(transient)?;
        tx.commit().await.map_err(transient)?;
        Ok(used)
    }

    async fn record_tokens(&self, tenant: &Tenant, tokens: u32) -> Result<(), JobError> {
        if tokens == 0 {
            return Ok(());
        }
        let mut tx = self.ctx.db().begin(tenant).await.map_err(transient)?;
        usage::add(&mut tx, u64::from(tokens))
            .await
            .map_err(transient)?;
        tx.commit().await.map_err(transient)
    }

    /// Stores the draft and the triage fields; with `MAX_DRAFTS_PER_TICKET` drafts already
    /// waiting, only the fields (flagged for a person), and the limit as the note.
    async fn store(
        &self,
        tenant: &Tenant,
        work: Work,
        d: &Decision,
    ) -> Result<Option<String>, JobError> {
        let max_open = self.ctx.limits().settings.max_drafts_per_ticket;
        let mut tx = self.ctx.db().begin(tenant).await.map_err(transient)?;
        let mut note = None;
        let mut needs_human = d.needs_human;
        match messages::store::check_open_drafts(&mut tx, work.ticket_id, max_open).await {
            Ok(()) => {
                let stored = messages::store::add_draft(
                    &mut tx,
                    work.ticket_id,
                    work.trigger_id,
                    &d.reply,
                    &d.citations,
                )
                .await
                .map_err(store_error)?;
                if stored.is_none() {
                    tracing::info!(ticket = %work.ticket_id, "a draft for this message existed already; kept it");
                }
            }
            Err(StoreError::Conflict(limit)) => {
                tracing::warn!(ticket = %work.ticket_id, "{limit}");
                needs_human = true;
                note = Some(limit);
            }
            Err(e) => return Err(store_error(e)),
        }
        let fields = TriageFields {
            category: &d.category,
            priority: d.priority,
            sentiment: d.sentiment.as_str(),
            language: d.language.as_deref(),
            confidence: d.confidence,
            needs_human,
        };
        tickets::store::set_triage(&mut tx, work.ticket_id, &fields)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(transient)?;
        Ok(note)
    }
}

impl Handler for TriageHandler {
    fn kinds(&self) -> &'static [JobKind] {
        &[JobKind::Triage]
    }

    async fn handle(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        let work = Work::of(job)?;
        let tenant = job.tenant();
        let customer = self.customer_of(&tenant, work).await?;
        let caller = Caller::for_ticket(tenant, work.ticket_id, customer);
        let thread = self.thread(&caller, work).await?;
        let mut seen = HashSet::new();
        if let Ok(value) = serde_json::to_value(&thread) {
            guard::collect_ids(&value, &mut seen);
        }
        let (result, limited) = self.decide(&caller, work, &thread, &mut seen).await?;
        // What the job's scoped tools showed is what the draft may cite and link to.
        let findings = draft_check::check(self.ctx.db(), &tenant, customer, &result.reply, &seen)
            .await
            .map_err(store_error)?;
        let mut decision = guard::check(result, &seen, &findings, self.engine.holding_reply());
        if limited.is_some() {
            decision.needs_human = true;
        }
        if !decision.flags.is_empty() {
            tracing::info!(job = %job.id, flags = ?decision.flags, "triage guard stepped in");
        }
        let full = self.store(&tenant, work, &decision).await?;
        Ok(Done {
            note: limited.or(full),
        })
    }
}

/// The note of a job the daily token limit stopped.
fn token_limit_note(cap: u64) -> String {
    let resets = until_utc_midnight(Utc::now());
    format!(
        "TENANT_LLM_TOKENS_PER_DAY ({cap} tokens) reached for today: the holding reply was \
         stored and the ticket flagged; the limit resets at 00:00 UTC (in {} min)",
        resets.as_secs().div_ceil(60)
    )
}

/// The note of a job the model refused.
fn refusal_note(cause: &str) -> String {
    format!(
        "the model refused the request ({cause}): the holding reply was stored and the ticket \
         flagged; after fixing the setting, `jobs retry <JOB_ID> --replace-draft` drafts again"
    )
}

/// The result when no usable answer came back: the holding reply, for a person to take over.
fn holding() -> TriageResult {
    TriageResult {
        reply: replies::HOLDING.trim().to_owned(),
        chunk_ids: Vec::new(),
        charge_ids: Vec::new(),
        category: "uncategorized".into(),
        priority: Priority::Medium,
        sentiment: super::Sentiment::Neutral,
        language: String::new(),
        confidence: 0.0,
        needs_human: true,
    }
}

fn transient(e: StoreError) -> JobError {
    JobError::Transient(e.to_string())
}

fn store_error(e: StoreError) -> JobError {
    if e.is_infrastructure() {
        transient(e)
    } else {
        JobError::Permanent(e.to_string())
    }
}
