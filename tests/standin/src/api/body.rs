//! Reading JSON request bodies.

use serde_json::{Map, Value};

use super::envelope::ApiError;

/// Parses a body that must be a JSON object. Text that is not JSON gets 400
/// `json_parse`; JSON of another type gets 400 `illegal_argument`.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::json_parse(format!("request body is not JSON: {error}")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(ApiError::illegal_argument(
            "request body must be a JSON object",
        )),
    }
}

/// Returns a required string field, or 400 `illegal_argument` naming the
/// field when it is missing or not a string.
pub(crate) fn required_string(
    object: &Map<String, Value>,
    field: &str,
) -> Result<String, ApiError> {
    match object.get(field) {
        Some(Value::String(value)) => Ok(value.clone()),
        Some(_) => Err(ApiError::illegal_argument(format!(
            "{field} must be a string"
        ))),
        None => Err(ApiError::illegal_argument(format!("{field} is required"))),
    }
}
