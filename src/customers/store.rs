//! The one place that reads and writes `customers`.

use uuid::Uuid;

use super::{Customer, CustomerRef, CustomerSummary, CustomerUpdate, NewCustomer};
use crate::db::{Cursor, constraint_violation};
use crate::stripe::CustomerId;
use crate::validate::{self, Email, MAX_NAME, Phone};
use crate::{StoreError, TenantTx};

fn conflict(err: sqlx::Error) -> StoreError {
    constraint_violation(
        err,
        &[
            ("customers_user_id_email_key", || {
                StoreError::Conflict("a customer with this email already exists".into())
            }),
            ("customers_user_id_stripe_customer_id_key", || {
                StoreError::Conflict("another customer already has this Stripe customer id".into())
            }),
        ],
    )
}

pub async fn create(tx: &mut TenantTx, new: &NewCustomer<'_>) -> Result<Customer, StoreError> {
    let name = validate::text("name", new.name, MAX_NAME)?;
    let email = Email::parse("email", new.email)?;
    let user_id = tx.user_id();
    sqlx::query_as::<_, Customer>(
        // language=PostgreSQL
        "INSERT INTO customers (user_id, id, name, email, phone, stripe_customer_id) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(email.as_str())
    .bind(new.phone.as_ref().map(Phone::as_str))
    .bind(new.stripe_customer_id.as_ref().map(CustomerId::as_str))
    .fetch_one(tx.conn())
    .await
    .map_err(conflict)
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Customer, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, Customer>(
        // language=PostgreSQL
        "SELECT * FROM customers WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("customer"))
}

/// The tenant's customers among `ids` (another tenant's ids find nothing), in no order.
pub async fn get_many(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<Customer>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as::<_, Customer>(
        // language=PostgreSQL
        "SELECT * FROM customers WHERE user_id = $1 AND id = ANY($2)",
    )
    .bind(user_id)
    .bind(ids)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

pub async fn find_by_email(tx: &mut TenantTx, email: &str) -> Result<Customer, StoreError> {
    let email = Email::parse("email", email)?;
    let user_id = tx.user_id();
    sqlx::query_as::<_, Customer>(
        // language=PostgreSQL
        "SELECT * FROM customers WHERE user_id = $1 AND email = $2",
    )
    .bind(user_id)
    .bind(email.as_str())
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("customer"))
}

/// The customer with this id, or with this (exact, normalised) email, with its open-ticket count,
/// in one statement: what `lookup_customer` answers with, in one round trip instead of two.
pub async fn find_summary(
    tx: &mut TenantTx,
    customer: &CustomerRef,
) -> Result<Option<CustomerSummary>, StoreError> {
    let user_id = tx.user_id();
    let query = match customer {
        CustomerRef::Id(id) => sqlx::query_as::<_, CustomerSummary>(
            // language=PostgreSQL
            "SELECT c.*, (SELECT count(*) FROM tickets t \
                          WHERE t.user_id = $1 AND t.customer_id = c.id \
                            AND t.status IN ('open', 'pending')) AS open_tickets \
             FROM customers c WHERE c.user_id = $1 AND c.id = $2",
        )
        .bind(user_id)
        .bind(*id),
        CustomerRef::Email(email) => sqlx::query_as::<_, CustomerSummary>(
            // language=PostgreSQL
            "SELECT c.*, (SELECT count(*) FROM tickets t \
                          WHERE t.user_id = $1 AND t.customer_id = c.id \
                            AND t.status IN ('open', 'pending')) AS open_tickets \
             FROM customers c WHERE c.user_id = $1 AND c.email = $2",
        )
        .bind(user_id)
        .bind(email.as_str().to_owned()),
    };
    Ok(query.fetch_optional(tx.conn()).await?)
}

/// The customer linked to this Stripe customer id (`cus_…`), if any (the key
/// `customers_user_id_stripe_customer_id_key` makes it at most one).
pub async fn find_by_stripe_id(
    tx: &mut TenantTx,
    stripe_customer_id: &str,
) -> Result<Option<Customer>, StoreError> {
    let user_id = tx.user_id();
    let row = sqlx::query_as::<_, Customer>(
        // language=PostgreSQL
        "SELECT * FROM customers WHERE user_id = $1 AND stripe_customer_id = $2",
    )
    .bind(user_id)
    .bind(stripe_customer_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row)
}

/// The customer named by id or email; another tenant's looks exactly like one that never existed.
pub async fn find(tx: &mut TenantTx, customer: &CustomerRef) -> Result<Customer, StoreError> {
    match customer {
        CustomerRef::Id(id) => get(tx, *id).await,
        CustomerRef::Email(email) => find_by_email(tx, email.as_str()).await,
    }
}

/// Customers whose name or email contains `query` (case-insensitive), with their open-ticket
/// counts, best matches (exact email, then name prefix) first.
pub async fn search(
    tx: &mut TenantTx,
    query: &str,
    limit: i64,
) -> Result<Vec<CustomerSummary>, StoreError> {
    let query = validate::text("query", query, MAX_NAME)?;
    let pattern = format!("%{}%", escape_like(&query));
    let user_id = tx.user_id();
    let rows = sqlx::query_as::<_, CustomerSummary>(
        // language=PostgreSQL
        "SELECT c.*, (SELECT count(*) FROM tickets t \
                      WHERE t.user_id = $1 AND t.customer_id = c.id \
                        AND t.status IN ('open', 'pending')) AS open_tickets \
         FROM customers c \
         WHERE c.user_id = $1 AND (c.name ILIKE $2 OR c.email ILIKE $2) \
         ORDER BY (c.email = lower($3)) DESC, (c.name ILIKE $4) DESC, c.name, c.id \
         LIMIT $5",
    )
    .bind(user_id)
    .bind(&pattern)
    .bind(&query)
    .bind(format!("{}%", escape_like(&query)))
    .bind(limit.clamp(1, 100))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// Open-ticket counts for the given customers, in the same order.
pub async fn summaries(
    tx: &mut TenantTx,
    customers: Vec<Customer>,
) -> Result<Vec<CustomerSummary>, StoreError> {
    let ids: Vec<Uuid> = customers.iter().map(|c| c.id).collect();
    let user_id = tx.user_id();
    let counts: Vec<(Uuid, i64)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT customer_id, count(*) FROM tickets \
         WHERE user_id = $1 AND customer_id = ANY($2) AND status IN ('open', 'pending') \
         GROUP BY customer_id",
    )
    .bind(user_id)
    .bind(&ids)
    .fetch_all(tx.conn())
    .await?;
    Ok(customers
        .into_iter()
        .map(|customer| {
            let open_tickets = counts
                .iter()
                .find(|(id, _)| *id == customer.id)
                .map_or(0, |(_, n)| *n);
            CustomerSummary {
                customer,
                open_tickets,
            }
        })
        .collect())
}

/// One page of customers, oldest first; pass the returned cursor back for the next page.
pub async fn list(
    tx: &mut TenantTx,
    limit: i64,
    after: Option<Cursor>,
) -> Result<(Vec<Customer>, Option<Cursor>), StoreError> {
    let limit = limit.clamp(1, 100);
    let user_id = tx.user_id();
    let mut rows = sqlx::query_as::<_, Customer>(
        // language=PostgreSQL
        "SELECT * FROM customers \
         WHERE user_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3)) \
         ORDER BY created_at, id LIMIT $4",
    )
    .bind(user_id)
    .bind(after.map(|c| c.created_at))
    .bind(after.map(|c| c.id))
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|c| Cursor {
            created_at: c.created_at,
            id: c.id,
        })
    } else {
        None
    };
    Ok((rows, next))
}

