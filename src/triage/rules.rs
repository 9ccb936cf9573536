//! The offline path's explicit rules: priority, sentiment, language and when a person must look.
//! Deliberately simple and predictable: a reader can tell from the text why a ticket got its
//! priority.

use super::Sentiment;
use crate::tickets::Priority;

/// Words that make a ticket urgent: money lost, fraud, a locked or taken-over account, the law.
const URGENT: [&str; 14] = [
    "fraud",
    "stolen",
    "hacked",
    "unauthori",
    "chargeback",
    "lawyer",
    "legal action",
    "scam",
    "locked out",
    "identity theft",
    "police",
    "compromised",
    "don't recognise",
    "don't recognize",
];
/// Words that make it high: a payment problem or a blocked customer.
const HIGH: [&str; 14] = [
    "charged twice",
    "double charge",
    "declined",
    "failed",
    "refund",
    "dispute",
    "overcharged",
    "can't log in",
    "cannot log in",
    "blocked",
    "not working",
    "missing",
    "lost",
    "wrong amount",
];
/// Words of an unhappy customer.
const NEGATIVE: [&str; 16] = [
    "angry",
    "terrible",
    "awful",
    "unacceptable",
    "ridiculous",
    "frustrat",
    "disappoint",
    "worst",
    "still not",
    "yet again",
    "never received",
    "hacked",
    "scam",
    "complain",
    "useless",
    "annoy",
];
/// Words of a happy one.
const POSITIVE: [&str; 8] = [
    "thank",
    "great",
    "love",
    "awesome",
    "perfect",
    "appreciate",
    "happy",
    "excellent",
];

/// Words of a question about what was billed: the draft then cites invoices and subscriptions.
const BILLING: [&str; 9] = [
    "charged", "charge", "invoice", "billed", "billing", "payment", "renew", "receipt", "paid",
];
/// Words of a request to stop a subscription: the draft then says when access ends.
const CANCEL: [&str; 6] = [
    "cancel",
    "unsubscribe",
    "stop my subscription",
    "end my subscription",
    "close my account",
    "stop paying",
];

/// True when the customer asks about what they were billed.
pub fn about_billing(text: &str) -> bool {
    has(&text.to_lowercase(), &BILLING) > 0
}

/// True when the customer asks to cancel.
pub fn about_cancelling(text: &str) -> bool {
    has(&text.to_lowercase(), &CANCEL) > 0
}

fn has(text: &str, words: &[&str]) -> usize {
    words.iter().filter(|w| text.contains(*w)).count()
}

/// Priority from explicit phrases.
pub fn priority(text: &str) -> Priority {
    let t = text.to_lowercase();
    if has(&t, &URGENT) > 0 {
        Priority::Urgent
    } else if has(&t, &HIGH) > 0 {
        Priority::High
    } else {
        Priority::Medium
    }
}

/// Sentiment from a small lexicon.
pub fn sentiment(text: &str) -> Sentiment {
    let t = text.to_lowercase();
    let (neg, pos) = (has(&t, &NEGATIVE), has(&t, &POSITIVE));
    match neg.cmp(&pos) {
        std::cmp::Ordering::Greater => Sentiment::Negative,
        std::cmp::Ordering::Less => Sentiment::Positive,
        std::cmp::Ordering::Equal => Sentiment::Neutral,
    }
}

/// The language as a BCP 47 primary tag (`en`, `de`, …), among the languages support desks
/// most often see; `None` when the text gives no clue.
pub fn language(text: &str) -> Option<String> {
    use whatlang::Lang::*;
    const LANGS: [(whatlang::Lang, &str); 20] = [
        (Eng, "en"),
        (Deu, "de"),
        (Fra, "fr"),
        (Spa, "es"),
        (Por, "pt"),
        (Ita, "it"),
        (Nld, "nl"),
        (Swe, "sv"),
        (Dan, "da"),
        (Nob, "nb"),
        (Fin, "fi"),
        (Pol, "pl"),
        (Ces, "cs"),
        (Tur, "tr"),
        (Rus, "ru"),
        (Ukr, "uk"),
        (Jpn, "ja"),
        (Cmn, "zh"),
        (Kor, "ko"),
        (Ara, "ar"),
    ];
    let detector = whatlang::Detector::with_allowlist(LANGS.iter().map(|(l, _)| *l).collect());
    let lang = detector.detect_lang(text)?;
    LANGS
        .iter()
        .find(|(l, _)| *l == lang)
        .map(|(_, code)| (*code).to_owned())
}

/// A person must look when there is no evidence, when the classifier is unsure, when the ticket
/// is urgent, or when the customer is unhappy.
pub fn needs_human(
    evidence: bool,
    confidence: f32,
    priority: Priority,
    sentiment: Sentiment,
) -> bool {
    !evidence
        || confidence < 0.5
        || priority == Priority::Urgent
        || sentiment == Sentiment::Negative
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_the_phrases() {
        assert_eq!(priority("My account was HACKED"), Priority::Urgent);
        assert_eq!(priority("I was charged twice"), Priority::High);
        assert_eq!(priority("How do I change my address?"), Priority::Medium);
    }

    #[test]
    fn billing_and_cancelling_are_told_apart() {
        assert!(about_billing("Why was I charged twice?"));
        assert!(!about_billing("Please cancel my subscription"));
        assert!(about_cancelling("Please CANCEL my subscription"));
        assert!(!about_cancelling("Where is my parcel?"));
    }

    #[test]
    fn sentiment_and_language_are_read_from_the_text() {
        assert_eq!(
            sentiment("This is unacceptable, still not fixed"),
            Sentiment::Negative
        );
        assert_eq!(sentiment("Thank you, great service"), Sentiment::Positive);
        assert_eq!(sentiment("Where is my parcel?"), Sentiment::Neutral);
        assert_eq!(
            language("Hallo, meine Bestellung hängt seit acht Tagen im Tracking fest.").as_deref(),
            Some("de")
        );
        assert_eq!(
            language("Hello, my order has been stuck in tracking for eight days.").as_deref(),
            Some("en")
        );
    }
}
