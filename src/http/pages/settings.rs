//! `/settings`: Stripe (connect with a restricted key, disconnect: only the key's hint is ever
//! shown), the email channel, API keys, and "connect Claude Desktop" — an API key named
//! "Claude Desktop" and the `mcp-remote` snippet for this server's `/mcp`. A new key is shown
//! once, in the answer to the POST that made it (never in a URL). No server setting is ever
//! rendered.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Section, csrf_field, page, when};
use super::{Csrf, PageError, PageForm, PageQuery, PageResult, Pages, parse_id, see_other};
use crate::accounts::{KeyScope, NewApiKey, Principal};
use crate::stripe::access::{self, AccessError, Credential};

/// The key name the Claude Desktop panel creates.
pub const CLAUDE_DESKTOP_KEY: &str = "Claude Desktop";

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    done: String,
}

#[derive(Deserialize)]
pub struct StripeForm {
    #[serde(default)]
    restricted_key: String,
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    name: String,
}

/// What the page shows once, after a POST.
enum Fresh {
    Nothing,
    Key(NewApiKey),
    Claude(NewApiKey),
}

pub async fn show(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Extension(csrf): Extension<Csrf>,
    PageQuery(notice): PageQuery<Notice>,
) -> PageResult {
    let text = match notice.done.as_str() {
        "stripe" => Some("Stripe connected."),
        "stripe-off" => Some("Stripe disconnected."),
        "key-deleted" => Some("API key deleted: it is refused from now on."),
        _ => None,
    };
    render(&pages, &principal, &csrf, Fresh::Nothing, text).await
}

