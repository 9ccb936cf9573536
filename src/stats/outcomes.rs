//! How the agent does, from real rows: the ai drafts written over a period and what people did
//! with them — approved unchanged, approved after editing (and how much was edited), discarded
//! — how long a customer waited for the first approved reply, and the share of tickets "resolved
//! by the agent with a person's approval". The inbox's Outcomes page, `GET /api/v1/outcomes`
//! and `support-agent outcomes` all read [`compute`].
//!
//! Definitions (each over the ai drafts *written* in the window, by their `created_at`):
//! - *approved unchanged*: approved or sent, and its text is the model's (never edited, or
//!   edited back to the same text); *approved after editing*: approved or sent with other text.
//! - *share of characters changed* of an edited draft: the edit distance between the model's
//!   text and the text approved, in characters, over the longer of the two; the figure is the
//!   mean over the drafts approved after editing.
//! - *time to the first approved reply*: for each approved draft, from the moment the customer
//!   message it answers (or the ticket, for the first draft) was written to the approval.
//!   Each trigger has at most one draft, so this is the first approved reply to that message.
//! - *resolved by the agent*: tickets with a draft approved unchanged, over tickets with a draft.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{StoreError, TenantTx};

/// The figures of one period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Outcomes {
    pub days: u32,
    pub since: DateTime<Utc>,
    #[serde(flatten)]
    pub all: OutcomeFigures,
    /// The same figures by the ticket's triage category (`uncategorized` before triage).
    pub by_category: Vec<CategoryOutcomes>,
    /// Drafts written per day (UTC), oldest first, for the chart.
    pub by_day: Vec<DayOutcomes>,
}

/// What people did with the drafts, and what came of it.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct OutcomeFigures {
    pub drafts: DraftCounts,
    /// Mean share of characters changed (0 to 1) over the drafts approved after editing; null
    /// when none was.
    pub edited_share_changed: Option<f64>,
    pub first_reply: ReplyTimes,
    /// Tickets with at least one draft written in the period.
    pub tickets_with_drafts: i64,
    /// Of those, the tickets where a draft was approved unchanged.
    pub tickets_approved_unchanged: i64,
    /// `tickets_approved_unchanged / tickets_with_drafts`; null without drafts.
    pub resolved_by_agent_share: Option<f64>,
}

/// Drafts by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DraftCounts {
    pub written: i64,
    pub approved_unchanged: i64,
    pub approved_edited: i64,
    pub discarded: i64,
    /// Still waiting for a person.
    pub waiting: i64,
}

