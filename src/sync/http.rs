//! The IM server's REST API: the app token, `push/binding` and `notifiers`.
//!
//! Every call but the token call carries `Authorization: Bearer`. With
//! client credentials the app token is cached until shortly before it
//! expires; a 401 fetches a new one once and repeats the call once. Failed
//! token requests are spaced by at least [`MIN_TOKEN_INTERVAL`]. After the
//! server rejects the credentials, no token is requested until the daemon
//! restarts with a new configuration, because the server may ban an app
//! that requests tokens in a loop. With a bearer token from the app, a 401
//! means the app must hand over a new one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use url::Url;

use super::failure::{ApiError, FailureKind, classify, parse_retry_after};
use crate::certs::{FormValue, UploadForm};
use crate::config::{AppRef, Auth, ServerConfig};
use crate::store::notifiers::NotifierRecord;

/// The body of one request.
#[derive(Clone, Copy, Debug)]
enum Body<'a> {
    None,
    Json(&'a Value),
    /// A multipart form, built anew for each attempt because a sent form
    /// cannot be reused.
    Form(&'a UploadForm),
}

/// Minimum time between a failed token request and the next one. It
/// doubles with each further failure in a row, up to 128 times this. After
/// a success the next request may follow at once, because a 401 calls for
/// one immediate refresh. Calls that keep failing are spaced by the
/// worker's back-off.
pub const MIN_TOKEN_INTERVAL: Duration = Duration::from_secs(5);

/// Largest response body read, in bytes; larger bodies are an error.
const MAX_BODY_LEN: usize = 8 * 1024 * 1024;

/// A binding as the server lists it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RemoteBinding {
    pub device_id: String,
    pub notifier_name: String,
    pub device_token: String,
}

