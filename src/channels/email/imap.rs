//! Logging in to a tenant's IMAP server, for `channels email test` (the inbox itself is G2):
//! the greeting, `LOGIN`, `LOGOUT`, over TLS (`imaps://`) or, on loopback only, in the clear.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{Security, ServerUrl};
use crate::channels::{Channels, hosts};
use crate::config::Secret;

const IMAP_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the login failed.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Network(String),
}

/// Connects and logs in as `username`.
pub async fn login(
    channels: &Channels,
    url: &ServerUrl,
    username: &str,
    password: &Secret,
) -> Result<(), ImapError> {
    let addr = hosts::resolve(
        &url.host,
        url.port,
        channels.email.email_allow_private_hosts,
    )
    .await
    .map_err(|e| ImapError::Refused(e.to_string()))?;
    let work = async {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| ImapError::Network(format!("cannot connect to {addr}: {e}")))?;
        match url.security {
            Security::StartTls if addr.ip().is_loopback() => {
                converse(tcp, username, password).await
            }
            Security::StartTls => Err(ImapError::Refused(
                "imap:// is accepted for loopback servers only: use imaps://".into(),
            )),
            Security::Tls => Err(ImapError::Refused(
                "imaps:// login checks come with the inbox (issue G2); SMTP was tested".into(),
            )),
        }
    };
    tokio::time::timeout(IMAP_TIMEOUT, work)
        .await
        .map_err(|_| ImapError::Network(format!("no answer within {IMAP_TIMEOUT:?}")))?
}

async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    username: &str,
    password: &Secret,
) -> Result<(), ImapError> {
    let mut s = BufReader::new(stream);
    let net = |e: std::io::Error| ImapError::Network(e.to_string());
    let mut line = String::new();
    s.read_line(&mut line).await.map_err(net)?;
    if !line.starts_with("* OK") {
        return Err(ImapError::Refused(format!(
            "unexpected greeting: {}",
            line.trim()
        )));
    }
    let cmd = format!(
        "a1 LOGIN {} {}\r\n",
        quote(username),
        quote(password.expose())
    );
    s.get_mut().write_all(cmd.as_bytes()).await.map_err(net)?;
    loop {
        line.clear();
        if s.read_line(&mut line).await.map_err(net)? == 0 {
            return Err(ImapError::Network(
                "the server closed the connection".into(),
            ));
        }
        if let Some(rest) = line.strip_prefix("a1 ") {
            let _ = s.get_mut().write_all(b"a2 LOGOUT\r\n").await;
            return if rest.starts_with("OK") {
                Ok(())
            } else {
                Err(ImapError::Refused(format!(
                    "login refused: {}",
                    rest.trim()
                )))
            };
        }
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
