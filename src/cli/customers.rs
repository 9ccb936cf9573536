//! `customers create | list`: a tenant's customers.

use clap::Subcommand;
use serde_json::json;

use super::context::{TenantArgs, service_db};
use super::print_json;
use crate::config::DbSettings;
use crate::customers::{self, NewCustomer};
use crate::db::Cursor;
use crate::validate::{self, Phone};

#[derive(Debug, Clone, Subcommand)]
pub enum CustomersCmd {
    /// Create a customer of a tenant.
    Create {
        #[command(flatten)]
        tenant: TenantArgs,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        phone: Option<String>,
        /// The customer's Stripe id (cus_…).
        #[arg(long)]
        stripe_customer: Option<String>,
    },
    /// List a tenant's customers, oldest first.
    List {
        #[command(flatten)]
        tenant: TenantArgs,
        /// Customers per page, 1 to 100.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// The next_cursor of a previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
}

pub(super) async fn run(settings: &DbSettings, cmd: CustomersCmd) -> anyhow::Result<()> {
    let db = service_db(settings).await?;
    match cmd {
        CustomersCmd::Create {
            tenant,
            name,
            email,
            phone,
            stripe_customer,
        } => {
            let new = NewCustomer {
                name: &name,
                email: &email,
                phone: Phone::parse_optional("phone", phone.as_deref())?,
                stripe_customer_id: validate::stripe_customer_id(
                    "stripe_customer_id",
                    stripe_customer.as_deref(),
                )?,
            };
            let mut tx = db.begin(&tenant.tenant(&db).await?).await?;
            let customer = customers::store::create(&mut tx, &new).await?;
            tx.commit().await?;
            if tenant.json {
                return print_json(&customer);
            }
            println!(
                "created customer {} ({} <{}>)",
                customer.id, customer.name, customer.email
            );
        }
        CustomersCmd::List {
            tenant,
            limit,
            cursor,
        } => {
            let after = cursor.as_deref().map(Cursor::decode).transpose()?;
            let mut tx = db.begin(&tenant.tenant(&db).await?).await?;
            let (rows, next) = customers::store::list(&mut tx, limit, after).await?;
            tx.commit().await?;
            if tenant.json {
                return print_json(
                    &json!({"customers": rows, "next_cursor": next.map(|c| c.encode())}),
                );
            }
            for c in rows {
                println!("{}  {:<30}  {}", c.id, c.name, c.email);
            }
            if let Some(next) = next {
                println!("next page: --cursor {}", next.encode());
            }
        }
    }
    Ok(())
}
