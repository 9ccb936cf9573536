//! The content checks every draft passes before it is stored (SECURITY.md D2, D3): the triage
//! guard holds a draft that fails one and flags the ticket; the `draft_reply` tool refuses it.
//!
//! A draft answers one ticket, so it may speak of that ticket's customer and nobody else. It is
//! refused when it carries a credential or a card number, names another customer of the tenant
//! (their email address, phone number or full name, whole words, case-insensitive), names a
//! Stripe id or a receipt or invoice URL that cannot be shown to be the ticket customer's, links
//! to a host that is not on the tenant's `link_domains`, or holds an image.
//!
//! Other customers are found by asking the database about what the draft contains (its
//! addresses, phone numbers and word pairs), never by loading the tenant's customers. That
//! lookup reads across the tenant's customers on purpose, whatever the caller's scope: it
//! returns only which kind of thing was found, never the customer.

pub mod links;
pub mod scan;

use std::collections::HashSet;
use std::fmt;

use uuid::Uuid;

use crate::customers::{self, Customer};
use crate::{Db, StoreError, Tenant, secrets, settings};

/// One reason a draft cannot be stored as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A credential or card number (its kind, e.g. "a Stripe API key").
    Credential(&'static str),
    /// The email address of another customer of the tenant.
    CustomerEmail,
    /// The phone number of another customer of the tenant.
    CustomerPhone,
    /// The full name of another customer of the tenant.
    CustomerName,
    /// A Stripe object id that is not shown to be the ticket customer's.
    StripeId(String),
    /// A Stripe receipt, invoice or billing URL that is not shown to be the ticket customer's.
    StripeUrl,
    /// A link to this host, which is not on the tenant's `link_domains`.
    Link(String),
    /// A link that goes to no web host (`javascript:`, a relative path).
    NotWebLink(String),
    /// A Markdown (or HTML) image.
    Image,
}

impl Finding {
    /// A short label for the triage job's log: it names no value from the draft.
    pub fn flag(&self) -> &'static str {
        match self {
            Self::Credential(_) => "credential in draft",
            Self::CustomerEmail => "another customer's email in draft",
            Self::CustomerPhone => "another customer's phone in draft",
            Self::CustomerName => "another customer's name in draft",
            Self::StripeId(_) => "Stripe id not of the ticket's customer in draft",
            Self::StripeUrl => "Stripe URL not of the ticket's customer in draft",
            Self::Link(_) | Self::NotWebLink(_) => "link off link_domains in draft",
            Self::Image => "image in draft",
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credential(kind) => write!(f, "{kind}"),
            Self::CustomerEmail => f.write_str("the email address of another customer"),
            Self::CustomerPhone => f.write_str("the phone number of another customer"),
            Self::CustomerName => f.write_str("the full name of another customer"),
            Self::StripeId(id) => write!(
                f,
                "the Stripe id {id}, which is not shown to be this ticket's customer's"
            ),
            Self::StripeUrl => f.write_str(
                "a Stripe receipt or invoice URL that is not shown to be this ticket's customer's",
            ),
            Self::Link(host) => write!(
                f,
                "a link to {host}, which is not on this tenant's link_domains (an operator can \
                 add it with `support-agent settings set --link-domains`)"
            ),
            Self::NotWebLink(target) => {
                let shown: String = target.chars().take(40).collect();
                write!(f, "a link that goes to no web address ({shown})")
            }
            Self::Image => f.write_str("an image"),
        }
    }
}

/// The findings as one sentence, for a tool error.
pub fn describe(findings: &[Finding]) -> String {
    let parts: Vec<String> = findings.iter().map(ToString::to_string).collect();
    format!(
        "the draft contains {}; a reply may speak only of this ticket's customer, link only to \
         the tenant's link_domains and hold no images",
        parts.join("; ")
    )
}

