//! The work queue (SECURITY.md Q1–Q4) with scripted handlers: transactions, leases, backoff, dead.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support_agent::jobs::{self, ClaimedJob, JobKind};
use support_agent::messages::{self, Sender};
use support_agent::tickets::{self, NewTicket};
use support_agent::worker::{Done, Handler, JobError, Outcome, Worker, WorkerOptions};
use support_agent::{Db, Tenant};
use uuid::Uuid;

use crate::common::{TestDb, new_customer, new_tenant, new_ticket};

/// Records every job it runs; fails as scripted.
#[derive(Clone, Default)]
struct Script {
    runs: Arc<Mutex<Vec<Uuid>>>,
    fail: Option<JobError>,
    pause: Duration,
}

impl Handler for Script {
    fn kinds(&self) -> &'static [JobKind] {
        &[JobKind::Triage]
    }

    async fn handle(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        self.runs.lock().expect("lock").push(job.id);
        tokio::time::sleep(self.pause).await;
        match &self.fail {
            Some(e) => Err(e.clone()),
            None => Ok(Done::default()),
        }
    }
}

/// A claim of up to `batch` triage jobs by `worker`, with the default per-tenant cap.
fn claim(worker: &str, batch: u32, lease: Duration) -> jobs::store::Claim<'_> {
    jobs::store::Claim {
        worker,
        batch,
        lease,
        kinds: &[JobKind::Triage],
        per_tenant: 2,
    }
}

fn opts(id: &str) -> WorkerOptions {
    WorkerOptions {
        concurrency: 4,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(200),
        shutdown_grace: Duration::from_secs(5),
        worker_id: id.into(),
        max_running_per_tenant: 2,
    }
}

async fn job_row(t: &TestDb, id: Uuid) -> jobs::Job {
    jobs::store::list(&t.owner, None, 1000)
        .await
        .expect("list")
        .into_iter()
        .find(|j| j.id == id)
        .expect("job exists")
}

async fn make_due(t: &TestDb) {
    sqlx::query("UPDATE jobs SET run_at = now() WHERE status = 'queued'")
        .execute(&t.owner)
        .await
        .expect("make due");
}

async fn one_ticket(db: &Db) -> (Tenant, Uuid) {
    let a = new_tenant(db, "Acme").await;
    let c = new_customer(db, &a, "Bob", "bob@example.com").await;
    let t = new_ticket(db, &a, c.id, "help").await;
    (a, t.id)
}

#[tokio::test]
async fn triage_is_enqueued_in_the_same_transaction_as_a_ticket_or_customer_message() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let c = new_customer(&t.db, &a, "Bob", "bob@example.com").await;
    let mut tx = t.db.begin(&a).await.expect("begin");
    let new = NewTicket {
        customer_id: c.id,
        subject: "s",
        description: None,
        priority: None,
    };
    tickets::store::create(&mut tx, &new).await.expect("ticket");
    tx.rollback().await.expect("rollback");
    assert_eq!(
        t.count("jobs").await,
        0,
        "a rolled-back ticket leaves no job"
    );
    let ticket = new_ticket(&t.db, &a, c.id, "s").await;
    assert_eq!(t.count("jobs").await, 1);
    let mut tx = t.db.begin(&a).await.expect("begin");
    let m = messages::store::add(&mut tx, ticket.id, Sender::Customer, "more")
        .await
        .expect("add");
    messages::store::add(&mut tx, ticket.id, Sender::Agent, "agent reply")
        .await
        .expect("add");
    tx.commit().await.expect("commit");
    let all = jobs::store::list(&t.owner, None, 10).await.expect("list");
    assert_eq!(
        all.len(),
        2,
        "a customer message queues triage, an agent's does not"
    );
    assert!(all.iter().any(|j| j.message_id == Some(m.id)));
    assert!(
        all.iter()
            .all(|j| j.user_id == a.id() && j.status == "queued")
    );
}

