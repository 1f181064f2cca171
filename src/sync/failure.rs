//! Classification of failed server calls, following the IM server's error
//! table: which failures are retried, which park the call, and which stop
//! all calls until someone fixes the configuration or the token.

use std::time::Duration;

/// The daemon's course of action after a failed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Network errors, time-outs, 5xx and 408: retry with back-off.
    Transient,
    /// 429 `reach_limit`, the per-second rate limit: retry after
    /// `Retry-After` or with back-off.
    RateLimited,
    /// 429 `resource_limited`, a plan quota: retry after a long back-off.
    QuotaLimited,
    /// The client ID or secret was rejected (400 `invalid_grant`): stop
    /// calling until the configuration changes.
    CredentialsRejected,
    /// The app's bearer token was rejected: stop calling until the app hands
    /// over a new one at login.
    TokenNeeded,
    /// 401 even after a fresh token.
    Unauthorized,
    /// The user does not exist (400 `required_property_not_found` on push
    /// endpoints, 404 `service_resource_not_found` elsewhere).
    UserNotFound,
    /// Unknown app or wrong path (404): a configuration error.
    NotConfigured,
    /// Any other 4xx: the server rejected this call for good.
    Rejected,
}

impl FailureKind {
    /// Returns whether the call is kept and retried later.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::Transient | Self::RateLimited | Self::QuotaLimited
        )
    }

    /// Returns whether the failure concerns every call, not just this one, so the
    /// worker pauses the whole outbox.
    pub fn pauses_all_calls(self) -> bool {
        matches!(
            self,
            Self::Transient
                | Self::RateLimited
                | Self::QuotaLimited
                | Self::CredentialsRejected
                | Self::TokenNeeded
                | Self::Unauthorized
        )
    }
}

/// A failed server call, with a message that names what failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: FailureKind,
    pub message: String,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// Classifies an HTTP error response by its status and the envelope's `error`
/// code (absent when the body was not a JSON error envelope).
pub fn classify(status: u16, error: Option<&str>) -> FailureKind {
    match (status, error) {
        (429, Some("resource_limited")) => FailureKind::QuotaLimited,
        (429, _) => FailureKind::RateLimited,
        (408, _) | (500..=599, _) => FailureKind::Transient,
        (401, _) => FailureKind::Unauthorized,
        (400, Some("required_property_not_found")) => FailureKind::UserNotFound,
        (404, Some("service_resource_not_found")) => FailureKind::UserNotFound,
        (400, Some("invalid_grant")) => FailureKind::CredentialsRejected,
        (404, _) => FailureKind::NotConfigured,
        _ => FailureKind::Rejected,
    }
}

/// Parses a `Retry-After` header: delay-seconds, or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate_to_system_time(value)?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

fn httpdate_to_system_time(value: &str) -> Option<std::time::SystemTime> {
    humantime::parse_rfc3339_weak(value)
        .ok()
        .or_else(|| parse_imf_fixdate(value))
}

/// Parses the IMF-fixdate form of RFC 9110, such as
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_imf_fixdate(value: &str) -> Option<std::time::SystemTime> {
    let rest = value.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? + 1;
    let text = format!("{year}-{month:02}-{day}T{time}Z");
    humantime::parse_rfc3339(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_table() {
        let cases = [
            (429, Some("reach_limit"), FailureKind::RateLimited),
            (429, None, FailureKind::RateLimited),
            (429, Some("resource_limited"), FailureKind::QuotaLimited),
            (503, None, FailureKind::Transient),
            (500, Some("internal"), FailureKind::Transient),
            (408, None, FailureKind::Transient),
            (401, Some("unauthorized"), FailureKind::Unauthorized),
            (
                401,
                Some("auth_bad_access_token"),
                FailureKind::Unauthorized,
            ),
            (
                400,
                Some("required_property_not_found"),
                FailureKind::UserNotFound,
            ),
            (
                404,
                Some("service_resource_not_found"),
                FailureKind::UserNotFound,
            ),
            (400, Some("invalid_grant"), FailureKind::CredentialsRejected),
            (
                404,
                Some("organization_application_not_found"),
                FailureKind::NotConfigured,
            ),
            (404, None, FailureKind::NotConfigured),
            (400, Some("illegal_argument"), FailureKind::Rejected),
            (400, Some("json_parse"), FailureKind::Rejected),
            (403, None, FailureKind::Rejected),
        ];
        for (status, error, expected) in cases {
            assert_eq!(classify(status, error), expected, "{status} {error:?}");
        }
    }

    #[test]
    fn transient_kinds() {
        assert!(FailureKind::Transient.is_transient());
        assert!(FailureKind::RateLimited.is_transient());
        assert!(!FailureKind::Rejected.is_transient());
        assert!(!FailureKind::UserNotFound.pauses_all_calls());
        assert!(FailureKind::CredentialsRejected.pauses_all_calls());
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let future = std::time::SystemTime::now() + Duration::from_secs(3600);
        let text = httpdate_like(future);
        let parsed = parse_retry_after(&text).unwrap();
        assert!(parsed > Duration::from_secs(3500), "{parsed:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    fn httpdate_like(time: std::time::SystemTime) -> String {
        // humantime prints RFC 3339, which the parser also accepts.
        humantime::format_rfc3339_seconds(time).to_string()
    }
}
