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
use crate::channels::email::{self, ChannelError, ChannelView, NewChannel};
use crate::channels::inbox::{MailboxState, MailboxStatus};
use crate::config::Secret;
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

/// The email channel form: `PUT /api/v1/channels/email`'s fields. The password is never shown
/// back, not even after a refusal.
#[derive(Default, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    smtp_url: String,
    #[serde(default)]
    imap_url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
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
    /// The email form was refused: what was typed (the password is not shown) and why.
    EmailRefused(EmailForm, String),
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
        "email" => Some("Email channel saved: approved drafts are sent from it."),
        "email-off" => Some("Email channel removed: approved drafts are no longer sent."),
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
    let channel = email::status(db, tenant).await?;
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
                Some(c) => {
                    p { "Replies are sent from " strong { (c.address) } " through " code { (c.smtp_url) } " (user " (c.username) "), set up " (when(c.created_at)) "." }
                    @if let Some(imap) = &c.imap_url { p { "Customers' mail is read from " code { (imap) } "." } (mailbox(c.mailbox.as_ref())) }
                    form.inline method="post" action="/settings/email/remove" {
                        (csrf_field(csrf))
                        button.danger type="submit" data-confirm="Remove the email channel? Approved drafts will no longer be sent." { "Remove email channel" }
                    }
                }
                None => { p { "No email channel: approved drafts are marked approved and nothing is sent." } }
            }
            (email_form(csrf, channel.as_ref(), &fresh))
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

/// The form that sets (or replaces) the email channel, filled with what is stored or with what
/// was typed before a refusal — never with a password.
fn email_form(csrf: &Csrf, channel: Option<&ChannelView>, fresh: &Fresh) -> Markup {
    let (address, smtp, imap, user, refused) = match (fresh, channel) {
        (Fresh::EmailRefused(f, why), _) => (
            f.address.as_str(),
            f.smtp_url.as_str(),
            f.imap_url.as_str(),
            f.username.as_str(),
            Some(why.as_str()),
        ),
        (_, Some(c)) => (
            c.address.as_str(),
            c.smtp_url.as_str(),
            c.imap_url.as_deref().unwrap_or(""),
            c.username.as_str(),
            None,
        ),
        _ => ("", "", "", "", None),
    };
    html! {
        form.stack method="post" action="/settings/email" {
            (csrf_field(csrf))
            @if let Some(why) = refused { p.error role="alert" id="email-error" { (why) } }
            label for="email-address" { "Replies come from" }
            input id="email-address" name="address" type="email" required maxlength="254" value=(address) placeholder="support@acme.example" autocomplete="off";
            label for="smtp_url" { "SMTP server (" code { "smtps://host:465" } ", or " code { "smtp://host:587" } " with STARTTLS)" }
            input id="smtp_url" name="smtp_url" type="text" required value=(smtp) placeholder="smtps://smtp.acme.example:465" autocomplete="off";
            label for="imap_url" { "IMAP server for customers' mail (optional: " code { "imaps://host:993" } ")" }
            input id="imap_url" name="imap_url" type="text" value=(imap) placeholder="imaps://imap.acme.example:993" autocomplete="off";
            label for="email-username" { "User name" }
            input id="email-username" name="username" type="text" required maxlength="254" value=(user) autocomplete="off";
            label for="email-password" { "Password (stored sealed, never shown again)" }
            input id="email-password" name="password" type="password" required maxlength="1000" autocomplete="new-password";
            button type="submit" { @if channel.is_some() { "Replace email channel" } @else { "Save email channel" } }
        }
    }
}

/// How reading the IMAP mailbox goes.
fn mailbox(status: Option<&MailboxStatus>) -> Markup {
    html! {
        @match status {
            None => { p.muted { "The worker has not read the mailbox yet." } }
            Some(m) => {
                p {
                    @match m.state {
                        MailboxState::Pending => { "Not read yet." }
                        MailboxState::Ok => { "Read" @if let Some(t) = m.last_ok_at { " " (when(t)) } "." }
                        MailboxState::Failing => { strong { "Failing" } ": " (m.last_error.as_deref().unwrap_or("unknown error")) " (" (m.failures) " attempts; retried)." }
                    }
                    " " (m.tickets) " tickets and " (m.messages) " replies from mail; " (m.auto_replies + m.bounces + m.loops) " automatic mails set aside."
                }
            }
        }
    }
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

/// Sets the email channel as `PUT /api/v1/channels/email` does (the same checks: addresses,
/// URLs, hosts that must resolve to public addresses). A refusal shows the form again, with
/// what was typed but the password, and why.
pub async fn set_email(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Extension(csrf): Extension<Csrf>,
    PageForm(form): PageForm<EmailForm>,
) -> PageResult {
    let imap = form.imap_url.trim();
    let new = NewChannel {
        address: form.address.clone(),
        smtp_url: form.smtp_url.clone(),
        imap_url: (!imap.is_empty()).then(|| imap.to_owned()),
        username: form.username.clone(),
        password: Secret::new(form.password.clone()),
    };
    let ctx = &pages.app.ctx;
    match email::set(ctx.db(), ctx.channels(), &principal.tenant, &new).await {
        Ok(_) => Ok(see_other("/settings?done=email")),
        Err(ChannelError::Invalid { field, reason }) => {
            let why = format!("Not saved: {} — {reason}.", field.replace('_', " "));
            let refused = Fresh::EmailRefused(form, why);
            let mut r = render(&pages, &principal, &csrf, refused, None).await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(PageError::from(e)),
    }
}

pub async fn remove_email(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
) -> PageResult {
    email::remove(pages.app.ctx.db(), &principal.tenant).await?;
    Ok(see_other("/settings?done=email-off"))
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
