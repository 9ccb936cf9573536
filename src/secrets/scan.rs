//! The scanners for credentials: each finds its kind anywhere in a text and records the span.

use super::Span;

/// Stripe secret, restricted and webhook-signing keys, by prefix.
const STRIPE_PREFIXES: [(&str, &str); 5] = [
    ("sk_live_", "a Stripe API key"),
    ("sk_test_", "a Stripe API key"),
    ("rk_live_", "a Stripe API key"),
    ("rk_test_", "a Stripe API key"),
    ("whsec_", "a Stripe webhook secret"),
];

/// Shortest Stripe key body after its prefix; shorter ones are ordinary words like `sk_test_x`.
const MIN_STRIPE_BODY: usize = 8;
/// Shortest body of an OpenAI-style key after `sk-` (real ones have 48 and more).
const MIN_OPENAI_BODY: usize = 20;
/// URL schemes of databases and queues, for naming what was found.
const DATABASE_SCHEMES: [&str; 12] = [
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "mongodb+srv",
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "mssql",
    "sqlserver",
];

/// True when the secret may start at `at`: not in the middle of a word (`ask_live_…`).
fn starts_word(text: &str, at: usize) -> bool {
    !text[..at]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// The end of the run of `allowed` characters starting at `from`.
fn run_end(text: &str, from: usize, allowed: impl Fn(char) -> bool) -> usize {
    text[from..]
        .char_indices()
        .find(|(_, c)| !allowed(*c))
        .map_or(text.len(), |(i, _)| from + i)
}

fn base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Where each of `prefixes` occurs in `text`, found from the occurrences of the one byte every
/// prefix has at `anchor` (searched with memchr) instead of one substring searcher per prefix:
/// setting those up for every string a tool returns cost more than the search itself
/// (BENCHMARKS-mcp.md). Yields (start, prefix index), in order of the anchor.
fn occurrences<'a>(
    text: &'a str,
    anchor: u8,
    prefixes: &'a [(&'a str, usize)],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let bytes = text.as_bytes();
    text.match_indices(char::from(anchor))
        .flat_map(move |(i, _)| {
            prefixes
                .iter()
                .enumerate()
                .filter_map(move |(n, (prefix, offset))| {
                    let start = i.checked_sub(*offset)?;
                    bytes[start..]
                        .starts_with(prefix.as_bytes())
                        .then_some((start, n))
                })
        })
}

/// `sk_live_…`, `rk_test_…`, `whsec_…`: a prefix and at least 8 letters and digits.
pub(super) fn prefixed_keys(text: &str, out: &mut Vec<Span>) {
    // Each prefix by the offset of its first `_`.
    const ANCHORED: [(&str, usize); 5] = [
        (STRIPE_PREFIXES[0].0, 2),
        (STRIPE_PREFIXES[1].0, 2),
        (STRIPE_PREFIXES[2].0, 2),
        (STRIPE_PREFIXES[3].0, 2),
        (STRIPE_PREFIXES[4].0, 5),
    ];
    for (at, n) in occurrences(text, b'_', &ANCHORED) {
        let (prefix, kind) = STRIPE_PREFIXES[n];
        let body = at + prefix.len();
        let end = run_end(text, body, |c| c.is_ascii_alphanumeric());
        if starts_word(text, at) && end - body >= MIN_STRIPE_BODY {
            out.push(Span {
                start: at,
                end,
                kind,
            });
        }
    }
}

/// `sk-…`, `sk-proj-…` and the like: `sk-` and at least 20 base64url characters.
///
/// Like the scanners below, it skips a match inside the run it has just read: that run's end
/// is the same, and rereading it for every match would make a crafted text cost quadratic time.
pub(super) fn openai_keys(text: &str, out: &mut Vec<Span>) {
    let mut read_to = 0;
    for (at, _) in occurrences(text, b'-', &[("sk-", 2)]) {
        if at < read_to {
            continue;
        }
        let body = at + 3;
        let end = run_end(text, body, base64url);
        read_to = end;
        if starts_word(text, at) && end - body >= MIN_OPENAI_BODY {
            out.push(Span {
                start: at,
                end,
                kind: "an API key",
            });
        }
    }
}

/// Three base64url parts joined by dots, the first two starting with `eyJ` (`{"` encoded); the
/// signature may be empty (an unsigned token). A full stop after the token is not part of it.
pub(super) fn jwts(text: &str, out: &mut Vec<Span>) {
    let mut read_to = 0;
    for (at, _) in occurrences(text, b'J', &[("eyJ", 2)]) {
        if at < read_to || !starts_word(text, at) {
            continue;
        }
        let header = run_end(text, at, base64url);
        read_to = header;
        if header - at < 4 || !text[header..].starts_with(".eyJ") {
            continue;
        }
        let claims = run_end(text, header + 1, base64url);
        read_to = claims;
        if claims - header < 5 || !text[claims..].starts_with('.') {
            continue;
        }
        let end = run_end(text, claims + 1, base64url);
        read_to = end;
        out.push(Span {
            start: at,
            end,
            kind: "a JSON Web Token",
        });
    }
}

/// `scheme://user:password@host…`: the whole URL, to where it ends.
pub(super) fn urls_with_password(text: &str, out: &mut Vec<Span>) {
    let url_char = |c: char| !(c.is_whitespace() || "<>\"'`()[]{}|\\^".contains(c));
    let mut masked_to = 0;
    for (at, _) in occurrences(text, b':', &[("://", 0)]) {
        if at < masked_to {
            continue;
        }
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || "+.-".contains(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let authority_end = run_end(text, at + 3, |c| url_char(c) && !"/?#".contains(c));
        let authority = &text[at + 3..authority_end];
        let Some((userinfo, _)) = authority.rsplit_once('@') else {
            continue;
        };
        let has_password = userinfo.split_once(':').is_some_and(|(_, p)| !p.is_empty());
        if start == at || !has_password {
            continue;
        }
        let end = run_end(text, at + 3, url_char);
        masked_to = end;
        let end = start
            + text[start..end]
                .trim_end_matches(['.', ',', ';', ':', '!', '?'])
                .len();
        let scheme = text[start..at].to_ascii_lowercase();
        let kind = if DATABASE_SCHEMES.contains(&scheme.as_str()) {
            "a database URL with a password"
        } else {
            "a URL with a password"
        };
        out.push(Span { start, end, kind });
    }
}

/// `-----BEGIN … PRIVATE KEY-----` to its END line (or the end of the text, when cut short).
pub(super) fn pem_keys(text: &str, out: &mut Vec<Span>) {
    let mut masked_to = 0;
    for (at, _) in occurrences(text, b'B', &[("-----BEGIN ", 5)]) {
        if at < masked_to {
            continue;
        }
        let label_start = at + "-----BEGIN ".len();
        let Some(label_len) = text[label_start..].find("-----") else {
            continue;
        };
        let label = &text[label_start..label_start + label_len];
        if !label.ends_with("PRIVATE KEY") || label.contains('\n') {
            continue;
        }
        let footer = format!("-----END {label}-----");
        let end = text[label_start..]
            .find(&footer)
            .map_or(text.len(), |i| label_start + i + footer.len());
        masked_to = end;
        out.push(Span {
            start: at,
            end,
            kind: "a private key",
        });
    }
}