#[derive(Debug)]
struct CachedToken {
    value: String,
    /// When to fetch a new one; `None` for a token that does not expire.
    refresh_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct TokenState {
    cached: Option<CachedToken>,
    last_request: Option<Instant>,
    /// Token requests that failed in a row; each doubles the wait before
    /// the next one.
    failures: u32,
}

/// Client of one app on the IM server.
#[derive(Debug)]
pub struct ImClient {
    http: reqwest::Client,
    /// Server URL plus the app's path, ending in `/`.
    base: Url,
    auth: Auth,
    token: tokio::sync::Mutex<TokenState>,
    bearer: Mutex<Option<String>>,
    /// The reason the credentials or the bearer token cannot be used. It has
    /// its own lock because the token state's lock is held across token
    /// requests, and status must not wait for one.
    rejected: Mutex<Option<ApiError>>,
    /// How many times the app's bearer token was found missing or
    /// rejected, so that the worker announces each one to apps once.
    token_rejections: AtomicU64,
    /// Maximum wait between failed token requests, when the worker paces
    /// its retries for a fleet.
    token_wait_max: Option<Duration>,
}

/// Returns the base URL of the app's REST resources.
pub fn base_url(config: &ServerConfig) -> Url {
    let mut base = config.url.clone();
    let mut path = base.path().trim_end_matches('/').to_owned();
    match &config.app {
        AppRef::Key { org, app } => path.push_str(&format!("/{org}/{app}/")),
        AppRef::Id(id) => path.push_str(&format!("/app-id/{id}/")),
    }
    base.set_path(&path);
    base
}

impl ImClient {
    /// Builds the client. `bearer` is the token the app handed over at its
    /// last login, for `auth = "bearer_token"`.
    pub fn new(
        config: &ServerConfig,
        timeout: Duration,
        bearer: Option<String>,
    ) -> Result<Self, ApiError> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("pushbindd/", env!("CARGO_PKG_VERSION")));
        if crate::config::is_loopback(&config.url) {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|err| {
            ApiError::new(
                FailureKind::NotConfigured,
                format!("cannot set up HTTPS: {err}"),
            )
        })?;
        Ok(Self::with_http(http, config, bearer))
    }

    /// Creates a client that sends its requests through `http`, so that
    /// many clients in one process (the fleet benchmark) can share one
    /// connection pool and TLS setup.
    pub fn with_http(http: reqwest::Client, config: &ServerConfig, bearer: Option<String>) -> Self {
        Self {
            http,
            base: base_url(config),
            auth: config.auth.clone(),
            token: tokio::sync::Mutex::new(TokenState::default()),
            bearer: Mutex::new(bearer),
            rejected: Mutex::new(None),
            token_rejections: AtomicU64::new(0),
            token_wait_max: None,
        }
    }

    /// Caps the wait between failed token requests at `max`. With paced
    /// retries the worker already spaces the calls of a fleet, and a
    /// doubling wait of up to 128 x [`MIN_TOKEN_INTERVAL`] would keep a
    /// restarted device from the server long after it recovered.
    pub fn with_token_wait_max(mut self, max: Option<Duration>) -> Self {
        self.token_wait_max = max;
        self
    }

    /// Replaces the app's bearer token after a login that handed one over.
    pub async fn set_bearer(&self, token: String) {
        *self.bearer.lock().expect("bearer lock") = Some(token);
        *self.rejected.lock().expect("rejected lock") = None;
    }

    /// Returns the reason calls are stopped until the configuration or the
    /// token changes.
    pub async fn auth_problem(&self) -> Option<String> {
        self.rejection().map(|err| err.message)
    }

    fn rejection(&self) -> Option<ApiError> {
        self.rejected.lock().expect("rejected lock").clone()
    }

    /// Returns the number of times the bearer token was found missing or
    /// rejected, and the reason, while calls wait for a new one.
    pub fn token_needed(&self) -> Option<(u64, String)> {
        let err = self.rejection()?;
        let count = self.token_rejections.load(Ordering::SeqCst);
        (err.kind == FailureKind::TokenNeeded).then_some((count, err.message))
    }

    fn set_rejection(&self, err: &ApiError) {
        if err.kind == FailureKind::TokenNeeded {
            self.token_rejections.fetch_add(1, Ordering::SeqCst);
        }
        *self.rejected.lock().expect("rejected lock") = Some(err.clone());
    }

    /// `PUT users/{user}/push/binding`: binds `token` for (user, device,
    /// certificate), or removes the binding when `token` is empty. Returns
    /// the bindings of this device that remain.
    pub async fn put_binding(
        &self,
        user_id: &str,
        device_id: &str,
        notifier_name: &str,
        token: &str,
    ) -> Result<Vec<RemoteBinding>, ApiError> {
        let body = json!({
            "device_id": device_id,
            "notifier_name": notifier_name,
            "device_token": token,
        });
        let path = format!("users/{user_id}/push/binding");
        let envelope = self.call(Method::PUT, &path, Body::Json(&body)).await?;
        parse_bindings(&envelope, "push binding answer", device_id)
    }

    /// `GET users/{user}/push/binding`: the user's bindings on all devices.
    /// `device_id` is this device's, whose entries must all be well formed.
    pub async fn get_bindings(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<Vec<RemoteBinding>, ApiError> {
        let path = format!("users/{user_id}/push/binding");
        let envelope = self.call(Method::GET, &path, Body::None).await?;
        parse_bindings(&envelope, "push binding list", device_id)
    }

    /// `GET notifiers`: the app's push certificates, without secrets.
    pub async fn list_notifiers(&self) -> Result<Vec<NotifierRecord>, ApiError> {
        let envelope = self.call(Method::GET, "notifiers", Body::None).await?;
        parse_notifiers(&envelope)
    }

    /// `POST notifiers`: uploads a certificate as a multipart form. Returns
    /// the created certificate.
    pub async fn upload_notifier(&self, form: &UploadForm) -> Result<NotifierRecord, ApiError> {
        let envelope = self
            .call(Method::POST, "notifiers", Body::Form(form))
            .await?;
        first_notifier(&envelope, "upload")
    }

    /// `DELETE notifiers/{uuid}`: deletes a certificate. Returns the deleted
    /// certificate.
    pub async fn delete_notifier(&self, uuid: &str) -> Result<NotifierRecord, ApiError> {
        let path = format!("notifiers/{uuid}");
        let envelope = self.call(Method::DELETE, &path, Body::None).await?;
        first_notifier(&envelope, "delete")
    }

    async fn call(&self, method: Method, path: &str, body: Body<'_>) -> Result<Value, ApiError> {
        let token = self.token().await?;
        match self.send(method.clone(), path, body, Some(&token)).await {
            Err(err) if err.kind == FailureKind::Unauthorized => {
                let token = self.after_unauthorized(&token).await?;
                match self.send(method, path, body, Some(&token)).await {
                    // A fresh token rejected at once points at the server or
                    // a proxy, not at the credentials: retry with back-off.
                    Err(mut err) if err.kind == FailureKind::Unauthorized => {
                        err.kind = FailureKind::Transient;
                        err.message = format!("{} (even with a new app token)", err.message);
                        Err(err)
                    }
                    other => other,
                }
            }
            other => other,
        }
    }

    /// Handles a 401: fetches a new app token once, or reports that the
    /// app's bearer token was rejected.
    async fn after_unauthorized(&self, rejected: &str) -> Result<String, ApiError> {
        if let Auth::BearerToken = self.auth {
            let err = ApiError::new(
                FailureKind::TokenNeeded,
                "the server rejected the bearer token the app handed over; the app must log in again with a new token",
            );
            self.reject(err.clone()).await;
            return Err(err);
        }
        let mut state = self.token.lock().await;
        if state
            .cached
            .as_ref()
            .is_some_and(|cached| cached.value == rejected)
        {
            state.cached = None;
        }
        drop(state);
        self.token().await
    }

    async fn reject(&self, err: ApiError) {
        tracing::warn!(error = %err, "server calls stopped until the credentials change");
        self.set_rejection(&err);
        self.token.lock().await.cached = None;
    }

    /// Returns the token for the `Authorization` header.
    async fn token(&self) -> Result<String, ApiError> {
        let (client_id, client_secret) = match &self.auth {
            Auth::BearerToken => return self.bearer_token().await,
            Auth::ClientCredentials {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        if let Some(err) = self.rejection() {
            return Err(err);
        }
        let mut state = self.token.lock().await;
        let now = Instant::now();
        if let Some(cached) = &state.cached
            && cached.refresh_at.is_none_or(|at| now < at)
        {
            return Ok(cached.value.clone());
        }
        if let Some(last) = state.last_request
            && state.failures > 0
        {
            let mut wait = MIN_TOKEN_INTERVAL * 2u32.pow(state.failures.min(8) - 1);
            if let Some(max) = self.token_wait_max {
                wait = wait.min(max);
            }
            let next = last + wait;
            if now < next {
                let mut err = ApiError::new(
                    FailureKind::Transient,
                    "waiting before the next app token request",
                );
                err.retry_after = Some(next - now);
                return Err(err);
            }
        }
        state.last_request = Some(now);
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret.expose(),
        });
        let envelope = match self
            .send(Method::POST, "token", Body::Json(&body), None)
            .await
        {
            Ok(envelope) => envelope,
            Err(mut err) => {
                state.failures = state.failures.saturating_add(1);
                match err.kind {
                    FailureKind::CredentialsRejected | FailureKind::Rejected => {
                        err.message = format!(
                            "the server rejected client_id {client_id:?} and its secret ({}); fix them in the configuration and restart pushbindd",
                            err.message
                        );
                    }
                    // The message already names the keys to check.
                    FailureKind::NotConfigured => {
                        err.message = format!("{}, then restart pushbindd", err.message);
                    }
                    _ => return Err(err),
                }
                // None of these heals by itself: no more token requests until
                // the configuration changes.
                err.kind = FailureKind::CredentialsRejected;
                self.set_rejection(&err);
                return Err(err);
            }
        };
        let token = parse_token(&envelope)?;
        let value = token.value.clone();
        state.cached = Some(token);
        state.failures = 0;
        Ok(value)
    }

    /// Returns the app's bearer token. Its absence is recorded like a rejection, so
    /// the worker waits for a login instead of retrying.
    async fn bearer_token(&self) -> Result<String, ApiError> {
        if let Some(err) = self.rejection() {
            return Err(err);
        }
        let bearer = self.bearer.lock().expect("bearer lock").clone();
        bearer.ok_or_else(|| {
            let err = ApiError::new(
                FailureKind::TokenNeeded,
                "no bearer token: auth is bearer_token, so the app must log in with a token from its backend",
            );
            self.set_rejection(&err);
            err
        })
    }

    /// Sends one request and returns the JSON envelope of a success.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body<'_>,
        token: Option<&str>,
    ) -> Result<Value, ApiError> {
        let url = self.base.join(path).map_err(|err| {
            ApiError::new(
                FailureKind::NotConfigured,
                format!("invalid request path {path:?}: {err}"),
            )
        })?;
        let what = format!("{method} {}", url.path());
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Body::None => request,
            Body::Json(json) => request.json(json),
            Body::Form(form) => request.multipart(multipart(form)?),
        };
        let response = request
            .send()
            .await
            .map_err(|err| network_error(&what, &err))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("no content type")
            .to_owned();
        let bytes = read_body(&what, response).await?;
        let json = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object);
        if status.is_success() {
            return json.ok_or_else(|| {
                ApiError::new(
                    FailureKind::Transient,
                    format!("{what}: HTTP {status} with a body that is not a JSON object ({content_type}): {}", snippet(&bytes)),
                )
            });
        }
        let mut err = error_from_answer(&what, status, json.as_ref(), &content_type, &bytes);
        err.retry_after = retry_after;
        Err(err)
    }
}

