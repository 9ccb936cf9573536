//! Checks a triage result before anything is stored (SECURITY.md M5, D2, issue 6's evidence
//! gate): citations must come from what the tools returned for this job; a draft that cites
//! nothing, names an id the job's tools never showed, or fails a content check of
//! [`crate::draft_check`] (a credential, another customer's details, a Stripe id or receipt not
//! of the ticket's customer, a link off the tenant's `link_domains`, an image) is replaced by the
//! holding reply and the ticket is flagged for a person.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{Sentiment, TriageResult};
use crate::draft_check::{Finding, links, scan};
use crate::secrets;
use crate::tickets::Priority;

/// What will be stored: the draft, its citations and the ticket's triage fields.
#[derive(Debug, Clone)]
pub struct Decision {
    pub reply: String,
    /// `[{"kind": "chunk" | "charge" | "invoice" | "subscription", "id": …}]`
    pub citations: Value,
    pub category: String,
    pub priority: Priority,
    pub sentiment: Sentiment,
    pub language: Option<String>,
    pub confidence: f32,
    pub needs_human: bool,
    /// Why the guard stepped in, for the log; empty when it did not.
    pub flags: Vec<&'static str>,
}

/// True for strings that are ids: UUIDs and Stripe object ids.
pub fn looks_like_id(s: &str) -> bool {
    (s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()) || scan::is_stripe_id(s)
}

/// Adds every id in `value` to `ids`: id-looking strings, ids mentioned inside text (a passage
/// of the tenant's own documents may name one), and the customer's own Stripe pages (a charge's
/// receipt URL), which a draft may then link to.
pub fn collect_ids(value: &Value, ids: &mut HashSet<String>) {
    match value {
        Value::String(s) => {
            ids.extend(ids_in(s).map(str::to_owned));
            let stripe_pages = links::links(s).into_iter().filter(|l| {
                l.host
                    .as_deref()
                    .is_some_and(links::is_stripe_customer_host)
            });
            ids.extend(stripe_pages.map(|l| l.text));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, ids)),
        Value::Object(map) => map.values().for_each(|v| collect_ids(v, ids)),
        _ => {}
    }
}

/// Ids mentioned in free text.
fn ids_in(text: &str) -> impl Iterator<Item = &str> {
    scan::id_words(text).filter(|w| looks_like_id(w))
}

/// Applies the gate to `result`; `seen` holds every id of this tenant's that the run was shown,
/// `findings` what [`crate::draft_check::check`] found in the reply, and `holding` is the reply
/// that stands in for a draft the gate refuses.
pub fn check(
    result: TriageResult,
    seen: &HashSet<String>,
    findings: &[Finding],
    holding: &str,
) -> Decision {
    let mut flags = Vec::new();
    let cite = |kind: fn(&str) -> &'static str, ids: &[String]| -> Vec<Value> {
        ids.iter()
            .filter(|id| seen.contains(id.as_str()))
            .map(|id| json!({"kind": kind(id), "id": id}))
            .collect()
    };
    let mut citations = cite(|_| "chunk", &result.chunk_ids);
    citations.extend(cite(stripe_kind, &result.charge_ids));
    if citations.len() < result.chunk_ids.len() + result.charge_ids.len() {
        flags.push("dropped citations the tools never returned");
    }
    let mut reply = result.reply.trim().to_owned();
    let mut needs_human = result.needs_human;
    if citations.is_empty() {
        flags.push("no evidence");
    }
    if secrets::find(&reply).is_some() {
        flags.push("credential in draft");
    }
    if ids_in(&reply).any(|id| !seen.contains(id)) {
        flags.push("id not of this tenant in draft");
    }
    if reply.is_empty() {
        flags.push("empty draft");
    }
    for f in findings {
        if !flags.contains(&f.flag()) {
            flags.push(f.flag());
        }
    }
    let replaced = !findings.is_empty()
        || flags.iter().any(|f| {
            f.starts_with("no evidence") || f.contains("in draft") || f.starts_with("empty")
        });
    if replaced {
        reply = holding.trim().to_owned();
        needs_human = true;
    }
    Decision {
        reply,
        citations: Value::Array(citations),
        category: category(&result.category),
        priority: result.priority,
        sentiment: result.sentiment,
        language: language(&result.language),
        confidence: if result.confidence.is_finite() {
            result.confidence.clamp(0.0, 1.0)
        } else {
            0.0
        },
        needs_human,
        flags,
    }
}

