//! A mail as the inbox needs it, read with mail-parser (MIME, quoted-printable, base64, charsets):
//! who sent it, what it answers, its text above the reply cut (HTML through the knowledge
//! base's extractor), its attachments' names, types and sizes, whether a machine sent it, and
//! what was odd about it. Nothing here fails: a mail that cannot be used says why.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::cut::reply_cut;
use crate::knowledge::extract::html_to_text;
use crate::validate::{MAX_BODY, MAX_SUBJECT};

/// Attachments listed at most.
const MAX_ATTACHMENTS: usize = 100;
/// Message-IDs of `In-Reply-To` and `References` looked at, at most.
const MAX_REFS: usize = 100;
/// Where a text longer than a message may be was cut.
pub const CUT_MARKER: &str = "\n\n[… cut here: the mail is longer than a message may be]";

/// Who sent the mail, as its `From` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFrom {
    pub address: String,
    pub name: Option<String>,
}

/// An attachment: never its contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub name: Option<String>,
    pub content_type: String,
    pub size: u64,
}

/// A mail a machine sent: not a customer writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Automatic {
    /// An out-of-office or other automatic answer, a bulk mail: the header that says so.
    AutoReply(String),
    /// A delivery failure report.
    Bounce(String),
}

/// What the inbox reads from a mail.
#[derive(Debug, Clone)]
pub struct ParsedMail {
    /// The `Message-ID` with its angle brackets, or `sha256:<hex>` of the headers without one.
    pub key: String,
    pub message_id: Option<String>,
    /// `In-Reply-To`, then `References` from the newest: the mails this one answers.
    pub refs: Vec<String>,
    pub from: Option<MailFrom>,
    pub subject: String,
    /// The new text: above the reply cut, at most a message's length.
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub automatic: Option<Automatic>,
    /// Why the mail could not be read at all.
    pub unreadable: Option<String>,
    /// What was odd but did not stop it: an unknown charset, broken MIME, a cut.
    pub notes: Vec<String>,
}

/// Reads a whole mail.
pub fn parse(raw: &[u8]) -> ParsedMail {
    read(raw, true)
}

/// Reads the headers of a mail whose body is not fetched (too large).
pub fn parse_headers(raw_header: &[u8]) -> ParsedMail {
    read(raw_header, false)
}

fn read(raw: &[u8], with_body: bool) -> ParsedMail {
    let header_block = &raw[..header_end(raw)];
    let hash_key = format!("sha256:{:x}", Sha256::digest(header_block));
    let Some(msg) = MessageParser::default().parse(raw) else {
        return ParsedMail {
            key: hash_key,
            message_id: None,
            refs: Vec::new(),
            from: None,
            subject: String::new(),
            text: String::new(),
            attachments: Vec::new(),
            automatic: None,
            unreadable: Some("not a mail: no header could be read".into()),
            notes: Vec::new(),
        };
    };
    let message_id = msg.message_id().and_then(bracketed);
    let mut notes = Vec::new();
    let (text, attachments) = if with_body {
        (body_text(&msg, &mut notes), attachments(&msg))
    } else {
        (String::new(), Vec::new())
    };
    ParsedMail {
        key: message_id.clone().unwrap_or(hash_key),
        refs: refs(&msg, message_id.as_deref()),
        message_id,
        from: from(&msg),
        subject: clip(msg.subject().unwrap_or("").trim(), MAX_SUBJECT),
        text,
        attachments,
        automatic: automatic(&msg),
        unreadable: None,
        notes,
    }
}

/// Where the header block ends (the blank line), or the end.
fn header_end(raw: &[u8]) -> usize {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = raw.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => raw.len(),
    }
}

/// `id` as `<id>`; mail-parser gives ids without their brackets.
fn bracketed(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    (!id.is_empty() && id.len() <= 990 && !id.contains(char::is_whitespace))
        .then(|| format!("<{id}>"))
}

fn id_list(v: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match v {
        mail_parser::HeaderValue::Text(t) => bracketed(t).into_iter().collect(),
        mail_parser::HeaderValue::TextList(l) => l.iter().filter_map(|t| bracketed(t)).collect(),
        _ => Vec::new(),
    }
}

fn refs(msg: &Message<'_>, own: Option<&str>) -> Vec<String> {
    let mut out = id_list(msg.in_reply_to());
    let mut references = id_list(msg.references());
    references.reverse();
    out.extend(references);
    let mut seen = std::collections::HashSet::new();
    out.retain(|id| Some(id.as_str()) != own && seen.insert(id.clone()));
    out.truncate(MAX_REFS);
    out
}

