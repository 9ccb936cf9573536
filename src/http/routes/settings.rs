//! `/api/v1/settings`: the tenant's own settings (the hosts a draft may link to).

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Tenant;
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::settings::{self, LinkDomains, SettingsUpdate};

/// The settings to change; absent ones stay as they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Hosts a draft may link to (each with its subdomains), e.g. `["acme.com"]`; an empty list
    /// allows no links.
    pub link_domains: Option<Vec<String>>,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
) -> Result<Response, Problem> {
    Ok(axum::Json(settings::show(app.ctx.db(), &tenant).await?).into_response())
}

pub async fn update(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiJson(body): ApiJson<SettingsBody>,
) -> Result<Response, Problem> {
    let changes = SettingsUpdate {
        link_domains: body
            .link_domains
            .map(|d| LinkDomains::parse("link_domains", &d))
            .transpose()?,
    };
    let now = settings::update(app.ctx.db(), &tenant, &changes).await?;
    Ok(axum::Json(now).into_response())
}
