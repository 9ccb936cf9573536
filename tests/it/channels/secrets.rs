//! Email credentials are sealed like Stripe keys, never shown, rotated by `secrets rekey` (and
//! `stripe rekey`), and `channels email test` says in one line which server failed and why.

use super::support::{SMTP_PASSWORD, SMTP_USER, SmtpSink, free_port};
use crate::cli::{create_user, run_env};
use crate::common::TestDb;
use crate::stripe::{MASTER_KEY, OTHER_MASTER_KEY};

fn set_args<'a>(user: &'a str, url: &'a str) -> Vec<&'a str> {
    vec![
        "channels",
        "email",
        "set",
        "--user",
        user,
        "--smtp-url",
        url,
        "--address",
        "support@acme.test",
        "--username",
        SMTP_USER,
        "--password-stdin",
    ]
}

#[tokio::test]
async fn the_password_is_sealed_never_shown_and_rotated_by_secrets_rekey() {
    let t = TestDb::new().await;
    let sink = SmtpSink::start().await;
    let user = create_user(&t, "rekey@acme.test");
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let stdin = format!("{SMTP_PASSWORD}\n");
    let old = [
        ("SECRETS_KEY", MASTER_KEY),
        ("EMAIL_ALLOW_PRIVATE_HOSTS", "true"),
    ];
    let r = run_env(Some(&t), &set_args(&user, &url), Some(&stdin), &old);
    assert!(r.ok, "{}", r.stderr);
    let stored: (String, Vec<u8>) =
        sqlx::query_as("SELECT master_key_id, ciphertext FROM email_channels")
            .fetch_one(&t.owner)
            .await
            .expect("row");
    assert_eq!(stored.0, "ktest1");
    assert!(!String::from_utf8_lossy(&stored.1).contains(SMTP_PASSWORD));
    let status = run_env(
        Some(&t),
        &["channels", "email", "status", "--user", &user, "--json"],
        None,
        &old,
    );
    assert!(status.json()["channel"]["username"] == SMTP_USER);
    assert!(!status.stdout.contains(SMTP_PASSWORD));
    let rotated = [
        ("SECRETS_KEY", OTHER_MASTER_KEY),
        ("SECRETS_KEY_PREVIOUS", MASTER_KEY),
        ("EMAIL_ALLOW_PRIVATE_HOSTS", "true"),
    ];
    let v = run_env(Some(&t), &["secrets", "rekey", "--json"], None, &rotated).json();
    assert_eq!(
        (v["email_passwords"].as_u64(), v["resealed"].as_u64()),
        (Some(1), Some(1))
    );
    let v = run_env(Some(&t), &["stripe", "rekey", "--json"], None, &rotated).json();
    assert_eq!(v["resealed"], 0, "the alias finds nothing left");
    // Only the new key now: the test logs in with the re-sealed password.
    let new_only = [
        ("SECRETS_KEY", OTHER_MASTER_KEY),
        ("EMAIL_ALLOW_PRIVATE_HOSTS", "true"),
    ];
    let r = run_env(
        Some(&t),
        &["channels", "email", "test", "--user", &user],
        None,
        &new_only,
    );
    assert!(r.ok, "{} {}", r.stdout, r.stderr);
    assert_eq!(r.stdout.trim(), "SMTP login succeeded (no IMAP server set)");
    assert!(!r.stdout.contains(SMTP_PASSWORD) && !r.stderr.contains(SMTP_PASSWORD));
}

#[tokio::test]
async fn channels_email_test_says_in_one_line_which_server_failed_and_why() {
    let t = TestDb::new().await;
    let user = create_user(&t, "test@acme.test");
    let url = format!("smtp://127.0.0.1:{}", free_port());
    let imap = format!("imap://127.0.0.1:{}", free_port());
    let mut args = set_args(&user, &url);
    args.extend(["--imap-url", &imap]);
    let env = [
        ("SECRETS_KEY", MASTER_KEY),
        ("EMAIL_ALLOW_PRIVATE_HOSTS", "true"),
    ];
    let r = run_env(Some(&t), &args, Some("wrong\n"), &env);
    assert!(r.ok, "{}", r.stderr);
    let r = run_env(
        Some(&t),
        &["channels", "email", "test", "--user", &user],
        None,
        &env,
    );
    r.fails_with("SMTP failed: ");
    let line = r.stderr.lines().next().unwrap_or("");
    assert!(line.contains("IMAP failed: cannot connect"), "{line}");
    // A wrong password at a live server: the server's refusal, not the password.
    let sink = SmtpSink::start().await;
    let live = format!("smtp://127.0.0.1:{}", sink.port);
    let r = run_env(
        Some(&t),
        &set_args(&user, &live),
        Some("wrong-password\n"),
        &env,
    );
    assert!(r.ok);
    let r = run_env(
        Some(&t),
        &["channels", "email", "test", "--user", &user],
        None,
        &env,
    );
    r.fails_with("SMTP failed: ");
    assert!(!r.stderr.contains("wrong-password"));
}