async fn render(
    pages: &Pages,
    principal: &Principal,
    csrf: &Csrf,
    fresh: Fresh,
    notice: Option<&str>,
) -> PageResult {
    let db = pages.app.ctx.db();
    let tenant = &principal.tenant;
    let stripe = access::status(db, tenant).await.map_err(access_error)?;
    let channel = crate::channels::email::status(db, tenant).await?;
    let keys = pages.app.accounts.list_api_keys(tenant).await?;
    let body = html! {
        h1 { "Settings" }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        section aria-labelledby="stripe-h" {
            h2 id="stripe-h" { "Stripe" }
            @if stripe.connected {
                p { "Connected"
                    @if let Some(h) = &stripe.key_hint { " with the restricted key " code { (h) } }
                    @if let Some(a) = &stripe.account_id { " through Connect account " code { (a) } }
                    @if let Some(t) = stripe.connected_at { " since " (when(t)) }
                    "." }
                form.inline method="post" action="/settings/stripe/disconnect" {
                    (csrf_field(csrf))
                    button.danger type="submit" data-confirm="Disconnect Stripe? Drafts will no longer see charges." { "Disconnect Stripe" }
                }
            } @else {
                p { "Not connected. Create a restricted key in Stripe (read access to charges, customers, disputes and refunds) and paste it here; it is stored sealed and never shown again." }
            }
            form.stack method="post" action="/settings/stripe" {
                (csrf_field(csrf))
                label for="restricted_key" { @if stripe.connected { "Replace with another restricted key" } @else { "Restricted key (rk_…)" } }
                input id="restricted_key" name="restricted_key" type="password" required autocomplete="off" placeholder="rk_live_…";
                button type="submit" { "Connect Stripe" }
            }
        }
        section aria-labelledby="email-h" {
            h2 id="email-h" { "Email channel" }
            @match &channel {
                Some(c) => { p { "Replies are sent from " strong { (c.address) } " through " code { (c.smtp_url) } " (user " (c.username) "), set up " (when(c.created_at)) "." } }
                None => { p { "No email channel: approved drafts are marked approved and nothing is sent. Set one up with " code { "PUT /api/v1/channels/email" } " or " code { "support-agent channels email set" } "." } }
            }
        }
        section aria-labelledby="keys-h" {
            h2 id="keys-h" { "API keys" }
            @if let Fresh::Key(k) = &fresh { (shown_once(k)) }
            @if keys.is_empty() { p.muted { "No API keys." } } @else {
                table.keys {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Key" } th scope="col" { "Scope" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { span.sr-only { "Actions" } } } }
                    tbody {
                        @for k in &keys {
                            tr {
                                td data-label="Name" { (k.name) }
                                td data-label="Key" { code { (k.prefix) "…" } }
                                td data-label="Scope" { (format!("{:?}", k.scope).to_lowercase()) }
                                td data-label="Created" { (when(k.created_at)) }
                                td data-label="Last used" { (k.last_used_at.map(when).unwrap_or_else(|| "never".into())) }
                                td {
                                    form.inline method="post" action={ "/settings/api-keys/" (k.id) "/delete" } {
                                        (csrf_field(csrf))
                                        button.danger type="submit" data-confirm="Delete this key? Whatever uses it stops working." aria-label={ "Delete key " (k.name) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.filters method="post" action="/settings/api-keys" {
                (csrf_field(csrf))
                label for="key-name" { "New key's name" }
                input id="key-name" name="name" type="text" required maxlength="100";
                button type="submit" { "Create API key" }
            }
        }
        section aria-labelledby="claude-h" {
            h2 id="claude-h" { "Connect Claude Desktop" }
            p { "Creates an API key named \u{201c}" (CLAUDE_DESKTOP_KEY) "\u{201d} and shows the entry for Claude Desktop's " code { "claude_desktop_config.json" } ", through the " code { "mcp-remote" } " bridge (Node.js 18 or newer) to this server's " code { (pages.base) "/mcp" } "." }
            @if let Fresh::Claude(k) = &fresh { (claude_snippet(&pages.base, k)) }
            form.inline method="post" action="/settings/claude-desktop" {
                (csrf_field(csrf))
                button.primary type="submit" { "Create the key and show the entry" }
            }
        }
    };
    Ok(page("Settings", Section::Settings, csrf, body))
}

fn shown_once(k: &NewApiKey) -> Markup {
    html! {
        div.secret role="status" {
            p { strong { "Copy the key \u{201c}" (k.name) "\u{201d} now: it is shown this once." } }
            pre { code.copyable { (k.key) } }
        }
    }
}

/// The Claude Desktop entry for this server, with the new key (README.md, Claude Desktop).
pub fn claude_entry(base: &str, key: &str) -> String {
    let entry = serde_json::json!({
        "mcpServers": {
            "support": {
                "command": "npx",
                "args": ["-y", "mcp-remote", format!("{base}/mcp"), "--header", "Authorization:${AUTH_HEADER}"],
                "env": { "AUTH_HEADER": format!("Bearer {key}") }
            }
        }
    });
    serde_json::to_string_pretty(&entry).unwrap_or_default()
}

fn claude_snippet(base: &str, k: &NewApiKey) -> Markup {
    html! {
        div.secret role="status" {
            p { strong { "Add this to claude_desktop_config.json and restart Claude Desktop. The key is shown this once." } }
            pre { code.copyable { (claude_entry(base, &k.key)) } }
        }
    }
}

fn access_error(e: AccessError) -> PageError {
    match e {
        AccessError::Invalid { reason, .. } => {
            PageError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{reason}."))
        }
        AccessError::Store(e) => PageError::from(e),
        e => {
            tracing::error!(error = %e, "a Stripe access operation failed");
            PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.")
        }
    }
}

pub async fn connect_stripe(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    PageForm(form): PageForm<StripeForm>,
) -> PageResult {
    let key = access::parse_restricted_key(form.restricted_key.trim()).map_err(access_error)?;
    let stripe = pages.app.ctx.stripe().map_err(|_| {
        PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "This server cannot store Stripe keys: an operator must set SECRETS_KEY.",
        )
    })?;
    access::connect(
        pages.app.ctx.db(),
        stripe.vault(),
        &principal.tenant,
        &Credential::RestrictedKey(key),
    )
    .await
    .map_err(access_error)?;
    Ok(see_other("/settings?done=stripe"))
}

pub async fn disconnect_stripe(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
) -> PageResult {
    access::disconnect(pages.app.ctx.db(), &principal.tenant)
        .await
        .map_err(access_error)?;
    Ok(see_other("/settings?done=stripe-off"))
}

pub async fn create_key(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Extension(csrf): Extension<Csrf>,
    PageForm(form): PageForm<KeyForm>,
) -> PageResult {
    let key = pages
        .app
        .accounts
        .create_api_key(&principal.tenant, &form.name, KeyScope::Full)
        .await?;
    fresh(render(&pages, &principal, &csrf, Fresh::Key(key), None).await)
}

pub async fn claude_desktop(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Extension(csrf): Extension<Csrf>,
) -> PageResult {
    let key = pages
        .app
        .accounts
        .create_api_key(&principal.tenant, CLAUDE_DESKTOP_KEY, KeyScope::Full)
        .await?;
    fresh(render(&pages, &principal, &csrf, Fresh::Claude(key), None).await)
}

/// A page that shows a secret once: never cached, never stored by the browser.
fn fresh(r: PageResult) -> PageResult {
    r.map(|mut r: Response| {
        r.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
        r
    })
}

pub async fn delete_key(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id(&id)?;
    pages
        .app
        .accounts
        .delete_api_key(&principal.tenant, id)
        .await?;
    Ok(see_other("/settings?done=key-deleted"))
}
