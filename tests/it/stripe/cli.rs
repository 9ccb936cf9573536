//! `support-agent stripe connect | status | disconnect | link` as a subprocess, against the test's
//! database and the loopback Stripe.

use serde_json::Value;

use super::fake::FakeStripe;
use super::{KEY_A, MASTER_KEY, OTHER_MASTER_KEY, account_a, linked};
use crate::cli::{Run, run_env};
use crate::common::{TestDb, new_customer, new_tenant};

/// Runs `support-agent args…` in an empty directory with the test's database, master key and
/// Stripe base URL, and `stdin` on standard input.
fn run(t: &TestDb, base: Option<&str>, args: &[&str], stdin: Option<&str>) -> Run {
    run_with(t, base, args, stdin, &[])
}

/// [`run`] with extra environment variables.
fn run_with(
    t: &TestDb,
    base: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Run {
    let mut vars = vec![("SECRETS_KEY", MASTER_KEY), ("STRIPE_MAX_ATTEMPTS", "1")];
    if let Some(base) = base {
        vars.push(("STRIPE_API_BASE", base));
    }
    vars.extend_from_slice(env);
    run_env(Some(t), args, stdin, &vars)
}

#[tokio::test]
async fn connect_status_and_disconnect_never_show_the_key() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Alice").await.id().to_string();
    let key = format!("{KEY_A}\n");
    let r = run(
        &t,
        None,
        &[
            "stripe",
            "connect",
            "--user",
            &a,
            "--restricted-key-stdin",
            "--json",
        ],
        Some(&key),
    );
    let v = r.json();
    assert_eq!(
        (v["connected"].as_bool(), v["mode"].as_str()),
        (Some(true), Some("restricted_key"))
    );
    assert_eq!(v["key_hint"], "rk_test_…artA");
    assert_eq!(v["key_id"], "ktest1");
    let status = run(
        &t,
        None,
        &["stripe", "status", "--user", &a, "--json"],
        None,
    )
    .json();
    assert_eq!(status["user_id"], Value::String(a.clone()));
    assert_eq!(status["mode"], "restricted_key");
    let human = run(&t, None, &["stripe", "status", "--user", &a], None);
    assert!(
        human.ok && human.stdout.contains("restricted key rk_test_…artA"),
        "{}",
        human.stdout
    );
    for out in [&r, &human] {
        assert!(!out.stdout.contains("SecretPart") && !out.stderr.contains("SecretPart"));
    }
    let r = run(
        &t,
        None,
        &[
            "stripe",
            "connect",
            "--user",
            &a,
            "--account",
            "acct_1Other",
            "--json",
        ],
        None,
    );
    assert_eq!(r.json()["account_id"], "acct_1Other");
    assert!(
        r.stderr.contains("STRIPE_PLATFORM_KEY"),
        "warns: {}",
        r.stderr
    );
    let r = run(&t, None, &["stripe", "disconnect", "--user", &a], None);
    assert!(r.ok && r.stderr.contains("removed"), "{}", r.stderr);
    let v = run(
        &t,
        None,
        &["stripe", "status", "--user", &a, "--json"],
        None,
    )
    .json();
    assert_eq!(v["connected"], false);
}

#[tokio::test]
async fn bad_connect_input_is_refused_with_one_clear_line() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Alice").await.id().to_string();
    let secret_key = "sk_live_51SomeSecretKeyThatMovesMoney\n";
    let connect = |extra: &[&str], stdin: Option<&str>| {
        let mut args = vec!["stripe", "connect", "--user", a.as_str()];
        args.extend_from_slice(extra);
        run(&t, None, &args, stdin)
    };
    let r = connect(&["--restricted-key-stdin"], Some(secret_key));
    r.fails_with("that is a secret key (sk_…), which can move money");
    assert!(!r.stderr.contains("SomeSecretKey"), "{}", r.stderr);
    connect(&["--restricted-key-stdin"], Some("pk_test_123\n")).fails_with("rk_live_ or rk_test_");
    connect(&["--account", "cus_123"], None).fails_with("Connect account id like acct_");
    assert!(!connect(&[], None).ok, "one of the two is required");
    assert!(
        !connect(
            &["--account", "acct_1", "--restricted-key-stdin"],
            Some("x\n")
        )
        .ok
    );
    let r = run(
        &t,
        None,
        &["stripe", "status", "--user", "not-a-uuid"],
        None,
    );
    assert!(!r.ok && r.stderr.contains("is not a UUID"));
    let nobody = uuid::Uuid::now_v7().to_string();
    run(&t, None, &["stripe", "status", "--user", &nobody], None).fails_with("no user");
    assert_eq!(
        t.count("stripe_accounts").await,
        0,
        "a refused command writes nothing"
    );
}

