//! `stripe_accounts` under row-level security, as the service role: one tenant can neither see,
//! change, remove nor plant another tenant's Stripe access.

use support_agent::stripe::access;

use super::World;

#[tokio::test]
async fn a_tenant_cannot_touch_another_tenants_stripe_access() {
    let w = World::new().await;
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    let visible: Vec<(uuid::Uuid,)> = sqlx::query_as("SELECT user_id FROM stripe_accounts")
        .fetch_all(tx.conn())
        .await
        .expect("select");
    assert_eq!(visible, vec![(w.a.id(),)], "A sees its own row only");
    let updated =
        sqlx::query("UPDATE stripe_accounts SET account_id = 'acct_evil' WHERE user_id = $1")
            .bind(w.b.id())
            .execute(tx.conn())
            .await
            .expect("update");
    assert_eq!(updated.rows_affected(), 0);
    let deleted = sqlx::query("DELETE FROM stripe_accounts WHERE user_id = $1")
        .bind(w.b.id())
        .execute(tx.conn())
        .await
        .expect("delete");
    assert_eq!(deleted.rows_affected(), 0);
    tx.commit().await.expect("commit");

    // Planting a row for B from A's context is refused by WITH CHECK.
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    let planted = sqlx::query(
        "INSERT INTO stripe_accounts (user_id, mode, account_id) VALUES ($1, 'connect', 'acct_x') \
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(w.b.id())
    .execute(tx.conn())
    .await;
    assert!(planted.is_err(), "cross-tenant insert must fail");
    drop(tx);

    let b = access::status(&w.t.db, &w.b).await.expect("status");
    assert_eq!(
        b.account_id.as_deref(),
        Some(super::ACCOUNT_B),
        "B's row is intact"
    );
}

#[tokio::test]
async fn without_a_tenant_context_no_stripe_access_is_visible() {
    let w = World::new().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM stripe_accounts")
        .fetch_one(w.t.db.pool())
        .await
        .expect("count");
    assert_eq!(n, 0);
    assert_eq!(w.t.count("stripe_accounts").await, 2);
}

#[tokio::test]
async fn connecting_again_replaces_and_disconnecting_forgets() {
    let w = World::new().await;
    let acct = access::Credential::Connect(
        support_agent::stripe::AccountId::parse("acct_1Replacement").expect("account id"),
    );
    let s = access::connect(&w.t.db, w.stripe.vault(), &w.a, &acct)
        .await
        .expect("connect");
    assert_eq!((s.mode, s.key_hint.as_deref()), (Some("connect"), None));
    assert!(access::disconnect(&w.t.db, &w.a).await.expect("disconnect"));
    assert!(!access::disconnect(&w.t.db, &w.a).await.expect("again"));
    assert!(
        !access::status(&w.t.db, &w.a)
            .await
            .expect("status")
            .connected
    );
    assert!(
        access::status(&w.t.db, &w.b)
            .await
            .expect("status")
            .connected,
        "B untouched"
    );
}
