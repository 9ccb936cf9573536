//! `scripts/setup.sh` with a `DATABASE_URL` of its own: the path that makes the database, the
//! roles and the `vector` extension on an existing server through `DATABASE_ADMIN_URL`, and
//! writes the env file (`SETUP_ENV_FILE`). Each case uses a throwaway database `sa_test_setup_…`
//! (dropped at the end, and by `scripts/drop-test-databases.sh` if a run died), the roles the
//! suite already uses, and never the repository's `.env`.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::common::{env_url, with_database};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/setup.sh");

/// A superuser on the server the suite uses: `DATABASE_ADMIN_URL` when set, else the local
/// `postgres` account on `DATABASE_URL`'s host and port (trust authentication).
fn admin_url() -> String {
    if let Ok(url) = std::env::var("DATABASE_ADMIN_URL") {
        return url;
    }
    let opts = PgConnectOptions::from_str(&env_url("DATABASE_URL")).expect("DATABASE_URL");
    format!(
        "postgres://postgres@{}:{}/postgres",
        opts.get_host(),
        opts.get_port()
    )
}

fn service_role() -> String {
    PgConnectOptions::from_str(&env_url("DATABASE_URL"))
        .expect("DATABASE_URL")
        .get_username()
        .to_owned()
}

/// A database name no one uses yet; dropped when this goes out of scope, failed test or not.
struct Throwaway {
    name: String,
}

