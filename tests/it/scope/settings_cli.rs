//! `support-agent settings set|show`: the tenant's link domains, with `--json`.

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