/// Time from a customer's message to the first approved reply, in seconds.
#[derive(Debug, Clone, Copy, Default, Serialize, JsonSchema)]
pub struct ReplyTimes {
    /// Approved replies measured.
    pub replies: i64,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CategoryOutcomes {
    pub category: String,
    #[serde(flatten)]
    pub figures: OutcomeFigures,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DayOutcomes {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub drafts: DraftCounts,
}

/// A draft a person approved (SQL, shared below).
macro_rules! approved {
    () => {
        "m.draft_state IN ('approved', 'sent')"
    };
}
/// A draft whose text is the model's.
macro_rules! unchanged {
    () => {
        "(m.original_content IS NULL OR m.original_content = m.content)"
    };
}

/// The figures of the calling tenant over the last `days` days (1 to 3650).
pub async fn compute(tx: &mut TenantTx, days: u32) -> Result<Outcomes, StoreError> {
    if !(1..=3650).contains(&days) {
        return Err(StoreError::invalid("days", "must be between 1 and 3650"));
    }
    let since = Utc::now() - Duration::days(i64::from(days));
    let user_id = tx.user_id();

    // Drafts and tickets, by category and day.
    type CountRow = (String, String, i64, i64, i64, i64, i64);
    let counts: Vec<CountRow> = sqlx::query_as(concat!(
        // language=PostgreSQL
        "SELECT coalesce(t.category, 'uncategorized'), \
                to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), \
                count(*), \
                count(*) FILTER (WHERE ",
        approved!(),
        " AND ",
        unchanged!(),
        "), \
                count(*) FILTER (WHERE ",
        approved!(),
        " AND NOT ",
        unchanged!(),
        "), \
                count(*) FILTER (WHERE m.draft_state = 'discarded'), \
                count(*) FILTER (WHERE m.draft_state = 'draft') \
         FROM messages m JOIN tickets t ON t.user_id = m.user_id AND t.id = m.ticket_id \
         WHERE m.user_id = $1 AND m.sender_type = 'ai' AND m.created_at >= $2 \
         GROUP BY 1, 2 ORDER BY 2, 1"
    ))
    .bind(user_id)
    .bind(since)
    .fetch_all(tx.conn())
    .await?;

    let tickets: Vec<(String, i64, i64)> = sqlx::query_as(concat!(
        // language=PostgreSQL
        "SELECT coalesce(t.category, 'uncategorized'), count(DISTINCT m.ticket_id), \
                count(DISTINCT m.ticket_id) FILTER (WHERE ",
        approved!(),
        " AND ",
        unchanged!(),
        ") \
         FROM messages m JOIN tickets t ON t.user_id = m.user_id AND t.id = m.ticket_id \
         WHERE m.user_id = $1 AND m.sender_type = 'ai' AND m.created_at >= $2 \
         GROUP BY 1"
    ))
    .bind(user_id)
    .bind(since)
    .fetch_all(tx.conn())
    .await?;

    // Time to the approval, from the message (or ticket) each approved draft answers; the
    // category NULL row of the grouping sets is all of them.
    type TimeRow = (Option<String>, i64, Option<f64>, Option<f64>);
    let times: Vec<TimeRow> = sqlx::query_as(concat!(
        // language=PostgreSQL
        "SELECT d.category, count(*), \
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY d.secs), \
                    percentile_cont(0.9) WITHIN GROUP (ORDER BY d.secs) \
             FROM (SELECT coalesce(t.category, 'uncategorized') AS category, \
                          extract(epoch FROM m.decided_at - coalesce(c.created_at, t.created_at)) \
                              ::float8 AS secs \
                   FROM messages m \
                   JOIN tickets t ON t.user_id = m.user_id AND t.id = m.ticket_id \
                   LEFT JOIN messages c ON c.user_id = m.user_id AND c.id = m.reply_to \
                   WHERE m.user_id = $1 AND m.sender_type = 'ai' AND m.created_at >= $2 \
                     AND ",
        approved!(),
        " AND m.decided_at IS NOT NULL) d \
             GROUP BY GROUPING SETS ((d.category), ())"
    ))
    .bind(user_id)
    .bind(since)
    .fetch_all(tx.conn())
    .await?;

    // The texts of the drafts approved after editing, to measure the edit.
    let edits: Vec<(String, String, String)> = sqlx::query_as(concat!(
        // language=PostgreSQL
        "SELECT coalesce(t.category, 'uncategorized'), m.original_content, m.content \
         FROM messages m JOIN tickets t ON t.user_id = m.user_id AND t.id = m.ticket_id \
         WHERE m.user_id = $1 AND m.sender_type = 'ai' AND m.created_at >= $2 \
           AND ",
        approved!(),
        " AND NOT ",
        unchanged!()
    ))
    .bind(user_id)
    .bind(since)
    .fetch_all(tx.conn())
    .await?;

    let mut all = OutcomeFigures::default();
    let mut cats: BTreeMap<String, OutcomeFigures> = BTreeMap::new();
    let mut by_day: BTreeMap<String, DraftCounts> = BTreeMap::new();
    for (category, day, written, unchanged, edited, discarded, waiting) in counts {
        let c = DraftCounts {
            written,
            approved_unchanged: unchanged,
            approved_edited: edited,
            discarded,
            waiting,
        };
        add(&mut all.drafts, c);
        add(&mut cats.entry(category).or_default().drafts, c);
        add(by_day.entry(day).or_default(), c);
    }
    for (category, with_drafts, approved_unchanged) in tickets {
        all.tickets_with_drafts += with_drafts;
        all.tickets_approved_unchanged += approved_unchanged;
        let f = cats.entry(category).or_default();
        f.tickets_with_drafts += with_drafts;
        f.tickets_approved_unchanged += approved_unchanged;
    }
    for (category, replies, median, p90) in times {
        let t = ReplyTimes {
            replies,
            median_seconds: median,
            p90_seconds: p90,
        };
        match category {
            Some(c) => cats.entry(c).or_default().first_reply = t,
            None => all.first_reply = t,
        }
    }
    let mut shares: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut every = Vec::with_capacity(edits.len());
    for (category, original, approved) in edits {
        let share = share_changed(&original, &approved);
        every.push(share);
        shares.entry(category).or_default().push(share);
    }
    all.edited_share_changed = mean(&every);
    for (category, s) in shares {
        cats.entry(category).or_default().edited_share_changed = mean(&s);
    }
    finish(&mut all);
    let by_category = cats
        .into_iter()
        .map(|(category, mut figures)| {
            finish(&mut figures);
            CategoryOutcomes { category, figures }
        })
        .collect();
    Ok(Outcomes {
        days,
        since,
        all,
        by_category,
        by_day: by_day
            .into_iter()
            .map(|(day, drafts)| DayOutcomes { day, drafts })
            .collect(),
    })
}

fn add(to: &mut DraftCounts, c: DraftCounts) {
    to.written += c.written;
    to.approved_unchanged += c.approved_unchanged;
    to.approved_edited += c.approved_edited;
    to.discarded += c.discarded;
    to.waiting += c.waiting;
}

fn finish(f: &mut OutcomeFigures) {
    f.resolved_by_agent_share = (f.tickets_with_drafts > 0)
        .then(|| f.tickets_approved_unchanged as f64 / f.tickets_with_drafts as f64);
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Largest middle part (after the common start and end) measured exactly; past it, every
/// character of the longer middle counts as changed (an upper bound), so a huge rewrite costs
/// no more than this many steps.
const MAX_EXACT_CELLS: usize = 4_000_000;

/// The share of characters changed from `original` to `edited`: their edit distance (in
/// characters) over the longer one's length; 0 for equal texts, 1 for a complete rewrite.
pub fn share_changed(original: &str, edited: &str) -> f64 {
    let a: Vec<char> = original.chars().collect();
    let b: Vec<char> = edited.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (a_rest, b_rest) = (&a[prefix..], &b[prefix..]);
    let suffix = a_rest
        .iter()
        .rev()
        .zip(b_rest.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (
        &a_rest[..a_rest.len() - suffix],
        &b_rest[..b_rest.len() - suffix],
    );
    let distance = if a_mid.len().saturating_mul(b_mid.len()) > MAX_EXACT_CELLS {
        a_mid.len().max(b_mid.len())
    } else {
        levenshtein(a_mid, b_mid)
    };
    distance as f64 / longest as f64
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    if a.is_empty() || b.is_empty() {
        return a.len().max(b.len());
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::share_changed;

    #[test]
    fn the_share_changed_is_the_edit_distance_over_the_longer_text() {
        assert_eq!(share_changed("same", "same"), 0.0);
        assert_eq!(share_changed("abcd", "wxyz"), 1.0);
        // One character of ten replaced.
        assert!((share_changed("0123456789", "0123X56789") - 0.1).abs() < 1e-9);
        // Five characters appended to five: half of the longer text.
        assert!((share_changed("hello", "hello world") - 6.0 / 11.0).abs() < 1e-9);
        assert_eq!(share_changed("", ""), 0.0);
    }
}
