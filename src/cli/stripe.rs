//! `stripe connect | status | disconnect | link | rekey`: a tenant's Stripe access. `--user` is
//! trusted operator input; a key is read from stdin only (a flag would show in `ps`).

use std::io::BufRead;

use anyhow::Context;
use clap::{ArgGroup, Subcommand};
use serde_json::json;
use uuid::Uuid;

use super::setup::{owner_pool, service_db};
use super::{parse_uuid, print_json};
use crate::config::{DbSettings, Secret};
use crate::stripe::{self, AccessStatus, Credential, Stripe, StripeSettings, Vault, access};
use crate::{Db, Tenant, users};

#[derive(Debug, Subcommand)]
pub enum StripeCmd {
    /// Give a tenant access to its Stripe account: a restricted key (read from stdin, stored
    /// encrypted) or a Connect account id (used with STRIPE_PLATFORM_KEY).
    #[command(group(ArgGroup::new("access").required(true).args(["restricted_key_stdin", "account"])))]
    Connect {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        /// Read the restricted key (rk_live_… or rk_test_…) from the first line of stdin.
        #[arg(long)]
        restricted_key_stdin: bool,
        /// The tenant's Connect account id (acct_…).
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show how a tenant reaches Stripe (never the key itself).
    Status {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Forget a tenant's Stripe access.
    Disconnect {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
    },
    /// Record each customer's Stripe customer id by matching email addresses; customers with
    /// several matching Stripe customers are reported, not guessed.
    Link {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Re-encrypt every stored key under the current SECRETS_KEY (after a rotation, with the old
    /// key in SECRETS_KEY_PREVIOUS).
    Rekey {
        #[arg(long)]
        json: bool,
    },
}

async fn tenant(db: &Db, user: Uuid) -> anyhow::Result<Tenant> {
    users::store::resolve_operator_tenant(db, user)
        .await
        .with_context(|| format!("no user {user}"))
}

pub(super) async fn run(
    settings: &DbSettings,
    stripe_settings: &StripeSettings,
    cmd: StripeCmd,
) -> anyhow::Result<()> {
    match cmd {
        StripeCmd::Connect {
            user,
            restricted_key_stdin,
            account,
            json,
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
            let tenant = tenant(&db, user).await?;
            let status = access::connect(&db, &vault, &tenant, &credential).await?;
            if matches!(credential, Credential::Connect(_))
                && stripe_settings.stripe_platform_key.is_none()
            {
                eprintln!("warning: STRIPE_PLATFORM_KEY is not set; Connect access needs it");
            }
            show(user, &status, json)
        }
        StripeCmd::Status { user, json } => {
            let db = service_db(settings).await?;
            let tenant = tenant(&db, user).await?;
            show(user, &access::status(&db, &tenant).await?, json)
        }
        StripeCmd::Disconnect { user } => {
            let db = service_db(settings).await?;
            let tenant = tenant(&db, user).await?;
            let was = access::disconnect(&db, &tenant).await?;
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
        StripeCmd::Link { user, json } => {
            let stripe = Stripe::from_settings(stripe_settings)?;
            let db = service_db(settings).await?;
            let tenant = tenant(&db, user).await?;
            let report = stripe::link::link(&db, &stripe, &tenant).await?;
            if json {
                return print_json(&report);
            }
            super::stripe_report::print_link(&report);
            Ok(())
        }
        StripeCmd::Rekey { json } => {
            let vault = Vault::new(
                stripe_settings.secrets_key.as_ref(),
                stripe_settings.secrets_key_previous.as_ref(),
            )?;
            let owner = owner_pool(settings).await?;
            let stale =
                stripe::store::tenants_sealed_under_other_keys(&owner, vault.current_key_id())
                    .await?;
            let db = service_db(settings).await?;
            let mut resealed = 0;
            for user in &stale {
                let tenant = Tenant::from_trusted_operator_input(*user);
                if access::reseal(&db, &vault, &tenant).await? {
                    resealed += 1;
                }
            }
            if json {
                return print_json(
                    &json!({"resealed": resealed, "key_id": vault.current_key_id()}),
                );
            }
            eprintln!(
                "{resealed} key(s) re-encrypted under {}",
                vault.current_key_id()
            );
            Ok(())
        }
    }
}

/// The first line of stdin, as a secret.
fn read_key() -> anyhow::Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the restricted key from stdin")?;
    Ok(Secret::new(line.trim()))
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
