//! Sending through a tenant's SMTP server with lettre: to the address its host resolved to and
//! was checked at (the certificate is still checked against the host name), with TLS from the
//! first byte (`smtps://`) or STARTTLS (`smtp://`; required unless the server is on loopback).

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{OpenChannel, Security, ServerUrl};
use crate::channels::Channels;
use crate::channels::hosts;

/// Longest an SMTP conversation may stall at any step.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a send failed, and whether trying again may help.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// A 4xx, a timeout, a refused or dropped connection: retried with the queue's backoff.
    #[error("{0}")]
    Temporary(String),
    /// A 5xx, a bad address, a refused login, a host that may not be used: not retried.
    #[error("{0}")]
    Permanent(String),
}

/// A transport to the channel's SMTP server.
async fn transport(
    channels: &Channels,
    channel: &OpenChannel,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    let url: &ServerUrl = &channel.smtp;
    let addr = hosts::resolve(
        &url.host,
        url.port,
        channels.email.email_allow_private_hosts,
    )
    .await
    .map_err(|e| match e {
        hosts::HostError::Private { .. } => SendError::Permanent(e.to_string()),
        hosts::HostError::Unresolved { .. } => SendError::Temporary(e.to_string()),
    })?;
    let mut params = TlsParameters::builder(url.host.clone());
    if let Some(pem) = &channels.ca_pem {
        let cert = Certificate::from_pem(pem)
            .map_err(|e| SendError::Permanent(format!("EMAIL_CA_FILE: {e}")))?;
        params = params.add_root_certificate(cert);
    }
    let params = params
        .build_rustls()
        .map_err(|e| SendError::Permanent(format!("TLS set-up: {e}")))?;
    let tls = match url.security {
        Security::Tls => Tls::Wrapper(params),
        // Credentials never cross a network in the clear: plain SMTP only on loopback.
        Security::StartTls if addr.ip().is_loopback() => Tls::Opportunistic(params),
        Security::StartTls => Tls::Required(params),
    };
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
            .port(addr.port())
            .tls(tls)
            .credentials(Credentials::new(
                channel.username.clone(),
                channel.password.expose().to_owned(),
            ))
            .timeout(Some(SMTP_TIMEOUT))
            .build(),
    )
}

fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    // lettre's messages name the server's answer, never the credentials.
    let text = crate::secrets::redact(&e.to_string()).into_owned();
    if e.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Temporary(text)
    }
}

/// Sends `message` to its envelope's recipients.
pub async fn send(
    channels: &Channels,
    channel: &OpenChannel,
    message: lettre::Message,
) -> Result<(), SendError> {
    let t = transport(channels, channel).await?;
    t.send(message).await.map(|_| ()).map_err(|e| classify(&e))
}

/// Connects and logs in (`channels email test`).
pub async fn login(channels: &Channels, channel: &OpenChannel) -> Result<(), SendError> {
    let t = transport(channels, channel).await?;
    match t.test_connection().await {
        Ok(true) => Ok(()),
        Ok(false) => Err(SendError::Temporary(
            "the server did not answer NOOP".into(),
        )),
        Err(e) => Err(classify(&e)),
    }
}
