//! Stripe object ids, parsed once where they enter (a flag, a tool argument, a request body) so
//! that the code behind that edge holds a value known to be well formed.
//!
//! An id is a known prefix followed by letters and digits (`cus_NffrFeUfNV2Hib`); nothing else
//! can pass, so an id can be bound, logged or put in a URL path without escaping surprises.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Longest id accepted (Stripe's own are far shorter).
const MAX_LEN: usize = 255;

/// Why a text is not the id it should be; the message shows an example of a good one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {what} like {example}")]
pub struct IdError {
    pub what: &'static str,
    pub example: &'static str,
}

fn well_formed(s: &str, prefixes: &[&str]) -> bool {
    s.len() <= MAX_LEN
        && prefixes.iter().any(|p| {
            s.strip_prefix(p)
                .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric()))
        })
}

macro_rules! stripe_id {
    ($(#[$doc:meta])* $name:ident, [$($prefix:literal),+], $what:literal, $example:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefixes an id of this kind starts with.
            pub const PREFIXES: &'static [&'static str] = &[$($prefix),+];

            /// Parses a trimmed id of this kind.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let s = raw.trim();
                if well_formed(s, Self::PREFIXES) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError { what: $what, example: $example })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

stripe_id!(
    /// A Stripe customer (`cus_…`).
    CustomerId, ["cus_"], "a Stripe customer id", "cus_NffrFeUfNV2Hib"
);
stripe_id!(
    /// A charge (`ch_…`) or a payment of another method (`py_…`).
    ChargeId, ["ch_", "py_"], "a charge id", "ch_3MmlLrLkdIwHu7ix0snN0B15"
);
stripe_id!(
    /// A subscription (`sub_…`).
    SubscriptionId, ["sub_"], "a subscription id", "sub_1MowQVLkdIwHu7ixeRlqHVzs"
);
stripe_id!(
    /// An invoice (`in_…`).
    InvoiceId, ["in_"], "an invoice id", "in_1MtHbELkdIwHu7ixl4OzzPMv"
);
stripe_id!(
    /// A Connect account (`acct_…`).
    AccountId, ["acct_"], "a Connect account id", "acct_1032D82eZvKYlo2C"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trimmed_and_checked_by_kind() {
        assert_eq!(
            CustomerId::parse(" cus_abc123 ").map(|c| c.to_string()),
            Ok("cus_abc123".to_owned())
        );
        assert!(ChargeId::parse("py_1").is_ok());
        assert!(AccountId::parse("acct_1032D82eZvKYlo2C").is_ok());
        for bad in ["", "cus_", "acct_1", "cus_a-b", "cus_a b", "cus_é"] {
            assert!(CustomerId::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("cus_{}", "a".repeat(MAX_LEN));
        assert!(CustomerId::parse(&long).is_err());
        let err = ChargeId::parse("re_1").expect_err("a refund id is not a charge id");
        assert_eq!(
            err.to_string(),
            "expected a charge id like ch_3MmlLrLkdIwHu7ix0snN0B15"
        );
    }
}
