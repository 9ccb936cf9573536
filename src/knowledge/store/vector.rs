//! A pgvector `vector` bound as a query parameter in pgvector's binary format.
//!
//! The pgvector crate's sqlx support is built against sqlx 0.8 (a second sqlx in the tree,
//! whose traits this crate's sqlx 0.9 does not accept), so the few lines it takes are here:
//! `int2 dim, int2 unused, dim × float4`, big-endian.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo};
use sqlx::{Encode, Postgres, Type};

/// An embedding to bind as `vector` (or, in a `Vec`, as `vector[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PgVector<'a>(pub &'a [f32]);

impl Type<Postgres> for PgVector<'_> {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("vector")
    }
}

impl PgHasArrayType for PgVector<'_> {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::array_of("vector")
    }
}

impl Encode<'_, Postgres> for PgVector<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let dim = i16::try_from(self.0.len())?;
        buf.extend_from_slice(&dim.to_be_bytes());
        buf.extend_from_slice(&0i16.to_be_bytes());
        for x in self.0 {
            buf.extend_from_slice(&x.to_be_bytes());
        }
        Ok(IsNull::No)
    }
}
