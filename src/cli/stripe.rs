//! `stripe connect | status | disconnect | link | rekey`: a tenant's Stripe access. `--user` is
//! trusted operator input; a key is read from stdin only (a flag would show in `ps`).

use anyhow::Context;
use clap::{ArgGroup, Subcommand};
use serde_json::json;
use uuid::Uuid;

use super::context::{TenantArgs, service_db};
use super::print_json;
use super::users::read_secret_line;
use crate::config::{DbSettings, OwnerDb, Secret};
use crate::stripe::{self, AccessStatus, Credential, Stripe, StripeSettings, Vault, access};

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
    /// Show how a tenant reaches Stripe (never the key itself).
    Status {
        #[command(flatten)]
        tenant: TenantArgs,
    },
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
        StripeCmd::Status { tenant: args } => {
            let db = service_db(settings).await?;
            let tenant = args.tenant(&db).await?;
            show(args.user, &access::status(&db, &tenant).await?, args.json)
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