pub async fn update(
    tx: &mut TenantTx,
    id: Uuid,
    changes: &CustomerUpdate<'_>,
) -> Result<Customer, StoreError> {
    let name = changes
        .name
        .map(|n| validate::text("name", n, MAX_NAME))
        .transpose()?;
    let email = changes
        .email
        .map(|e| Email::parse("email", e))
        .transpose()?;
    let user_id = tx.user_id();
    sqlx::query_as::<_, Customer>(
        // language=PostgreSQL
        "UPDATE customers SET \
            name = COALESCE($3, name), email = COALESCE($4, email), \
            phone = COALESCE($5, phone), stripe_customer_id = COALESCE($6, stripe_customer_id) \
         WHERE user_id = $1 AND id = $2 RETURNING *",
    )
    .bind(user_id)
    .bind(id)
    .bind(name)
    .bind(email.as_ref().map(Email::as_str))
    .bind(changes.phone.as_ref().map(Phone::as_str))
    .bind(changes.stripe_customer_id.as_ref().map(CustomerId::as_str))
    .fetch_optional(tx.conn())
    .await
    .map_err(conflict)?
    .ok_or(StoreError::NotFound("customer"))
}

/// Deletes a customer with their tickets and messages.
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "DELETE FROM customers WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("customer"));
    }
    Ok(())
}

/// Escapes LIKE's wildcards so that user text matches literally.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The query of [`named_in`]; public so that a test can check that indexes serve it.
// language=PostgreSQL
pub const NAMED_IN: &str = "SELECT * FROM customers \
     WHERE user_id = $1 AND id <> $2 \
       AND (email = ANY($3) OR phone_key = ANY($4) OR stripe_customer_id = ANY($6) \
            OR name_key = ANY(ARRAY(SELECT lower(p) FROM unnest($5::text[]) p))) \
     LIMIT $7";

/// Most customers [`named_in`] returns: far more than one draft can name.
pub const MAX_NAMED: i64 = 5_000;

/// The tenant's customers other than `except` whose email is one of `emails`, whose phone key
/// is one of `phone_keys`, whose name starts with one of the word pairs `name_pairs` or whose
/// Stripe customer id is one of `stripe_ids`: the candidates the draft guard checks a draft
/// against. Each condition is served by an index (`migrations/20261210000010_customer_scope.sql`
/// keeps the phone and name keys in generated columns), so the cost follows what the draft
/// contains, not how many customers the tenant has. Both sides of the name comparison are
/// lower-cased by the database, with the same function.
pub async fn named_in(
    tx: &mut TenantTx,
    except: Uuid,
    emails: &[String],
    phone_keys: &[String],
    name_pairs: &[String],
    stripe_ids: &[String],
) -> Result<Vec<Customer>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as::<_, Customer>(NAMED_IN)
        .bind(user_id)
        .bind(except)
        .bind(emails)
        .bind(phone_keys)
        .bind(name_pairs)
        .bind(stripe_ids)
        .bind(MAX_NAMED)
        .fetch_all(tx.conn())
        .await?;
    Ok(rows)
}

/// The customer with this email, created with `name` when there is none. Two requests for a new
/// address at once both end with the one customer (the insert that loses does nothing).
pub async fn find_or_create_by_email(
    tx: &mut TenantTx,
    email: &str,
    name: &str,
) -> Result<Customer, StoreError> {
    let email = Email::parse("from.email", email)?;
    let name = validate::text("from.name", name, MAX_NAME)?;
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO customers (user_id, id, name, email) VALUES ($1, $2, $3, $4) \
         ON CONFLICT ON CONSTRAINT customers_user_id_email_key DO NOTHING",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(email.as_str())
    .execute(tx.conn())
    .await?;
    find_by_email(tx, email.as_str()).await
}
