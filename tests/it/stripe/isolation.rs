//! S1, asserted on the server side: a tenant's calls reach Stripe with that tenant's credentials
//! only, also when it names another tenant's customers, Stripe ids or charge ids.

use support_agent::tools::{
    CustomerOverviewArgs, FetchStripeChargesArgs, ToolError, customer_overview,
    fetch_stripe_charges,
};

use super::fake::Seen;
use super::{ACCOUNT_B, KEY_A, PLATFORM_KEY, World, linked, staff};

fn only_a(seen: &[Seen]) {
    assert!(!seen.is_empty(), "A's call reached Stripe");
    for s in seen {
        assert_eq!(
            s.authorization.as_deref(),
            Some(format!("Bearer {KEY_A}").as_str()),
            "{s:?}"
        );
        assert_eq!(s.stripe_account, None, "{s:?}");
    }
}

fn by_id(id: uuid::Uuid) -> FetchStripeChargesArgs {
    FetchStripeChargesArgs {
        customer_id: Some(id),
        ..Default::default()
    }
}

#[tokio::test]
async fn each_tenant_reaches_stripe_with_its_own_credentials_only() {
    let w = World::new().await;
    let out = fetch_stripe_charges(&w.ctx(), &staff(w.a), by_id(w.ada.id))
        .await
        .expect("A's charges");
    assert!(out.charges.iter().all(|c| c.id.starts_with("ch_Aada")));
    only_a(&w.fake.seen());

    w.fake.clear_seen();
    let out = fetch_stripe_charges(&w.ctx(), &staff(w.b), by_id(w.bea.id))
        .await
        .expect("B's charges");
    assert_eq!(out.charges.len(), 3);
    assert!(out.charges.iter().all(|c| c.id.starts_with("ch_Bbea")));
    for s in w.fake.seen() {
        assert_eq!(
            s.authorization.as_deref(),
            Some(format!("Bearer {PLATFORM_KEY}").as_str())
        );
        assert_eq!(
            s.stripe_account.as_deref(),
            Some(ACCOUNT_B),
            "Connect: B's account header"
        );
    }
}

#[tokio::test]
async fn another_tenants_customer_ids_and_emails_are_not_found_and_reach_no_one() {
    let w = World::new().await;
    let err = fetch_stripe_charges(&w.ctx(), &staff(w.a), by_id(w.bea.id))
        .await
        .expect_err("B's customer id");
    assert!(matches!(err, ToolError::NotFound("customer")), "{err:?}");
    let by_email = FetchStripeChargesArgs {
        email: Some(w.bea.email.clone()),
        ..Default::default()
    };
    let err = fetch_stripe_charges(&w.ctx(), &staff(w.a), by_email)
        .await
        .expect_err("B's customer email");
    assert!(matches!(err, ToolError::NotFound("customer")), "{err:?}");
    let overview = CustomerOverviewArgs {
        customer_id: Some(w.bea.id),
        email: None,
    };
    let err = customer_overview(&w.ctx(), &staff(w.a), overview)
        .await
        .expect_err("B's customer in an overview");
    assert!(matches!(err, ToolError::NotFound("customer")), "{err:?}");
    assert!(w.fake.seen().is_empty(), "nothing went to Stripe at all");
}

#[tokio::test]
async fn a_stripe_id_of_another_tenant_is_asked_with_the_callers_key_and_finds_nothing() {
    let w = World::new().await;
    // A records B's Stripe customer id on a customer of its own.
    let mallory = linked(&w.t.db, &w.a, "Mallory", "mallory@example.com", "cus_Bbea").await;
    let err = fetch_stripe_charges(&w.ctx(), &staff(w.a), by_id(mallory.id))
        .await
        .expect_err("not in A's account");
    let msg = err.to_string();
    assert!(matches!(err, ToolError::Upstream(_)), "{err:?}");
    assert!(msg.contains("No such customer: 'cus_Bbea'"), "{msg}");
    only_a(&w.fake.seen());

    // A pages with one of B's charge ids as its cursor.
    w.fake.clear_seen();
    let args = FetchStripeChargesArgs {
        starting_after: Some("ch_Bbea001".into()),
        ..by_id(w.ada.id)
    };
    let err = fetch_stripe_charges(&w.ctx(), &staff(w.a), args)
        .await
        .expect_err("B's charge id is no cursor in A's account");
    assert!(
        err.to_string().contains("No such object: 'ch_Bbea001'"),
        "{err}"
    );
    only_a(&w.fake.seen());

    w.fake.clear_seen();
    let overview = CustomerOverviewArgs {
        customer_id: Some(mallory.id),
        email: None,
    };
    customer_overview(&w.ctx(), &staff(w.a), overview)
        .await
        .expect_err("not in A's account");
    only_a(&w.fake.seen());
}
