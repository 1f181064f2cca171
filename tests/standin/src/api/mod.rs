//! The HTTP routes and the layers around them.

mod binding;
mod body;
mod envelope;
mod gate;
mod log;
mod notifiers;
mod token;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};

use crate::Standin;
use envelope::ApiError;

/// The key of the app a call was routed to, set by the gate for handlers.
#[derive(Clone, Debug)]
pub(crate) struct AppKey(pub(crate) String);

/// Response extension marking a call whose connection a fault closed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionDropped;

/// The two path forms of an app's base.
const BASES: [&str; 2] = ["/{org}/{app}", "/app-id/{app_id}"];

/// Builds the router: the routes under both base forms, the gate around
/// them, and the call log around everything, unknown paths included.
pub(crate) fn router(standin: Standin) -> Router {
    let mut router = Router::new();
    for base in BASES {
        let binding = put(binding::put_binding).get(binding::get_bindings);
        router = router
            .route(&format!("{base}/token"), post(token::issue_token))
            .route(&format!("{base}/users/{{user_id}}/push/binding"), binding)
            .route(
                &format!("{base}/notifiers"),
                get(notifiers::list_notifiers).post(notifiers::create_notifier),
            )
            .route(
                &format!("{base}/notifiers/{{uuid}}"),
                delete(notifiers::delete_notifier),
            );
    }
    router
        .route_layer(from_fn_with_state(standin.clone(), gate::gate))
        .fallback(unknown_path)
        .layer(from_fn_with_state(standin.clone(), log::log_call))
        .with_state(standin)
}

/// Responds to a path the server does not know with 404 and no `error` code.
async fn unknown_path(request: Request) -> impl IntoResponse {
    let description = format!("no resource at {}", request.uri().path());
    ApiError::without_code(StatusCode::NOT_FOUND, description)
}
