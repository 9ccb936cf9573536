//! Recognising credentials in free text (SECURITY.md M5): Stripe secret and restricted keys,
//! webhook signing secrets, and JSON Web Tokens.
//!
//! Drafts that contain one are refused before they are stored; text a tool hands back (a ticket's
//! description, its messages) has them masked, so a key a customer pasted into a ticket does not
//! travel on to a model or an MCP client.

use std::borrow::Cow;

/// Prefixes of Stripe credentials that must never be stored or shown.
const PREFIXES: [&str; 5] = ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"];

/// Shortest secret body after a prefix; shorter matches are ordinary words like `sk_test_x`.
const MIN_BODY: usize = 8;

/// What kind of credential a text contains, if any.
pub fn find(text: &str) -> Option<&'static str> {
    spans(text).next().map(|(_, _, kind)| kind)
}

/// The text with every credential replaced by `[redacted]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let found: Vec<_> = spans(text).collect();
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, _) in found {
        out.push_str(&text[at..start]);
        out.push_str("[redacted]");
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Byte ranges of credentials, in order and not overlapping: each word (a maximal run of
/// token characters) is checked on its own.
fn spans(text: &str) -> impl Iterator<Item = (usize, usize, &'static str)> + '_ {
    let is_token = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_token(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    words
        .into_iter()
        .filter_map(move |(s, e)| classify(&text[s..e]).map(|kind| (s, e, kind)))
}

fn classify(word: &str) -> Option<&'static str> {
    for prefix in PREFIXES {
        if let Some(body) = word.strip_prefix(prefix)
            && body.len() >= MIN_BODY
            && body.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Some(if prefix.starts_with("whsec") {
                "a Stripe webhook secret"
            } else {
                "a Stripe API key"
            });
        }
    }
    if is_jwt(word) {
        return Some("a JSON Web Token");
    }
    None
}

/// Three base64url parts, the first decoding to a JSON header (`eyJ` is `{"` encoded).
fn is_jwt(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[1].starts_with("eyJ")
        && parts.iter().all(|p| {
            p.len() >= 2
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_keys_and_tokens_are_found_and_masked() {
        let key = format!("sk_{}_{}", "live", "4eC39HqLyjWDarjtT1zdp7dc");
        let text = format!("my key is {key}, thanks");
        assert_eq!(find(&text), Some("a Stripe API key"));
        assert_eq!(redact(&text), "my key is [redacted], thanks");
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        assert_eq!(find(jwt), Some("a JSON Web Token"));
        assert!(find("whsec_abcdefgh1234").is_some());
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "ask_me anything",
            "sk_test_x",
            "version 1.2.3",
            "risk_level high",
            "",
        ] {
            assert_eq!(find(text), None, "{text:?}");
            assert!(matches!(redact(text), Cow::Borrowed(_)));
        }
    }
}
