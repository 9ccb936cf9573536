//! Recognising credentials and card numbers in free text (SECURITY.md M5, D3): Stripe secret,
//! restricted and webhook keys, OpenAI-style keys (`sk-…`, `sk-proj-…`), JSON Web Tokens, URLs
//! with a password in them (database URLs above all), PEM private keys, and card numbers (13 to
//! 19 digits, optionally grouped with spaces or dashes, that pass the Luhn check).
//!
//! Each is found wherever it starts and ends, whatever punctuation surrounds it: `(rk_test_…)`,
//! `sk_live_….` and a token at the end of a sentence are all found. Drafts that contain one are
//! refused; text a tool hands back, a message view and every log line have them masked, so a key
//! a customer pasted into a ticket does not travel on to a model, an MCP client or a log file.

mod card;
mod scan;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

/// What stands in for a secret in masked text.
pub const MASK: &str = "[redacted]";

/// What kind of credential a text contains, if any.
pub fn find(text: &str) -> Option<&'static str> {
    spans(text).first().map(|s| s.kind)
}

/// The text with every credential and card number replaced by `[redacted]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let found = spans(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in found {
        out.push_str(&text[at..s.start]);
        out.push_str(MASK);
        at = s.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Masks every string inside a JSON value, keys included.
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Cow::Owned(masked) = redact(s) {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            let masked_keys = map.keys().any(|k| matches!(redact(k), Cow::Owned(_)));
            if masked_keys {
                let entries = std::mem::take(map);
                for (k, v) in entries {
                    map.insert(redact(&k).into_owned(), v);
                }
            }
            map.values_mut().for_each(redact_json);
        }
        _ => {}
    }
}

/// A secret's byte range and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    kind: &'static str,
}

/// Every secret, in order, overlapping finds merged into one.
///
/// Each scanner runs only when the text has a byte that every secret of its kind contains: most
/// strings a tool hands back (names, statuses, emails, dates, short sentences) have none of
/// them, and setting up the scanners' substring searches was 4.6 % of an MCP call's
/// instructions (BENCHMARKS-mcp.md). The bytes are necessary, so nothing is skipped that a
/// scanner would have found.
fn spans(text: &str) -> Vec<Span> {
    let bytes = text.as_bytes();
    let mut all = Vec::new();
    // sk_live_, rk_test_, whsec_ …
    if bytes.contains(&b'_') {
        scan::prefixed_keys(text, &mut all);
    }
    // sk-…, -----BEGIN … PRIVATE KEY-----
    if bytes.contains(&b'-') {
        scan::openai_keys(text, &mut all);
        scan::pem_keys(text, &mut all);
    }
    // header.claims.signature
    if bytes.contains(&b'.') {
        scan::jwts(text, &mut all);
    }
    // scheme://user:password@host
    if bytes.contains(&b'@') {
        scan::urls_with_password(text, &mut all);
    }
    // 13 to 19 digits
    if bytes.iter().filter(|b| b.is_ascii_digit()).count() >= card::MIN_DIGITS {
        card::numbers(text, &mut all);
    }
    all.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut merged: Vec<Span> = Vec::with_capacity(all.len());
    for s in all {
        match merged.last_mut() {
            Some(last) if s.start < last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}