fn from(msg: &Message<'_>) -> Option<MailFrom> {
    let addr = msg.from()?.first()?;
    let address = addr.address.as_deref()?.trim().to_lowercase();
    if address.is_empty() {
        return None;
    }
    let name = addr
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| clip(n, crate::validate::MAX_NAME));
    Some(MailFrom { address, name })
}

/// A header's raw value, by its name in any case.
fn raw_header<'a>(msg: &'a Message<'_>, name: &str) -> Option<&'a str> {
    msg.headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn automatic(msg: &Message<'_>) -> Option<Automatic> {
    if let Some(v) = raw_header(msg, "Auto-Submitted")
        && !v.eq_ignore_ascii_case("no")
    {
        return Some(Automatic::AutoReply(format!("Auto-Submitted: {v}")));
    }
    if let Some(v) = raw_header(msg, "Precedence") {
        let p = v.to_ascii_lowercase();
        if ["bulk", "auto_reply", "junk", "list"].contains(&p.as_str()) {
            return Some(Automatic::AutoReply(format!("Precedence: {v}")));
        }
    }
    for h in ["X-Autoreply", "X-Autorespond", "X-Autoresponse"] {
        if raw_header(msg, h).is_some() {
            return Some(Automatic::AutoReply(format!("{h} is set")));
        }
    }
    let report = msg.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    if report {
        return Some(Automatic::Bounce(
            "a multipart/report (delivery status)".into(),
        ));
    }
    if raw_header(msg, "Return-Path").is_some_and(|v| v == "<>") {
        return Some(Automatic::Bounce("Return-Path: <> (a bounce)".into()));
    }
    let local = from(msg).and_then(|f| f.address.split('@').next().map(str::to_owned));
    if let Some(local) = local
        && (local == "mailer-daemon" || local == "postmaster")
    {
        return Some(Automatic::Bounce(format!("sent by {local}")));
    }
    None
}

fn is_utf8(charset: &str) -> bool {
    let c = charset.trim().to_ascii_lowercase();
    c.contains("utf-8") || c.contains("utf8")
}

fn body_text(msg: &Message<'_>, notes: &mut Vec<String>) -> String {
    let mut parts = Vec::new();
    for part in msg.text_bodies() {
        if let Some(cs) = part.content_type().and_then(|ct| ct.attribute("charset"))
            && !is_utf8(cs)
            && charset_decoder(cs.as_bytes()).is_none()
        {
            note(
                notes,
                format!("unknown charset {}: read as UTF-8", clip(cs, 60)),
            );
        }
        if part.is_encoding_problem {
            note(
                notes,
                "broken MIME: a part does not end as declared; kept as found".into(),
            );
        }
        match &part.body {
            PartType::Text(t) => parts.push(t.to_string()),
            PartType::Html(h) => match html_to_text(h) {
                Ok(t) => parts.push(t),
                Err(e) => note(notes, format!("an HTML part could not be read: {e}")),
            },
            _ => {}
        }
    }
    if parts.is_empty() {
        // Broken MIME (a part that never ends) leaves its text among the attachments: a text
        // part without a file name is still the customer's words.
        for part in msg.parts.iter().filter(|p| p.attachment_name().is_none()) {
            let text = match &part.body {
                PartType::Text(t) => t.to_string(),
                PartType::Html(h) => html_to_text(h).unwrap_or_default(),
                _ => continue,
            };
            if part.is_encoding_problem {
                note(
                    notes,
                    "broken MIME: a part does not end as declared; kept as found".into(),
                );
            }
            parts.push(text);
        }
    }
    let whole = parts.join("\n\n").replace('\0', "").replace("\r\n", "\n");
    let (above, cut) = reply_cut(&whole);
    let mut text = above.trim().to_owned();
    if cut {
        note(
            notes,
            "the quoted history below the reply was left out".into(),
        );
    }
    if text.chars().count() > MAX_BODY {
        let keep = MAX_BODY - CUT_MARKER.chars().count();
        text = text.chars().take(keep).collect::<String>() + CUT_MARKER;
        note(notes, format!("the text was cut at {MAX_BODY} characters"));
    }
    if text.trim().is_empty() {
        text = "(the mail has no text)".into();
    }
    text
}

fn note(notes: &mut Vec<String>, n: String) {
    if !notes.contains(&n) {
        notes.push(n);
    }
}

fn attachments(msg: &Message<'_>) -> Vec<Attachment> {
    msg.attachments()
        .take(MAX_ATTACHMENTS)
        .map(|part| Attachment {
            name: part.attachment_name().map(|n| clip(n, 255)),
            content_type: part
                .content_type()
                .map(|ct| {
                    let t = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream"));
                    clip(&t.to_ascii_lowercase(), 255)
                })
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: part.body.len() as u64,
        })
        .collect()
}

/// At most `max` characters of `s`.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests;
