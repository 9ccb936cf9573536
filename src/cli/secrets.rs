//! `secrets rekey` (and its older name `stripe rekey`): re-seals every tenant's Stripe key, email
//! password, intake signing secrets and Stripe webhook secrets under the current SECRETS_KEY after a rotation, with the
//! old key in SECRETS_KEY_PREVIOUS.

use clap::Subcommand;
use serde_json::json;

use super::Cli;
use super::context::{channels, owner_pool, service_db};
use super::print_json;
use crate::channels::{email, signature};
use crate::config::OwnerDb;
use crate::stripe::{self, access, webhooks};
use crate::{Tenant, channels as ch};

#[derive(Debug, Clone, Subcommand)]
pub enum SecretsCmd {
    /// Re-encrypt every stored secret under the current SECRETS_KEY.
    Rekey {
        #[command(flatten)]
        owner: OwnerDb,
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(cli: &Cli, cmd: SecretsCmd) -> anyhow::Result<()> {
    match cmd {
        SecretsCmd::Rekey { owner, json } => rekey(cli, &owner, json).await,
    }
}

/// Re-seals what is sealed under another key than the current one; prints the counts.
pub(super) async fn rekey(cli: &Cli, owner: &OwnerDb, json: bool) -> anyhow::Result<()> {
    let chans: ch::Channels = channels(cli)?;
    let vault = chans.vault()?;
    let current = vault.current_key_id().to_owned();
    let owner = owner_pool(owner).await?;
    let db = service_db(&cli.db).await?;
    let (mut stripe_n, mut email_n, mut intake_n) = (0u64, 0u64, 0u64);
    for user in stripe::store::tenants_sealed_under_other_keys(&owner, &current).await? {
        let tenant = Tenant::from_trusted_operator_input(user);
        if access::reseal(&db, vault, &tenant).await? {
            stripe_n += 1;
        }
    }
    for user in email::store::tenants_sealed_under_other_keys(&owner, &current).await? {
        let tenant = Tenant::from_trusted_operator_input(user);
        if email::reseal(&db, &chans, &tenant).await? {
            email_n += 1;
        }
    }
    for user in signature::store::tenants_sealed_under_other_keys(&owner, &current).await? {
        let tenant = Tenant::from_trusted_operator_input(user);
        intake_n += signature::reseal(&db, vault, &tenant).await?;
    }
    let mut webhook_n = 0u64;
    for user in webhooks::store::tenants_sealed_under_other_keys(&owner, &current).await? {
        let tenant = Tenant::from_trusted_operator_input(user);
        webhook_n += webhooks::reseal(&db, vault, &tenant).await?;
    }
    let total = stripe_n + email_n + intake_n + webhook_n;
    if json {
        return print_json(&json!({
            "resealed": total,
            "key_id": current,
            "stripe_keys": stripe_n,
            "email_passwords": email_n,
            "intake_secrets": intake_n,
            "webhook_secrets": webhook_n,
        }));
    }
    eprintln!(
        "{total} secret(s) re-encrypted under {current}: {stripe_n} Stripe key(s), {email_n} \
         email password(s), {intake_n} intake secret(s), {webhook_n} Stripe webhook secret(s)"
    );
    Ok(())
}
