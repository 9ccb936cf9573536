//! The inbox: server-rendered pages where a person reviews, edits and sends the agent's drafts,
//! and sees how it does. Served at `/` by `serve --http`, beside `/api/v1` and `/mcp`.
//!
//! - The session is an `HttpOnly`, `SameSite=Lax` cookie (`Secure` when the public URL is
//!   https) holding an access token bound to a session ([`crate::accounts::PageSession`]),
//!   checked on every request like a bearer token. Cookies authenticate these pages only: the
//!   API and MCP routes never read them.
//! - Every POST carries a CSRF token equal to the `sa_csrf` cookie's (a form field, or for an
//!   upload the query), compared in constant time; and the edge refuses another site's
//!   `Origin`.
//! - A `Content-Security-Policy` without `unsafe-inline`: the one script and style sheet are
//!   served by the binary from `/assets/`; every text is escaped by the templates (maud).
//! - The pages call the same domain functions as the REST routes (`desk`, `tools`, `accounts`,
//!   `stats::outcomes`) and hold no SQL.

mod account;
mod knowledge;
mod layout;
mod outcomes;
mod queue;
mod settings;
mod ticket;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;

use super::AppState;
use super::problem::Problem;
use crate::accounts::{Credential, Principal, Refusal};
use crate::tools::Caller;

/// The session cookie: an access token bound to a page session.
pub const SESSION_COOKIE: &str = "sa_session";
/// The CSRF cookie; every form repeats its value in the `csrf` field.
pub const CSRF_COOKIE: &str = "sa_csrf";
/// The form field (or, for uploads, query parameter) that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// What every page response carries. Inline SVG is markup, not script or style, so the chart
/// needs no exception.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Largest urlencoded form read for the CSRF check (a draft is at most 20,000 characters).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// What the page handlers share.
#[derive(Clone)]
pub struct Pages {
    pub app: AppState,
    /// Cookies get `Secure` (the public URL is https).
    pub secure: bool,
    /// The server's public URL, without a trailing slash (for the Claude Desktop snippet).
    pub base: String,
}

impl Pages {
    fn caller(&self, principal: &Principal) -> Caller {
        Caller::staff(principal.tenant, crate::audit::Transport::Http)
    }

