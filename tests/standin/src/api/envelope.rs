//! Success and error bodies in the server's envelope format.
//!
//! Every envelope reports `duration` as 0 because the stand-in does not
//! measure how long it takes to handle a call.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::now_millis;

/// Builds a 200 success envelope. `action` is the lower-case HTTP method.
pub(crate) fn success(action: &str, application: &str, entities: Value) -> Response {
    let body = json!({
        "action": action,
        "application": application,
        "timestamp": now_millis(),
        "duration": 0,
        "entities": entities,
    });
    Json(body).into_response()
}

/// An error response: status, optional `error` code, description and
/// `Retry-After` header.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: Option<String>,
    description: String,
    retry_after: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            code: Some(code.to_owned()),
            description: description.into(),
            retry_after: None,
        }
    }

    /// Creates an error whose envelope has no `error` key, as for a path the
    /// server does not know.
    pub(crate) fn without_code(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            code: None,
            description: description.into(),
            retry_after: None,
        }
    }

    /// Creates an error from a fault's fields. An invalid `status` becomes
    /// 500, although [`crate::Standin::inject`] rejects those already.
    pub(crate) fn from_fault(status: u16, code: Option<String>, description: String) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self {
            status,
            code,
            description,
            retry_after: None,
        }
    }

    pub(crate) fn with_retry_after(mut self, value: Option<String>) -> Self {
        self.retry_after = value;
        self
    }

    pub(crate) fn illegal_argument(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "illegal_argument", description)
    }

    pub(crate) fn json_parse(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "json_parse", description)
    }

    pub(crate) fn user_not_found(user_id: &str) -> Self {
        let description = format!("user {user_id} does not exist");
        Self::new(
            StatusCode::BAD_REQUEST,
            "required_property_not_found",
            description,
        )
    }

    pub(crate) fn app_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "organization_application_not_found",
            "no application matches the org and app name or the app ID in the path",
        )
    }

    fn body(&self) -> Value {
        let mut body = Map::new();
        if let Some(code) = &self.code {
            body.insert("error".into(), code.clone().into());
            body.insert("exception".into(), exception_for(code).into());
        }
        body.insert("error_description".into(), self.description.clone().into());
        body.insert("timestamp".into(), now_millis().into());
        body.insert("duration".into(), 0.into());
        Value::Object(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        let retry_after = self.retry_after.as_deref().map(HeaderValue::from_str);
        if let Some(Ok(value)) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Returns the Java-style exception class name sent with an error code.
///
/// NOTE: the real server's class names are not documented; these only keep
/// the field present and Java-shaped, and clients must not depend on them.
fn exception_for(code: &str) -> &'static str {
    match code {
        "illegal_argument" => "java.lang.IllegalArgumentException",
        "json_parse" => "com.fasterxml.jackson.core.JsonParseException",
        "required_property_not_found" => "RequiredPropertyNotFoundException",
        "unauthorized" => "UnauthorizedException",
        "auth_bad_access_token" => "BadAccessTokenException",
        "invalid_grant" => "InvalidGrantException",
        "organization_application_not_found" => "OrganizationApplicationNotFoundException",
        "reach_limit" => "ReachLimitException",
        _ => "java.lang.RuntimeException",
    }
}

/// Builds a `text/html` error page like the one a reverse proxy sends when
/// the server behind it fails.
pub(crate) fn html_page(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let page = format!(
        "<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n\
         <p>The upstream server did not answer.</p>\n</body>\n</html>\n"
    );
    let content_type = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    (status, content_type, page).into_response()
}
