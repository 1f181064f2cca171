//! The checks every routed call passes before its handler: app lookup,
//! faults, rate limit and bearer token, in that order.

use std::collections::HashMap;

use axum::extract::{ConnectInfo, Extension, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::envelope::{ApiError, html_page};
use super::{AppKey, ConnectionDropped};
use crate::apps::AppRef;
use crate::conn::KillSwitch;
use crate::tokens::AuthFailure;
use crate::{FaultAction, Route, Standin};

/// Runs the checks and passes the call on with an [`AppKey`] extension, or
/// returns the response of the check that failed.
pub(crate) async fn gate(
    State(standin): State<Standin>,
    ConnectInfo(switch): ConnectInfo<KillSwitch>,
    Extension(route): Extension<Route>,
    Path(params): Path<HashMap<String, String>>,
    mut request: Request,
    next: Next,
) -> Response {
    let checked = check(&standin, route, &params, request.headers(), &switch).await;
    match checked {
        Ok(app) => {
            request.extensions_mut().insert(app);
            next.run(request).await
        }
        Err(response) => response,
    }
}

async fn check(
    standin: &Standin,
    route: Route,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    switch: &KillSwitch,
) -> Result<AppKey, Response> {
    let app =
        lookup_app(standin, params).ok_or_else(|| ApiError::app_not_found().into_response())?;
    let fault = standin.lock().faults.take(route);
    if let Some(action) = fault {
        apply_fault(action, switch).await?;
    }
    check_rate_limit(standin, &app, route).map_err(IntoResponse::into_response)?;
    if route != Route::Token {
        check_token(standin, &app, headers).map_err(IntoResponse::into_response)?;
    }
    Ok(app)
}

/// Finds the app that the path parameters name, in either path form.
fn lookup_app(standin: &Standin, params: &HashMap<String, String>) -> Option<AppKey> {
    let app_ref = match params.get("app_id") {
        Some(app_id) => AppRef::Id(app_id.clone()),
        None => {
            let org = params.get("org")?;
            let app = params.get("app")?;
            AppRef::Key(format!("{org}#{app}"))
        }
    };
    standin.lock().apps.resolve(&app_ref).map(AppKey)
}

/// Applies a fault. Returns the fault's response, or `Ok` after a delay
/// fault so that the call is handled normally.
async fn apply_fault(action: FaultAction, switch: &KillSwitch) -> Result<(), Response> {
    match action {
        FaultAction::Status {
            status,
            error,
            description,
            retry_after,
        } => {
            let error = ApiError::from_fault(status, error, description);
            Err(error.with_retry_after(retry_after).into_response())
        }
        FaultAction::Delay(delay) => {
            tokio::time::sleep(delay).await;
            Ok(())
        }
        FaultAction::Drop => Err(drop_connection(switch)),
        FaultAction::Html { status } => Err(html_page(status)),
    }
}

/// Closes the connection. Every write on the connection fails from now on,
/// so the returned response is never sent. It only carries the
/// [`ConnectionDropped`] marker to the call log.
fn drop_connection(switch: &KillSwitch) -> Response {
    switch.kill();
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(ConnectionDropped);
    response
}

fn check_rate_limit(standin: &Standin, app: &AppKey, route: Route) -> Result<(), ApiError> {
    if standin.lock().limits.admit(&app.0, route) {
        return Ok(());
    }
    let retry_after = standin.options().rate_limit_retry_after;
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "reach_limit",
        "too many calls in this second for this application",
    );
    Err(error.with_retry_after(retry_after.map(|seconds| seconds.to_string())))
}

/// Checks the `Authorization: Bearer` header against the app's tokens.
fn check_token(standin: &Standin, app: &AppKey, headers: &HeaderMap) -> Result<(), ApiError> {
    let token =
        bearer_token(headers).ok_or_else(|| unauthorized("the request has no bearer token"))?;
    match standin.lock().tokens.check(&app.0, token) {
        Ok(()) => Ok(()),
        Err(AuthFailure::MissingOrExpired) => Err(unauthorized("the token has expired")),
        Err(AuthFailure::Unknown) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth_bad_access_token",
            "the token was not issued by this server for this application",
        )),
    }
}

/// Returns the token of an `Authorization: Bearer <token>` header. The scheme
/// is matched without regard to case.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    let is_bearer = scheme.eq_ignore_ascii_case("bearer");
    (is_bearer && !token.is_empty()).then_some(token)
}

fn unauthorized(description: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", description)
}
