//! Records every request in the call log and in the `tracing` output.

use std::time::SystemTime;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::ConnectionDropped;
use crate::{Call, Route, Standin};

/// Classifies the request, passes the [`Route`] on as an extension, and logs
/// the call with its final status. Paths and statuses are logged; headers
/// and bodies, which carry tokens and secrets, are not.
pub(crate) async fn log_call(
    State(standin): State<Standin>,
    mut request: Request,
    next: Next,
) -> Response {
    let pattern = request.extensions().get::<MatchedPath>();
    let route = Route::classify(request.method(), pattern.map(MatchedPath::as_str));
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let at = SystemTime::now();
    request.extensions_mut().insert(route);

    let response = next.run(request).await;

    let dropped = response.extensions().get::<ConnectionDropped>().is_some();
    let status = if dropped {
        0
    } else {
        response.status().as_u16()
    };
    tracing::info!(%method, %route, %path, status, "request");
    let call = Call {
        method,
        route,
        path,
        status,
        at,
    };
    standin.record_call(call);
    response
}
