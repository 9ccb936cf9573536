//! The links and images in a draft, with the host each link goes to.

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

/// True for a host of a customer's own Stripe pages (a receipt, an invoice).
pub fn is_stripe_customer_host(host: &str) -> bool {
    STRIPE_CUSTOMER_HOSTS.contains(&host)
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
    fn images_are_recognised() {
        assert!(has_image("look ![x](https://t.example/p.png)"));
        assert!(has_image("![x][1]") && has_image("<IMG src=x>"));
        assert!(!has_image("wow! [not an image](https://a.com)"));
    }
}