impl Throwaway {
    fn new() -> Self {
        Self {
            name: format!("sa_test_setup_{}", Uuid::new_v4().simple()),
        }
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(admin_url())
            .args(["-XAtq", "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs the script with only `env` (and what finding the tools needs) in its environment.
fn setup(env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(SCRIPT)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for key in [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
    ] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run scripts/setup.sh")
}

fn read_env_file(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .expect("the env file is written")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

async fn admin_on(db: &str) -> PgConnection {
    PgConnection::connect(&with_database(&admin_url(), db))
        .await
        .expect("connect as the superuser")
}

async fn database_exists(name: &str) -> bool {
    let mut admin = admin_on("postgres").await;
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .expect("query pg_database")
}

/// Exit non-zero, exactly one `setup: error:` line, and that line contains every one of `needles`.
fn fails_with(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected a failure: {stderr}");
    let errors: Vec<_> = stderr
        .lines()
        .filter(|l| l.starts_with("setup: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    for needle in needles {
        assert!(
            errors[0].contains(needle),
            "{needle:?} in the error line: {stderr}"
        );
    }
}

#[tokio::test]
async fn setup_script_prepares_a_new_database_for_an_existing_database_url() {
    let db = Throwaway::new();
    let app_url = with_database(&env_url("DATABASE_URL"), &db.name);
    let owner_url = with_database(&env_url("DATABASE_OWNER_URL"), &db.name);
    let admin = admin_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env");
    let env_file_str = env_file.to_str().expect("utf-8 path");
    assert!(!database_exists(&db.name).await);

    let run = || {
        setup(&[
            ("DATABASE_URL", &app_url),
            ("DATABASE_OWNER_URL", &owner_url),
            ("DATABASE_ADMIN_URL", &admin),
            ("SETUP_ENV_FILE", env_file_str),
        ])
    };
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "setup.sh failed: {stderr}");
    assert!(
        stderr.contains(&format!("creating database {}", db.name)),
        "{stderr}"
    );

    let written = read_env_file(&env_file);
    assert_eq!(written.get("DATABASE_URL"), Some(&app_url));
    assert_eq!(written.get("DATABASE_OWNER_URL"), Some(&owner_url));
    for key in ["JWT_SECRET", "AUDIT_KEY", "SECRETS_KEY", "DEMO_PASSWORD"] {
        assert!(
            written.get(key).is_some_and(|v| !v.is_empty()),
            "{key} written"
        );
    }
    let mode = std::fs::metadata(&env_file)
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the env file is private");

    // The new database is ready for the binary with nothing but the env file.
    let cwd = tempfile::tempdir().expect("tempdir");
    let migrate = Command::new(env!("CARGO_BIN_EXE_support-agent"))
        .arg("migrate")
        .current_dir(cwd.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&written)
        .stdin(Stdio::null())
        .output()
        .expect("run support-agent migrate");
    assert!(
        migrate.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );

    let mut conn = admin_on(&db.name).await;
    let vector: Option<String> =
        sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            .fetch_optional(&mut conn)
            .await
            .expect("query pg_extension");
    assert!(vector.is_some(), "the vector extension is created");
    let (temp, dba, migrated): (bool, String, i64) = sqlx::query_as(
        "SELECT has_database_privilege($1, current_database(), 'TEMP'),
                (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()),
                (SELECT count(*) FROM _sqlx_migrations WHERE success)",
    )
    .bind(service_role())
    .fetch_one(&mut conn)
    .await
    .expect("query privileges");
    assert!(!temp, "TEMP is revoked from the service role");
    let owner_role = PgConnectOptions::from_str(&owner_url)
        .expect("owner URL")
        .get_username()
        .to_owned();
    assert_eq!(dba, owner_role, "the owner role owns the new database");
    assert!(migrated > 0, "the migrations ran on the new database");
    let _ = conn.close().await;

    // Again: nothing left to do, and the secrets already written are kept.
    let again = run();
    assert!(
        again.status.success(),
        "second run failed: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    let rewritten = read_env_file(&env_file);
    assert_eq!(rewritten.get("JWT_SECRET"), written.get("JWT_SECRET"));
    assert_eq!(rewritten.get("SECRETS_KEY"), written.get("SECRETS_KEY"));
    assert_eq!(
        rewritten.get("DEMO_PASSWORD"),
        written.get("DEMO_PASSWORD"),
        "the demo desk's login is kept"
    );
}

#[tokio::test]
async fn setup_script_refuses_a_database_url_that_is_not_the_service_role() {
    let db = Throwaway::new();
    // The owner's credentials where the service role's belong.
    let owner_url = with_database(&env_url("DATABASE_OWNER_URL"), &db.name);
    let owner_role = PgConnectOptions::from_str(&owner_url)
        .expect("owner URL")
        .get_username()
        .to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env");
    let out = setup(&[
        ("DATABASE_URL", &owner_url),
        ("DATABASE_ADMIN_URL", &admin_url()),
        ("SETUP_ENV_FILE", env_file.to_str().expect("utf-8 path")),
    ]);
    fails_with(
        &out,
        &[
            "DATABASE_URL",
            &format!("connects as {owner_role}"),
            "service role",
        ],
    );
    assert!(!env_file.exists(), "no env file on failure");
    assert!(!database_exists(&db.name).await, "no database made");
}

#[tokio::test]
async fn setup_script_refuses_an_admin_url_for_another_server() {
    let db = Throwaway::new();
    let port = dead_port();
    let on_dead_port = |url: &str| {
        let (creds, _) = url.rsplit_once('@').expect("URL with credentials");
        format!("{creds}@127.0.0.1:{port}/{}", db.name)
    };
    let app_url = on_dead_port(&env_url("DATABASE_URL"));
    let owner_url = on_dead_port(&env_url("DATABASE_OWNER_URL"));
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env");
    let out = setup(&[
        ("DATABASE_URL", &app_url),
        ("DATABASE_OWNER_URL", &owner_url),
        // A superuser on the suite's server, which is not the one DATABASE_URL names.
        ("DATABASE_ADMIN_URL", &admin_url()),
        ("SETUP_ENV_FILE", env_file.to_str().expect("utf-8 path")),
    ]);
    fails_with(
        &out,
        &["DATABASE_ADMIN_URL", "DATABASE_URL", &format!(":{port}")],
    );
    assert!(!env_file.exists(), "no env file on failure");
    assert!(
        !database_exists(&db.name).await,
        "no database made on the admin URL's server"
    );
}

#[tokio::test]
async fn setup_script_refuses_an_owner_url_for_another_database() {
    let db = Throwaway::new();
    let app_url = with_database(&env_url("DATABASE_URL"), &db.name);
    // The suite's own owner URL, which names the existing database, not the new one.
    let owner_url = env_url("DATABASE_OWNER_URL");
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env");
    let out = setup(&[
        ("DATABASE_URL", &app_url),
        ("DATABASE_OWNER_URL", &owner_url),
        ("DATABASE_ADMIN_URL", &admin_url()),
        ("SETUP_ENV_FILE", env_file.to_str().expect("utf-8 path")),
    ]);
    fails_with(&out, &["DATABASE_OWNER_URL", "same database", &db.name]);
    assert!(!env_file.exists(), "no env file on failure");
    assert!(!database_exists(&db.name).await, "no database made");
}

#[tokio::test]
async fn setup_script_never_sets_up_another_port_than_the_one_database_url_names() {
    let db = Throwaway::new();
    let port = dead_port();
    let (creds, _) = env_url("DATABASE_URL")
        .rsplit_once('@')
        .map(|(c, rest)| (c.to_owned(), rest.to_owned()))
        .expect("URL with credentials");
    let app_url = format!("{creds}@127.0.0.1:{port}/{}", db.name);
    let passwords = || async {
        let mut admin = admin_on("postgres").await;
        sqlx::query_as::<_, (String, Option<String>)>(
            "SELECT rolname::text, rolpassword FROM pg_authid WHERE rolname LIKE 'support_agent%' ORDER BY 1",
        )
        .fetch_all(&mut admin)
        .await
        .expect("read pg_authid")
    };
    let before = passwords().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env");
    // No owner URL and no admin URL: nothing answers on the port it names, and this machine's
    // cluster listens on another one.
    let out = setup(&[
        ("DATABASE_URL", &app_url),
        ("SETUP_ENV_FILE", env_file.to_str().expect("utf-8 path")),
    ]);
    fails_with(&out, &["DATABASE_URL", &format!("port {port}")]);
    assert_eq!(passwords().await, before, "no role's password changed");
    assert!(!database_exists(&db.name).await, "no database made");
}

/// A port on this machine where nothing answers.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