/// Builds the multipart form of an upload.
fn multipart(form: &UploadForm) -> Result<reqwest::multipart::Form, ApiError> {
    let mut multipart = reqwest::multipart::Form::new();
    for part in &form.parts {
        multipart = match &part.value {
            FormValue::Text(text) => multipart.text(part.name, text.clone()),
            FormValue::Secret(secret) => multipart.text(part.name, secret.expose().to_owned()),
            FormValue::File { file_name, bytes } => {
                let file = reqwest::multipart::Part::bytes(bytes.expose().to_vec())
                    .file_name(*file_name)
                    .mime_str("application/octet-stream")
                    .map_err(|err| {
                        ApiError::new(FailureKind::Rejected, format!("invalid file part: {err}"))
                    })?;
                multipart.part(part.name, file)
            }
        };
    }
    Ok(multipart)
}

/// Returns the first certificate of an upload or delete response.
fn first_notifier(envelope: &Value, what: &str) -> Result<NotifierRecord, ApiError> {
    parse_notifiers(envelope)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApiError::new(
                FailureKind::Transient,
                format!("the server's {what} answer lists no certificate"),
            )
        })
}

async fn read_body(what: &str, mut response: reqwest::Response) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| network_error(what, &err))?
    {
        if body.len() + chunk.len() > MAX_BODY_LEN {
            let message = format!("{what}: the response is larger than {MAX_BODY_LEN} bytes");
            return Err(ApiError::new(FailureKind::Transient, message));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn network_error(what: &str, err: &reqwest::Error) -> ApiError {
    let mut message = format!("{what}: ");
    if err.is_timeout() {
        message.push_str("timed out");
    } else if err.is_connect() {
        message.push_str("cannot connect to the server");
    } else {
        message.push_str("request failed");
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    ApiError::new(FailureKind::Transient, message)
}

/// Up to 120 printable characters of a body, for error messages.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 120 {
        format!("{}...", text.chars().take(120).collect::<String>())
    } else if text.is_empty() {
        "empty body".to_owned()
    } else {
        text
    }
}

fn error_from_answer(
    what: &str,
    status: StatusCode,
    json: Option<&Value>,
    content_type: &str,
    bytes: &[u8],
) -> ApiError {
    let code = json.and_then(|v| v.get("error")).and_then(Value::as_str);
    let description = json
        .and_then(|v| v.get("error_description"))
        .and_then(Value::as_str);
    let kind = classify(status.as_u16(), code);
    let message = match (code, description) {
        (Some(code), Some(description)) => format!("{what}: HTTP {status} {code}: {description}"),
        (Some(code), None) => format!("{what}: HTTP {status} {code}"),
        (None, _) if json.is_some() => format!("{what}: HTTP {status}"),
        (None, _) => format!(
            "{what}: HTTP {status} with a body that is not JSON ({content_type}), perhaps from a proxy: {}",
            snippet(bytes)
        ),
    };
    let message = match kind {
        FailureKind::UserNotFound => format!("user not found on the server ({message})"),
        FailureKind::NotConfigured => format!("{message}; check server_url and app_key or app_id"),
        _ => message,
    };
    ApiError::new(kind, message)
}

fn entities<'a>(envelope: &'a Value, what: &str) -> Result<&'a [Value], ApiError> {
    match envelope.get("entities") {
        Some(Value::Array(entities)) => Ok(entities),
        _ => {
            let message = format!("the server's {what} has no entities array");
            Err(ApiError::new(FailureKind::Transient, message))
        }
    }
}

