//! No key — a tenant's restricted key, the platform key, the master key — ever shows in the logs
//! (captured at TRACE with a test writer), in a tool's output or error, in a status, or in
//! `Debug`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use support_agent::config::Secret;
use support_agent::stripe::{Credential, Stripe, access, link};
use support_agent::tools::{
    Ctx, CustomerOverviewArgs, FetchStripeChargesArgs, customer_overview, fetch_stripe_charges,
};

use super::fake::Fault;
use super::{
    KEY_A, MASTER_KEY, OTHER_MASTER_KEY, PLATFORM_KEY, World, fast_policy, settings, staff, strings,
};

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The parts of every secret that must never appear: each key's secret body.
fn secret_parts() -> Vec<String> {
    let master = MASTER_KEY
        .split_once(':')
        .map(|(_, k)| k)
        .unwrap_or(MASTER_KEY);
    vec![
        KEY_A.to_owned(),
        KEY_A.trim_start_matches("rk_test_").to_owned(),
        PLATFORM_KEY.trim_start_matches("sk_test_").to_owned(),
        master[..12].to_owned(),
        "SecretPart".to_owned(),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for part in secret_parts() {
        assert!(!text.contains(&part), "{what} shows {part:?}:\n{text}");
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs_any_tool_output_or_debug() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let w = World::new().await;
    let mut outputs: Vec<Value> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let a_args = || FetchStripeChargesArgs {
        customer_id: Some(w.ada.id),
        ..Default::default()
    };
    w.fake
        .fail_next([Fault::Status(429, None), Fault::Status(500, Some(false))]);
    texts.push(format!(
        "{:?}",
        fetch_stripe_charges(&w.ctx(), &staff(w.a), a_args()).await
    ));
    let ok = fetch_stripe_charges(&w.ctx(), &staff(w.a), a_args())
        .await
        .expect("A");
    outputs.push(serde_json::to_value(&ok).expect("json"));
    let b_args = FetchStripeChargesArgs {
        customer_id: Some(w.bea.id),
        ..Default::default()
    };
    let ok = fetch_stripe_charges(&w.ctx(), &staff(w.b), b_args)
        .await
        .expect("B");
    outputs.push(serde_json::to_value(&ok).expect("json"));
    let overview = CustomerOverviewArgs {
        customer_id: Some(w.ada.id),
        email: None,
    };
    let ok = customer_overview(&w.ctx(), &staff(w.a), overview)
        .await
        .expect("overview");
    outputs.push(serde_json::to_value(&ok).expect("json"));
    let report = link::link(&w.t.db, &w.stripe, &w.a).await.expect("link");
    outputs.push(serde_json::to_value(&report).expect("json"));
    for t in [&w.a, &w.b] {
        let status = access::status(&w.t.db, t).await.expect("status");
        outputs.push(serde_json::to_value(&status).expect("json"));
        texts.push(format!("{status:?}"));
    }

    // Failures: a master key that does not open, a key Stripe rejects.
    let mut s = settings(&w.fake.base);
    s.secrets_key = Some(Secret::new(OTHER_MASTER_KEY.replace("ktest2", "ktest1")));
    let wrong = Stripe::with_policy(&s, fast_policy()).expect("client");
    texts.push(format!(
        "{:?}",
        fetch_stripe_charges(
            &Ctx::new(w.t.db.clone()).with_stripe(wrong),
            &staff(w.a),
            a_args()
        )
        .await
    ));
    let revoked = Credential::RestrictedKey(Secret::new(format!("{KEY_A}Old")));
    access::connect(&w.t.db, w.stripe.vault(), &w.a, &revoked)
        .await
        .expect("connect");
    let err = fetch_stripe_charges(&w.ctx(), &staff(w.a), a_args())
        .await
        .expect_err("401");
    texts.push(err.to_string());
    texts.push(format!(
        "{err:?} {:?} {:?} {revoked:?}",
        w.stripe,
        settings(&w.fake.base)
    ));
    texts.push(format!(
        "{:?}",
        w.stripe.client_for(&w.t.db, &w.b).await.expect("client")
    ));

    for (i, out) in outputs.iter().enumerate() {
        assert_clean(&format!("tool output {i}"), &strings(out).join(" "));
    }
    for (i, text) in texts.iter().enumerate() {
        assert_clean(&format!("text {i}"), text);
    }
    drop(_guard);
    let captured = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(
        captured.contains("retrying a Stripe request"),
        "the logs were captured"
    );
    assert!(
        captured.contains("TRACE") || captured.contains("DEBUG"),
        "at every level"
    );
    assert_clean("the logs", &captured);
}
