//! `settings show | set`: a tenant's own settings, today the hosts drafts may link to.

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::context::{TenantArgs, service_db};
use super::print_json;
use crate::config::DbSettings;
use crate::settings::{self, LinkDomains, SettingsUpdate, TenantSettings};

#[derive(Debug, Clone, Subcommand)]
pub enum SettingsCmd {
    /// Show a tenant's settings.
    Show {
        #[command(flatten)]
        tenant: TenantArgs,
    },
    /// Change a tenant's settings; settings not given stay as they are.
    Set {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The hosts drafts may link to, comma-separated, e.g. `acme.com,help.acme.io`; each
        /// allows its subdomains. A draft linking anywhere else is held for a person (triage)
        /// or refused (`draft_reply`). An empty value allows no links.
        #[arg(long, value_name = "HOSTS")]
        link_domains: Option<String>,
    },
}

pub(super) async fn run(db_settings: &DbSettings, cmd: SettingsCmd) -> anyhow::Result<()> {
    let db = service_db(db_settings).await?;
    let (args, shown) = match cmd {
        SettingsCmd::Show { tenant } => {
            let shown = settings::show(&db, &tenant.tenant(&db).await?).await?;
            (tenant, shown)
        }
        SettingsCmd::Set {
            tenant,
            link_domains,
        } => {
            let Some(raw) = link_domains else {
                bail!("nothing to set: give --link-domains");
            };
            let changes = SettingsUpdate {
                link_domains: Some(LinkDomains::parse_list("link_domains", &raw)?),
            };
            let shown = settings::update(&db, &tenant.tenant(&db).await?, &changes).await?;
            (tenant, shown)
        }
    };
    print(&args, &shown)
}

fn print(args: &TenantArgs, s: &TenantSettings) -> anyhow::Result<()> {
    if args.json {
        return print_json(&json!({
            "user_id": args.user,
            "link_domains": s.link_domains,
            "updated_at": s.updated_at,
        }));
    }
    let domains = s.link_domains.as_slice();
    if domains.is_empty() {
        println!("link_domains: (none: drafts may not link anywhere)");
    } else {
        println!("link_domains: {}", domains.join(", "));
    }
    Ok(())
}
