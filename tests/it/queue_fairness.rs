//! The queue under load and under attack (SECURITY.md D4, D5): tenants take turns, no tenant holds
//! more than TENANT_MAX_RUNNING_JOBS leases, and a caller's temporary table cannot stand in for
//! the queue in the SECURITY DEFINER claim.

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use support_agent::jobs::{self, JobKind};
use support_agent::{Db, Tenant};
use uuid::Uuid;

use crate::common::{TestDb, new_customer, new_tenant, new_ticket};

fn claim(worker: &str, batch: u32, per_tenant: u32) -> jobs::store::Claim<'_> {
    jobs::store::Claim {
        worker,
        batch,
        lease: Duration::from_secs(300),
        kinds: &[JobKind::Triage],
        per_tenant,
    }
}

/// `n` tickets for a new tenant, each with its triage job, all due an hour ago.
async fn backlog(t: &TestDb, name: &str, n: i64) -> Tenant {
    let tenant = new_tenant(&t.db, name).await;
    let c = new_customer(&t.db, &tenant, "Bulk", "bulk@example.com").await;
    let mut tx = t.db.begin(&tenant).await.expect("begin");
    sqlx::query(
        "INSERT INTO tickets (user_id, id, customer_id, subject) \
         SELECT $1, gen_random_uuid(), $2, 'bulk ' || g FROM generate_series(1, $3) g",
    )
    .bind(tenant.id())
    .bind(c.id)
    .bind(n)
    .execute(tx.conn())
    .await
    .expect("tickets");
    sqlx::query(
        "INSERT INTO jobs (user_id, id, kind, ticket_id, run_at) \
         SELECT user_id, gen_random_uuid(), 'triage', id, now() - interval '1 hour' \
         FROM tickets WHERE user_id = $1",
    )
    .bind(tenant.id())
    .execute(tx.conn())
    .await
    .expect("jobs");
    tx.commit().await.expect("commit");
    tenant
}

async fn one_job(db: &Db) -> Tenant {
    let tenant = new_tenant(db, "Small").await;
    let c = new_customer(db, &tenant, "Ann", "ann@example.com").await;
    new_ticket(db, &tenant, c.id, "one question").await;
    tenant
}

#[tokio::test]
async fn a_tenant_with_a_thousand_due_jobs_does_not_delay_another_tenants_one_job() {
    let t = TestDb::new().await;
    let big = backlog(&t, "Big", 1000).await;
    let small = one_job(&t.db).await;
    // Even with a generous per-tenant cap, tenants take turns: the small tenant's job, due last,
    // is in the very first batch.
    let batch = jobs::store::claim(&t.db, &claim("w1", 4, 100))
        .await
        .expect("claim");
    assert_eq!(batch.len(), 4);
    assert!(
        batch.iter().any(|j| j.user_id == small.id()),
        "the small tenant's job is claimed in the first batch: {batch:?}"
    );
    assert_eq!(batch.iter().filter(|j| j.user_id == big.id()).count(), 3);
}

#[tokio::test]
async fn no_tenant_holds_more_than_its_running_job_limit_across_workers() {
    let t = TestDb::new().await;
    let big = backlog(&t, "Big", 50).await;
    let first = jobs::store::claim(&t.db, &claim("w1", 10, 2))
        .await
        .expect("claim");
    assert_eq!(first.len(), 2, "TENANT_MAX_RUNNING_JOBS = 2");
    let second = jobs::store::claim(&t.db, &claim("w2", 10, 2))
        .await
        .expect("claim");
    assert!(
        second.is_empty(),
        "another worker gets none of the tenant's jobs"
    );
    // A new tenant is not held back by the first one's cap.
    let small = one_job(&t.db).await;
    let third = jobs::store::claim(&t.db, &claim("w2", 10, 2))
        .await
        .expect("claim");
    assert_eq!(
        third.iter().map(|j| j.user_id).collect::<Vec<_>>(),
        vec![small.id()]
    );
    // Claims racing from many workers never exceed the cap either.
    t.expire_leases().await;
    let claims = (0..8).map(|i| {
        let db = t.db.clone();
        async move {
            let worker = format!("racer-{i}");
            jobs::store::claim(&db, &claim(&worker, 10, 2)).await
        }
    });
    let claimed: usize = futures_join(claims).await.iter().map(Vec::len).sum();
    assert_eq!(
        claimed, 3,
        "2 of Big's and Small's one, however many workers race"
    );
    let running: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE user_id = $1 AND status = 'running' AND locked_until > now()",
    )
    .bind(big.id())
    .fetch_one(&t.owner)
    .await
    .expect("count");
    assert_eq!(running, 2);
}

async fn futures_join<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = Result<T, support_agent::StoreError>> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("join").expect("claim"));
    }
    out
}

#[tokio::test]
async fn a_temporary_table_cannot_stand_in_for_the_queue() {
    let t = TestDb::new().await;
    let tenant = one_job(&t.db).await;
    // As if a database had been made without scripts/setup.sh: TEMP granted back.
    let db_name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&t.owner)
        .await
        .expect("name");
    sqlx::query(AssertSqlSafe(format!(
        "GRANT TEMPORARY ON DATABASE {db_name} TO support_agent_app"
    )))
    .execute(&t.owner)
    .await
    .expect("grant");
    let mut conn = PgConnection::connect(&t.app_url)
        .await
        .expect("service role");
    let forged = Uuid::now_v7();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE TEMP TABLE jobs (LIKE public.jobs INCLUDING DEFAULTS); \
         GRANT ALL ON pg_temp.jobs TO PUBLIC; \
         INSERT INTO pg_temp.jobs (user_id, id, kind, ticket_id, status, run_at) \
           VALUES ('{forged}', '{forged}', 'triage', '{forged}', 'queued', now() - interval '1 day');"
    )))
    .execute(&mut conn)
    .await
    .expect("the attacker's temporary table");
    let due: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT user_id, due FROM due_tenants(ARRAY['triage'], 100, 100)")
            .fetch_all(&mut conn)
            .await
            .expect("due tenants");
    assert_eq!(due, [(tenant.id(), 1)], "only the real job's tenant");
    let untouched: String = sqlx::query_scalar("SELECT status FROM pg_temp.jobs")
        .fetch_one(&mut conn)
        .await
        .expect("temp row");
    assert_eq!(
        untouched, "queued",
        "the definer never read or wrote the temp table"
    );
}
