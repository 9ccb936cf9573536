//! `/api/v1/customers`.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{Items, staff};
use crate::Tenant;
use crate::customers::{self, CustomerUpdate, NewCustomer};
use crate::db::Cursor;
use crate::desk;
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::path::IdPath;
use crate::http::problem::Problem;
use crate::http::query::ApiQuery;
use crate::tools::{self, CustomerView, LookupCustomerArgs};
use crate::validate::{self, Phone};

/// Listing: a page of customers, oldest first, or the matches of `query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Part of a name or email address, matched case-insensitively (best matches first, at most
    /// 20, no further pages).
    pub query: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerBody {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// The customer's Stripe id (`cus_…`).
    pub stripe_customer_id: Option<String>,
}

/// The fields to change; absent ones stay as they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub stripe_customer_id: Option<String>,
}

pub async fn list(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    if let Some(query) = q.query {
        let found = tools::lookup_customer(
            &app.ctx,
            &staff(tenant),
            LookupCustomerArgs {
                query: Some(query),
                ..Default::default()
            },
        )
        .await?;
        let page = Items {
            items: found.customers,
            next_cursor: None,
        };
        return Ok(axum::Json(page).into_response());
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Problem::invalid("limit", "use 1 to 100"));
    }
    let after = q
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()
        .map_err(|e| Problem::invalid("cursor", e.to_string()))?;
    let mut tx = app.ctx.db().begin(&tenant).await?;
    let (rows, next) = customers::store::list(&mut tx, limit, after).await?;
    tx.commit().await?;
    let page = Items {
        items: rows
            .into_iter()
            .map(|c| CustomerView::new(c, None))
            .collect(),
        next_cursor: next.map(|c| c.encode()),
    };
    Ok(axum::Json(page).into_response())
}

pub async fn create(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiJson(body): ApiJson<NewCustomerBody>,
) -> Result<Response, Problem> {
    let new = NewCustomer {
        name: &body.name,
        email: &body.email,
        phone: Phone::parse_optional("phone", body.phone.as_deref())?,
        stripe_customer_id: validate::stripe_customer_id(
            "stripe_customer_id",
            body.stripe_customer_id.as_deref(),
        )?,
    };
    let mut tx = app.ctx.db().begin(&tenant).await?;
    let customer = customers::store::create(&mut tx, &new).await?;
    tx.commit().await?;
    let view = CustomerView::new(customer, Some(0));
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    let found = tools::lookup_customer(
        &app.ctx,
        &staff(tenant),
        LookupCustomerArgs {
            customer_id: Some(id),
            ..Default::default()
        },
    )
    .await?;
    let customer = found
        .customers
        .into_iter()
        .next()
        .ok_or_else(|| Problem::not_found("customer"))?;
    Ok(axum::Json(customer).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<CustomerPatch>,
) -> Result<Response, Problem> {
    let changes = CustomerUpdate {
        name: body.name.as_deref(),
        email: body.email.as_deref(),
        phone: Phone::parse_optional("phone", body.phone.as_deref())?,
        stripe_customer_id: validate::stripe_customer_id(
            "stripe_customer_id",
            body.stripe_customer_id.as_deref(),
        )?,
    };
    let mut tx = app.ctx.db().begin(&tenant).await?;
    let customer = customers::store::update(&mut tx, id, &changes).await?;
    tx.commit().await?;
    Ok(axum::Json(CustomerView::new(customer, None)).into_response())
}

/// Deletes the customer with their tickets and messages.
pub async fn delete(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
) -> Result<StatusCode, Problem> {
    let mut tx = app.ctx.db().begin(&tenant).await?;
    customers::store::delete(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything held about the customer, as one document.
pub async fn export(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    let export = desk::export_customer(app.ctx.db(), &tenant, id).await?;
    Ok(axum::Json(export).into_response())
}