    /// `Set-Cookie` for `name=value`, HttpOnly, SameSite=Lax, for the whole site.
    fn cookie(&self, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn expired_cookie(&self, name: &str) -> HeaderValue {
        self.cookie(name, "", Some(0))
    }
}

/// The pages' routes, with their session, CSRF and header middleware.
pub fn router(pages: Pages, upload_limit: usize) -> Router {
    let signed_in = Router::new()
        .route("/tickets", get(queue::show))
        .route("/tickets/{id}", get(ticket::show))
        .route("/tickets/{id}/update", post(ticket::update))
        .route("/tickets/{id}/triage", post(ticket::retriage))
        .route("/tickets/{id}/drafts/{message_id}/edit", post(ticket::edit))
        .route(
            "/tickets/{id}/drafts/{message_id}/approve",
            post(ticket::approve),
        )
        .route(
            "/tickets/{id}/drafts/{message_id}/discard",
            post(ticket::discard),
        )
        .route(
            "/tickets/{id}/actions/{action_id}/approve",
            post(ticket::approve_action),
        )
        .route(
            "/tickets/{id}/actions/{action_id}/reject",
            post(ticket::reject_action),
        )
        .route("/outcomes", get(outcomes::show))
        .route("/knowledge", get(knowledge::show))
        .route(
            "/knowledge/upload",
            post(knowledge::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/knowledge/{id}/delete", post(knowledge::delete))
        .route("/settings", get(settings::show))
        .route("/settings/stripe", post(settings::connect_stripe))
        .route(
            "/settings/stripe/disconnect",
            post(settings::disconnect_stripe),
        )
        .route("/settings/email", post(settings::set_email))
        .route("/settings/email/remove", post(settings::remove_email))
        .route("/settings/api-keys", post(settings::create_key))
        .route("/settings/api-keys/{id}/delete", post(settings::delete_key))
        .route("/settings/claude-desktop", post(settings::claude_desktop))
        .route("/logout", post(account::logout))
        .layer(middleware::from_fn_with_state(
            pages.clone(),
            require_session,
        ));
    Router::new()
        .route("/", get(home))
        .route("/signup", get(account::signup_form).post(account::signup))
        .route("/login", get(account::login_form).post(account::login))
        .merge(signed_in)
        .layer(middleware::from_fn_with_state(pages.clone(), csrf))
        .layer(middleware::from_fn(page_headers))
        .route("/assets/app.js", get(script))
        .route("/assets/app.css", get(style))
        .with_state(pages)
}

/// `/`: the queue, or the login page for someone not signed in.
async fn home(State(pages): State<Pages>, headers: HeaderMap) -> Response {
    match session(&pages, &headers).await {
        Ok(Some(_)) => Redirect::to("/tickets").into_response(),
        _ => Redirect::to("/login").into_response(),
    }
}

async fn script() -> Response {
    asset(
        include_str!("assets/app.js"),
        "text/javascript; charset=utf-8",
    )
}

async fn style() -> Response {
    asset(include_str!("assets/app.css"), "text/css; charset=utf-8")
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The signed-in principal of a page request: only a token bound to a live session counts.
async fn session(pages: &Pages, headers: &HeaderMap) -> Result<Option<Principal>, Refusal> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    match pages.app.accounts.authenticate(token).await {
        Ok(
            p @ Principal {
                credential: Credential::Token { sid: Some(_), .. },
                ..
            },
        ) => Ok(Some(p)),
        Ok(_) | Err(Refusal::Auth(_)) => Ok(None),
        Err(e @ Refusal::Store(_)) => Err(e),
    }
}

/// Lets signed-in requests through with their [`Principal`]; sends the others to `/login`
/// (and forgets a session cookie that no longer works).
async fn require_session(State(pages): State<Pages>, mut req: Request, next: Next) -> Response {
    match session(&pages, req.headers()).await {
        Ok(Some(principal)) => {
            if let Err(refused) = pages.app.ctx.limits().requests.check(principal.tenant.id()) {
                return PageError::from(Problem::too_many(&refused)).into_response();
            }
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Ok(None) => {
            let mut r = Redirect::to("/login").into_response();
            if cookie(req.headers(), SESSION_COOKIE).is_some() {
                r.headers_mut()
                    .append(header::SET_COOKIE, pages.expired_cookie(SESSION_COOKIE));
            }
            r
        }
        Err(Refusal::Store(e)) => PageError::from(e).into_response(),
        Err(Refusal::Auth(_)) => Redirect::to("/login").into_response(),
    }
}

/// The request's CSRF token, for its forms.
#[derive(Debug, Clone)]
pub struct Csrf(pub String);

fn new_csrf() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Gives every page a CSRF token (the cookie's, or a new one set on the response), and refuses
/// a POST whose `csrf` field (or query parameter, for multipart uploads) is not the cookie's.
async fn csrf(State(pages): State<Pages>, req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|c| c.len() == 43)
        .map(str::to_owned);
    if req.method() == Method::POST {
        let Some(expected) = existing else {
            return csrf_refused();
        };
        let (parts, body) = req.into_parts();
        let from_query = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned())
        });
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let (presented, body) = if is_form {
            let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
                return PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.")
                    .into_response();
            };
            let field = form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned());
            (field.or(from_query), axum::body::Body::from(bytes))
        } else {
            (from_query, body)
        };
        if !presented.is_some_and(|p| same(&p, &expected)) {
            tracing::info!(path = %parts.uri.path(), "refused a form without a valid CSRF token");
            return csrf_refused();
        }
        let mut req = Request::from_parts(parts, body);
        req.extensions_mut().insert(Csrf(expected));
        return next.run(req).await;
    }
    let (token, fresh) = match existing {
        Some(t) => (t, false),
        None => (new_csrf(), true),
    };
    let mut req = req;
    req.extensions_mut().insert(Csrf(token.clone()));
    let mut response = next.run(req).await;
    // A login sets its own (new) token; otherwise a first visit gets one.
    let set_by_handler = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(CSRF_COOKIE.as_bytes()));
    if fresh && !set_by_handler {
        response
            .headers_mut()
            .append(header::SET_COOKIE, pages.cookie(CSRF_COOKIE, &token, None));
    }
    response
}

fn csrf_refused() -> Response {
    PageError::new(
        StatusCode::FORBIDDEN,
        "This form did not come from this site's own page, or it has expired: go back, reload \
         the page and try again.",
    )
    .into_response()
}

/// The security headers of every page.
async fn page_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

/// A page that could not be shown: its status and a sentence for the person.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found.")
    }
}

impl<E: Into<Problem>> From<E> for PageError {
    fn from(e: E) -> Self {
        let problem: Problem = e.into();
        let d = problem.document();
        let status = StatusCode::from_u16(d.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status == StatusCode::NOT_FOUND {
            "Not found.".to_owned()
        } else {
            d.detail.clone()
        };
        Self { status, message }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = layout::error_page(self.status, &self.message);
        (self.status, body).into_response()
    }
}

/// A page's answer: markup, or a redirect after a POST.
pub type PageResult = Result<Response, PageError>;

/// `303 See Other` to `to`: what every successful form post answers.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A urlencoded form body, parsed into `T`; a malformed one is a 400 page.
pub struct PageForm<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for PageForm<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
        serde_urlencoded::from_bytes(&bytes)
            .map(PageForm)
            .map_err(|e| {
                PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!("The form is not valid: {e}."),
                )
            })
    }
}

/// A page's query string, parsed into `T`; a malformed one is a 400 page.
pub struct PageQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for PageQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q).map(PageQuery).map_err(|e| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                format!("The address is not valid: {e}."),
            )
        })
    }
}

/// A page's `{id}` (and `{message_id}`): a malformed id is a 404 like an unknown one.
pub fn parse_id(raw: &str) -> Result<uuid::Uuid, PageError> {
    uuid::Uuid::parse_str(raw).map_err(|_| PageError::not_found())
}
