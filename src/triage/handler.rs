//! The worker's triage job: load the thread under the job's tenant, run the engine, guard the
//! result, and store exactly one draft and the triage fields in one transaction.

use std::collections::HashSet;

use super::guard::{self, Decision};
use super::{Engine, Limits, TriageResult, agent};
use crate::audit::Transport;
use crate::jobs::ClaimedJob;
use crate::llm::LlmError;
use crate::prompts::{self, replies};
use crate::tickets::{self, Priority, store::TriageFields};
use crate::tools::{self, Caller, Ctx, GetTicketArgs, GetTicketOutput, ToolError};
use crate::worker::{Handler, JobError};
use crate::{Tenant, messages};

/// Triage as a queue handler.
pub struct TriageHandler {
    ctx: Ctx,
    engine: Engine,
    limits: Limits,
}

impl TriageHandler {
    pub fn new(ctx: Ctx, engine: Engine, limits: Limits) -> Self {
        Self {
            ctx,
            engine,
            limits,
        }
    }

    async fn thread(&self, caller: &Caller, job: &ClaimedJob) -> Result<GetTicketOutput, JobError> {
        let args = GetTicketArgs {
            ticket_id: job.ticket_id,
        };
        tools::get_ticket(&self.ctx, caller, args)
            .await
            .map_err(|e| match e {
                ToolError::Infrastructure(e) => JobError::Transient(e.to_string()),
                other => JobError::Permanent(format!("ticket {}: {other}", job.ticket_id)),
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
    /// still leaves a result: the holding reply, flagged for a person.
    async fn decide(
        &self,
        caller: &Caller,
        job: &ClaimedJob,
        thread: &GetTicketOutput,
        seen: &mut HashSet<String>,
    ) -> Result<TriageResult, JobError> {
        match &self.engine {
            Engine::Llm(model) => {
                let categories = self.categories(&caller.tenant).await?;
                let request =
                    prompts::triage_request(job.ticket_id, job.trigger_id(), thread, &categories);
                let opening = agent::opening(request);
                match agent::run(&self.ctx, caller, model, opening, self.limits).await {
                    Ok(outcome) => {
                        seen.extend(outcome.seen_ids);
                        Ok(outcome.result)
                    }
                    Err(agent::AgentError::Llm(LlmError::Transient(e))) => {
                        Err(JobError::Transient(e))
                    }
                    Err(agent::AgentError::Llm(LlmError::Permanent(e))) => {
                        Err(JobError::Permanent(e))
                    }
                    Err(agent::AgentError::Tool(e)) => Err(JobError::Transient(e)),
                    Err(
                        e @ (agent::AgentError::Budget(_)
                        | agent::AgentError::Llm(LlmError::ContextLengthExceeded)),
                    ) => {
                        tracing::warn!(job = %job.id, error = %e, "triage fell back to the holding reply");
                        Ok(holding())
                    }
                }
            }
            Engine::Offline(offline) => {
                offline
                    .triage(&self.ctx, caller, thread, job.trigger_id(), seen)
                    .await
            }
        }
    }

    async fn store(&self, tenant: &Tenant, job: &ClaimedJob, d: &Decision) -> Result<(), JobError> {
        let mut tx = self.ctx.db().begin(tenant).await.map_err(transient)?;
        let stored = messages::store::add_draft(
            &mut tx,
            job.ticket_id,
            job.trigger_id(),
            &d.reply,
            &d.citations,
        )
        .await
        .map_err(store_error)?;
        let fields = TriageFields {
            category: &d.category,
            priority: d.priority,
            sentiment: d.sentiment.as_str(),
            language: d.language.as_deref(),
            confidence: d.confidence,
            needs_human: d.needs_human,
        };
        tickets::store::set_triage(&mut tx, job.ticket_id, &fields)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(transient)?;
        if stored.is_none() {
            tracing::info!(job = %job.id, "a draft for this message existed already; kept it");
        }
        Ok(())
    }
}

impl Handler for TriageHandler {
    async fn handle(&self, job: &ClaimedJob) -> Result<(), JobError> {
        let tenant = job.tenant();
        let caller = Caller::staff(tenant, Transport::Agent);
        let thread = self.thread(&caller, job).await?;
        let mut seen = HashSet::new();
        if let Ok(value) = serde_json::to_value(&thread) {
            guard::collect_ids(&value, &mut seen);
        }
        let result = self.decide(&caller, job, &thread, &mut seen).await?;
        let decision = guard::check(result, &seen, self.engine.holding_reply());
        if !decision.flags.is_empty() {
            tracing::info!(job = %job.id, flags = ?decision.flags, "triage guard stepped in");
        }
        self.store(&tenant, job, &decision).await
    }
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

fn transient(e: crate::StoreError) -> JobError {
    JobError::Transient(e.to_string())
}

fn store_error(e: crate::StoreError) -> JobError {
    if e.is_infrastructure() {
        transient(e)
    } else {
        JobError::Permanent(e.to_string())
    }
}
