//! A fresh database per test, copied from a template that has the migrations applied.
//!
//! The template is named after a hash of `migrations/`, made once under an advisory lock (nextest
//! runs tests in parallel processes), and every test database is `CREATE DATABASE … TEMPLATE` of
//! it: a few hundred milliseconds instead of migrating each time. `scripts/test.sh` drops the test
//! databases of earlier runs.

use std::str::FromStr;

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use support_agent::config::Secret;
use support_agent::customers::{self, Customer, NewCustomer};
use support_agent::tickets::{self, NewTicket, Ticket};
use support_agent::users::{self, NewUser};
use support_agent::{Db, Tenant, db};
use uuid::Uuid;

pub struct TestDb {
    /// Service-role URL of this test's database.
    pub app_url: String,
    /// Owner-role URL of this test's database.
    pub owner_url: String,
    /// Service-role pool.
    pub db: Db,
    /// Owner-role pool.
    pub owner: PgPool,
}

pub fn env_url(key: &str) -> String {
    let _ = dotenvy::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/.env"));
    std::env::var(key).unwrap_or_else(|_| panic!("{key} is not set: run scripts/setup.sh first"))
}

pub fn with_database(url: &str, name: &str) -> String {
    let opts = PgConnectOptions::from_str(url).expect("a valid URL");
    let (base, _) = url.rsplit_once('/').expect("URL with a database");
    assert!(opts.get_database().is_some());
    format!("{base}/{name}")
}

fn template_name() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("migrations/")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(std::fs::read(&f).expect("migration"));
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sa_tpl_{hex}")
}

impl TestDb {
    pub async fn new() -> Self {
        Self::with_max_connections(5).await
    }

    pub async fn with_max_connections(max: u32) -> Self {
        let owner_base = env_url("DATABASE_OWNER_URL");
        let app_base = env_url("DATABASE_URL");
        let mut admin = PgConnection::connect(&with_database(&owner_base, "postgres"))
            .await
            .expect("connect as the owner role (run scripts/setup.sh)");
        sqlx::query("SELECT pg_advisory_lock(7160001)")
            .execute(&mut admin)
            .await
            .expect("lock");
        let template = template_name();
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&template)
                .fetch_one(&mut admin)
                .await
                .expect("query");
        if !exists {
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {template}")))
                .execute(&mut admin)
                .await
                .expect("create template");
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect(&with_database(&owner_base, &template))
                .await
                .expect("connect to template");
            db::migrate(&pool).await.expect("migrate template");
            pool.close().await;
        }
        let name = format!("sa_test_{}", Uuid::new_v4().simple());
        sqlx::query(AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template}"
        )))
        .execute(&mut admin)
        .await
        .expect("create test database");
        // Database privileges are not copied from the template (SECURITY.md D4).
        sqlx::query(AssertSqlSafe(format!(
            "REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC"
        )))
        .execute(&mut admin)
        .await
        .expect("revoke TEMP on the test database");
        sqlx::query("SELECT pg_advisory_unlock(7160001)")
            .execute(&mut admin)
            .await
            .expect("unlock");
        let _ = admin.close().await;

        let app_url = with_database(&app_base, &name);
        let owner_url = with_database(&owner_base, &name);
        let pool = db::connect(
            "DATABASE_URL",
            &Secret::new(app_url.clone()),
            max,
            Some(db::SessionLimits::default()),
        )
        .await
        .expect("service pool");
        let owner = PgPoolOptions::new()
            .max_connections(2)
            .connect(&owner_url)
            .await
            .expect("owner pool");
        Self {
            app_url,
            owner_url,
            db: Db::new(pool),
            owner,
        }
    }

    /// Ends every running job's lease now, as if its time had run out: what a wall-clock wait
    /// past the lease would do, without the wait.
    pub async fn expire_leases(&self) {
        sqlx::query(
            "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE status = 'running'",
        )
        .execute(&self.owner)
        .await
        .expect("expire leases");
    }

    /// Counts every row of `table`, across tenants, through the owner's read policy.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.owner)
            .await
            .expect("count")
    }
}

pub async fn new_tenant(db: &Db, name: &str) -> Tenant {
    let email = format!(
        "{}-{}@example.com",
        name.to_lowercase(),
        Uuid::new_v4().simple()
    );
    let (tenant, _) = users::store::create(
        db,
        &NewUser {
            name,
            email: &email,
            password: None,
        },
    )
    .await
    .expect("create tenant");
    tenant
}

pub async fn new_customer(db: &Db, tenant: &Tenant, name: &str, email: &str) -> Customer {
    let mut tx = db.begin(tenant).await.expect("begin");
    let c = customers::store::create(
        &mut tx,
        &NewCustomer {
            name,
            email,
            ..Default::default()
        },
    )
    .await
    .expect("create customer");
    tx.commit().await.expect("commit");
    c
}

pub async fn new_ticket(db: &Db, tenant: &Tenant, customer: Uuid, subject: &str) -> Ticket {
    let mut tx = db.begin(tenant).await.expect("begin");
    let t = tickets::store::create(
        &mut tx,
        &NewTicket {
            customer_id: customer,
            subject,
            description: Some("details"),
            priority: None,
        },
    )
    .await
    .expect("create ticket");
    tx.commit().await.expect("commit");
    t
}

/// A `multipart/form-data` body holding one file in the field `file`, as an upload form sends
/// it: `(content-type header, body)`.
pub fn multipart_file(name: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----support-agent-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
