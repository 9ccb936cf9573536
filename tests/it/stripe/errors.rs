//! Every missing piece is a tool error that says what to do, never a stack trace: a customer
//! without a Stripe id, a tenant without Stripe access, a server without Stripe settings or
//! platform key, a master key that does not open the stored key, a key Stripe rejects.

use support_agent::config::Secret;
use support_agent::stripe::{Credential, Stripe, access};
use support_agent::tools::{
    Ctx, CustomerOverviewArgs, FetchStripeChargesArgs, ToolError, customer_overview,
    fetch_stripe_charges,
};

use super::{OTHER_MASTER_KEY, World, fast_policy, linked, settings, staff};
use crate::common::{new_customer, new_tenant};

fn by_id(id: uuid::Uuid) -> FetchStripeChargesArgs {
    FetchStripeChargesArgs {
        customer_id: Some(id),
        ..Default::default()
    }
}

fn unavailable(r: Result<impl std::fmt::Debug, ToolError>, needle: &str) {
    match r {
        Err(ToolError::Unavailable(msg)) => {
            assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
            assert!(!msg.contains("panicked") && !msg.contains("backtrace"));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_customer_without_a_stripe_id_is_told_how_to_link() {
    let w = World::new().await;
    let zoe = new_customer(&w.t.db, &w.a, "Zoe", "zoe@example.com").await;
    let r = fetch_stripe_charges(&w.ctx(), &staff(w.a), by_id(zoe.id)).await;
    unavailable(
        r,
        "not linked to a Stripe customer: an operator can link customers by email with `support-agent stripe link`",
    );
    let args = CustomerOverviewArgs {
        customer_id: Some(zoe.id),
        email: None,
    };
    unavailable(
        customer_overview(&w.ctx(), &staff(w.a), args).await,
        "stripe link",
    );
    assert!(w.fake.seen().is_empty());
}

#[tokio::test]
async fn a_tenant_without_stripe_access_is_told_to_connect() {
    let w = World::new().await;
    let c = new_tenant(&w.t.db, "Carol").await;
    let cat = linked(&w.t.db, &c, "Cat", "cat@example.com", "cus_Ccat").await;
    let r = fetch_stripe_charges(&w.ctx(), &staff(c), by_id(cat.id)).await;
    unavailable(
        r,
        "has not connected Stripe: an operator can connect it with `support-agent stripe connect`",
    );
    let r = fetch_stripe_charges(&Ctx::new(w.t.db.clone()), &staff(w.a), by_id(w.ada.id)).await;
    unavailable(
        r,
        "Stripe is not configured on this server: an operator should set SECRETS_KEY",
    );
    assert!(w.fake.seen().is_empty(), "no credentials, no request");
}

#[tokio::test]
async fn a_connect_tenant_on_a_server_without_the_platform_key_is_told_so() {
    let w = World::new().await;
    let mut s = settings(&w.fake.base);
    s.stripe_platform_key = None;
    let no_platform = Stripe::with_policy(&s, fast_policy()).expect("client");
    let r = fetch_stripe_charges(
        &Ctx::new(w.t.db.clone()).with_stripe(no_platform),
        &staff(w.b),
        by_id(w.bea.id),
    )
    .await;
    unavailable(r, "STRIPE_PLATFORM_KEY");
    assert!(w.fake.seen().is_empty());
}

#[tokio::test]
async fn a_wrong_master_key_is_a_clear_error_and_sends_nothing() {
    let w = World::new().await;
    let mut s = settings(&w.fake.base);
    s.secrets_key = Some(Secret::new(OTHER_MASTER_KEY.replace("ktest2", "ktest1")));
    let wrong = Stripe::with_policy(&s, fast_policy()).expect("client");
    let r = fetch_stripe_charges(
        &Ctx::new(w.t.db.clone()).with_stripe(wrong),
        &staff(w.a),
        by_id(w.ada.id),
    )
    .await;
    unavailable(r, "does not decrypt with master key `ktest1`");
    assert!(w.fake.seen().is_empty());
}

#[tokio::test]
async fn a_key_stripe_rejects_is_reported_with_what_to_do() {
    let w = World::new().await;
    let stale = Credential::RestrictedKey(Secret::new("rk_test_51AAliceOldRevokedKey9999"));
    access::connect(&w.t.db, w.stripe.vault(), &w.a, &stale)
        .await
        .expect("connect");
    let err = fetch_stripe_charges(&w.ctx(), &staff(w.a), by_id(w.ada.id))
        .await
        .expect_err("401");
    let msg = err.to_string();
    assert!(matches!(err, ToolError::Upstream(_)), "{err:?}");
    assert!(
        msg.contains("401") && msg.contains("connect a valid restricted key"),
        "{msg}"
    );
    assert!(
        !msg.contains("OldRevokedKey9999"),
        "Stripe masks the key, and so do we: {msg}"
    );
    assert_eq!(w.fake.seen().len(), 1, "a 401 is not retried");
}
