//! The one place that reads and writes `users`.

use uuid::Uuid;

use super::{NewUser, User, hash_password, verify_password_hash};
use crate::config::Secret;
use crate::validate::{self, Email, MAX_NAME};
use crate::{Db, StoreError, Tenant, TenantTx, db::constraint_violation};

/// Creates a tenant. The new row is written under its own tenant context, so the row-level
/// security WITH CHECK holds for it like for any other row.
pub async fn create(db: &Db, new: &NewUser<'_>) -> Result<(Tenant, User), StoreError> {
    let name = validate::text("name", new.name, MAX_NAME)?;
    let email = Email::parse("email", new.email)?;
    let password_hash = match new.password {
        Some(p) => {
            super::check_policy(p, &name, email.as_str())?;
            Some(hash_password(p).await?)
        }
        None => None,
    };
    let tenant = Tenant::for_new_user(Uuid::now_v7());
    let mut tx = db.begin(&tenant).await?;
    let user = sqlx::query_as::<_, User>(
        // language=PostgreSQL
        "INSERT INTO users (id, name, email, password_hash) VALUES ($1, $2, $3, $4) \
         RETURNING id, name, email, password_hash, stripe_customer_id, created_at, updated_at",
    )
    .bind(tenant.id())
    .bind(&name)
    .bind(email.as_str())
    .bind(password_hash)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| {
        constraint_violation(
            e,
            &[("users_email_key", || {
                StoreError::Conflict("a user with this email already exists".into())
            })],
        )
    })?;
    tx.commit().await?;
    Ok((tenant, user))
}

/// The calling tenant's own row.
pub async fn find(tx: &mut TenantTx) -> Result<User, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, User>(
        // language=PostgreSQL
        "SELECT id, name, email, password_hash, stripe_customer_id, created_at, updated_at \
         FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("user"))
}

/// True when `password` matches the tenant's stored hash; false when it does not or none is set.
pub async fn verify_password(tx: &mut TenantTx, password: &Secret) -> Result<bool, StoreError> {
    let user = find(tx).await?;
    Ok(match user.password_hash {
        Some(hash) => verify_password_hash(password, &hash).await,
        None => false,
    })
}

/// Checks that `user_id` names an existing tenant and returns it: the operator CLI's `--user`.
pub async fn resolve_operator_tenant(db: &Db, user_id: Uuid) -> Result<Tenant, StoreError> {
    let tenant = Tenant::from_trusted_operator_input(user_id);
    let mut tx = db.begin(&tenant).await?;
    find(&mut tx).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// The id of the user with `email`, for operator commands; `owner` must be the owner pool (its
/// read-only operator policy sees every tenant's row, the service role sees only its own).
pub async fn find_id_by_email(
    owner: &sqlx::PgPool,
    email: &str,
) -> Result<Option<Uuid>, StoreError> {
    let email = Email::parse("email", email)?;
    let id = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT id FROM users WHERE email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(owner)
    .await?;
    Ok(id)
}

/// Every tenant, oldest first, for the operator's `users list`; `owner` must be the owner pool
/// (its read-only operator policy sees every tenant's row, the service role sees only its own).
pub async fn list_all(owner: &sqlx::PgPool, limit: i64) -> Result<Vec<User>, StoreError> {
    let rows = sqlx::query_as::<_, User>(
        // language=PostgreSQL
        "SELECT id, name, email, password_hash, stripe_customer_id, created_at, updated_at \
         FROM users ORDER BY created_at, id LIMIT $1",
    )
    .bind(limit.clamp(1, 10_000))
    .fetch_all(owner)
    .await?;
    Ok(rows)
}

/// The id and password hash of the user with `email`, before any tenant is known: through the
/// SECURITY DEFINER function `auth_user_by_email` (the service role cannot see other users'
/// rows). `None` when no user has it.
pub async fn login_lookup(
    db: &Db,
    email: &Email,
) -> Result<Option<(Uuid, Option<String>)>, StoreError> {
    let row = sqlx::query_as(
        // language=PostgreSQL
        "SELECT id, password_hash FROM auth_user_by_email($1)",
    )
    .bind(email.as_str())
    .fetch_optional(db.pool())
    .await?;
    Ok(row)
}

/// Renames the calling tenant.
pub async fn rename(tx: &mut TenantTx, name: &str) -> Result<User, StoreError> {
    let name = validate::text("name", name, MAX_NAME)?;
    let user_id = tx.user_id();
    sqlx::query_as::<_, User>(
        // language=PostgreSQL
        "UPDATE users SET name = $2 WHERE id = $1 \
         RETURNING id, name, email, password_hash, stripe_customer_id, created_at, updated_at",
    )
    .bind(user_id)
    .bind(name)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("user"))
}

/// Stores a new password hash for the calling tenant.
pub async fn set_password_hash(tx: &mut TenantTx, hash: &str) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "UPDATE users SET password_hash = $2 WHERE id = $1",
    )
    .bind(user_id)
    .bind(hash)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Deletes the calling tenant and, through ON DELETE CASCADE, everything it owns.
pub async fn delete(tx: &mut TenantTx) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "DELETE FROM users WHERE id = $1",
    )
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("user"));
    }
    Ok(())
}