#[tokio::test]
async fn link_records_single_matches_and_reports_ambiguous_ones_and_conflicts() {
    let t = TestDb::new().await;
    let fake = FakeStripe::start(vec![account_a()]);
    let tenant = new_tenant(&t.db, "Alice").await;
    let a = tenant.id().to_string();
    let key = format!("{KEY_A}\n");
    run(
        &t,
        None,
        &["stripe", "connect", "--user", &a, "--restricted-key-stdin"],
        Some(&key),
    );
    let ada = new_customer(&t.db, &tenant, "Ada", "ada@example.com").await;
    let bob = new_customer(&t.db, &tenant, "Bob", "bob@example.com").await;
    new_customer(&t.db, &tenant, "Carl", "carl@example.com").await;
    linked(&t.db, &tenant, "Eve", "eve@example.com", "cus_Aeve").await;
    let eve_alt = new_customer(&t.db, &tenant, "Eve Alt", "eve.alt@example.com").await;

    let v = run(
        &t,
        Some(&fake.base),
        &["stripe", "link", "--user", &a, "--json"],
        None,
    )
    .json();
    assert_eq!(v["linked"][0]["customer_id"], ada.id.to_string(), "{v}");
    assert_eq!(
        v["linked"][0]["stripe_customer_id"], "cus_Aada",
        "matched despite Ada@Example.com"
    );
    assert_eq!(v["linked"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["ambiguous"][0]["customer_id"], bob.id.to_string());
    assert_eq!(
        v["ambiguous"][0]["candidates"],
        serde_json::json!(["cus_Abob1", "cus_Abob2"])
    );
    assert_eq!(v["conflicts"][0]["customer_id"], eve_alt.id.to_string());
    assert_eq!(
        (v["not_found"].as_u64(), v["already_linked"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(v["stripe_customers_scanned"], 4);

    let mut tx = t.db.begin(&tenant).await.expect("begin");
    let bob_now = support_agent::customers::store::get(&mut tx, bob.id)
        .await
        .expect("bob");
    assert_eq!(
        bob_now.stripe_customer_id, None,
        "an ambiguous match is not guessed"
    );
    drop(tx);
    for s in fake.seen() {
        assert_eq!(s.authorization, Some(format!("Bearer {KEY_A}")));
    }
    let again = run(
        &t,
        Some(&fake.base),
        &["stripe", "link", "--user", &a],
        None,
    );
    assert!(
        again.ok && again.stdout.contains("linked 0, already linked 2"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("ambiguous  "), "{}", again.stdout);
}

#[tokio::test]
async fn rekey_moves_every_stored_key_to_the_current_master_key() {
    let t = TestDb::new().await;
    let key = format!("{KEY_A}\n");
    for name in ["Alice", "Alison"] {
        let user = new_tenant(&t.db, name).await.id().to_string();
        let args = [
            "stripe",
            "connect",
            "--user",
            &user,
            "--restricted-key-stdin",
        ];
        assert!(run(&t, None, &args, Some(&key)).ok);
    }
    let rotated = [
        ("SECRETS_KEY", OTHER_MASTER_KEY),
        ("SECRETS_KEY_PREVIOUS", MASTER_KEY),
    ];
    let v = run_with(&t, None, &["stripe", "rekey", "--json"], None, &rotated).json();
    assert_eq!(
        (v["resealed"].as_u64(), v["key_id"].as_str()),
        (Some(2), Some("ktest2"))
    );
    let v = run_with(&t, None, &["stripe", "rekey", "--json"], None, &rotated).json();
    assert_eq!(v["resealed"], 0, "nothing left under the old key");
    let ids: Vec<String> = sqlx::query_scalar("SELECT key_id FROM stripe_accounts")
        .fetch_all(&t.owner)
        .await
        .expect("key ids");
    assert_eq!(ids, ["ktest2", "ktest2"]);
    let without_old = [("SECRETS_KEY", MASTER_KEY)];
    let r = run_with(&t, None, &["stripe", "rekey"], None, &without_old);
    r.fails_with("`ktest2`, which neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS holds");
}

#[tokio::test]
async fn webhook_secret_set_answers_the_endpoint_url_and_status_shows_the_webhooks() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Alice").await.id().to_string();
    let public = [("MCP_PUBLIC_URL", "https://support.example.com/")];
    let key = format!("{KEY_A}\n");
    run(
        &t,
        None,
        &["stripe", "connect", "--user", &a, "--restricted-key-stdin"],
        Some(&key),
    );
    let before = run_with(
        &t,
        None,
        &["stripe", "status", "--user", &a, "--json"],
        None,
        &public,
    )
    .json();
    assert_eq!(before["webhooks"]["configured"], false);
    assert_eq!(before["webhooks"]["last_event_at"], Value::Null);
    let to_create = before["webhooks"]["endpoint_url"]
        .as_str()
        .expect("the URL to create the endpoint with")
        .to_owned();
    let secret = "whsec_cliSecret0123456789abcdefXYZ";
    let set = run_with(
        &t,
        None,
        &[
            "stripe",
            "webhook-secret",
            "set",
            "--user",
            &a,
            "--secret-stdin",
            "--json",
        ],
        Some(&format!("{secret}\n")),
        &public,
    );
    let v = set.json();
    let url = v["endpoint_url"].as_str().expect("endpoint_url").to_owned();
    let prefix = format!(
        "https://support.example.com/webhooks/stripe/we_{}_",
        uuid::Uuid::parse_str(&a).expect("uuid").simple()
    );
    assert!(url.starts_with(&prefix), "{url}");
    assert_eq!(
        url, to_create,
        "the URL status showed before is the endpoint's"
    );
    assert!(!set.stdout.contains(secret) && !set.stderr.contains(secret));
    let after = run_with(
        &t,
        None,
        &["stripe", "status", "--user", &a, "--json"],
        None,
        &public,
    )
    .json();
    assert_eq!(after["webhooks"]["configured"], true);
    assert_eq!(after["webhooks"]["endpoint_url"], url.as_str());
    assert!(!after.to_string().contains(secret));
    let human = run(&t, None, &["stripe", "status", "--user", &a], None);
    assert!(
        human.stdout.contains("webhooks: events go to"),
        "{}",
        human.stdout
    );
    // Something that is not a signing secret is refused, and writes nothing.
    run(
        &t,
        None,
        &[
            "stripe",
            "webhook-secret",
            "set",
            "--user",
            &a,
            "--secret-stdin",
        ],
        Some("sk_live_notawebhooksecret\n"),
    )
    .fails_with("whsec_");
}
