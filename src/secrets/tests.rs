use proptest::prelude::*;

use super::*;

fn stripe_key() -> String {
    format!("sk_{}_{}", "live", "4eC39HqLyjWDarjtT1zdp7dc")
}

#[test]
fn stripe_keys_and_tokens_are_found_and_masked() {
    let key = stripe_key();
    let text = format!("my key is {key}, thanks");
    assert_eq!(find(&text), Some("a Stripe API key"));
    assert_eq!(redact(&text), "my key is [redacted], thanks");
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    assert_eq!(find(jwt), Some("a JSON Web Token"));
    assert!(find("whsec_abcdefgh1234").is_some());
}

#[test]
fn punctuation_around_a_secret_does_not_hide_it() {
    let key = stripe_key();
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    for (text, masked) in [
        (format!("use {key}."), "use [redacted]."),
        (format!("(rk_test_{})", "51Habcdefghij"), "([redacted])"),
        (format!("token: {jwt}. Bye"), "token: [redacted]. Bye"),
        (format!("\"{key}\""), "\"[redacted]\""),
        (format!("x_{key}_y"), "x_[redacted]_y"),
    ] {
        assert_eq!(redact(&text), masked, "{text}");
    }
}

#[test]
fn other_keys_urls_pem_blocks_and_cards_are_found() {
    let openai = format!("sk-proj-{}", "Abc123_def456-GHI789jkl012");
    let cases = [
        (format!("key={openai};"), "an API key"),
        (format!("sk-{}", "a".repeat(48)), "an API key"),
        (
            "DATABASE_URL=postgres://app:s3cret@db.internal:5432/prod.".to_owned(),
            "a database URL with a password",
        ),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----".to_owned(),
            "a private key",
        ),
        ("card 4242 4242 4242 4242.".to_owned(), "a card number"),
        ("amex 3782-822463-10005".to_owned(), "a card number"),
        ("(4000056655665556)".to_owned(), "a card number"),
        (
            "card-8123424242424247, exp 12/26".to_owned(),
            "a card number",
        ),
    ];
    for (text, kind) in cases {
        assert_eq!(find(&text), Some(kind), "{text}");
        assert!(redact(&text).contains(MASK), "{text}");
    }
    assert_eq!(redact("see postgres://app:s3cret@db/x."), "see [redacted].");
}

#[test]
fn ordinary_text_is_left_alone() {
    for text in [
        "ask_me anything",
        "sk_test_x",
        "version 1.2.3",
        "risk_level high",
        "task-force meeting",
        "postgres://db.internal/prod without a password",
        "https://user@example.com/",
        "order 4242 4242 4242 4241 (fails Luhn)",
        "call +1 555 010 9999",
        "ch_3MmlLrLkdIwHu7ix0snN0B15 and 2023-11-15T20:13:20Z",
        "0190f1f4-8e3a-7c1e-9d2b-5a6f7e8d9c0b",
        // 8123424242424247 passes Luhn, but here it is two groups of a UUID.
        "019b0a4e-1234-7abc-8123-424242424247",
        "-----BEGIN PUBLIC KEY-----",
        "",
    ] {
        assert_eq!(find(text), None, "{text:?}");
        assert!(matches!(redact(text), Cow::Borrowed(_)));
    }
}

/// Text crafted to make a backtracking scanner retry at every offset is scanned to the end: none
/// of it but a key-shaped run is masked, and a real key after it never shows. (How long such
/// text takes, at several sizes, is a benchmark, not a test: `cargo run --release --example
/// redact_scaling`.)
#[test]
fn crafted_repetitions_are_scanned_to_the_end_and_let_no_key_after_them_through() {
    let key = stripe_key();
    // `sk-sk-sk-…` has the shape of an OpenAI-style key and an unterminated PEM header hides
    // what follows it, so both are masked whole; the rest is not a secret.
    for (unit, a_key) in [
        ("eyJ-", false),
        ("sk-", true),
        ("x://", false),
        ("-----BEGIN PRIVATE KEY-----", true),
        ("1 ", false),
    ] {
        let text = unit.repeat(20_000 / unit.len());
        let expected = if a_key { MASK } else { text.as_str() };
        assert_eq!(redact(&text), expected, "{unit:?}");
        let with_key = format!("{text} {key}.");
        let masked = redact(&with_key);
        assert!(!masked.contains(&key), "{unit:?} hid the key");
        if !a_key {
            assert_eq!(masked, format!("{text} {MASK}."), "{unit:?}");
        }
    }
}

