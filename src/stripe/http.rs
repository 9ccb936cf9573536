//! The HTTP side of the Stripe client: async-stripe's request types over our own transport.
//!
//! async-stripe 1.0 builds every request (paths, form-encoded parameters, pagination, types) and
//! lets a client implement its `StripeClient` trait. Its own hyper client is not used here: its
//! retry loop keeps `Stripe-Should-Retry` and the status to itself, its strategies are either a
//! single attempt or uncapped un-jittered backoff (1 s, 2 s, 4 s, …) that retries 424 as well, and
//! its native-roots TLS connector panics on a host without CA certificates. So this module
//! implements `StripeClient` over the `reqwest` client the crate already uses for the LLM, with
//! a timeout per attempt, [`RetryPolicy`], and an `Idempotency-Key` on every write.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use stripe_client_core::{CustomizedStripeRequest, RequestStrategy, StripeClient, StripeMethod};

use super::error::{self, StripeError};
use super::retry::{Attempt, RetryPolicy};
use crate::config::Secret;

/// A client for the Stripe API, shared by every tenant: it holds no tenant's credential.
#[derive(Debug, Clone)]
pub struct StripeHttp {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    policy: RetryPolicy,
}

impl StripeHttp {
    /// A client for `base` (e.g. `https://api.stripe.com/`) with a timeout per attempt.
    pub fn new(base: &str, timeout: Duration, policy: RetryPolicy) -> Result<Self, StripeError> {
        let base = base.trim();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(StripeError::Config(format!(
                "STRIPE_API_BASE must be an http(s) URL, not '{base}'"
            )));
        }
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("support-agent/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .build()
            .map_err(|e| StripeError::Config(e.to_string()))?;
        Ok(Self {
            http,
            base: format!("{}/", base.trim_end_matches('/')),
            timeout,
            policy,
        })
    }

    /// Requests with this bearer key and, for a Connect account, this `Stripe-Account`.
    pub fn authorized(
        &self,
        key: &Secret,
        account: Option<&str>,
    ) -> Result<TenantClient<'_>, StripeError> {
        let mut auth = HeaderValue::try_from(format!("Bearer {}", key.expose())).map_err(|_| {
            StripeError::Config("the Stripe key is not a valid header value".into())
        })?;
        auth.set_sensitive(true);
        let account = account
            .map(HeaderValue::try_from)
            .transpose()
            .map_err(|_| StripeError::Config("invalid Stripe account id".into()))?;
        Ok(TenantClient {
            http: self,
            auth,
            account,
        })
    }
}

/// A [`StripeHttp`] with one tenant's credentials. Only [`super::Stripe::client_for`] makes one
/// from stored credentials; nothing a tool receives can change them.
#[derive(Debug)]
pub struct TenantClient<'a> {
    http: &'a StripeHttp,
    auth: HeaderValue,
    account: Option<HeaderValue>,
}

impl StripeClient for TenantClient<'_> {
    type Err = StripeError;

    async fn execute(&self, req: CustomizedStripeRequest) -> Result<Bytes, StripeError> {
        let (req, config) = req.into_pieces();
        // The account comes from the tenant's stored credentials, never from a request.
        if config.account_id.is_some() {
            return Err(StripeError::Config(
                "per-request Stripe accounts are refused".into(),
            ));
        }
        let idempotency_key = match config.request_strategy {
            Some(RequestStrategy::Idempotent(key)) => Some(key.into_inner()),
            _ => None,
        };
        let method = match req.method {
            StripeMethod::Get => reqwest::Method::GET,
            StripeMethod::Post => reqwest::Method::POST,
            StripeMethod::Delete => reqwest::Method::DELETE,
        };
        if method != reqwest::Method::GET && idempotency_key.is_none() {
            return Err(StripeError::MissingIdempotencyKey);
        }
        let mut url = format!("{}v1{}", self.http.base, req.path);
        if let Some(query) = req.query.as_deref().filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(query);
        }
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, self.auth.clone());
        if let Ok(version) = HeaderValue::from_str(stripe_client_core::VERSION.as_str()) {
            headers.insert("stripe-version", version);
        }
        if let Some(account) = &self.account {
            headers.insert("stripe-account", account.clone());
        }
        if let Some(key) = idempotency_key {
            let value = HeaderValue::try_from(key)
                .map_err(|_| StripeError::Config("invalid idempotency key".into()))?;
            headers.insert("idempotency-key", value);
        }
        if req.body.is_some() {
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
        }
        let timeout = config.timeout.unwrap_or(self.http.timeout);
        let mut attempt = 1;
        loop {
            let mut builder = self
                .http
                .http
                .request(method.clone(), &url)
                .headers(headers.clone())
                .timeout(timeout);
            if let Some(body) = &req.body {
                builder = builder.body(body.clone());
            }
            let (outcome, retry_after, err) = match send(builder).await {
                Ok(bytes) => return Ok(bytes),
                Err(failure) => failure,
            };
            let err = match err {
                Failure::Timeout => StripeError::Timeout(timeout, attempt),
                Failure::Network(msg) => StripeError::Network(msg, attempt),
                Failure::Stripe(e) => e,
            };
            let Some(wait) = self
                .http
                .policy
                .next_delay(attempt + 1, outcome, retry_after)
            else {
                return Err(err);
            };
            tracing::warn!(path = %req.path, attempt, error = %err, ?wait, "retrying a Stripe request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

enum Failure {
    Timeout,
    Network(String),
    Stripe(StripeError),
}

/// One attempt: the body of a 2xx answer, or how it failed.
async fn send(
    builder: reqwest::RequestBuilder,
) -> Result<Bytes, (Attempt, Option<Duration>, Failure)> {
    let network = |e: reqwest::Error| {
        let failure = if e.is_timeout() {
            Failure::Timeout
        } else {
            // Without the URL: it can carry a customer id, and never needs to reach a model.
            Failure::Network(e.without_url().to_string())
        };
        (Attempt::Network, None, failure)
    };
    let response = builder.send().await.map_err(network)?;
    let status = response.status().as_u16();
    let should_retry = header(response.headers(), "stripe-should-retry").and_then(|v| match v {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    });
    let retry_after = header(response.headers(), RETRY_AFTER.as_str())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.bytes().await.map_err(network)?;
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let outcome = Attempt::Status {
        status,
        should_retry,
    };
    Err((
        outcome,
        retry_after,
        Failure::Stripe(error::from_response(status, &body)),
    ))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}