/// Parses a list of bindings. A malformed entry of another device is
/// skipped. A malformed entry of this device, or one that names no device,
/// fails the whole list, because the daemon would otherwise take that
/// binding for missing.
fn parse_bindings(
    envelope: &Value,
    what: &str,
    device_id: &str,
) -> Result<Vec<RemoteBinding>, ApiError> {
    let mut parsed = Vec::new();
    for entry in entities(envelope, what)? {
        match RemoteBinding::deserialize(entry) {
            Ok(binding) => parsed.push(binding),
            Err(err) => match entry.get("device_id").and_then(Value::as_str) {
                Some(other) if other != device_id => {
                    tracing::warn!(error = %err, "skipped a malformed entry of another device in the server's {what}");
                }
                _ => {
                    let message =
                        format!("the server's {what} has a malformed entry for this device: {err}");
                    return Err(ApiError::new(FailureKind::Transient, message));
                }
            },
        }
    }
    Ok(parsed)
}

/// Parses the certificate list. Only `name` is required. Other fields of an
/// unexpected type are read as absent, so that one odd field never makes a
/// certificate look missing. An entry without a name is skipped, because
/// nothing can bind to it.
fn parse_notifiers(envelope: &Value) -> Result<Vec<NotifierRecord>, ApiError> {
    let text = |entry: &Value, key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut records = Vec::new();
    for entry in entities(envelope, "certificate list")? {
        let Some(name) = text(entry, "name") else {
            tracing::warn!("skipped an entry without a name in the server's certificate list");
            continue;
        };
        let modified = match entry.get("modified") {
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(digits)) => digits.parse().ok(),
            _ => None,
        };
        records.push(NotifierRecord {
            uuid: text(entry, "uuid").unwrap_or_else(|| name.clone()),
            provider: text(entry, "provider").unwrap_or_default(),
            environment: text(entry, "environment"),
            package_name: text(entry, "packageName"),
            disabled: entry
                .get("disabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            modified,
            name,
        });
    }
    Ok(records)
}

