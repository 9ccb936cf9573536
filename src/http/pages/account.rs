//! `/signup`, `/login`, `/logout`: the accounts of F1, with a page session in a cookie.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{bare, csrf_field};
use super::{
    CSRF_COOKIE, Csrf, PageError, PageForm, PageResult, Pages, SESSION_COOKIE, new_csrf, see_other,
};
use crate::accounts::{AccountError, PageSession, Principal};
use crate::config::Secret;
use crate::http::edge::client_ip;

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn signup_form(Extension(csrf): Extension<Csrf>) -> Response {
    signup_page(&csrf, "", "", None)
}

pub async fn login_form(Extension(csrf): Extension<Csrf>) -> Response {
    login_page(&csrf, "", None)
}

fn signup_page(csrf: &Csrf, name: &str, email: &str, error: Option<&str>) -> Response {
    bare(
        "Sign up",
        html! {
            h1 { "Create your support desk" }
            (error_line(error))
            form.stack method="post" action="/signup" {
                (csrf_field(csrf))
                label for="name" { "Your name or your business's" }
                input id="name" name="name" type="text" required autocomplete="organization" value=(name);
                label for="email" { "Email" }
                input id="email" name="email" type="email" required autocomplete="email" value=(email);
                label for="password" { "Password (at least 10 characters)" }
                input id="password" name="password" type="password" required minlength="10" autocomplete="new-password";
                button.primary type="submit" { "Sign up" }
            }
            p { "Have an account? " a href="/login" { "Log in" } }
        },
    )
}

fn login_page(csrf: &Csrf, email: &str, error: Option<&str>) -> Response {
    bare(
        "Log in",
        html! {
            h1 { "Log in" }
            (error_line(error))
            form.stack method="post" action="/login" {
                (csrf_field(csrf))
                label for="email" { "Email" }
                input id="email" name="email" type="email" required autocomplete="username" value=(email);
                label for="password" { "Password" }
                input id="password" name="password" type="password" required autocomplete="current-password";
                button.primary type="submit" { "Log in" }
            }
            p { "New here? " a href="/signup" { "Create an account" } }
        },
    )
}

fn error_line(error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
    }
}

fn with_status(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

/// Sign-up and login attempts are throttled per client address and email, as on the API.
fn throttle(
    pages: &Pages,
    peer: Option<&Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    email: &str,
) -> Result<(), PageError> {
    let ip = client_ip(&pages.app.edge, peer.map(|p| &p.0), headers);
    pages
        .app
        .accounts
        .throttle(ip, email)
        .map_err(|refused| PageError::from(crate::http::problem::Problem::too_many(&refused)))
}

pub async fn signup(
    State(pages): State<Pages>,
    Extension(csrf): Extension<Csrf>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    PageForm(form): PageForm<SignupForm>,
) -> PageResult {
    throttle(&pages, peer.as_ref(), &headers, &form.email)?;
    let agent = user_agent(&headers);
    match pages
        .app
        .accounts
        .register_page(
            &form.name,
            &form.email,
            &Secret::new(form.password),
            agent.as_deref(),
        )
        .await
    {
        Ok(session) => Ok(signed_in(&pages, &session)),
        Err(e @ (AccountError::Invalid { .. } | AccountError::EmailTaken)) => {
            let status = if matches!(e, AccountError::EmailTaken) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(with_status(
                signup_page(&csrf, &form.name, &form.email, Some(&sentence(&e))),
                status,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn login(
    State(pages): State<Pages>,
    Extension(csrf): Extension<Csrf>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> PageResult {
    throttle(&pages, peer.as_ref(), &headers, &form.email)?;
    let agent = user_agent(&headers);
    match pages
        .app
        .accounts
        .login_page(&form.email, &Secret::new(form.password), agent.as_deref())
        .await
    {
        Ok(session) => Ok(signed_in(&pages, &session)),
        Err(e @ AccountError::InvalidCredentials) => Ok(with_status(
            login_page(&csrf, &form.email, Some(&sentence(&e))),
            StatusCode::UNAUTHORIZED,
        )),
        Err(e) => Err(e.into()),
    }
}

/// Ends the session (its token is refused from now on) and forgets both cookies.
pub async fn logout(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
) -> PageResult {
    pages.app.accounts.logout(&principal).await?;
    let mut r = see_other("/login");
    let h = r.headers_mut();
    h.append(header::SET_COOKIE, pages.expired_cookie(SESSION_COOKIE));
    h.append(header::SET_COOKIE, pages.expired_cookie(CSRF_COOKIE));
    Ok(r)
}

/// To the queue, with the session cookie and a new CSRF token for the new session.
fn signed_in(pages: &Pages, session: &PageSession) -> Response {
    let mut r = see_other("/tickets");
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        pages.cookie(
            SESSION_COOKIE,
            session.token.expose(),
            Some(session.max_age),
        ),
    );
    h.append(
        header::SET_COOKIE,
        pages.cookie(CSRF_COOKIE, &new_csrf(), None),
    );
    r.into_response()
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// An account error as a sentence for the form.
fn sentence(e: &AccountError) -> String {
    let s = e.to_string();
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => s,
    }
}
