//! The one place that reads and writes `tenant_settings`.

use chrono::{DateTime, Utc};

use super::{LinkDomains, TenantSettings};
use crate::{StoreError, TenantTx};

/// The tenant's settings, or the defaults when it has no row.
pub async fn get(tx: &mut TenantTx) -> Result<TenantSettings, StoreError> {
    let user_id = tx.user_id();
    let row: Option<(Vec<String>, DateTime<Utc>)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT link_domains, updated_at FROM tenant_settings WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map_or_else(TenantSettings::default, settings))
}

/// Replaces the tenant's link domains.
pub async fn set_link_domains(
    tx: &mut TenantTx,
    domains: &LinkDomains,
) -> Result<TenantSettings, StoreError> {
    let user_id = tx.user_id();
    let row: (Vec<String>, DateTime<Utc>) = sqlx::query_as(
        // language=PostgreSQL
        "INSERT INTO tenant_settings (user_id, link_domains) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET link_domains = EXCLUDED.link_domains \
         RETURNING link_domains, updated_at",
    )
    .bind(user_id)
    .bind(domains.as_slice())
    .fetch_one(tx.conn())
    .await?;
    Ok(settings(row))
}

/// Values were validated on the way in; a row is read back as it was written.
fn settings((link_domains, updated_at): (Vec<String>, DateTime<Utc>)) -> TenantSettings {
    TenantSettings {
        link_domains: LinkDomains(link_domains),
        updated_at: Some(updated_at),
    }
}
