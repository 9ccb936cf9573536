//! A tenant cannot make the server probe its network: mail servers at private, loopback or
//! link-local addresses are refused unless EMAIL_ALLOW_PRIVATE_HOSTS is set.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::support::{Desk, SMTP_PASSWORD};
use crate::cli::{create_user, run_env};
use crate::common::TestDb;
use crate::stripe::MASTER_KEY;

#[tokio::test]
async fn a_private_address_smtp_host_is_refused_over_rest_without_the_setting() {
    let t = TestDb::new().await;
    let desk = Desk::start(&t, false).await;
    for url in [
        "smtp://127.0.0.1:2525",
        "smtps://localhost:465",
        "smtp://10.0.0.7:587",
        "smtp://169.254.169.254:25",
        "smtp://[::1]:25",
    ] {
        let a = desk
            .api
            .send(
                Method::PUT,
                "/channels/email",
                Some(&desk.token),
                Some(json!({"address": "support@acme.test", "smtp_url": url,
                            "username": "u", "password": SMTP_PASSWORD})),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            a.text
        );
        assert_eq!(a.body["errors"][0]["field"], "smtp_url", "{}", a.text);
        let detail = a.body["detail"].as_str().expect("detail");
        assert!(
            detail.contains("private, loopback or link-local")
                && detail.contains("EMAIL_ALLOW_PRIVATE_HOSTS=true"),
            "{detail}"
        );
        assert!(!a.text.contains(SMTP_PASSWORD));
    }
    let a = desk.api.get("/channels/email", &desk.token).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "nothing was stored");
    assert_eq!(t.count("email_channels").await, 0);
}

#[tokio::test]
async fn a_private_address_smtp_host_is_refused_by_the_cli_without_the_setting() {
    let t = TestDb::new().await;
    let user = create_user(&t, "cli@acme.test");
    let args = [
        "channels",
        "email",
        "set",
        "--user",
        &user,
        "--smtp-url",
        "smtp://127.0.0.1:2525",
        "--address",
        "support@acme.test",
        "--username",
        "desk",
        "--password-stdin",
    ];
    let stdin = format!("{SMTP_PASSWORD}\n");
    let env = [("SECRETS_KEY", MASTER_KEY)];
    let r = run_env(Some(&t), &args, Some(&stdin), &env);
    r.fails_with("resolves to 127.0.0.1, a private, loopback or link-local address");
    assert!(!r.stderr.contains(SMTP_PASSWORD));
    let allowed = [
        ("SECRETS_KEY", MASTER_KEY),
        ("EMAIL_ALLOW_PRIVATE_HOSTS", "true"),
    ];
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let r = run_env(Some(&t), &with_json, Some(&stdin), &allowed);
    let v = r.json();
    assert_eq!(v["channel"]["smtp_url"], "smtp://127.0.0.1:2525");
    assert!(!r.stdout.contains(SMTP_PASSWORD) && !r.stderr.contains(SMTP_PASSWORD));
}
