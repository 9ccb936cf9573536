//! The loopback Stripe's endpoints: who is asking, then what they may see.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::data;
use super::fake::{Account, Seen};

fn err(status: StatusCode, kind: &str, code: Option<&str>, message: &str) -> Response {
    (status, Json(data::error(kind, code, message))).into_response()
}

/// Stripe's way of naming a key in an error: its prefix, stars, its last four characters.
fn masked(authorization: &str) -> String {
    let key = authorization.trim_start_matches("Bearer ");
    let prefix: String = key.chars().take(8).collect();
    let tail: String = key
        .chars()
        .skip(key.chars().count().saturating_sub(4))
        .collect();
    format!("{prefix}****{tail}")
}

/// The answer to one request.
pub fn answer(accounts: &[Account], seen: &Seen) -> Response {
    let auth = seen.authorization.clone().unwrap_or_default();
    let Some(account) = accounts
        .iter()
        .find(|a| a.authorization == auth && a.stripe_account == seen.stripe_account)
    else {
        if accounts.iter().any(|a| a.authorization == auth) {
            let msg = format!(
                "The provided key '{}' does not have access to account '{}' (or that account \
                 does not exist). Application access may have been revoked.",
                masked(&auth),
                seen.stripe_account.as_deref().unwrap_or("")
            );
            return err(
                StatusCode::FORBIDDEN,
                "invalid_request_error",
                Some("account_invalid"),
                &msg,
            );
        }
        let msg = format!("Invalid API Key provided: {}", masked(&auth));
        return err(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            &msg,
        );
    };
    let filter = |items: &[Value], field: &str, param: &str| -> Vec<Value> {
        let wanted = seen.param(param);
        items
            .iter()
            .filter(|v| wanted.is_none_or(|w| v[field].as_str() == Some(w)))
            .cloned()
            .collect()
    };
    match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/v1/charges") => {
            if let Some(c) = seen.param("customer")
                && !account.customers.iter().any(|x| x["id"] == c)
            {
                let msg = format!("No such customer: '{c}'");
                return err(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &msg,
                );
            }
            page(
                "/v1/charges",
                filter(&account.charges, "customer", "customer"),
                seen,
            )
        }
        ("GET", "/v1/customers") => page(
            "/v1/customers",
            filter(&account.customers, "email", "email"),
            seen,
        ),
        ("GET", "/v1/refunds") => page(
            "/v1/refunds",
            filter(&account.refunds, "charge", "charge"),
            seen,
        ),
        ("GET", "/v1/disputes") => page(
            "/v1/disputes",
            filter(&account.disputes, "charge", "charge"),
            seen,
        ),
        ("GET", "/v1/subscriptions") => {
            if let Some(missing) = unknown_customer(account, seen) {
                return missing;
            }
            let status = seen.param("status");
            let subs: Vec<Value> = filter(&account.subscriptions, "customer", "customer")
                .into_iter()
                .filter(|s| match status {
                    Some("all") => true,
                    Some("ended") => {
                        s["status"] == "canceled" || s["status"] == "incomplete_expired"
                    }
                    Some(st) => s["status"] == st,
                    // Stripe's default leaves canceled subscriptions out.
                    None => s["status"] != "canceled",
                })
                .map(|s| expand_subscription(account, s, seen))
                .collect();
            page("/v1/subscriptions", subs, seen)
        }
        ("GET", "/v1/invoices") => {
            if let Some(missing) = unknown_customer(account, seen) {
                return missing;
            }
            let invoices: Vec<Value> = filter(&account.invoices, "customer", "customer")
                .into_iter()
                .filter(|i| seen.param("status").is_none_or(|st| i["status"] == st))
                .map(|i| expand_invoice(i, seen))
                .collect();
            page("/v1/invoices", invoices, seen)
        }
        ("GET", path) if path.starts_with("/v1/charges/") => {
            let id = path.trim_start_matches("/v1/charges/");
            match account.charges.iter().find(|c| c["id"] == id) {
                Some(c) => Json(c.clone()).into_response(),
                None => err(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such charge: '{id}'"),
                ),
            }
        }
        ("GET", path) if path.starts_with("/v1/customers/") => {
            let id = path.trim_start_matches("/v1/customers/");
            match account.customers.iter().find(|c| c["id"] == id) {
                Some(c) => Json(c.clone()).into_response(),
                None => err(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such customer: '{id}'"),
                ),
            }
        }
        ("GET", path) if path.starts_with("/v1/subscriptions/") => {
            let id = path.trim_start_matches("/v1/subscriptions/");
            match account.subscriptions.iter().find(|s| s["id"] == id) {
                Some(s) => Json(s.clone()).into_response(),
                None => err(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such subscription: '{id}'"),
                ),
            }
        }
        _ => err(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            "Unrecognized request URL",
        ),
    }
}

