//! Keys at rest: AES-256-GCM round trip, a wrong or missing master key, rotation, and a
//! ciphertext bound to its tenant.

use support_agent::Tenant;
use support_agent::config::Secret;
use support_agent::stripe::{AccessError, Credential, Vault, VaultError, access};
use uuid::Uuid;

use super::{KEY_A, MASTER_KEY, OTHER_MASTER_KEY};
use crate::common::{TestDb, new_tenant};

fn vault(current: &str, previous: Option<&str>) -> Vault {
    Vault::new(
        Some(&Secret::new(current)),
        previous.map(Secret::new).as_ref(),
    )
    .expect("vault")
}

fn tenant() -> Tenant {
    Tenant::from_trusted_operator_input(Uuid::now_v7())
}

#[test]
fn a_sealed_key_opens_to_itself_and_its_ciphertext_does_not_show_it() {
    let v = vault(MASTER_KEY, None);
    let t = tenant();
    let key = Secret::new(KEY_A);
    let one = v.seal(&t, &key).expect("seal");
    let two = v.seal(&t, &key).expect("seal");
    assert_eq!(one.key_id, "ktest1");
    assert_ne!(one.nonce, two.nonce, "a fresh nonce every time");
    assert_ne!(one.ciphertext, two.ciphertext);
    let shown = String::from_utf8_lossy(&one.ciphertext);
    assert!(!shown.contains("Alice") && !shown.contains("rk_test"));
    assert_eq!(v.open(&t, &one).expect("open").expose(), KEY_A);
    assert!(
        !format!("{one:?} {v:?}").contains("AAECAwQF"),
        "Debug shows no key"
    );
}

#[test]
fn a_wrong_master_key_gives_a_clear_error() {
    let t = tenant();
    let sealed = vault(MASTER_KEY, None)
        .seal(&t, &Secret::new(KEY_A))
        .expect("seal");
    // Same key id, other key bytes: someone replaced SECRETS_KEY.
    let impostor = OTHER_MASTER_KEY.replace("ktest2", "ktest1");
    let err = vault(&impostor, None)
        .open(&t, &sealed)
        .expect_err("must not open");
    assert!(
        matches!(err, VaultError::WrongKey(ref id) if id == "ktest1"),
        "{err:?}"
    );
    let wrong = err.to_string();
    assert!(
        wrong.contains("does not decrypt with master key `ktest1`"),
        "{wrong}"
    );
    // A key id no configured key has.
    let err = vault(OTHER_MASTER_KEY, None)
        .open(&t, &sealed)
        .expect_err("unknown id");
    let msg = err.to_string();
    assert!(
        msg.contains("`ktest1`") && msg.contains("SECRETS_KEY_PREVIOUS"),
        "{msg}"
    );
    for m in [&wrong, &msg] {
        assert!(!m.contains("AAECAwQF") && !m.contains("ICEiIyQl") && !m.contains(KEY_A));
    }
}

#[test]
fn a_ciphertext_moved_to_another_tenant_does_not_open() {
    let v = vault(MASTER_KEY, None);
    let sealed = v.seal(&tenant(), &Secret::new(KEY_A)).expect("seal");
    assert!(matches!(
        v.open(&tenant(), &sealed),
        Err(VaultError::WrongKey(_))
    ));
}

#[test]
fn master_keys_are_checked_when_read() {
    assert!(matches!(
        Vault::new(None, None),
        Err(VaultError::Missing("SECRETS_KEY"))
    ));
    for bad in [
        "k:not-base64!",
        "k:AAEC",
        "bad id:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    ] {
        let err = Vault::new(Some(&Secret::new(bad)), None).expect_err(bad);
        assert!(
            err.to_string().starts_with("SECRETS_KEY is invalid"),
            "{err}"
        );
    }
    let bare = Vault::new(
        Some(&Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")),
        None,
    )
    .expect("a bare key gets a derived id");
    assert!(bare.current_key_id().starts_with('k') && bare.current_key_id().len() == 9);
}

#[tokio::test]
async fn after_a_rotation_old_keys_still_open_and_rekeying_moves_them_to_the_new_key() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Alice").await;
    let old = vault(MASTER_KEY, None);
    let key = Credential::RestrictedKey(Secret::new(KEY_A));
    access::connect(&t.db, &old, &a, &key)
        .await
        .expect("connect");

    let rotated = vault(OTHER_MASTER_KEY, Some(MASTER_KEY));
    assert_eq!(access::load(&t.db, &rotated, &a).await.expect("load"), key);
    assert!(access::reseal(&t.db, &rotated, &a).await.expect("reseal"));
    assert!(
        !access::reseal(&t.db, &rotated, &a)
            .await
            .expect("nothing left")
    );
    assert_eq!(
        access::status(&t.db, &a)
            .await
            .expect("status")
            .key_id
            .as_deref(),
        Some("ktest2")
    );

    let only_new = vault(OTHER_MASTER_KEY, None);
    assert_eq!(access::load(&t.db, &only_new, &a).await.expect("load"), key);
    let only_old = vault(MASTER_KEY, None);
    let err = access::load(&t.db, &only_old, &a)
        .await
        .expect_err("old key alone");
    assert!(
        matches!(err, AccessError::Vault(VaultError::UnknownKeyId(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_database_holds_ciphertext_only() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Alice").await;
    let key = Credential::RestrictedKey(Secret::new(KEY_A));
    let status = access::connect(&t.db, &vault(MASTER_KEY, None), &a, &key)
        .await
        .expect("connect");
    assert_eq!(
        status.key_hint.as_deref(),
        Some("rk_test_…artA"),
        "mode and last characters"
    );
    let row: (String, Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT key_hint || key_id, nonce, ciphertext FROM stripe_accounts")
            .fetch_one(&t.owner)
            .await
            .expect("row");
    let dump = format!("{} {:?} {}", row.0, row.1, String::from_utf8_lossy(&row.2));
    assert!(
        !dump.contains("AliceRestrictedKey") && !dump.contains(KEY_A),
        "{dump}"
    );
    assert_eq!(row.1.len(), 12);
    assert_eq!(row.2.len(), KEY_A.len() + 16, "ciphertext and tag");
}
