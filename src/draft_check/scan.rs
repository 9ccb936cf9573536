//! What a draft contains, read from its text alone: addresses, phone numbers, word pairs that
//! could start a name, links, images and Stripe ids. The database is asked about these only
//! (see [`super::check`]), never for a tenant's whole customer list.

use std::collections::BTreeSet;

/// Prefixes of Stripe object ids that belong to one customer (or to the tenant's account).
pub const STRIPE_PREFIXES: [&str; 13] = [
    "cus_", "ch_", "py_", "pi_", "re_", "dp_", "in_", "sub_", "acct_", "txn_", "pm_", "card_",
    "src_",
];

/// Hosts of Stripe pages that belong to one customer: receipts, hosted invoices, the billing
/// portal, checkout sessions.
const STRIPE_CUSTOMER_HOSTS: [&str; 4] = [
    "pay.stripe.com",
    "invoice.stripe.com",
    "billing.stripe.com",
    "checkout.stripe.com",
];

/// Top-level domains under which a bare `name.tld` in a draft is taken for a link: mail clients
/// turn those into links. Short on purpose: `.js`, `.md` or `.zip` are more often file names.
const BARE_TLDS: [&str; 62] = [
    "com", "net", "org", "edu", "gov", "io", "co", "ai", "app", "dev", "info", "biz", "me", "us",
    "uk", "ca", "de", "fr", "es", "it", "nl", "eu", "au", "in", "jp", "cn", "ru", "br", "xyz",
    "online", "site", "shop", "store", "tech", "cloud", "page", "link", "live", "club", "top",
    "ly", "gg", "tv", "cc", "ws", "to", "sh", "ch", "at", "se", "no", "dk", "fi", "pl", "pt", "ie",
    "nz", "za", "mx", "ar", "kr", "tk",
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

/// True for a host of a customer's own Stripe pages (a receipt, an invoice).
pub fn is_stripe_customer_host(host: &str) -> bool {
    STRIPE_CUSTOMER_HOSTS.contains(&host)
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

/// A link in a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The link as written (a URL without trailing punctuation, a bare host, a Markdown target).
    pub text: String,
    /// Its host, lower-cased; `None` for a link to no web host (`javascript:`, a relative path).
    pub host: Option<String>,
}

/// Every link in the text: URLs with a scheme (`https://…`, any `scheme://`), bare hosts such
/// as `www.example.net` or `example.com/reset`, and Markdown link targets that are not web
/// addresses (`[x](javascript:…)`).
pub fn links(text: &str) -> Vec<Link> {
    let mut out: Vec<Link> = Vec::new();
    // A URL's end is where its run of URL characters ends; a `://` inside a URL (a redirect
    // target) shares that end, which is read once, so a crafted text costs linear time.
    let mut run = (0, 0);
    for (at, _) in text.match_indices("://") {
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || "+.-".contains(*c))
            .last()
            .map_or(at, |(i, _)| i);
        if !text[start..at].starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        if at >= run.1 {
            let len = text[at..]
                .find(|c: char| c.is_whitespace() || "<>\"'`{}|\\^".contains(c))
                .unwrap_or(text.len() - at);
            run = (at, at + len);
        }
        let url = text[start..run.1].trim_end_matches(|c: char| ".,;:!?)]*_".contains(c));
        let authority_end = text[at + 3..]
            .find(|c: char| c.is_whitespace() || "/?#<>\"'`{}|\\^".contains(c))
            .map_or(text.len(), |i| at + 3 + i);
        push_new(
            &mut out,
            Link {
                text: url.to_owned(),
                host: Some(host_of(&text[at + 3..authority_end])),
            },
        );
    }
    for token in text.split(|c: char| c.is_whitespace() || "<>()[]{}\"'`,;!?*|\\".contains(c)) {
        if token.contains("://") || token.contains('@') {
            continue;
        }
        let host = token
            .split(|c: char| "/?#:".contains(c))
            .next()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if is_bare_host(&host) {
            let written = token.trim_end_matches(['.', ':']).to_owned();
            push_new(
                &mut out,
                Link {
                    text: written,
                    host: Some(host),
                },
            );
        }
    }
    for (at, _) in text.match_indices("](") {
        let target = text[at + 2..]
            .split(|c: char| c == ')' || c.is_whitespace())
            .next()
            .unwrap_or_default();
        let first = target.split('/').next().unwrap_or_default();
        let web = target.contains("://")
            || target.to_ascii_lowercase().starts_with("mailto:")
            || is_bare_host(&first.to_ascii_lowercase());
        if !web {
            push_new(
                &mut out,
                Link {
                    text: target.to_owned(),
                    host: None,
                },
            );
        }
    }
    out
}

fn push_new(out: &mut Vec<Link>, link: Link) {
    if !out.contains(&link) {
        out.push(link);
    }
}

/// The host of a URL's authority: after any `user:password@`, without the port, lower case.
fn host_of(authority: &str) -> String {
    let after_user = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = after_user.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        after_user.split(':').next().unwrap_or_default()
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// `www.anything` or `label.label…tld` with a top-level domain from [`BARE_TLDS`].
fn is_bare_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    labels_ok && (labels[0] == "www" || labels.last().is_some_and(|tld| BARE_TLDS.contains(tld)))
}

/// True when the text holds an image: Markdown `![alt](…)` or `![alt][ref]`, or an HTML `<img`.
pub fn has_image(text: &str) -> bool {
    let markdown = text.match_indices("![").any(|(at, _)| {
        let rest = &text[at + 2..];
        rest.find(']')
            .is_some_and(|close| rest[close + 1..].starts_with(['(', '[']))
    });
    markdown || text.to_ascii_lowercase().contains("<img")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<Option<String>> {
        links(text).into_iter().map(|l| l.host).collect()
    }

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
    fn links_are_found_with_their_hosts_however_they_are_written() {
        assert_eq!(
            hosts("See https://help.acme.com/x, http://user:pw@EVIL.example:8080/p."),
            [Some("help.acme.com".into()), Some("evil.example".into())]
        );
        assert_eq!(
            hosts("go to www.evil.net now"),
            [Some("www.evil.net".into())]
        );
        assert_eq!(
            hosts("reset at evil-login.com/reset."),
            [Some("evil-login.com".into())]
        );
        assert_eq!(hosts("[click](javascript:alert(1))"), [None]);
        assert!(hosts("e.g. version 1.2.3, Node.js, ada@example.com, file.pdf").is_empty());
        let receipt = "https://pay.stripe.com/receipts/ch_1";
        assert_eq!(
            links(&format!("({receipt})."))
                .first()
                .map(|l| l.text.as_str()),
            Some(receipt)
        );
    }

    #[test]
    fn images_and_stripe_ids_are_recognised() {
        assert!(has_image("look ![x](https://t.example/p.png)"));
        assert!(has_image("![x][1]") && has_image("<IMG src=x>"));
        assert!(!has_image("wow! [not an image](https://a.com)"));
        assert_eq!(
            stripe_ids("ch_3MmlLrLkd, ch_3MmlLrLkd and cus_Abc1234."),
            ["ch_3MmlLrLkd", "cus_Abc1234"]
        );
    }
}
