//! The REST API under `/api/v1`: which routes are public, which need a credential, and which a
//! full-scope one.

mod api_keys;
mod auth;
mod me;

use axum::Router;
use axum::middleware;
use axum::routing::{delete, get, post};

use super::AppState;
use super::authn::{authenticate, require_full_scope};

/// `/api/v1/…`, to be nested.
pub fn api(state: AppState) -> Router {
    let public = Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh));
    let staff = Router::new()
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(me::show).patch(me::rename).delete(me::delete))
        .route("/me/password", post(me::change_password))
        .route("/api-keys", post(api_keys::create).get(api_keys::list))
        .route("/api-keys/{id}", delete(api_keys::delete))
        .layer(middleware::from_fn(require_full_scope))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    public.merge(staff).with_state(state)
}
