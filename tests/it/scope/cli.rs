//! The command line: `settings set|show` (the tenant's link domains), and ticket views that mask
//! what a customer pasted.

use crate::cli::{create_user, run};
use crate::common::TestDb;

#[tokio::test]
async fn settings_set_and_show_the_link_domains_drafts_may_use() {
    let t = TestDb::new().await;
    let user = create_user(&t, "owner@acme.test");
    let shown = run(&t, &["settings", "show", "--user", &user, "--json"]).json();
    assert_eq!(shown["link_domains"], serde_json::json!([]));
    assert!(shown["updated_at"].is_null());

    let args = [
        "settings",
        "set",
        "--user",
        &user,
        "--link-domains",
        "Acme.com, help.bolt.io",
        "--json",
    ];
    let set = run(&t, &args).json();
    assert_eq!(
        set["link_domains"],
        serde_json::json!(["acme.com", "help.bolt.io"])
    );
    assert_eq!(set["user_id"], user.as_str());
    let shown = run(&t, &["settings", "show", "--user", &user]);
    assert!(
        shown.ok && shown.stdout.contains("acme.com, help.bolt.io"),
        "{}",
        shown.stdout
    );

    run(
        &t,
        &[
            "settings",
            "set",
            "--user",
            &user,
            "--link-domains",
            "https://evil.example/x",
        ],
    )
    .fails_with("give its host name");
    run(&t, &["settings", "set", "--user", &user]).fails_with("give --link-domains");
    let cleared = run(
        &t,
        &[
            "settings",
            "set",
            "--user",
            &user,
            "--link-domains",
            "",
            "--json",
        ],
    )
    .json();
    assert_eq!(cleared["link_domains"], serde_json::json!([]));
}

#[tokio::test]
async fn tickets_show_and_list_mask_a_key_or_card_a_customer_pasted() {
    let t = TestDb::new().await;
    let user = create_user(&t, "owner@acme.test");
    let u = ["--user", user.as_str()];
    let customer = run(
        &t,
        &[
            &["customers", "create"][..],
            &u,
            &["--name", "Bo", "--email", "bo@x.com", "--json"],
        ]
        .concat(),
    )
    .json();
    let id = customer["id"].as_str().expect("id");
    let key = format!("sk_{}_{}", "live", "4eC39HqLyjWDarjtT1zdp7dc");
    let subject = format!("my key {key}.");
    let ticket = run(
        &t,
        &[
            &["tickets", "create"][..],
            &u,
            &["--customer", id, "--subject", &subject, "--json"],
        ]
        .concat(),
    )
    .json();
    let ticket = ticket["id"].as_str().expect("id");
    let card = "card: 4242-4242-4242-4242.";
    run(
        &t,
        &[
            &["messages", "add"][..],
            &u,
            &[
                "--ticket",
                ticket,
                "--sender",
                "customer",
                "--content",
                card,
                "--json",
            ],
        ]
        .concat(),
    )
    .json();
    for args in [
        [&["tickets", "show"][..], &u, &["--ticket", ticket]].concat(),
        [
            &["tickets", "show"][..],
            &u,
            &["--ticket", ticket, "--json"],
        ]
        .concat(),
        [&["tickets", "list"][..], &u].concat(),
        [&["tickets", "list"][..], &u, &["--json"]].concat(),
    ] {
        let out = run(&t, &args);
        assert!(out.ok, "{}", out.stderr);
        assert!(
            !out.stdout.contains(&key) && !out.stdout.contains("4242-4242"),
            "{:?}: {}",
            args,
            out.stdout
        );
        assert!(
            out.stdout.contains("[redacted]"),
            "{:?}: {}",
            args,
            out.stdout
        );
    }
}
