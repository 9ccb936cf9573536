//! `stripe link`: record each customer's Stripe id by matching email addresses.
//!
//! The tenant's Stripe customers are read page by page and indexed by lower-cased email (Stripe's
//! own email filter is case-sensitive, and the desk stores emails lower-cased). A customer with
//! exactly one match is linked; two or more matches are reported, never guessed between.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use super::{AccessError, Stripe, StripeError, api};
use crate::customers::{CustomerUpdate, store};
use crate::db::Cursor;
use crate::{Db, StoreError, Tenant};

/// Most Stripe customers read before giving up on completeness.
pub const MAX_SCANNED: usize = 100_000;

/// Why linking stopped.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{}; {}", .0, .0.advice())]
    Stripe(#[from] StripeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A customer and the Stripe id recorded for them (or in the way).
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub customer_id: Uuid,
    pub email: String,
    pub stripe_customer_id: String,
}

/// A customer whose email several Stripe customers share.
#[derive(Debug, Clone, Serialize)]
pub struct Ambiguous {
    pub customer_id: Uuid,
    pub email: String,
    pub candidates: Vec<String>,
}

/// What `link` did.
#[derive(Debug, Default, Serialize)]
pub struct LinkReport {
    pub linked: Vec<Match>,
    pub ambiguous: Vec<Ambiguous>,
    /// Matched a Stripe customer that another customer of the desk already has.
    pub conflicts: Vec<Match>,
    pub already_linked: usize,
    pub not_found: usize,
    pub stripe_customers_scanned: usize,
    /// True when the scan stopped at MAX_SCANNED customers.
    pub truncated: bool,
}

/// Matches the tenant's customers without a Stripe id to the tenant's Stripe customers.
pub async fn link(db: &Db, stripe: &Stripe, tenant: &Tenant) -> Result<LinkReport, LinkError> {
    let client = stripe.client_for(db, tenant).await?;
    let mut report = LinkReport::default();
    let mut by_email: HashMap<String, Vec<String>> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = api::customers(&client, after.as_deref()).await?;
        report.stripe_customers_scanned += page.data.len();
        for c in &page.data {
            if let Some(email) = c.email.as_deref().map(|e| e.trim().to_lowercase()) {
                by_email
                    .entry(email)
                    .or_default()
                    .push(c.id.as_str().to_owned());
            }
        }
        after = page.data.last().map(|c| c.id.as_str().to_owned());
        if !page.has_more || after.is_none() {
            break;
        }
        if report.stripe_customers_scanned >= MAX_SCANNED {
            report.truncated = true;
            break;
        }
    }
    let mut cursor: Option<Cursor> = None;
    loop {
        let mut tx = db.begin(tenant).await?;
        let (customers, next) = store::list(&mut tx, 100, cursor).await?;
        tx.commit().await?;
        for c in customers {
            if c.stripe_customer_id.is_some() {
                report.already_linked += 1;
                continue;
            }
            match by_email.get(&c.email).map(Vec::as_slice) {
                None | Some([]) => report.not_found += 1,
                Some([one]) => record(db, tenant, c.id, c.email, one, &mut report).await?,
                Some(many) => report.ambiguous.push(Ambiguous {
                    customer_id: c.id,
                    email: c.email,
                    candidates: many.to_vec(),
                }),
            }
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    Ok(report)
}

async fn record(
    db: &Db,
    tenant: &Tenant,
    customer_id: Uuid,
    email: String,
    stripe_id: &str,
    report: &mut LinkReport,
) -> Result<(), LinkError> {
    let found = Match {
        customer_id,
        email,
        stripe_customer_id: stripe_id.to_owned(),
    };
    let mut tx = db.begin(tenant).await?;
    // Linked meanwhile by someone else: leave it.
    if store::get(&mut tx, customer_id)
        .await?
        .stripe_customer_id
        .is_some()
    {
        report.already_linked += 1;
        return Ok(());
    }
    let stripe_customer_id = super::CustomerId::parse(stripe_id)
        .map_err(|e| StoreError::invalid("stripe_customer_id", e.to_string()))?;
    let update = CustomerUpdate {
        stripe_customer_id: Some(stripe_customer_id),
        ..Default::default()
    };
    match store::update(&mut tx, customer_id, &update).await {
        Ok(_) => {
            tx.commit().await?;
            report.linked.push(found);
        }
        Err(StoreError::Conflict(_)) => report.conflicts.push(found),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
