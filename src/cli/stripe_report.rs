//! The human-readable output of the `stripe` commands (`--json` prints the same as one object).

use crate::stripe::AccessStatus;
use crate::stripe::link::LinkReport;
use crate::stripe::webhooks::WebhookStatus;

/// One line per fact: how the tenant reaches Stripe, never the key.
pub(super) fn print_status(s: &AccessStatus) {
    if !s.connected {
        println!("not connected: run `support-agent stripe connect`");
        return;
    }
    match (s.mode, &s.key_hint, &s.account_id) {
        (Some("restricted_key"), Some(hint), _) => println!(
            "connected with restricted key {hint} (encrypted under master key {})",
            s.key_id.as_deref().unwrap_or("?")
        ),
        (Some("connect"), _, Some(account)) => {
            println!("connected through Stripe Connect account {account}")
        }
        _ => println!("connected"),
    }
    if let Some(at) = s.updated_at {
        println!("since {}", at.format("%Y-%m-%d %H:%M UTC"));
    }
}

/// Whether events can arrive, where, and the last one.
pub(super) fn print_webhooks(w: &WebhookStatus) {
    match (&w.endpoint_url, w.configured) {
        (Some(url), true) => println!("webhooks: events go to {url}"),
        (Some(url), false) => println!(
            "webhooks: not configured: create the endpoint {url} in Stripe, then give its \
             signing secret to `support-agent stripe webhook-secret set` (Connect tenants: the \
             server's STRIPE_CONNECT_WEBHOOK_SECRETS)"
        ),
        (None, _) => {
            println!("webhooks: not configured: run `support-agent stripe webhook-secret set`")
        }
    }
    if let Some(at) = w.last_event_at {
        println!("last event {}", at.format("%Y-%m-%d %H:%M UTC"));
    }
}

/// What `link` did, then every customer that needs a person's decision.
pub(super) fn print_link(r: &LinkReport) {
    println!(
        "linked {}, already linked {}, no Stripe customer {}, ambiguous {}, conflicts {} \
         ({} Stripe customers read{})",
        r.linked.len(),
        r.already_linked,
        r.not_found,
        r.ambiguous.len(),
        r.conflicts.len(),
        r.stripe_customers_scanned,
        if r.truncated { ", stopped early" } else { "" }
    );
    for m in &r.linked {
        println!(
            "linked     {}  {}  {}",
            m.customer_id, m.email, m.stripe_customer_id
        );
    }
    for a in &r.ambiguous {
        println!(
            "ambiguous  {}  {}  {}",
            a.customer_id,
            a.email,
            a.candidates.join(" ")
        );
    }
    for m in &r.conflicts {
        println!(
            "conflict   {}  {}  {} is already another customer's",
            m.customer_id, m.email, m.stripe_customer_id
        );
    }
}
