//! Stripe (issue 5, SECURITY.md S1–S4) against a loopback server that speaks Stripe's wire
//! format, built from Stripe's own fixtures, and a real PostgreSQL.
//!
//! Two tenants: A connected with its own restricted key, B through Connect (the platform key and
//! `Stripe-Account: acct_…`). Each has its own account on the loopback server, which answers
//! only to that account's credentials.

mod actions;
mod actions_desk;
mod billing;
mod cli;
pub mod data;
mod errors;
pub mod fake;
mod fixtures;
mod isolation;
mod offline;
mod retries;
mod routes;
mod secrets;
mod store;
mod tools;
mod vault;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use support_agent::audit::Transport;
use support_agent::config::Secret;
use support_agent::customers::{self, Customer, CustomerUpdate};
use support_agent::stripe::{
    AccountId, Credential, CustomerId, RetryPolicy, Stripe, StripeSettings, access,
};
use support_agent::tools::{Caller, Ctx};
use support_agent::{Db, Tenant};

use crate::common::{TestDb, new_customer, new_tenant};
use data::ChargeKind;
use fake::{Account, FakeStripe};

/// The master key the tests seal with (`KID:BASE64`).
pub const MASTER_KEY: &str = "ktest1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Another master key, for rotation.
pub const OTHER_MASTER_KEY: &str = "ktest2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
/// Tenant A's restricted key.
pub const KEY_A: &str = "rk_test_51AAliceRestrictedKey0000SecretPartA";
/// The platform's secret key, for Connect.
pub const PLATFORM_KEY: &str = "sk_test_51PPlatformKey1111SecretPartP";
/// Tenant B's Connect account.
pub const ACCOUNT_B: &str = "acct_1BobsConnectedAcct";
/// How many charges Ada (A's customer) has.
pub const ADA_CHARGES: usize = 23;

/// Retries with short waits, so that tests stay quick.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(40),
    }
}

/// Settings for a client of `base`, with the test master key and platform key.
pub fn settings(base: &str) -> StripeSettings {
    let mut s = StripeSettings::for_base(base, Secret::new(MASTER_KEY));
    s.stripe_platform_key = Some(Secret::new(PLATFORM_KEY));
    s.stripe_timeout = Duration::from_secs(2);
    s
}

pub fn account_a() -> Account {
    let mut a = Account {
        authorization: format!("Bearer {KEY_A}"),
        ..Account::default()
    };
    a.customers = vec![
        data::customer("cus_Aada", "Ada@Example.com", "Ada Lovelace"),
        data::customer("cus_Abob1", "bob@example.com", "Bob One"),
        data::customer("cus_Abob2", "bob@example.com", "Bob Two"),
        data::customer("cus_Aeve", "eve.alt@example.com", "Eve"),
    ];
    for n in 0..ADA_CHARGES as i64 {
        let kind = ChargeKind {
            refunded: n == 22,
            disputed: n == 21,
            failed: n == 20,
        };
        let (amount, currency) = if n == 19 {
            (1250, "jpy")
        } else {
            (1000 + n, "usd")
        };
        let c = data::charge(
            &format!("ch_Aada{n:03}"),
            "cus_Aada",
            n,
            amount,
            currency,
            kind,
        );
        if kind.refunded {
            a.refunds.push(data::refund("re_Aada022", &c));
        }
        if kind.disputed {
            a.disputes
                .push(data::dispute("dp_Aada021", &c, "needs_response"));
        }
        a.charges.push(c);
    }
    a.products = vec![
        data::product("prod_Acoffee", "Coffee Club"),
        data::product("prod_Atea", "Tea Box"),
    ];
    add_ada_billing(&mut a);
    a
}

/// Ada's subscriptions: an ended Tea Box, a renewing Coffee Club (its price nicknamed), a Tea
/// Box set to end at the end of its period. Her invoices: ADA_INVOICES, each paid by one of her
/// charges but the newest, which is open (unpaid).
fn add_ada_billing(a: &mut Account) {
    use data::SubKind;
    let subs = [
        ("sub_Aada000", "prod_Atea", None, "canceled", false),
        (
            "sub_Aada001",
            "prod_Acoffee",
            Some("Coffee Club Monthly"),
            "active",
            false,
        ),
        ("sub_Aada002", "prod_Atea", None, "active", true),
    ];
    for (n, (id, product, nickname, status, cancel)) in subs.into_iter().enumerate() {
        let kind = SubKind {
            nickname,
            status,
            cancel_at_period_end: cancel,
        };
        let mut s = data::subscription(
            id,
            "cus_Aada",
            n as i64,
            product,
            2000,
            ADA_PERIOD_END,
            kind,
        );
        s["latest_invoice"] = serde_json::json!(format!("in_Aada{:03}", ADA_INVOICES - 1));
        a.subscriptions.push(s);
    }
    for n in 0..ADA_INVOICES {
        let open = n == ADA_INVOICES - 1;
        let charge = format!("ch_Aada{n:03}");
        a.invoices.push(data::invoice(
            &format!("in_Aada{n:03}"),
            "cus_Aada",
            n as i64,
            &format!("ADA-{:04}", n + 1),
            2000,
            if open { "open" } else { "paid" },
            data::Billed {
                subscription: Some("sub_Aada001"),
                charge: (!open).then_some(charge.as_str()),
            },
        ));
    }
}

