//! `stripe connect | status | disconnect | link | webhook-secret set | rekey`: a tenant's Stripe access. `--user` is
//! trusted operator input; a key is read from stdin only (a flag would show in `ps`).

use anyhow::Context;
use clap::{ArgGroup, Subcommand};
use serde_json::json;
use uuid::Uuid;

use super::context::{TenantArgs, service_db};
use super::print_json;
use super::users::read_secret_line;
use crate::config::{DbSettings, OwnerDb, Secret};
use crate::stripe::{
    self, AccessStatus, Credential, Stripe, StripeSettings, Vault, access, webhooks,
};

#[derive(Debug, Clone, Subcommand)]
pub enum StripeCmd {
    /// Give a tenant access to its Stripe account: a restricted key (read from stdin, stored
    /// encrypted) or a Connect account id (used with STRIPE_PLATFORM_KEY).
    #[command(group(ArgGroup::new("access").required(true).args(["restricted_key_stdin", "account"])))]
    Connect {
        #[command(flatten)]
        tenant: TenantArgs,
        /// Read the restricted key (rk_live_… or rk_test_…) from the first line of stdin.
        #[arg(long)]
        restricted_key_stdin: bool,
        /// The tenant's Connect account id (acct_…).
        #[arg(long)]
        account: Option<String>,
    },
    /// Show how a tenant reaches Stripe (never the key itself) and whether its webhooks are set
    /// up.
    Status {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The URL Stripe reaches this server at (`serve --public-url`), for the endpoint URL.
        #[arg(long, env = "MCP_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// The signing secret of a tenant's Stripe webhook endpoint.
    #[command(subcommand)]
    WebhookSecret(WebhookSecretCmd),
    /// Forget a tenant's Stripe access.
    Disconnect {
        #[command(flatten)]
        tenant: TenantArgs,
    },
    /// Record each customer's Stripe customer id by matching email addresses; customers with
    /// several matching Stripe customers are reported, not guessed.
    Link {
        #[command(flatten)]
        tenant: TenantArgs,
    },
    /// Re-encrypt every stored secret under the current SECRETS_KEY (after a rotation, with the
    /// old key in SECRETS_KEY_PREVIOUS): Stripe keys, email passwords, intake secrets. The same
    /// as `secrets rekey`.
    Rekey {
        #[command(flatten)]
        owner: OwnerDb,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum WebhookSecretCmd {
    /// Store the endpoint's signing secret (whsec_…, read from stdin, stored encrypted) and print
    /// the endpoint URL to give Stripe. Setting a new one keeps the one before valid for 24 hours.
    Set {
        #[command(flatten)]
        tenant: TenantArgs,
        /// Read the signing secret from the first line of stdin.
        #[arg(long, required = true)]
        secret_stdin: bool,
        /// The URL Stripe reaches this server at (`serve --public-url`).
        #[arg(long, env = "MCP_PUBLIC_URL")]
        public_url: Option<String>,
    },
}

/// Where `serve --http` listens when no public URL is given.
const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

fn public_url(given: Option<String>) -> String {
    given.unwrap_or_else(|| {
        eprintln!(
            "warning: MCP_PUBLIC_URL is not set; the endpoint URL uses {DEFAULT_PUBLIC_URL}, \
             which Stripe cannot reach: set it to the server's public https URL"
        );
        DEFAULT_PUBLIC_URL.to_owned()
    })
}

pub(super) async fn run(
    settings: &DbSettings,
    stripe_settings: &StripeSettings,
    cmd: StripeCmd,
) -> anyhow::Result<()> {
    match cmd {
        StripeCmd::Connect {
            tenant: args,
            restricted_key_stdin,
            account,
        } => {
            let credential = match (restricted_key_stdin, account) {
                (true, _) => {
                    Credential::RestrictedKey(access::parse_restricted_key(read_key()?.expose())?)
                }
                (false, Some(account)) => Credential::Connect(access::parse_account_id(&account)?),
                (false, None) => anyhow::bail!("give --restricted-key-stdin or --account"),
            };
            let vault = Vault::new(
                stripe_settings.secrets_key.as_ref(),
                stripe_settings.secrets_key_previous.as_ref(),
            )?;
            let db = service_db(settings).await?;
            let tenant = args.tenant(&db).await?;
            let status = access::connect(&db, &vault, &tenant, &credential).await?;
            if matches!(credential, Credential::Connect(_))
                && stripe_settings.stripe_platform_key.is_none()
            {
                eprintln!("warning: STRIPE_PLATFORM_KEY is not set; Connect access needs it");
            }
            show(args.user, &status, args.json)
        }
        StripeCmd::Status {
            tenant: args,
            public_url: url,
        } => {
            let db = service_db(settings).await?;
            let tenant = args.tenant(&db).await?;
            let status = access::status(&db, &tenant).await?;
            let base = url.unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_owned());
            let hooks = webhooks::status(
                &db,
                &tenant,
                status.mode == Some("connect"),
                stripe_settings.stripe_connect_webhook_secrets.is_some(),
                &base,
            )
            .await?;
            if args.json {
                let mut value = serde_json::to_value(&status)?;
                value["user_id"] = json!(args.user);
                value["webhooks"] = serde_json::to_value(&hooks)?;
                return print_json(&value);
            }
            super::stripe_report::print_status(&status);
            super::stripe_report::print_webhooks(&hooks);
            Ok(())
        }
        StripeCmd::WebhookSecret(WebhookSecretCmd::Set {
            tenant: args,
            secret_stdin: _,
            public_url: url,
        }) => {
            let line = read_secret_line().context("reading the signing secret from stdin")?;
            let secret = webhooks::parse_secret(line.expose())?;
            let stripe = Stripe::from_settings(stripe_settings)?;
            let db = service_db(settings).await?;
            let tenant = args.tenant(&db).await?;
            let set =
                webhooks::set_secret(&db, &stripe, &tenant, &secret, &public_url(url)).await?;
            if args.json {
                let mut value = serde_json::to_value(&set)?;
                value["user_id"] = json!(args.user);
                return print_json(&value);
            }
            println!("{}", set.endpoint_url);
            eprintln!(
                "signing secret stored; in Stripe's dashboard, send the endpoint's events to the \
                 URL above"
            );
            Ok(())
        }
        StripeCmd::Disconnect { tenant: args } => {
            let db = service_db(settings).await?;
            let tenant = args.tenant(&db).await?;
            let was = access::disconnect(&db, &tenant).await?;
            if args.json {
                return print_json(&json!({"user_id": args.user, "disconnected": was}));
            }
            eprintln!(
                "{}",
                if was {
                    "Stripe access removed"
                } else {
                    "no Stripe access was recorded"
                }
            );
            Ok(())
        }
        StripeCmd::Link { tenant: args } => {
            let stripe = Stripe::from_settings(stripe_settings)?;
            let db = service_db(settings).await?;
            let tenant = args.tenant(&db).await?;
            let report = stripe::link::link(&db, &stripe, &tenant).await?;
            if args.json {
                return print_json(&report);
            }
            super::stripe_report::print_link(&report);
            Ok(())
        }
        // Handled by `secrets rekey`, which this is an older name of (see cli/mod.rs).
        StripeCmd::Rekey { .. } => anyhow::bail!("use `support-agent secrets rekey`"),
    }
}

/// The restricted key, from the first line of stdin.
fn read_key() -> anyhow::Result<Secret> {
    let line = read_secret_line().context("reading the restricted key from stdin")?;
    Ok(Secret::new(line.expose().trim()))
}

fn show(user: Uuid, status: &AccessStatus, json: bool) -> anyhow::Result<()> {
    if json {
        let mut value = serde_json::to_value(status)?;
        value["user_id"] = json!(user);
        return print_json(&value);
    }
    super::stripe_report::print_status(status);
    Ok(())
}
