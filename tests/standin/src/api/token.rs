//! `POST {base}/token`: app tokens for the client-credentials grant.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::AppKey;
use super::body::{parse_object, required_string};
use super::envelope::ApiError;
use crate::Standin;

/// The fields of a token request.
struct TokenRequest {
    client_id: String,
    client_secret: String,
    /// `None` when the request has no `ttl`; zero for a token that never
    /// expires.
    ttl: Option<Duration>,
}

/// Issues a token when the client ID and secret match the app's.
pub(crate) async fn issue_token(
    State(standin): State<Standin>,
    Extension(app): Extension<AppKey>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request = read_request(&body)?;
    let application = check_credentials(&standin, &app, &request)?;
    let ttl = request.ttl.unwrap_or(standin.options().token_ttl);
    let access_token = standin.lock().tokens.issue(&app.0, ttl);
    let body = json!({
        "access_token": access_token,
        "expires_in": ttl.as_secs(),
        "application": application,
    });
    Ok(Json(body))
}

fn read_request(body: &[u8]) -> Result<TokenRequest, ApiError> {
    let object = parse_object(body)?;
    let grant_type = required_string(&object, "grant_type")?;
    if grant_type != "client_credentials" {
        return Err(ApiError::illegal_argument(
            "grant_type must be client_credentials",
        ));
    }
    Ok(TokenRequest {
        client_id: required_string(&object, "client_id")?,
        client_secret: required_string(&object, "client_secret")?,
        ttl: read_ttl(&object)?,
    })
}

/// Reads `ttl` in seconds, sent as a JSON integer or as a numeric string.
fn read_ttl(object: &Map<String, Value>) -> Result<Option<Duration>, ApiError> {
    let seconds = match object.get("ttl") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(text)) => text.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    let seconds = seconds.ok_or_else(|| {
        ApiError::illegal_argument("ttl must be a non-negative integer number of seconds")
    })?;
    Ok(Some(Duration::from_secs(seconds)))
}

/// Compares the client ID and secret with the app's and returns the app's
/// UUID.
fn check_credentials(
    standin: &Standin,
    app: &AppKey,
    request: &TokenRequest,
) -> Result<String, ApiError> {
    standin.with_app(&app.0, |app| {
        let seed = &app.seed;
        if seed.client_id != request.client_id || seed.client_secret != request.client_secret {
            let description = "client_id or client_secret does not match the application";
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                description,
            ));
        }
        Ok(app.uuid.clone())
    })
}