/// Accepts `expires_in` as a number or a numeric string.
fn parse_token(envelope: &Value) -> Result<CachedToken, ApiError> {
    let value = envelope
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                FailureKind::Transient,
                "the token answer has no access_token",
            )
        })?;
    let expires_in = match envelope.get("expires_in") {
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    };
    let refresh_at = match expires_in {
        Some(seconds) if seconds > 0 => {
            // Longer lifetimes are cut to 30 days, so that no value from the
            // server can overflow the clock arithmetic.
            let lifetime =
                Duration::from_secs(seconds as u64).min(Duration::from_secs(30 * 86_400));
            // Refresh at 90 % of the lifetime, at most an hour early.
            let early = (lifetime / 10).min(Duration::from_secs(3600));
            Some(Instant::now() + lifetime - early)
        }
        Some(_) => None,
        None => Some(Instant::now() + Duration::from_secs(3600)),
    };
    Ok(CachedToken {
        value: value.to_owned(),
        refresh_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str, app: AppRef) -> ServerConfig {
        ServerConfig {
            url: Url::parse(url).unwrap(),
            app,
            auth: Auth::BearerToken,
        }
    }

    #[test]
    fn base_url_for_both_path_forms() {
        let key = AppRef::Key {
            org: "org".into(),
            app: "app".into(),
        };
        assert_eq!(
            base_url(&server("https://im.example", key.clone())).as_str(),
            "https://im.example/org/app/"
        );
        assert_eq!(
            base_url(&server("https://im.example/api/", key)).as_str(),
            "https://im.example/api/org/app/"
        );
        let id = AppRef::Id("abc".into());
        assert_eq!(
            base_url(&server("http://127.0.0.1:5", id)).as_str(),
            "http://127.0.0.1:5/app-id/abc/"
        );
    }

    #[test]
    fn html_error_body_gives_clear_message() {
        let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
        let err = error_from_answer("PUT /x", StatusCode::BAD_GATEWAY, None, "text/html", html);
        assert_eq!(err.kind, FailureKind::Transient);
        assert!(err.message.contains("not JSON"), "{}", err.message);
        assert!(err.message.contains("text/html"));
        assert!(err.message.contains("502 Bad Gateway"));
    }

    #[test]
    fn envelope_error_uses_code_and_description() {
        let json =
            json!({"error": "illegal_argument", "error_description": "device_token is too long"});
        let err = error_from_answer(
            "PUT /x",
            StatusCode::BAD_REQUEST,
            Some(&json),
            "application/json",
            b"",
        );
        assert_eq!(err.kind, FailureKind::Rejected);
        assert!(
            err.message
                .contains("illegal_argument: device_token is too long")
        );
        let json = json!({"error": "required_property_not_found"});
        let err = error_from_answer(
            "PUT /x",
            StatusCode::BAD_REQUEST,
            Some(&json),
            "application/json",
            b"",
        );
        assert!(err.message.starts_with("user not found"));
    }

    #[test]
    fn malformed_entries_of_this_device_fail_the_list() {
        let missing = parse_bindings(&json!({"action": "get"}), "list", "d1");
        assert!(missing.unwrap_err().message.contains("no entities"));
        assert!(parse_bindings(&json!({"entities": null}), "list", "d1").is_err());
        let other_bad = json!({"entities": [
            {"device_id": "d1", "notifier_name": "n", "device_token": "t", "extra": 1},
            {"device_id": "d2", "notifier_name": "n", "device_token": null},
        ]});
        let parsed = parse_bindings(&other_bad, "list", "d1").unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].device_id, "d1");
        let own_bad =
            json!({"entities": [{"device_id": "d1", "notifier_name": "n", "device_token": null}]});
        assert!(parse_bindings(&own_bad, "list", "d1").is_err());
        let nameless = json!({"entities": [{"notifier_name": "n", "device_token": "t"}]});
        assert!(parse_bindings(&nameless, "list", "d1").is_err());
    }

    #[test]
    fn odd_certificate_fields_keep_the_certificate() {
        let list = json!({"entities": [
            {"name": "hw-main", "provider": "HUAWEIPUSH", "modified": "1700000000000", "disabled": "no"},
            {"provider": "APNS"},
        ]});
        let records = parse_notifiers(&list).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].name, "hw-main");
        assert_eq!(records[0].modified, Some(1_700_000_000_000));
        assert!(!records[0].disabled);
    }

    #[test]
    fn token_expiry_forms() {
        assert!(
            parse_token(&json!({"access_token": "t", "expires_in": 0}))
                .unwrap()
                .refresh_at
                .is_none()
        );
        assert!(
            parse_token(&json!({"access_token": "t", "expires_in": "3600"}))
                .unwrap()
                .refresh_at
                .is_some()
        );
        assert!(parse_token(&json!({"expires_in": 5})).is_err());
        let huge = json!({"access_token": "t", "expires_in": i64::MAX});
        assert!(parse_token(&huge).unwrap().refresh_at.is_some());
    }

    #[test]
    fn snippet_is_short_and_printable() {
        let long = "x\n".repeat(500);
        let text = snippet(long.as_bytes());
        assert!(text.len() < 130);
        assert!(!text.contains('\n'));
    }
}
