//! The README's first-tenant walkthrough, run as written: the shell block between
//! `<!-- walkthrough:begin -->` and `<!-- walkthrough:end -->`, unchanged, by bash, in a directory
//! laid out like the repository after `scripts/run.sh` (the binary at `target/debug/`, `.env`,
//! `models/`, `examples/`), against this test's own database.

use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};

use uuid::Uuid;

use crate::cli::JWT_SECRET;
use crate::common::TestDb;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The walkthrough's commands, exactly as the README shows them.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README.md");
    let (_, rest) = readme
        .split_once("<!-- walkthrough:begin -->")
        .expect("the README marks its walkthrough");
    let (block, _) = rest
        .split_once("<!-- walkthrough:end -->")
        .expect("the walkthrough ends");
    let block = block.trim();
    block
        .strip_prefix("```sh\n")
        .and_then(|b| b.strip_suffix("```"))
        .expect("one sh block between the markers")
        .to_owned()
}

/// A directory like the repository after `scripts/run.sh`, with `.env` naming this test's database.
fn repository_like(t: &TestDb) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("target/debug");
    std::fs::create_dir_all(&bin).expect("target/debug");
    symlink(
        env!("CARGO_BIN_EXE_support-agent"),
        bin.join("support-agent"),
    )
    .expect("binary");
    for d in ["models", "examples"] {
        symlink(format!("{ROOT}/{d}"), dir.path().join(d)).expect(d);
    }
    let env = format!(
        "DATABASE_URL={}\nDATABASE_OWNER_URL={}\nJWT_SECRET={JWT_SECRET}\n",
        t.app_url, t.owner_url
    );
    std::fs::write(dir.path().join(".env"), env).expect(".env");
    dir
}

#[tokio::test]
async fn the_readme_walkthrough_runs_as_written_and_ends_with_the_ticket_and_its_draft() {
    let t = TestDb::new().await;
    let dir = repository_like(&t);
    let commands = walkthrough();
    assert!(
        commands.contains("support-agent worker --once"),
        "{commands}"
    );
    // The commands as written, then what they captured, for the checks below.
    let script = format!(
        "set -euo pipefail\n{commands}\n\
         printf 'CAPTURED %s %s %s %s\\n' \"$USER_ID\" \"$CUSTOMER_ID\" \"$TICKET_ID\" \
         \"$(printf %s \"$TOKEN\" | tr -cd . | wc -c)\"\n"
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "walkthrough failed: {stderr}\n{stdout}"
    );

    let captured = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CAPTURED "))
        .expect("the captured ids");
    let parts: Vec<&str> = captured.split_whitespace().collect();
    let [user, customer, ticket, dots] = parts[..] else {
        panic!("captured: {captured}");
    };
    for id in [user, customer, ticket] {
        Uuid::parse_str(id).unwrap_or_else(|_| panic!("an id from --json: {id:?}"));
    }
    assert_eq!(dots, "2", "token issue printed a JWT");
    // users list shows the new tenant; ingest loaded the help centre; the worker drafted once.
    assert!(
        stdout.contains(user) && stdout.contains("owner@acme.test"),
        "{stdout}"
    );
    assert!(stdout.contains("6 added, 0 updated"), "{stdout}");
    assert!(
        stderr.contains("jobs done 1, retrying 0, dead 0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("triage engine: offline, retrieval-only"),
        "{stderr}"
    );
    // tickets show: the ticket (the tenant's first, so number 1), then its draft quoting the
    // duplicate-charge article.
    let shown = stdout
        .split_once(&format!("{ticket} #1 [open / "))
        .map(|(_, s)| s)
        .expect("tickets show printed the ticket");
    assert!(shown.contains("Charged twice"), "{shown}");
    let draft = shown
        .split_once("--- Ai (draft)")
        .map(|(_, d)| d)
        .expect("the ticket is shown with its draft");
    assert!(draft.contains("[Retrieval-only draft"), "{draft}");
    assert!(
        draft.contains("If you were charged twice for the same order"),
        "{draft}"
    );
    let drafts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages WHERE ticket_id = $1::uuid AND sender_type = 'ai'",
    )
    .bind(ticket)
    .fetch_one(&t.owner)
    .await
    .expect("count");
    assert_eq!(drafts, 1);
}