/// Which account the request's credentials reach, or Stripe's 401/403.
fn reach<'a>(
    accounts: &'a mut [Account],
    seen: &Seen,
) -> Result<&'a mut Account, (StatusCode, Value)> {
    let auth = seen.authorization.clone().unwrap_or_default();
    let known = accounts.iter().any(|a| a.authorization == auth);
    match accounts
        .iter_mut()
        .find(|a| a.authorization == auth && a.stripe_account == seen.stripe_account)
    {
        Some(a) => Ok(a),
        None if known => Err((
            StatusCode::FORBIDDEN,
            data::error(
                "invalid_request_error",
                Some("account_invalid"),
                "no access to that account",
            ),
        )),
        None => Err((
            StatusCode::UNAUTHORIZED,
            data::error(
                "invalid_request_error",
                None,
                &format!("Invalid API Key provided: {}", masked(&auth)),
            ),
        )),
    }
}

/// Stripe's 403 for a restricted key without `permission`, worded as Stripe words it.
fn lacking(account: &Account, seen: &Seen, permission: &str) -> Option<(StatusCode, Value)> {
    if !account.lacks.contains(&permission) {
        return None;
    }
    let auth = seen.authorization.clone().unwrap_or_default();
    let msg = format!(
        "The provided key '{}' does not have the required permissions for this endpoint on \
         account 'acct_1LoopbackAcct'. Having the '{permission}' permission would allow this \
         request to continue.",
        masked(&auth)
    );
    Some((
        StatusCode::FORBIDDEN,
        data::error("invalid_request_error", None, &msg),
    ))
}

fn missing(what: &str, id: &str) -> (StatusCode, Value) {
    (
        StatusCode::NOT_FOUND,
        data::error(
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such {what}: '{id}'"),
        ),
    )
}

/// The answer to a write (POST, DELETE), which changes the account: refunds made, subscriptions
/// set to end or ended.
pub fn write(accounts: &mut [Account], seen: &Seen) -> (StatusCode, Value) {
    let account = match reach(accounts, seen) {
        Ok(a) => a,
        Err(e) => return e,
    };
    match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/v1/refunds") => {
            if let Some(denied) = lacking(account, seen, "rak_refund_write") {
                return denied;
            }
            let charge_id = seen.param("charge").unwrap_or_default().to_owned();
            let Some(charge) = account
                .charges
                .iter_mut()
                .find(|c| c["id"] == charge_id.as_str())
            else {
                return (
                    StatusCode::BAD_REQUEST,
                    data::error(
                        "invalid_request_error",
                        Some("resource_missing"),
                        &format!("No such charge: '{charge_id}'"),
                    ),
                );
            };
            let captured = charge["amount_captured"].as_i64().unwrap_or(0);
            let refunded = charge["amount_refunded"].as_i64().unwrap_or(0);
            let remaining = captured - refunded;
            let amount = seen
                .param("amount")
                .and_then(|a| a.parse::<i64>().ok())
                .unwrap_or(remaining);
            if remaining <= 0 {
                return (
                    StatusCode::BAD_REQUEST,
                    data::error(
                        "invalid_request_error",
                        Some("charge_already_refunded"),
                        &format!("Charge {charge_id} has already been refunded."),
                    ),
                );
            }
            if amount > remaining {
                return (
                    StatusCode::BAD_REQUEST,
                    data::error(
                        "invalid_request_error",
                        Some("amount_too_large"),
                        "Refund amount is greater than unrefunded amount on charge",
                    ),
                );
            }
            charge["amount_refunded"] = json!(refunded + amount);
            charge["refunded"] = json!(refunded + amount == captured);
            let snapshot = charge.clone();
            let n = account.refunds.len();
            let mut refund = data::refund(&format!("re_made{n:04}"), &snapshot);
            refund["amount"] = json!(amount);
            refund["reason"] = json!(seen.param("reason"));
            let metadata: serde_json::Map<String, Value> = seen
                .query
                .iter()
                .filter_map(|(k, v)| {
                    let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
                    Some((key.to_owned(), json!(v)))
                })
                .collect();
            refund["metadata"] = Value::Object(metadata);
            refund["created"] = json!(1_800_000_000 + n as i64);
            account.refunds.push(refund.clone());
            (StatusCode::OK, refund)
        }
        (method, path) if path.starts_with("/v1/subscriptions/") => {
            if let Some(denied) = lacking(account, seen, "rak_subscription_write") {
                return denied;
            }
            let id = path.trim_start_matches("/v1/subscriptions/");
            let Some(sub) = account.subscriptions.iter_mut().find(|s| s["id"] == id) else {
                return missing("subscription", id);
            };
            if sub["status"] == "canceled" {
                return (
                    StatusCode::BAD_REQUEST,
                    data::error(
                        "invalid_request_error",
                        None,
                        &format!(
                            "A canceled subscription can only update its cancellation_details and metadata ({id})."
                        ),
                    ),
                );
            }
            let period_end = sub["items"]["data"][0]["current_period_end"].clone();
            match method {
                "DELETE" => {
                    sub["status"] = json!("canceled");
                    sub["canceled_at"] = json!(1_800_000_000);
                    sub["ended_at"] = json!(1_800_000_000);
                }
                _ if seen.param("cancel_at_period_end") == Some("true") => {
                    sub["cancel_at_period_end"] = json!(true);
                    sub["cancel_at"] = period_end;
                    sub["canceled_at"] = json!(1_800_000_000);
                }
                _ => {}
            }
            (StatusCode::OK, sub.clone())
        }
        _ => (
            StatusCode::NOT_FOUND,
            data::error("invalid_request_error", None, "Unrecognized request URL"),
        ),
    }
}

