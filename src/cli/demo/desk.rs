//! The demo desk (`examples/demo/`): a tenant, customers, categorised history and new tickets,
//! loaded so that loading twice changes nothing.

use std::path::Path;

use serde::Deserialize;
use uuid::Uuid;

use crate::customers::{self, NewCustomer};
use crate::knowledge::SharedEmbedder;
use crate::tickets::{self, NewTicket, similar};
use crate::users::{self, NewUser};
use crate::validate::{self, Phone};
use crate::{Db, StoreError, Tenant, jobs};

/// `desk.json`.
#[derive(Debug, Deserialize)]
pub struct Desk {
    pub tenant: DeskTenant,
    pub customers: Vec<DeskCustomer>,
    /// Tickets a person has already categorised: the classifier's labelled examples.
    pub history: Vec<DeskTicket>,
    /// New tickets for triage.
    pub tickets: Vec<DeskTicket>,
}

#[derive(Debug, Deserialize)]
pub struct DeskTenant {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Deserialize)]
pub struct DeskCustomer {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub stripe_customer_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DeskTicket {
    /// The customer's email.
    pub customer: String,
    pub subject: String,
    pub description: String,
    pub category: Option<String>,
}

/// Why loading failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("embedding the history failed: {0}")]
    Embed(String),
}

/// What loading did.
#[derive(Debug, Default)]
pub struct Loaded {
    pub tenant: Option<Tenant>,
    pub created_tickets: usize,
    /// The desk's new tickets, in file order.
    pub tickets: Vec<Uuid>,
}

pub fn read(dir: &Path) -> Result<Desk, DemoError> {
    let path = dir.join("desk.json");
    let read_err = |reason: String| DemoError::Read {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| read_err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| read_err(e.to_string()))
}

/// Loads `desk` (the tenant found by its email, or created). History tickets
/// get their person's category and an embedding, and their triage jobs are discarded; new
/// tickets are created with their triage jobs queued.
pub async fn load(
    db: &Db,
    embedder: Option<&SharedEmbedder>,
    desk: &Desk,
) -> Result<Loaded, DemoError> {
    let email = crate::validate::Email::parse("email", &desk.tenant.email)?;
    let tenant = match users::store::login_lookup(db, &email).await? {
        Some((id, _)) => Tenant::from_trusted_operator_input(id),
        None => {
            let new = NewUser {
                name: &desk.tenant.name,
                email: &desk.tenant.email,
                password: None,
            };
            users::store::create(db, &new).await?.0
        }
    };
    let mut loaded = Loaded {
        tenant: Some(tenant),
        ..Loaded::default()
    };
    let mut tx = db.begin(&tenant).await?;
    for c in &desk.customers {
        if let Err(StoreError::NotFound(_)) =
            customers::store::find_by_email(&mut tx, &c.email).await
        {
            let new = NewCustomer {
                name: &c.name,
                email: &c.email,
                phone: Phone::parse_optional("phone", c.phone.as_deref())?,
                stripe_customer_id: validate::stripe_customer_id(
                    "stripe_customer_id",
                    c.stripe_customer_id.as_deref(),
                )?,
            };
            customers::store::create(&mut tx, &new).await?;
        }
    }
    let mut history = Vec::new();
    for t in &desk.history {
        if let Some(id) = ensure_ticket(&mut tx, t, &mut loaded.created_tickets).await? {
            jobs::store::discard_for_ticket(&mut tx, id).await?;
            similar::set_human_category(&mut tx, id, t.category.as_deref().unwrap_or("other"))
                .await?;
            history.push((id, format!("{}\n{}", t.subject, t.description)));
        }
    }
    for t in &desk.tickets {
        let created = ensure_ticket(&mut tx, t, &mut loaded.created_tickets).await?;
        let id = match created {
            Some(id) => id,
            None => find(&mut tx, t).await?,
        };
        loaded.tickets.push(id);
    }
    if let (Some(embedder), false) = (embedder, history.is_empty()) {
        let texts: Vec<String> = history.iter().map(|(_, text)| text.clone()).collect();
        let vectors = embedder
            .embed(&texts)
            .await
            .map_err(|e| DemoError::Embed(e.to_string()))?;
        for ((id, _), v) in history.iter().zip(vectors) {
            similar::set_embedding(&mut tx, *id, embedder.model(), &v).await?;
        }
    }
    tx.commit().await?;
    Ok(loaded)
}

/// Creates the ticket unless the customer already has one with this subject; its id if created.
async fn ensure_ticket(
    tx: &mut crate::TenantTx,
    t: &DeskTicket,
    created: &mut usize,
) -> Result<Option<Uuid>, StoreError> {
    let customer = customers::store::find_by_email(tx, &t.customer).await?;
    if similar::find_by_subject(tx, customer.id, &t.subject)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let new = NewTicket {
        customer_id: customer.id,
        subject: &t.subject,
        description: Some(&t.description),
        priority: None,
    };
    let ticket = tickets::store::create(tx, &new).await?;
    *created += 1;
    Ok(Some(ticket.id))
}

async fn find(tx: &mut crate::TenantTx, t: &DeskTicket) -> Result<Uuid, StoreError> {
    let customer = customers::store::find_by_email(tx, &t.customer).await?;
    similar::find_by_subject(tx, customer.id, &t.subject)
        .await?
        .ok_or(StoreError::NotFound("ticket"))
}

/// Gives the demo tenant the inbox login `password` (`DEMO_PASSWORD`), unless it has it already.
pub async fn set_password(
    db: &Db,
    tenant: &Tenant,
    email: &str,
    password: &crate::config::Secret,
) -> Result<(), StoreError> {
    let mut tx = db.begin(tenant).await?;
    if users::store::verify_password(&mut tx, password).await? {
        return tx.commit().await;
    }
    let user = users::store::find(&mut tx).await?;
    users::check_policy(password, &user.name, email)?;
    let hash = users::hash_password(password).await?;
    users::store::set_password_hash(&mut tx, &hash).await?;
    tx.commit().await
}