#[tokio::test]
async fn three_workers_on_one_queue_never_run_a_job_twice() {
    let t = TestDb::new().await;
    let mut expected = Vec::new();
    for name in ["Acme", "Bolt", "Cord"] {
        let tenant = new_tenant(&t.db, name).await;
        let c = new_customer(&t.db, &tenant, "Bob", "bob@example.com").await;
        for i in 0..10 {
            new_ticket(&t.db, &tenant, c.id, &format!("t{i}")).await;
        }
        expected.push(tenant);
    }
    let script = Script {
        pause: Duration::from_millis(10),
        ..Default::default()
    };
    let workers: Vec<_> = ["w1", "w2", "w3"]
        .into_iter()
        .map(|id| Worker::new(t.db.clone(), script.clone(), opts(id)))
        .collect();
    let (a, b, c) = tokio::join!(
        workers[0].run_until_empty(),
        workers[1].run_until_empty(),
        workers[2].run_until_empty()
    );
    let done = a.expect("w1").done + b.expect("w2").done + c.expect("w3").done;
    let mut runs = script.runs.lock().expect("lock").clone();
    assert_eq!(runs.len(), 30);
    runs.sort();
    runs.dedup();
    assert_eq!(runs.len(), 30, "no job ran twice");
    assert_eq!(done, 30);
    let all = jobs::store::list(&t.owner, Some("done"), 100)
        .await
        .expect("list");
    assert_eq!(all.len(), 30);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_late_worker_cannot_record() {
    let t = TestDb::new().await;
    let (tenant, _) = one_ticket(&t.db).await;
    let lost = jobs::store::claim(&t.db, &claim("crashed", 1, Duration::from_secs(300)))
        .await
        .expect("claim");
    assert_eq!(lost.len(), 1);
    let live = Worker::new(t.db.clone(), Script::default(), opts("w2"));
    assert!(
        live.run_one().await.expect("run").is_none(),
        "a live lease is not taken over"
    );
    t.expire_leases().await;
    let (job, outcome) = live
        .run_one()
        .await
        .expect("run")
        .expect("the expired job is claimed");
    assert_eq!(
        (job.id, outcome, job.attempts),
        (lost[0].id, Outcome::Done, 2)
    );
    let mut tx = t.db.begin(&tenant).await.expect("begin");
    assert!(
        !jobs::store::complete(&mut tx, job.id, "crashed", None)
            .await
            .expect("complete")
    );
}

#[tokio::test]
async fn transient_failures_back_off_then_die_and_an_operator_can_retry() {
    let t = TestDb::new().await;
    let (_, ticket) = one_ticket(&t.db).await;
    let failing = Script {
        fail: Some(JobError::Transient("model unavailable (503)".into())),
        ..Default::default()
    };
    let w = Worker::new(t.db.clone(), failing.clone(), opts("w1"));
    let (job, outcome) = w.run_one().await.expect("run").expect("job");
    assert_eq!(outcome, Outcome::Retrying);
    let row = job_row(&t, job.id).await;
    let wait = row.run_at - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::milliseconds(2000),
        "backs off: {wait}"
    );
    assert!(
        w.run_one().await.expect("run").is_none(),
        "not due before its backoff"
    );
    for attempt in 2..=5 {
        make_due(&t).await;
        let (_, outcome) = w.run_one().await.expect("run").expect("job");
        assert_eq!(
            outcome,
            if attempt < 5 {
                Outcome::Retrying
            } else {
                Outcome::Dead
            },
            "attempt {attempt}"
        );
    }
    let dead = job_row(&t, job.id).await;
    assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 5));
    assert_eq!(dead.last_error.as_deref(), Some("model unavailable (503)"));
    make_due(&t).await;
    assert!(
        w.run_one().await.expect("run").is_none(),
        "dead jobs stay dead"
    );
    let retried = jobs::store::retry(&t.owner, job.id).await.expect("retry");
    assert_eq!((retried.status.as_str(), retried.attempts), ("queued", 0));
    let ok = Worker::new(t.db.clone(), Script::default(), opts("w2"));
    let (again, outcome) = ok.run_one().await.expect("run").expect("job");
    assert_eq!((again.id, outcome), (job.id, Outcome::Done));
    assert_eq!(job_row(&t, job.id).await.ticket_id, Some(ticket));
}

#[tokio::test]
async fn a_permanent_failure_is_dead_at_once() {
    let t = TestDb::new().await;
    one_ticket(&t.db).await;
    let w = Worker::new(
        t.db.clone(),
        Script {
            fail: Some(JobError::Permanent("ticket gone".into())),
            ..Default::default()
        },
        opts("w1"),
    );
    let (job, outcome) = w.run_one().await.expect("run").expect("job");
    assert_eq!(outcome, Outcome::Dead);
    assert_eq!(job_row(&t, job.id).await.attempts, 1);
}

#[tokio::test]
async fn shutdown_releases_jobs_that_do_not_finish_within_the_grace_period() {
    let t = TestDb::new().await;
    let (_, _) = one_ticket(&t.db).await;
    let slow = Script {
        pause: Duration::from_secs(30),
        ..Default::default()
    };
    let w = Worker::new(
        t.db.clone(),
        slow.clone(),
        WorkerOptions {
            shutdown_grace: Duration::from_millis(100),
            ..opts("w1")
        },
    );
    let runs = slow.runs.clone();
    let shutdown = async move {
        while runs.lock().expect("lock").is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let summary = w.run(shutdown).await.expect("run");
    assert_eq!(summary.released, 1);
    let all = jobs::store::list(&t.owner, None, 10).await.expect("list");
    assert_eq!(
        (all[0].status.as_str(), all[0].attempts),
        ("queued", 0),
        "released, attempt not counted"
    );
}

#[tokio::test]
async fn an_idle_worker_wakes_on_notify_for_a_new_ticket() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let c = new_customer(&t.db, &a, "Bob", "bob@example.com").await;
    let script = Script::default();
    // Polling is off for practical purposes: only NOTIFY can wake it in time.
    let w = Worker::new(
        t.db.clone(),
        script.clone(),
        WorkerOptions {
            poll_interval: Duration::from_secs(3600),
            ..opts("w1")
        },
    );
    let runs = script.runs.clone();
    let db = t.db.clone();
    let shutdown = async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        new_ticket(&db, &a, c.id, "wake up").await;
        for _ in 0..200 {
            if !runs.lock().expect("lock").is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    let summary = w.run(shutdown).await.expect("run");
    assert_eq!(summary.done, 1, "woken by NOTIFY, not by polling");
}
