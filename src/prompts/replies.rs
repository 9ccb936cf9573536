//! Texts that reach customers, not models: the holding reply and the offline engine's drafts.

/// What a draft says when the evidence does not answer the question (a model was configured).
pub const HOLDING: &str = include_str!("../../prompts/replies/holding.md");
/// The offline engine's draft when the knowledge base has nothing that answers.
pub const OFFLINE_HOLDING: &str = include_str!("../../prompts/replies/offline_holding.md");
/// The offline engine's retrieval-only draft.
pub const OFFLINE_DRAFT: &str = include_str!("../../prompts/replies/offline_draft.md");

/// What fills [`OFFLINE_DRAFT`] in.
#[derive(Debug, Clone, Copy)]
pub struct OfflineDraft<'a> {
    /// The customer's first name.
    pub customer_name: &'a str,
    /// The ticket's subject (customer text).
    pub subject: &'a str,
    /// The quoted passages, each ending with a blank line, or empty.
    pub passages: &'a str,
    /// The recent-payments block, ending with a blank line, or empty.
    pub charges: &'a str,
    /// The invoices and subscriptions block, ending with a blank line, or empty.
    pub billing: &'a str,
}

/// The offline draft. Customer text goes in last, so that nothing it says is taken for a
/// placeholder.
pub fn offline_draft(d: OfflineDraft<'_>) -> String {
    OFFLINE_DRAFT
        .replace("{{passages}}", d.passages)
        .replace("{{charges}}", d.charges)
        .replace("{{billing}}", d.billing)
        .replace("{{customer_name}}", d.customer_name)
        .replace("{{subject}}", d.subject)
        .trim()
        .to_owned()
}
