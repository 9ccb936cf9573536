//! S2 and S3 on the wire: retries on 429, 409, 5xx and network errors only, `Stripe-Should-Retry`
//! obeyed, a timeout per attempt, and one idempotency key per write across its retries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stripe_client_core::StripeRequest;
use stripe_core::refund::CreateRefund;
use support_agent::stripe::{self, StripeError, StripeSettings};
use support_agent::tools::{Ctx, FetchStripeChargesArgs, ToolError, fetch_stripe_charges};
use uuid::Uuid;

use super::fake::{FakeStripe, Fault};
use super::{World, account_a, account_b, settings, staff};

async fn charges(w: &World) -> Result<usize, ToolError> {
    let args = FetchStripeChargesArgs {
        customer_id: Some(w.ada.id),
        limit: Some(1),
        ..Default::default()
    };
    let out = fetch_stripe_charges(&w.ctx(), &staff(w.a), args).await?;
    Ok(out.charges.len())
}

fn list_calls(w: &World) -> usize {
    w.fake
        .seen()
        .iter()
        .filter(|s| s.path == "/v1/charges")
        .count()
}

#[tokio::test]
async fn rate_limits_conflicts_and_server_errors_are_retried_until_they_pass() {
    let w = World::new().await;
    w.fake
        .fail_next([Fault::Status(429, None), Fault::Status(500, None)]);
    assert_eq!(charges(&w).await.expect("third attempt succeeds"), 1);
    assert_eq!(list_calls(&w), 3);

    w.fake.clear_seen();
    w.fake.fail_next([Fault::Status(409, None)]);
    charges(&w).await.expect("second attempt succeeds");
    assert_eq!(list_calls(&w), 2);

    w.fake.clear_seen();
    w.fake.fail_next([Fault::Status(400, Some(true))]);
    charges(&w)
        .await
        .expect("Stripe-Should-Retry: true is obeyed");
    assert_eq!(list_calls(&w), 2);
}

#[tokio::test]
async fn stripe_should_retry_false_and_client_errors_are_not_retried() {
    let w = World::new().await;
    for status in [500, 429, 503] {
        w.fake.clear_seen();
        w.fake.fail_next([Fault::Status(status, Some(false))]);
        let err = charges(&w).await.expect_err("no second attempt");
        assert!(matches!(err, ToolError::Upstream(_)), "{err:?}");
        assert!(err.to_string().contains(&status.to_string()), "{err}");
        assert_eq!(
            list_calls(&w),
            1,
            "{status} with Stripe-Should-Retry: false"
        );
    }
    w.fake.clear_seen();
    let mallory = super::linked(&w.t.db, &w.a, "M", "m@example.com", "cus_Anobody").await;
    let args = FetchStripeChargesArgs {
        customer_id: Some(mallory.id),
        ..Default::default()
    };
    fetch_stripe_charges(&w.ctx(), &staff(w.a), args)
        .await
        .expect_err("400 No such customer");
    assert_eq!(list_calls(&w), 1, "a 400 is not retried");
}

#[tokio::test]
async fn retries_stop_after_the_last_attempt_with_advice() {
    let w = World::new().await;
    w.fake.fail_next([Fault::Status(503, None); 5]);
    let err = charges(&w).await.expect_err("three 503s");
    assert_eq!(list_calls(&w), 3, "max_attempts = 3");
    assert!(err.to_string().contains("try again in a minute"), "{err}");
}

fn slow_settings(base: &str) -> StripeSettings {
    let mut s = settings(base);
    s.stripe_timeout = Duration::from_millis(200);
    s
}

#[tokio::test]
async fn a_slow_server_hits_the_timeout_of_each_attempt() {
    let fake = FakeStripe::start(vec![account_a(), account_b()]);
    let w = World::with(fake, slow_settings).await;
    w.fake.fail_next([Fault::Slow(Duration::from_secs(2)); 3]);
    let started = Instant::now();
    let err = charges(&w).await.expect_err("every attempt too slow");
    let took = started.elapsed();
    assert!(
        err.to_string()
            .contains("did not answer within 200ms (after 3 attempts)"),
        "{err}"
    );
    assert_eq!(list_calls(&w), 3);
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_millis(1500),
        "{took:?}"
    );

    w.fake.clear_seen();
    w.fake.fail_next([Fault::Slow(Duration::from_secs(2))]);
    charges(&w).await.expect("a timed-out attempt is retried");
    assert_eq!(list_calls(&w), 2);
}

#[tokio::test]
async fn dropped_connections_are_retried_as_network_errors() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}/", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let client =
        stripe::Stripe::with_policy(&settings(&base), super::fast_policy()).expect("client");
    let w = World::new().await;
    let args = FetchStripeChargesArgs {
        customer_id: Some(w.ada.id),
        ..Default::default()
    };
    let err = fetch_stripe_charges(
        &Ctx::new(w.t.db.clone()).with_stripe(client),
        &staff(w.a),
        args,
    )
    .await
    .expect_err("nobody answers");
    assert!(
        err.to_string()
            .contains("could not be reached (after 3 attempts)"),
        "{err}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_write_carries_one_idempotency_key_derived_from_a_durable_id_across_retries() {
    let w = World::new().await;
    let client = w.stripe.client_for(&w.t.db, &w.a).await.expect("client");
    let refund = CreateRefund::new().charge("ch_Aada000");
    let err = refund.customize().send(&client).await.expect_err("no key");
    assert!(matches!(err, StripeError::MissingIdempotencyKey), "{err:?}");
    assert!(w.fake.seen().is_empty(), "refused before sending");

    let ticket = Uuid::now_v7();
    w.fake.fail_next([Fault::Status(500, None)]);
    let strategy = stripe::idempotent("refund", ticket).expect("key");
    let done = refund
        .customize()
        .request_strategy(strategy)
        .send(&client)
        .await
        .expect("refund");
    assert!(done.id.as_str().starts_with("re_made"), "{}", done.id);
    let seen = w.fake.seen();
    assert_eq!(seen.len(), 2, "retried once");
    let want = format!("refund:{ticket}");
    for s in &seen {
        assert_eq!(
            (s.method.as_str(), s.idempotency_key.as_deref()),
            ("POST", Some(want.as_str()))
        );
        assert_eq!(s.param("charge"), Some("ch_Aada000"), "form-encoded body");
    }
}
