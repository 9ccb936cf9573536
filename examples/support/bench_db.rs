//! Shared by the knowledge benchmarks (included with `#[path]`): a scratch database on the
//! server of `.env`, migrated, and a pool of the service role on it.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use support_agent::config::Secret;
use support_agent::{Db, db};

/// `url` with its database replaced by `db`.
pub fn with_db(url: &str, db: &str) -> anyhow::Result<String> {
    PgConnectOptions::from_str(url)?;
    let (base, _) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("URL without a database"))?;
    Ok(format!("{base}/{db}"))
}

/// The owner pool and the service-role `Db` of database `name`, created and migrated if needed.
pub async fn bench_db(name: &str) -> anyhow::Result<(PgPool, Db)> {
    let _ = dotenvy::dotenv();
    let owner_url = std::env::var("DATABASE_OWNER_URL")?;
    let app_url = std::env::var("DATABASE_URL")?;
    let mut admin = PgConnection::connect(&with_db(&owner_url, "postgres")?).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
    }
    let owner = PgPoolOptions::new()
        .max_connections(2)
        .connect(&with_db(&owner_url, name)?)
        .await?;
    db::migrate(&owner).await?;
    let pool = db::connect(
        "DATABASE_URL",
        &Secret::new(with_db(&app_url, name)?),
        4,
        None,
    )
    .await?;
    Ok((owner, Db::new(pool)))
}

/// The `p`-th percentile (0–100) of sorted `values`.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
