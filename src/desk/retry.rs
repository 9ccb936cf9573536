//! What becomes of the ai draft already on a ticket when an operator queues its triage job again
//! (`jobs retry`): a retried job never writes a second draft for the same message (Q2), so the
//! operator is told, and may have a draft still waiting for review deleted first.

use serde::Serialize;
use uuid::Uuid;

use crate::messages::{self, DraftState};
use crate::{Db, StoreError, Tenant};

/// The draft that answers a job's trigger, and what the retry does to it.
#[derive(Debug, Clone, Serialize)]
pub struct DraftFate {
    /// The draft's message id; `None` when no draft answers the trigger yet.
    pub message_id: Option<Uuid>,
    /// Its state before the retry.
    pub state: Option<DraftState>,
    /// `none` (the job writes one), `kept` (the job only sets the triage fields again) or
    /// `replaced` (deleted now: the job writes a new one).
    pub fate: &'static str,
}

impl DraftFate {
    /// One sentence for the operator.
    pub fn describe(&self) -> String {
        match (self.message_id, self.state, self.fate) {
            (None, _, _) => "no draft answers it yet: the job writes one".into(),
            (Some(id), _, "replaced") => {
                format!("the ai draft {id} was deleted: the job writes a new one")
            }
            (Some(id), Some(DraftState::Draft), _) => format!(
                "the ai draft {id} (still waiting for review) is kept: the job writes no second \
                 draft for the same message and only sets the ticket's triage fields again; add \
                 --replace-draft to have the draft replaced"
            ),
            (Some(id), state, _) => format!(
                "the ai draft {id} ({}) is kept, as a person decided it: the job writes no new \
                 draft and only sets the ticket's triage fields again",
                state.map_or("decided", state_word)
            ),
        }
    }
}

fn state_word(s: DraftState) -> &'static str {
    match s {
        DraftState::Draft => "draft",
        DraftState::Approved => "approved",
        DraftState::Sent => "sent",
        DraftState::Discarded => "discarded",
    }
}

/// Looks at the draft answering `trigger`; with `replace`, deletes it when it still waits for
/// review, and refuses when a person has already approved, sent or discarded it (that draft is
/// the record of their decision).
pub async fn draft_before_retry(
    db: &Db,
    tenant: &Tenant,
    trigger: Uuid,
    replace: bool,
) -> Result<DraftFate, StoreError> {
    let mut tx = db.begin(tenant).await?;
    let fate = match messages::store::draft_answering(&mut tx, trigger).await? {
        None => DraftFate {
            message_id: None,
            state: None,
            fate: "none",
        },
        Some(d) if replace && d.draft_state == Some(DraftState::Draft) => {
            messages::store::delete_open_draft(&mut tx, d.ticket_id, d.id).await?;
            DraftFate {
                message_id: Some(d.id),
                state: d.draft_state,
                fate: "replaced",
            }
        }
        Some(d) if replace => {
            return Err(StoreError::Conflict(format!(
                "the ai draft {} is {} already: a person decided it, so it is not replaced \
                 (retry without --replace-draft to set the triage fields again)",
                d.id,
                d.draft_state.map_or("decided", state_word)
            )));
        }
        Some(d) => DraftFate {
            message_id: Some(d.id),
            state: d.draft_state,
            fate: "kept",
        },
    };
    tx.commit().await?;
    Ok(fate)
}