/// How many invoices Ada has (more than one page of 2).
pub const ADA_INVOICES: usize = 5;
/// When Ada's subscriptions' current period ends (2026-12-31T00:00:00Z).
pub const ADA_PERIOD_END: i64 = 1_798_675_200;

fn account_b() -> Account {
    let mut b = Account {
        authorization: format!("Bearer {PLATFORM_KEY}"),
        stripe_account: Some(ACCOUNT_B.into()),
        ..Account::default()
    };
    b.customers = vec![data::customer("cus_Bbea", "bea@example.com", "Bea")];
    for n in 0..3 {
        let c = data::charge(
            &format!("ch_Bbea{n:03}"),
            "cus_Bbea",
            n,
            5000,
            "eur",
            ChargeKind::default(),
        );
        b.charges.push(c);
    }
    b.products = vec![data::product("prod_Bbox", "Bea's Box")];
    b.subscriptions.push(data::subscription(
        "sub_Bbea000",
        "cus_Bbea",
        0,
        "prod_Bbox",
        5000,
        ADA_PERIOD_END,
        data::SubKind {
            status: "active",
            ..Default::default()
        },
    ));
    b.invoices.push(data::invoice(
        "in_Bbea000",
        "cus_Bbea",
        0,
        "BEA-0001",
        5000,
        "paid",
        data::Billed {
            subscription: Some("sub_Bbea000"),
            charge: Some("ch_Bbea000"),
        },
    ));
    b
}

/// Two connected tenants, each with one linked customer, and the loopback Stripe.
pub struct World {
    pub t: TestDb,
    pub fake: FakeStripe,
    pub stripe: Arc<Stripe>,
    pub a: Tenant,
    pub b: Tenant,
    /// A's customer, linked to `cus_Aada`.
    pub ada: Customer,
    /// B's customer, linked to `cus_Bbea`.
    pub bea: Customer,
}

impl World {
    pub async fn new() -> Self {
        let fake = FakeStripe::start(vec![account_a(), account_b()]);
        Self::with(fake, settings).await
    }

    /// A world whose client settings `tweak` adjusts.
    pub async fn with(fake: FakeStripe, tweak: fn(&str) -> StripeSettings) -> Self {
        let t = TestDb::new().await;
        let stripe =
            Arc::new(Stripe::with_policy(&tweak(&fake.base), fast_policy()).expect("client"));
        let a = new_tenant(&t.db, "Alice").await;
        let b = new_tenant(&t.db, "Bob").await;
        let key = Credential::RestrictedKey(Secret::new(KEY_A));
        access::connect(&t.db, stripe.vault(), &a, &key)
            .await
            .expect("connect A");
        let acct = Credential::Connect(AccountId::parse(ACCOUNT_B).expect("account id"));
        access::connect(&t.db, stripe.vault(), &b, &acct)
            .await
            .expect("connect B");
        let ada = linked(&t.db, &a, "Ada", "ada@example.com", "cus_Aada").await;
        let bea = linked(&t.db, &b, "Bea", "bea@example.com", "cus_Bbea").await;
        Self {
            t,
            fake,
            stripe,
            a,
            b,
            ada,
            bea,
        }
    }

    /// The tool context with the world's Stripe client.
    pub fn ctx(&self) -> Ctx {
        Ctx::new(self.t.db.clone()).with_stripe(self.stripe.clone())
    }
}

/// A member of `tenant`'s staff, as the MCP server makes one.
pub fn staff(tenant: Tenant) -> Caller {
    Caller::staff(tenant, Transport::Http)
}

/// A customer of `tenant` with this Stripe id.
pub async fn linked(db: &Db, tenant: &Tenant, name: &str, email: &str, stripe: &str) -> Customer {
    let c = new_customer(db, tenant, name, email).await;
    let mut tx = db.begin(tenant).await.expect("begin");
    let update = CustomerUpdate {
        stripe_customer_id: Some(CustomerId::parse(stripe).expect("a Stripe customer id")),
        ..Default::default()
    };
    let c = customers::store::update(&mut tx, c.id, &update)
        .await
        .expect("link");
    tx.commit().await.expect("commit");
    c
}

/// Every string in a JSON value, for scanning output for secrets.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(strings(v)))
            .collect(),
        _ => Vec::new(),
    }
}
