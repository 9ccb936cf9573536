//! What a draft contains, read from its text alone: addresses, phone numbers, word pairs that
//! could start a name, and Stripe ids (links and images: [`super::links`]). The database is asked about these only
//! (see [`super::check`]), never for a tenant's whole customer list.

use std::collections::BTreeSet;

/// Prefixes of Stripe object ids that belong to one customer (or to the tenant's account).
pub const STRIPE_PREFIXES: [&str; 13] = [
    "cus_", "ch_", "py_", "pi_", "re_", "dp_", "in_", "sub_", "acct_", "txn_", "pm_", "card_",
    "src_",
];

/// Most phone keys and word pairs taken from one text (a 20,000-character draft has fewer).
const MAX_KEYS: usize = 20_000;

/// True for strings that are Stripe object ids.
pub fn is_stripe_id(s: &str) -> bool {
    STRIPE_PREFIXES.iter().any(|p| {
        s.strip_prefix(p)
            .is_some_and(|rest| rest.len() >= 6 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
    })
}

/// Words as ids are written: letters, digits, `_` and `-`.
pub fn id_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
}

/// Stripe object ids mentioned in the text, each once, in order.
pub fn stripe_ids(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for w in id_words(text).filter(|w| is_stripe_id(w)) {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Email addresses in the text, lower-cased.
pub fn emails(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || "<>()[]{},;:\"'`|\\".contains(c))
        .filter(|w| w.contains('@'))
        .filter_map(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric());
            let (local, domain) = w.split_once('@')?;
            let ok = !local.is_empty() && domain.contains('.') && !domain.contains('@');
            ok.then(|| w.to_lowercase())
        })
        .collect()
}

/// A stored phone number's key, as the database computes it for its index: the digits before
/// any extension, the last nine of them.
pub fn phone_key(phone: &str) -> Option<String> {
    let lower = phone.to_lowercase();
    let main = lower.split('x').next().unwrap_or_default();
    let digits: String = main.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 7).then(|| last_nine(&digits))
}

fn last_nine(digits: &str) -> String {
    digits[digits.len().saturating_sub(9)..].to_owned()
}

/// Keys of every phone number the text could contain: each run of digit groups (separated by
/// spaces, `-`, `.`, `/`, `(`, `)` or `+`), and each stretch of consecutive groups in it with 7
/// to 15 digits, so that two numbers written side by side are both found.
pub fn phone_keys(text: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for run in digit_runs(text, " -./()+", 2) {
        for start in 0..run.len() {
            let mut digits = String::new();
            for group in &run[start..] {
                digits.push_str(group);
                if digits.len() > 15 {
                    break;
                }
                if digits.len() >= 7 {
                    keys.insert(last_nine(&digits));
                }
            }
            if keys.len() >= MAX_KEYS {
                return keys;
            }
        }
    }
    keys
}

/// Runs of digit groups: groups of ASCII digits separated by at most `max_gap` characters of
/// `separators`; anything else ends a run.
pub fn digit_runs<'a>(text: &'a str, separators: &str, max_gap: usize) -> Vec<Vec<&'a str>> {
    let mut runs = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let mut group_start = None;
    let mut gap = 0;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() {
            if group_start.is_none() {
                group_start = Some(i);
            }
            gap = 0;
            continue;
        }
        if let Some(s) = group_start.take() {
            run.push(&text[s..i]);
        }
        if separators.contains(c) && gap < max_gap {
            gap += 1;
        } else {
            gap = 0;
            if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
        }
    }
    if let Some(s) = group_start {
        run.push(&text[s..]);
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// Pairs of consecutive words (as written between spaces, with and without the punctuation
/// around them), for finding customers by the first two words of their name.
pub fn word_pairs(text: &str) -> BTreeSet<String> {
    let variants: Vec<Vec<String>> = text
        .split_whitespace()
        .map(|token| {
            let mut v = vec![token.to_lowercase()];
            let trimmed = token.trim_matches(|c: char| !c.is_alphanumeric());
            for t in [
                trimmed,
                trimmed
                    .strip_suffix("'s")
                    .or_else(|| trimmed.strip_suffix("’s"))
                    .unwrap_or(trimmed),
            ] {
                let t = t.to_lowercase();
                if !t.is_empty() && !v.contains(&t) {
                    v.push(t);
                }
            }
            v
        })
        .collect();
    let mut pairs = BTreeSet::new();
    for w in variants.windows(2) {
        for a in &w[0] {
            for b in &w[1] {
                pairs.insert(format!("{a} {b}"));
            }
        }
        if pairs.len() >= MAX_KEYS {
            break;
        }
    }
    pairs
}

/// The text's words, lower-cased: runs of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Where `needle` occurs in `haystack` as consecutive words.
pub fn occurrences(haystack: &[String], needle: &[String]) -> Vec<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return Vec::new();
    }
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_phones_and_name_pairs_are_read_with_their_punctuation() {
        let e = emails("Write to <Vera.V@Example.com>, or vera@example.com. Not @ here");
        assert_eq!(
            e.into_iter().collect::<Vec<_>>(),
            ["vera.v@example.com", "vera@example.com"]
        );
        let keys = phone_keys("Call (555) 010-9999 or +1 555.010.8888; order 12.");
        assert!(
            keys.contains("550109999") && keys.contains("550108888"),
            "{keys:?}"
        );
        assert_eq!(
            phone_key("+1 (555) 010-9999 x12").as_deref(),
            Some("550109999")
        );
        assert_eq!(phone_key("12-34"), None);
        let pairs = word_pairs("Dear VERA Victim's,");
        assert!(
            pairs.contains("vera victim") && pairs.contains("dear vera"),
            "{pairs:?}"
        );
        let w = words("Hello, Vera-Victim!");
        assert_eq!(occurrences(&w, &words("vera victim")), [1]);
    }

    #[test]
    fn stripe_ids_are_read_once_each() {
        assert_eq!(
            stripe_ids("ch_3MmlLrLkd, ch_3MmlLrLkd and cus_Abc1234."),
            ["ch_3MmlLrLkd", "cus_Abc1234"]
        );
    }
}
