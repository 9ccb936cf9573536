//! Settings of the Stripe client and of the vault its keys are sealed in.

use std::time::Duration;

use clap::Args;

use crate::config::{Secret, parse_duration};

/// Stripe's API, where requests go unless `STRIPE_API_BASE` says otherwise.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com/";

/// How the server reaches Stripe and how tenants' keys are sealed (README.md, Stripe).
#[derive(Debug, Clone, Args)]
pub struct StripeSettings {
    /// Master key for tenants' Stripe keys at rest: `KID:BASE64` of 32 random bytes
    /// (scripts/setup.sh writes one to .env).
    #[arg(long, env = "SECRETS_KEY", global = true, hide_env_values = true)]
    pub secrets_key: Option<Secret>,

    /// Earlier master keys, comma-separated `KID:BASE64`, still accepted for reading after a
    /// rotation (until `support-agent stripe rekey` has re-sealed every key).
    #[arg(
        long,
        env = "SECRETS_KEY_PREVIOUS",
        global = true,
        hide_env_values = true
    )]
    pub secrets_key_previous: Option<Secret>,

    /// The platform's secret key, sent for tenants connected through Stripe Connect (their
    /// account id goes in the Stripe-Account header).
    #[arg(
        long,
        env = "STRIPE_PLATFORM_KEY",
        global = true,
        hide_env_values = true
    )]
    pub stripe_platform_key: Option<Secret>,

    /// The platform's Connect webhook signing secrets (`whsec_…`, comma-separated: the current
    /// one and, during a rotation, the one before), for `POST /webhooks/stripe`.
    #[arg(
        long,
        env = "STRIPE_CONNECT_WEBHOOK_SECRETS",
        global = true,
        hide_env_values = true
    )]
    pub stripe_connect_webhook_secrets: Option<Secret>,

    /// Base URL of the Stripe API (a loopback server in tests).
    #[arg(long, env = "STRIPE_API_BASE", global = true, default_value = DEFAULT_API_BASE)]
    pub stripe_api_base: String,

    /// Time allowed for each attempt of a request, e.g. 10s or 500ms.
    #[arg(long, env = "STRIPE_TIMEOUT", global = true, default_value = "10s", value_parser = parse_timeout)]
    pub stripe_timeout: Duration,

    /// Most attempts per request (the first one included) on 429, 409, 5xx and network errors.
    #[arg(long, env = "STRIPE_MAX_ATTEMPTS", global = true, default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub stripe_max_attempts: u32,
}

impl StripeSettings {
    /// Settings for a client of `api_base` with the given master key and nothing else set.
    pub fn for_base(api_base: impl Into<String>, secrets_key: Secret) -> Self {
        Self {
            secrets_key: Some(secrets_key),
            secrets_key_previous: None,
            stripe_platform_key: None,
            stripe_connect_webhook_secrets: None,
            stripe_api_base: api_base.into(),
            stripe_timeout: Duration::from_secs(10),
            stripe_max_attempts: 3,
        }
    }
}

/// Parses `500ms` as well as everything [`parse_duration`] takes (`10s`, `2m`).
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    match s.trim().strip_suffix("ms") {
        Some(ms) => match ms.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_millis(n)),
            _ => Err(format!("'{s}' is not a duration like 500ms or 10s")),
        },
        None => parse_duration(s),
    }
}
