//! Opaque keyset cursors: the position `(created_at, id)` of the last row of a page.
//!
//! Keyset pagination stays stable under inserts: a row added while a client pages does not shift
//! the rows it has yet to see.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid cursor: pass back the next_cursor of a previous page unchanged")]
pub struct CursorError;

impl Cursor {
    pub fn encode(&self) -> String {
        let raw = format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(s: &str) -> Result<Self, CursorError> {
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| CursorError)?;
        let raw = std::str::from_utf8(&raw).map_err(|_| CursorError)?;
        let (micros, id) = raw.split_once('.').ok_or(CursorError)?;
        let micros: i64 = micros.parse().map_err(|_| CursorError)?;
        Ok(Self {
            created_at: DateTime::from_timestamp_micros(micros).ok_or(CursorError)?,
            id: Uuid::parse_str(id).map_err(|_| CursorError)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_a_round_trip() {
        let c = Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("time"),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()).expect("decodes"), c);
    }

    #[test]
    fn a_tampered_cursor_is_rejected() {
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("12.zz")).is_err());
    }
}
