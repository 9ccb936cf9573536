//! `lookup_customer`: find a customer by id, by email, or by part of a name or email.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Annotations, Caller, Ctx, CustomerView, Tool, ToolError};
use crate::StoreError;
use crate::customers::{CustomerRef, store};
use crate::validate::Email;

/// How many matches a free-text query returns at most.
const MAX_MATCHES: i64 = 20;

/// Give exactly one of `email`, `customer_id` or `query`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupCustomerArgs {
    /// The customer's exact email address, e.g. `ada@example.com`.
    pub email: Option<String>,
    /// The customer's id (a UUID), e.g. from a ticket's `customer_id`.
    pub customer_id: Option<Uuid>,
    /// Part of a name or email address, matched case-insensitively; best matches first.
    pub query: Option<String>,
}

/// The matching customers (at most 20), each with their number of open or pending tickets.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LookupCustomerOutput {
    pub customers: Vec<CustomerView>,
}

/// Finds customers of `tenant`. An unknown `customer_id` (or another tenant's) is "customer not
/// found"; an email or query that matches nobody gives an empty list.
pub async fn lookup_customer(
    ctx: &Ctx,
    caller: &Caller,
    args: LookupCustomerArgs,
) -> Result<LookupCustomerOutput, ToolError> {
    let given = [
        args.email.is_some(),
        args.customer_id.is_some(),
        args.query.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ToolError::invalid(
            "email, customer_id, query",
            "give exactly one of email, customer_id or query",
        ));
    }
    let mut tx = ctx.begin(caller).await?;
    // By id or email: the customer and its open-ticket count in one statement.
    let customers = if let Some(id) = args.customer_id {
        let found = store::find_summary(&mut tx, &CustomerRef::Id(id)).await?;
        vec![found.ok_or(StoreError::NotFound("customer"))?]
    } else if let Some(email) = args.email.as_deref() {
        let email = Email::parse("email", email)?;
        let found = store::find_summary(&mut tx, &CustomerRef::Email(email)).await?;
        found.into_iter().collect()
    } else {
        store::search(&mut tx, args.query.as_deref().unwrap_or(""), MAX_MATCHES).await?
    };
    tx.commit().await?;
    Ok(LookupCustomerOutput {
        customers: customers.into_iter().map(CustomerView::from).collect(),
    })
}

/// The `lookup_customer` tool.
pub struct LookupCustomer;

impl Tool for LookupCustomer {
    const NAME: &'static str = "lookup_customer";
    const DESCRIPTION: &'static str = "Find the tenant's customers by exact email address, by \
        customer id, or by part of a name or email (give exactly one). Returns each match's id, \
        name, email, phone, Stripe customer id and number of open tickets.";
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    type Args = LookupCustomerArgs;
    type Output = LookupCustomerOutput;

    fn run(
        ctx: &Ctx,
        caller: &Caller,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send {
        lookup_customer(ctx, caller, args)
    }
}
