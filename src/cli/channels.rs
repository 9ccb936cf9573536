//! `channels email set | status | remove | test`: a tenant's email channel. `--user` is trusted
//! operator input; the password is read from stdin only (a flag would show in `ps`).

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use super::Cli;
use super::context::{TenantArgs, channels, service_db};
use super::print_json;
use super::users::read_secret_line;
use crate::channels::email::{self, ChannelView, NewChannel};
use crate::channels::inbox::{MailboxState, MailboxStatus};

#[derive(Debug, Clone, Subcommand)]
pub enum ChannelsCmd {
    /// The email account replies are sent from, and the inbox the worker reads.
    #[command(subcommand)]
    Email(EmailCmd),
}

#[derive(Debug, Clone, Subcommand)]
pub enum EmailCmd {
    /// Set the tenant's email channel; the password is read from the first line of stdin.
    Set {
        #[command(flatten)]
        tenant: TenantArgs,
        /// smtp://host:port (STARTTLS) or smtps://host:port (TLS).
        #[arg(long)]
        smtp_url: String,
        /// imap://host:port or imaps://host:port, for the inbox.
        #[arg(long)]
        imap_url: Option<String>,
        /// The address replies come from, e.g. support@acme.test.
        #[arg(long)]
        address: String,
        #[arg(long)]
        username: String,
        /// Read the password from the first line of stdin.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Show the tenant's email channel (never the password) and how reading its inbox goes.
    Status {
        #[command(flatten)]
        tenant: TenantArgs,
    },
    /// Forget the tenant's email channel.
    Remove {
        #[command(flatten)]
        tenant: TenantArgs,
    },
    /// Log in to each server and say in one line which failed and why.
    Test {
        #[command(flatten)]
        tenant: TenantArgs,
    },
}

pub(super) async fn run(cli: &Cli, cmd: ChannelsCmd) -> anyhow::Result<()> {
    let ChannelsCmd::Email(cmd) = cmd;
    let chans = channels(cli)?;
    let db = service_db(&cli.db).await?;
    match cmd {
        EmailCmd::Set {
            tenant: args,
            smtp_url,
            imap_url,
            address,
            username,
            password_stdin: _,
        } => {
            let password = read_secret_line().context("reading the password from stdin")?;
            let tenant = args.tenant(&db).await?;
            let new = NewChannel {
                address,
                smtp_url,
                imap_url,
                username,
                password,
            };
            let view = email::set(&db, &chans, &tenant, &new).await?;
            show(args.json, Some(&view))
        }
        EmailCmd::Status { tenant: args } => {
            let tenant = args.tenant(&db).await?;
            show(args.json, email::status(&db, &tenant).await?.as_ref())
        }
        EmailCmd::Remove { tenant: args } => {
            let tenant = args.tenant(&db).await?;
            let was = email::remove(&db, &tenant).await?;
            if args.json {
                return print_json(&json!({"user_id": args.user, "removed": was}));
            }
            eprintln!(
                "{}",
                if was {
                    "email channel removed"
                } else {
                    "no email channel was set"
                }
            );
            Ok(())
        }
        EmailCmd::Test { tenant: args } => {
            let tenant = args.tenant(&db).await?;
            let report = email::test(&db, &chans, &tenant).await?;
            if args.json {
                print_json(&json!({
                    "ok": report.ok(),
                    "smtp": report.smtp.as_ref().err(),
                    "imap": report.imap.as_ref().map(|r| r.as_ref().err()),
                    "line": report.line(),
                }))?;
            } else {
                println!("{}", report.line());
            }
            if report.ok() {
                Ok(())
            } else {
                anyhow::bail!("{}", report.line())
            }
        }
    }
}

fn show(json: bool, view: Option<&ChannelView>) -> anyhow::Result<()> {
    if json {
        return print_json(&json!({"configured": view.is_some(), "channel": view}));
    }
    match view {
        None => println!("no email channel"),
        Some(v) => {
            println!("address   {}", v.address);
            println!("smtp      {}", v.smtp_url);
            println!("imap      {}", v.imap_url.as_deref().unwrap_or("-"));
            println!("username  {}", v.username);
            println!("password  sealed under {}", v.key_id);
            if v.imap_url.is_some() {
                println!("inbox     {}", inbox_line(v.mailbox.as_ref()));
            }
        }
    }
    Ok(())
}

/// The inbox in one line: its state, and when failing the reason and the time.
fn inbox_line(m: Option<&MailboxStatus>) -> String {
    let Some(m) = m else {
        return "not read yet (the worker reads it)".into();
    };
    let counts = format!(
        "{} tickets, {} messages, {} auto-replies, {} bounces, {} loops, {} rejected, {} duplicates",
        m.tickets, m.messages, m.auto_replies, m.bounces, m.loops, m.rejected, m.duplicates
    );
    match m.state {
        MailboxState::Failing => format!(
            "failing since {} ({} attempts): {}; {counts}",
            m.last_error_at.map_or("-".into(), |t| t.to_rfc3339()),
            m.failures,
            m.last_error.as_deref().unwrap_or("-"),
        ),
        MailboxState::Ok => format!(
            "ok, read {}; {counts}",
            m.last_ok_at.map_or("-".into(), |t| t.to_rfc3339())
        ),
        MailboxState::Pending => format!("not read yet; {counts}"),
    }
}
