//! Turning a JSON arguments object into a tool's argument struct, with errors that name the
//! offending field.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ToolError;

/// Deserialises `raw` (absent arguments count as `{}`) into `T`. Errors name the field at fault:
/// `limit` for a wrong type, `ticket_id` for a missing one, `user_id` for an unknown one.
pub fn parse<T: DeserializeOwned>(raw: Value) -> Result<T, ToolError> {
    let raw = match raw {
        Value::Null => Value::Object(Map::new()),
        object @ Value::Object(_) => object,
        _ => return Err(ToolError::invalid("arguments", "must be a JSON object")),
    };
    serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.into_inner().to_string();
        let field = if path == "." || path.is_empty() {
            quoted_field(&reason).unwrap_or_else(|| "arguments".to_owned())
        } else {
            path
        };
        ToolError::InvalidArgument { field, reason }
    })
}

/// serde names a missing or unknown field in backticks: "missing field `ticket_id`".
fn quoted_field(reason: &str) -> Option<String> {
    let start = reason.find('`')? + 1;
    let len = reason[start..].find('`')?;
    Some(reason[start..start + len].to_owned())
}

/// Checks an optional page size: 1 to 100, `default` when absent.
pub fn limit(field: &'static str, value: Option<i64>, default: i64) -> Result<i64, ToolError> {
    match value {
        None => Ok(default),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(n) => Err(ToolError::invalid(
            field,
            format!("{n} is out of range: use 1 to 100"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        ticket_id: uuid::Uuid,
        limit: Option<i64>,
    }

    fn field_of(v: Value) -> String {
        match parse::<Args>(v) {
            Err(ToolError::InvalidArgument { field, .. }) => field,
            other => panic!("expected an invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        let id = uuid::Uuid::nil();
        assert_eq!(field_of(json!({})), "ticket_id");
        assert_eq!(field_of(json!({"ticket_id": "nope"})), "ticket_id");
        assert_eq!(field_of(json!({"ticket_id": id, "limit": "ten"})), "limit");
        assert_eq!(field_of(json!({"ticket_id": id, "user_id": id})), "user_id");
        assert_eq!(field_of(json!([1, 2])), "arguments");
    }
}