/// The kind of Stripe object a cited id names: an invoice, a subscription, else a charge.
fn stripe_kind(id: &str) -> &'static str {
    if id.starts_with("in_") {
        "invoice"
    } else if id.starts_with("sub_") {
        "subscription"
    } else {
        "charge"
    }
}

/// A category label as stored: snake_case ASCII, at most 64 characters, so that a label can
/// later be listed in a prompt without carrying instructions.
pub fn category(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out: String = out.trim_end_matches('_').chars().take(64).collect();
    if out.is_empty() {
        "uncategorized".to_owned()
    } else {
        out
    }
}

fn language(raw: &str) -> Option<String> {
    let s = raw.trim();
    let ok =
        (2..=16).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::replies;

    fn result(reply: &str, chunks: &[&str]) -> TriageResult {
        TriageResult {
            reply: reply.into(),
            chunk_ids: chunks.iter().map(|s| s.to_string()).collect(),
            charge_ids: vec![],
            category: "Refund Request!".into(),
            priority: Priority::High,
            sentiment: Sentiment::Negative,
            language: "en".into(),
            confidence: 1.7,
            needs_human: false,
        }
    }

    #[test]
    fn a_cited_draft_passes_and_labels_are_normalised() {
        let id = uuid::Uuid::now_v7().to_string();
        let seen = HashSet::from([id.clone()]);
        let d = check(
            result("Refunds take 5 days.", &[&id]),
            &seen,
            &[],
            replies::HOLDING,
        );
        assert_eq!(d.reply, "Refunds take 5 days.");
        assert!(!d.needs_human);
        assert_eq!(d.category, "refund_request");
        assert_eq!(d.confidence, 1.0);
        assert_eq!(d.citations[0]["id"], id.as_str());
    }

    #[test]
    fn an_uncited_or_unsafe_draft_becomes_the_holding_reply() {
        let id = uuid::Uuid::now_v7().to_string();
        let seen = HashSet::from([id.clone()]);
        let invented = uuid::Uuid::now_v7().to_string();
        for (reply, cites) in [
            ("Our policy is 90 days.", vec![]),
            ("Use sk_live_abcdefghijklmnop to pay.", vec![id.as_str()]),
            ("Customer cus_OTHERTENANT1 was refunded.", vec![id.as_str()]),
            ("See ticket 0000", vec![invented.as_str()]),
        ] {
            let d = check(result(reply, &cites), &seen, &[], replies::HOLDING);
            assert!(d.needs_human, "{reply}");
            assert_eq!(d.reply, replies::HOLDING.trim(), "{reply}");
        }
    }

    #[test]
    fn a_content_finding_replaces_a_cited_draft_and_is_flagged() {
        let id = uuid::Uuid::now_v7().to_string();
        let seen = HashSet::from([id.clone()]);
        let findings = [Finding::CustomerPhone, Finding::Image];
        let d = check(
            result("Refunds take 5 days.", &[&id]),
            &seen,
            &findings,
            replies::HOLDING,
        );
        assert!(d.needs_human);
        assert_eq!(d.reply, replies::HOLDING.trim());
        assert!(
            d.flags.contains(&"another customer's phone in draft"),
            "{:?}",
            d.flags
        );
        assert!(d.flags.contains(&"image in draft"), "{:?}", d.flags);
    }
}
