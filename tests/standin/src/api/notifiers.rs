//! `GET {base}/notifiers`.

use axum::extract::{Extension, State};
use axum::response::Response;
use serde_json::{Map, Value};

use super::AppKey;
use super::envelope::success;
use crate::Standin;
use crate::apps::Notifier;

/// Lists the app's notifiers without any secret, since the stand-in stores
/// none.
pub(crate) async fn list_notifiers(
    State(standin): State<Standin>,
    Extension(app): Extension<AppKey>,
) -> Response {
    let (application, entities) = standin.with_app(&app.0, |app| {
        let entities: Vec<Value> = app.notifiers().iter().map(notifier_json).collect();
        (app.uuid.clone(), entities)
    });
    success("get", &application, Value::Array(entities))
}

/// Builds a notifier entity. `packageName` is left out when there is none.
fn notifier_json(notifier: &Notifier) -> Value {
    let seed = &notifier.seed;
    let mut entity = Map::new();
    entity.insert("uuid".into(), notifier.uuid.clone().into());
    entity.insert("name".into(), seed.name.clone().into());
    entity.insert("provider".into(), seed.provider.clone().into());
    entity.insert("environment".into(), seed.environment.clone().into());
    if let Some(package_name) = &seed.package_name {
        entity.insert("packageName".into(), package_name.clone().into());
    }
    entity.insert("created".into(), notifier.created.into());
    entity.insert("modified".into(), notifier.modified.into());
    entity.insert("disabled".into(), seed.disabled.into());
    Value::Object(entity)
}
