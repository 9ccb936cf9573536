//! Channels (G1): the signed intake webhook, the email channel and delivery by SMTP to a real
//! SMTP server on loopback (aiosmtpd, started by the tests).

mod delivery;
mod hosts;
mod intake;
mod secrets;
pub mod support;