/// Checks `text`, a draft to the customer `customer_id` of `tenant`. `attributed` holds the
/// Stripe ids and receipt URLs known to be that customer's (what the tools showed a triage job
/// under its ticket scope, or what Stripe lists for the customer); the customer's own Stripe
/// customer id always counts. An empty result means the draft may be stored.
pub async fn check(
    db: &Db,
    tenant: &Tenant,
    customer_id: Uuid,
    text: &str,
    attributed: &HashSet<String>,
) -> Result<Vec<Finding>, StoreError> {
    let mut findings = Vec::new();
    if let Some(kind) = secrets::find(text) {
        findings.push(Finding::Credential(kind));
    }
    if links::has_image(text) {
        findings.push(Finding::Image);
    }
    let emails: Vec<String> = scan::emails(text).into_iter().collect();
    let phones: Vec<String> = scan::phone_keys(text).into_iter().collect();
    let pairs: Vec<String> = scan::word_pairs(text).into_iter().collect();
    // Any `cus_…` word, however short: the customers' own Stripe ids are known exactly.
    let stripe_customers: Vec<String> = scan::id_words(text)
        .filter(|w| w.strip_prefix("cus_").is_some_and(|r| !r.is_empty()))
        .map(str::to_owned)
        .collect();
    // Tenant-wide on purpose (see the module's comment): a scoped transaction would not see the
    // very customers this looks for.
    let mut tx = db.begin(tenant).await?;
    let own = customers::store::get(&mut tx, customer_id).await?;
    let link_domains = settings::store::get(&mut tx).await?.link_domains;
    let others = customers::store::named_in(
        &mut tx,
        customer_id,
        &emails,
        &phones,
        &pairs,
        &stripe_customers,
    )
    .await?;
    tx.commit().await?;

    findings.extend(named(&own, &others, text, &emails, &phones));
    // Another customer's Stripe id is refused even when the run saw it (in the ticket's text).
    let others_stripe: Vec<&str> = others
        .iter()
        .filter_map(|c| c.stripe_customer_id.as_deref())
        .filter(|id| stripe_customers.iter().any(|w| w == id))
        .collect();
    let mut stripe_ids = scan::stripe_ids(text);
    for id in &others_stripe {
        if !stripe_ids.contains(id) {
            stripe_ids.push(id);
        }
    }
    for id in stripe_ids {
        let own_id = own.stripe_customer_id.as_deref() == Some(id);
        let theirs = others_stripe.contains(&id);
        if theirs || (!own_id && !attributed.contains(id)) {
            findings.push(Finding::StripeId(id.to_owned()));
        }
    }
    for link in links::links(text) {
        let finding = match link.host {
            Some(host) if links::is_stripe_customer_host(&host) => {
                (!attributed.contains(&link.text)).then_some(Finding::StripeUrl)
            }
            Some(host) => (!link_domains.allows(&host)).then_some(Finding::Link(host)),
            None => Some(Finding::NotWebLink(link.text)),
        };
        if let Some(f) = finding
            && !findings.contains(&f)
        {
            findings.push(f);
        }
    }
    Ok(findings)
}

/// What of `others` the draft names. A name that is also (part of) the ticket customer's own
/// name counts only where the draft writes it outside the customer's own name.
fn named(
    own: &Customer,
    others: &[Customer],
    text: &str,
    emails: &[String],
    phones: &[String],
) -> Vec<Finding> {
    let words = scan::words(text);
    let own_name = scan::words(&own.name);
    let mut own_words = vec![false; words.len()];
    for at in scan::occurrences(&words, &own_name) {
        own_words[at..at + own_name.len()].fill(true);
    }
    let own_phone = own.phone.as_deref().and_then(scan::phone_key);
    let (mut email, mut phone, mut name) = (false, false, false);
    for other in others {
        email |= emails.contains(&other.email);
        let key = other.phone.as_deref().and_then(scan::phone_key);
        phone |=
            key.is_some() && key != own_phone && key.as_ref().is_some_and(|k| phones.contains(k));
        let theirs = scan::words(&other.name);
        name |= theirs.len() >= 2
            && scan::occurrences(&words, &theirs)
                .into_iter()
                .any(|at| own_words[at..at + theirs.len()].iter().any(|w| !w));
    }
    [
        (email, Finding::CustomerEmail),
        (phone, Finding::CustomerPhone),
        (name, Finding::CustomerName),
    ]
    .into_iter()
    .filter_map(|(found, finding)| found.then_some(finding))
    .collect()
}
