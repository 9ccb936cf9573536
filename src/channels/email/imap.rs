//! The IMAP client: a session with a tenant's IMAP server (async-imap), over TLS from the first
//! byte (`imaps://`) or STARTTLS (`imap://`; in the clear only on loopback), to the address its
//! host resolved to and was checked at. `channels email test` logs in and out; the inbox
//! ([`crate::channels::inbox`]) keeps the session.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

use super::{Security, ServerUrl, tls};
use crate::channels::{Channels, hosts};
use crate::config::Secret;

/// Longest the connection and login may take.
pub const IMAP_TIMEOUT: Duration = Duration::from_secs(20);

/// A logged-in session.
pub type Session = async_imap::Session<MailStream>;

/// Why the server could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ImapError {
    /// The login was refused, the host may not be used, the certificate is not trusted: trying
    /// again as it is will fail again.
    #[error("{0}")]
    Refused(String),
    /// No answer, a dropped connection, a reply the client could not read: worth another try.
    #[error("{0}")]
    Network(String),
}

/// The connection under a session: TLS, or plain TCP to a loopback server.
#[derive(Debug)]
pub enum MailStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

fn network(e: impl std::fmt::Display) -> ImapError {
    ImapError::Network(crate::secrets::redact(&e.to_string()).into_owned())
}

/// Connects and logs in as `username`.
pub async fn connect(
    channels: &Channels,
    url: &ServerUrl,
    username: &str,
    password: &Secret,
) -> Result<Session, ImapError> {
    let addr = hosts::resolve(
        &url.host,
        url.port,
        channels.email.email_allow_private_hosts,
    )
    .await
    .map_err(|e| match e {
        hosts::HostError::Private { .. } => ImapError::Refused(e.to_string()),
        hosts::HostError::Unresolved { .. } => ImapError::Network(e.to_string()),
    })?;
    let work = async {
        let mut tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| ImapError::Network(format!("cannot connect to {addr}: {e}")))?;
        let (stream, greeted) = match url.security {
            Security::Tls => (MailStream::Tls(handshake(channels, url, tcp).await?), false),
            // Credentials never cross a network in the clear: plain IMAP only on loopback.
            Security::StartTls if addr.ip().is_loopback() => (MailStream::Plain(tcp), false),
            Security::StartTls => {
                starttls(&mut tcp).await?;
                (MailStream::Tls(handshake(channels, url, tcp).await?), true)
            }
        };
        let mut client = async_imap::Client::new(stream);
        if !greeted {
            match client.read_response().await {
                Ok(Some(_)) => {}
                Err(e) => return Err(network(e)),
                Ok(None) => {
                    return Err(ImapError::Network(
                        "the server closed the connection".into(),
                    ));
                }
            }
        }
        client
            .login(username, password.expose())
            .await
            .map_err(|(e, _)| refusal(e))
    };
    tokio::time::timeout(IMAP_TIMEOUT, work)
        .await
        .map_err(|_| ImapError::Network(format!("no answer within {IMAP_TIMEOUT:?}")))?
}

fn refusal(e: async_imap::error::Error) -> ImapError {
    use async_imap::error::Error;
    match e {
        Error::No(m) | Error::Bad(m) => ImapError::Refused(format!("login refused: {}", m.trim())),
        e => network(e),
    }
}

async fn handshake(
    channels: &Channels,
    url: &ServerUrl,
    tcp: TcpStream,
) -> Result<Box<TlsStream<TcpStream>>, ImapError> {
    let config = tls::client_config(channels).map_err(ImapError::Refused)?;
    let name = ServerName::try_from(url.host.clone())
        .map_err(|e| ImapError::Refused(format!("{}: not a valid TLS name: {e}", url.host)))?;
    TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map(Box::new)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => ImapError::Refused(format!("TLS: {e}")),
            _ => ImapError::Network(format!("TLS: {e}")),
        })
}

/// The clear-text start of an `imap://` session: the greeting, `STARTTLS`, its `OK`.
async fn starttls(tcp: &mut TcpStream) -> Result<(), ImapError> {
    let greeting = read_line(tcp).await?;
    if !greeting.starts_with("* OK") {
        return Err(ImapError::Refused(format!(
            "unexpected greeting: {}",
            greeting.trim()
        )));
    }
    tcp.write_all(b"s1 STARTTLS\r\n").await.map_err(network)?;
    loop {
        let line = read_line(tcp).await?;
        if let Some(rest) = line.strip_prefix("s1 ") {
            return if rest.starts_with("OK") {
                Ok(())
            } else {
                Err(ImapError::Refused(format!(
                    "STARTTLS refused: {}",
                    rest.trim()
                )))
            };
        }
    }
}

/// One line, read byte by byte so that nothing after it (the TLS handshake) is consumed.
async fn read_line(tcp: &mut TcpStream) -> Result<String, ImapError> {
    let mut line = Vec::new();
    loop {
        let b = tcp.read_u8().await.map_err(network)?;
        line.push(b);
        if b == b'\n' || line.len() > 8192 {
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
    }
}

/// Connects, logs in and out (`channels email test`).
pub async fn login(
    channels: &Channels,
    url: &ServerUrl,
    username: &str,
    password: &Secret,
) -> Result<(), ImapError> {
    let mut session = connect(channels, url, username, password).await?;
    let _ = tokio::time::timeout(IMAP_TIMEOUT, session.logout()).await;
    Ok(())
}
