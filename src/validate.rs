//! Validated input values. Each check names the field it refuses, and the limits match the
//! CHECK constraints in `migrations/`, so bad input is refused before anything is written.

use std::fmt;

use serde::Serialize;

use crate::StoreError;
use crate::stripe::ids::CustomerId;

/// Longest name (users, customers).
pub const MAX_NAME: usize = 200;
/// Longest ticket subject.
pub const MAX_SUBJECT: usize = 300;
/// Longest ticket description or message body.
pub const MAX_BODY: usize = 20_000;

/// A trimmed, lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, StoreError> {
        let s = raw.trim().to_lowercase();
        let bad = |reason: &str| Err(StoreError::invalid(field, reason));
        if s.chars().count() < 3 || s.chars().count() > 320 {
            return bad("an email address has 3 to 320 characters");
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return bad("an email address has no spaces, control characters or angle brackets");
        }
        match s.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
            {
                Ok(Self(s))
            }
            _ => bad("expected an address like name@example.com"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A required text field: trimmed, not empty, at most `max` characters, no NUL bytes
/// (which PostgreSQL's text type cannot hold).
pub fn text(field: &'static str, raw: &str, max: usize) -> Result<String, StoreError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(StoreError::invalid(field, "must not be empty"));
    }
    bounded(field, s, max)
}

/// An optional text field: `None` or blank becomes `None`.
pub fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, StoreError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => bounded(field, s, max).map(Some),
    }
}

/// A text that may be empty (a ticket description).
pub fn bounded(field: &'static str, s: &str, max: usize) -> Result<String, StoreError> {
    if s.contains('\0') {
        return Err(StoreError::invalid(field, "must not contain NUL bytes"));
    }
    let n = s.chars().count();
    if n > max {
        return Err(StoreError::invalid(
            field,
            format!("is {n} characters long; the limit is {max}"),
        ));
    }
    Ok(s.to_owned())
}

/// A phone number: digits with the usual punctuation, at most 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Parses a trimmed phone number; `field` names it in the error.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, StoreError> {
        let s = text(field, raw, 40)?;
        if !s.chars().any(|c| c.is_ascii_digit())
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().x/".contains(c))
        {
            return Err(StoreError::invalid(
                field,
                "expected digits with optional + - ( ) . / x and spaces",
            ));
        }
        Ok(Self(s))
    }

    /// An optional phone number: `None` or blank is no number.
    pub fn parse_optional(
        field: &'static str,
        raw: Option<&str>,
    ) -> Result<Option<Self>, StoreError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => Self::parse(field, s).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Stripe customer id such as `cus_NffrFeUfNV2Hib`, with errors naming `field`; blank is none.
pub fn stripe_customer_id(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<CustomerId>, StoreError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => CustomerId::parse(s)
            .map(Some)
            .map_err(|e| StoreError::invalid(field, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let e = Email::parse("email", "  Ada@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "@x",
            "a@",
            "a b@x.com",
            "a@b@c",
            "x'; DROP TABLE users;--",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn text_limits_count_characters_not_bytes() {
        assert!(text("name", &"é".repeat(MAX_NAME), MAX_NAME).is_ok());
        assert!(text("name", &"é".repeat(MAX_NAME + 1), MAX_NAME).is_err());
        assert!(text("name", "   ", MAX_NAME).is_err());
        assert!(text("name", "a\0b", MAX_NAME).is_err());
    }

    #[test]
    fn stripe_ids_and_phones_are_checked() {
        assert!(
            stripe_customer_id("s", Some("cus_abc123"))
                .expect("ok")
                .is_some()
        );
        assert!(stripe_customer_id("s", Some("acct_1")).is_err());
        assert!(
            Phone::parse_optional("phone", Some("+1 (555) 010-9999"))
                .expect("ok")
                .is_some()
        );
        assert!(Phone::parse("phone", "call me").is_err());
        assert_eq!(
            Phone::parse_optional("phone", Some("  ")).expect("ok"),
            None
        );
    }
}
