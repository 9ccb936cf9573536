//! Channels (G1, G2): the signed intake webhook, the email channel, delivery by SMTP to a real
//! SMTP server on loopback (aiosmtpd, started by the tests), and the inbox read from a real IMAP
//! server on loopback (dovecot, started by the tests).

mod delivery;
mod hosts;
mod imap_server;
mod inbox;
mod intake;
mod secrets;
pub mod support;