#[test]
fn json_strings_and_keys_are_masked() {
    let key = stripe_key();
    let mut v = serde_json::json!({"a": [format!("k {key}")], key.clone(): 1});
    redact_json(&mut v);
    let text = v.to_string();
    assert!(!text.contains(&key) && text.contains(MASK), "{text}");
}

/// A Luhn-valid number of `len` digits starting with `prefix`.
fn luhn_number(prefix: u8, body: &[u8], len: usize) -> String {
    let mut digits: Vec<u32> = std::iter::once(u32::from(prefix % 9 + 1))
        .chain(body.iter().map(|b| u32::from(b % 10)))
        .take(len - 1)
        .collect();
    while digits.len() < len - 1 {
        digits.push(0);
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 0, d * 2) {
            (true, dd) if dd > 9 => dd - 9,
            (true, dd) => dd,
            (false, _) => d,
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
        .collect()
}

/// A card number, written together or in groups of four separated by spaces or dashes.
fn card() -> impl Strategy<Value = String> {
    (
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 19),
        13usize..=19,
        0u8..3,
    )
        .prop_map(|(prefix, body, len, style)| {
            let n = luhn_number(prefix, &body, len);
            let sep = match style {
                0 => return n,
                1 => " ",
                _ => "-",
            };
            let groups: Vec<String> = n
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            groups.join(sep)
        })
}

/// A credential of each kind, with random bodies.
fn credential() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(vec![
                "sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"
            ]),
            "[A-Za-z0-9]{8,40}"
        )
            .prop_map(|(p, b)| format!("{p}{b}")),
        (
            prop::sample::select(vec!["sk-", "sk-proj-"]),
            "[A-Za-z0-9][A-Za-z0-9_-]{19,60}"
        )
            .prop_map(|(p, b)| format!("{p}{b}")),
        (
            "[A-Za-z0-9_-]{2,40}",
            "[A-Za-z0-9_-]{2,60}",
            "[A-Za-z0-9_-]{2,40}"
        )
            .prop_map(|(h, c, s)| format!("eyJ{h}.eyJ{c}.{s}")),
        (
            prop::sample::select(vec![
                "postgres",
                "postgresql",
                "mysql",
                "redis",
                "mongodb+srv"
            ]),
            "[a-z][a-z0-9]{0,11}",
            "[A-Za-z0-9._~-]{1,20}",
            "[a-z][a-z0-9.-]{0,20}[a-z]"
        )
            .prop_map(|(s, u, p, h)| format!("{s}://{u}:{p}@{h}:5432/db")),
        "[A-Za-z0-9+/=\n]{10,200}"
            .prop_map(|b| format!("-----BEGIN PRIVATE KEY-----\n{b}\n-----END PRIVATE KEY-----")),
        card(),
    ]
}

/// Punctuation a secret may be written between.
fn punctuation() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(
            " \n\t.,;:!?()[]{}<>\"'`/\\|*~=+&^%$#@_"
                .chars()
                .collect::<Vec<_>>(),
        ),
        1..4,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_credential_or_card_inside_random_text_and_punctuation_is_masked(
        before in "[A-Za-z ,.!?']{0,40}",
        open in punctuation(),
        secret in credential(),
        close in punctuation(),
        after in "[A-Za-z ,.!?']{0,40}",
    ) {
        let text = format!("{before}{open}{secret}{close}{after}");
        prop_assert!(find(&text).is_some(), "not found in {text:?}");
        let masked = redact(&text);
        prop_assert!(!masked.contains(&secret), "{secret:?} left in {masked:?}");
        prop_assert!(masked.contains(MASK));
    }
}
