//! `PUT` and `GET {base}/users/{user_id}/push/binding`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use serde_json::json;

use super::AppKey;
use super::body::{parse_object, required_string};
use super::envelope::{ApiError, success};
use crate::{Binding, Standin, validate};

/// Binds or unbinds a device and returns the device's remaining bindings.
pub(crate) async fn put_binding(
    State(standin): State<Standin>,
    Extension(app): Extension<AppKey>,
    Path(params): Path<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user_id = user_id(&params)?;
    let request = read_binding(&body)?;
    let (application, remaining) = standin.with_app(&app.0, |app| {
        (app.uuid.clone(), app.put_binding(&user_id, request))
    });
    let remaining = remaining.ok_or_else(|| ApiError::user_not_found(&user_id))?;
    Ok(success("put", &application, json!(remaining)))
}

/// Returns the bindings of every device of the user.
pub(crate) async fn get_bindings(
    State(standin): State<Standin>,
    Extension(app): Extension<AppKey>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let user_id = user_id(&params)?;
    let (application, bindings) = standin.with_app(&app.0, |app| {
        (app.uuid.clone(), app.user_bindings(&user_id))
    });
    let bindings = bindings.ok_or_else(|| ApiError::user_not_found(&user_id))?;
    Ok(success("get", &application, json!(bindings)))
}

/// Returns the validated `user_id` path parameter.
fn user_id(params: &HashMap<String, String>) -> Result<String, ApiError> {
    let user_id = params.get("user_id").cloned().unwrap_or_default();
    validate::check_user_id(&user_id).map_err(ApiError::illegal_argument)?;
    Ok(user_id)
}

fn read_binding(body: &[u8]) -> Result<Binding, ApiError> {
    let object = parse_object(body)?;
    let binding = Binding {
        device_id: required_string(&object, "device_id")?,
        notifier_name: required_string(&object, "notifier_name")?,
        device_token: required_string(&object, "device_token")?,
    };
    validate::check_binding(&binding).map_err(ApiError::illegal_argument)?;
    Ok(binding)
}
