//! A tenant's own settings, kept in `tenant_settings` (one row per tenant, absent until first
//! set): today the hosts a draft may link to (`link_domains`, SECURITY.md D2).
//!
//! [`show`] and [`update`] are what the protocol layers call: the CLI's `settings show|set`, and
//! the REST API's `PUT /api/v1/settings`.

pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Db, StoreError, Tenant};

/// Most hosts a tenant may list.
pub const MAX_LINK_DOMAINS: usize = 100;
/// Longest host name (RFC 1035).
const MAX_HOST: usize = 253;

/// The hosts a draft may link to; each allows its subdomains too (`acme.com` allows
/// `help.acme.com`). Lower case, without duplicates, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct LinkDomains(Vec<String>);

impl LinkDomains {
    /// Parses host names (`help.acme.com`); `field` names them in errors.
    pub fn parse<S: AsRef<str>>(field: &'static str, items: &[S]) -> Result<Self, StoreError> {
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for raw in items {
            let host = host(field, raw.as_ref())?;
            if !out.contains(&host) {
                out.push(host);
            }
        }
        if out.len() > MAX_LINK_DOMAINS {
            return Err(StoreError::invalid(
                field,
                format!("{} hosts given; the limit is {MAX_LINK_DOMAINS}", out.len()),
            ));
        }
        Ok(Self(out))
    }

    /// Parses a comma-separated list (`a.com,b.com`); an empty text is the empty list.
    pub fn parse_list(field: &'static str, raw: &str) -> Result<Self, StoreError> {
        let items: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        Self::parse(field, &items)
    }

    /// True when `host` (lower case) is one of the listed hosts or a subdomain of one.
    pub fn allows(&self, host: &str) -> bool {
        self.0.iter().any(|d| {
            host == d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// One host name, checked and lower-cased. A URL or a wildcard gets an error that says what to
/// give instead.
fn host(field: &'static str, raw: &str) -> Result<String, StoreError> {
    let s = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad = |reason: String| Err(StoreError::invalid(field, reason));
    if s.contains("://") || s.contains('/') {
        return bad(format!(
            "{raw:?} is a URL; give its host name, like help.acme.com"
        ));
    }
    if let Some(rest) = s.strip_prefix("*.") {
        return bad(format!(
            "{raw:?}: give {rest} without `*.`; subdomains are always included"
        ));
    }
    let labels: Vec<&str> = s.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let top_ok = labels
        .last()
        .is_some_and(|t| t.starts_with("xn--") || t.chars().all(|c| c.is_ascii_alphabetic()));
    if s.len() > MAX_HOST || labels.len() < 2 || !labels.iter().all(label_ok) || !top_ok {
        return bad(format!(
            "{raw:?} is not a host name like help.acme.com (letters, digits and hyphens, with \
             a dot before the top-level domain)"
        ));
    }
    Ok(s)
}

/// A tenant's settings; the defaults when the tenant never set any.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct TenantSettings {
    /// Hosts a draft may link to (with their subdomains); empty: no links at all.
    pub link_domains: LinkDomains,
    /// When they were last changed; null when never.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A partial update: `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsUpdate {
    pub link_domains: Option<LinkDomains>,
}

/// The tenant's settings.
pub async fn show(db: &Db, tenant: &Tenant) -> Result<TenantSettings, StoreError> {
    let mut tx = db.begin(tenant).await?;
    let settings = store::get(&mut tx).await?;
    tx.commit().await?;
    Ok(settings)
}

/// Applies `changes` and returns the settings as they are now.
pub async fn update(
    db: &Db,
    tenant: &Tenant,
    changes: &SettingsUpdate,
) -> Result<TenantSettings, StoreError> {
    let mut tx = db.begin(tenant).await?;
    let settings = match &changes.link_domains {
        Some(domains) => store::set_link_domains(&mut tx, domains).await?,
        None => store::get(&mut tx).await?,
    };
    tx.commit().await?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_lower_cased_deduplicated_and_allow_their_subdomains() {
        let d = LinkDomains::parse_list("link_domains", " Acme.com, help.bolt.io ,acme.com.")
            .expect("valid");
        assert_eq!(d.as_slice(), ["acme.com", "help.bolt.io"]);
        assert!(d.allows("acme.com") && d.allows("www.acme.com") && d.allows("help.bolt.io"));
        assert!(!d.allows("evilacme.com") && !d.allows("bolt.io") && !d.allows("acme.com.evil"));
        assert_eq!(
            LinkDomains::parse_list("link_domains", "").expect("empty"),
            LinkDomains::default()
        );
    }

    #[test]
    fn urls_wildcards_and_bare_words_are_refused() {
        for bad in [
            "https://acme.com",
            "acme.com/help",
            "*.acme.com",
            "localhost",
            "com",
            "-a.com",
            "a..com",
            "10.0.0.1",
            "ac me.com",
        ] {
            assert!(
                LinkDomains::parse_list("link_domains", bad).is_err(),
                "{bad:?} accepted"
            );
        }
    }
}