/// Stripe's 400 for a `customer` parameter that names no customer of the account.
fn unknown_customer(account: &Account, seen: &Seen) -> Option<Response> {
    let c = seen.param("customer")?;
    if account.customers.iter().any(|x| x["id"] == c) {
        return None;
    }
    let msg = format!("No such customer: '{c}'");
    Some(err(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("resource_missing"),
        &msg,
    ))
}

/// The `expand[]` parameters of a request (`expand[0]=…`, as async-stripe writes them).
fn expands(seen: &Seen) -> Vec<&str> {
    seen.query
        .iter()
        .filter(|(k, _)| k == "expand" || k.starts_with("expand["))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A subscription as listed: its products and latest invoice expanded when asked.
fn expand_subscription(account: &Account, mut s: Value, seen: &Seen) -> Value {
    let wanted = expands(seen);
    if wanted.contains(&"data.items.data.price.product")
        && let Some(items) = s["items"]["data"].as_array_mut()
    {
        for item in items {
            let id = item["price"]["product"].clone();
            if let Some(p) = account.products.iter().find(|p| p["id"] == id) {
                item["price"]["product"] = p.clone();
            }
        }
    }
    if wanted.contains(&"data.latest_invoice") {
        let id = s["latest_invoice"].clone();
        if let Some(i) = account.invoices.iter().find(|i| i["id"] == id) {
            s["latest_invoice"] = expand_invoice(
                i.clone(),
                &Seen {
                    query: vec![],
                    ..seen.clone()
                },
            );
        }
    }
    s
}

/// An invoice as listed: its payments only when `data.payments` is expanded (Stripe's
/// includable field).
fn expand_invoice(mut i: Value, seen: &Seen) -> Value {
    let payments = i
        .as_object_mut()
        .and_then(|o| o.remove("payments_template"));
    if expands(seen).contains(&"data.payments") {
        i["payments"] =
            payments.unwrap_or_else(|| data::list("/v1/invoice_payments", vec![], false));
    }
    i
}

/// A page of `items`, newest first, after `starting_after`, at most `limit` (default 10).
fn page(url: &str, mut items: Vec<Value>, seen: &Seen) -> Response {
    items.sort_by_key(|v| std::cmp::Reverse(v["created"].as_i64().unwrap_or(0)));
    let limit: usize = seen
        .param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid_integer"),
            "This value must be greater than or equal to 1.",
        );
    }
    let start = match seen.param("starting_after") {
        None => 0,
        Some(after) => match items.iter().position(|v| v["id"] == after) {
            Some(i) => i + 1,
            None => {
                let msg = format!("No such object: '{after}'");
                return err(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &msg,
                );
            }
        },
    };
    let rest: Vec<Value> = items.into_iter().skip(start).collect();
    let has_more = rest.len() > limit;
    Json(data::list(
        url,
        rest.into_iter().take(limit).collect(),
        has_more,
    ))
    .into_response()
}
