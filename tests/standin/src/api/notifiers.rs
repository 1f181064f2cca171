//! `GET`, `POST {base}/notifiers` and `DELETE {base}/notifiers/{uuid}`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Extension, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::AppKey;
use super::envelope::{ApiError, success};
use crate::apps::Notifier;
use crate::{NotifierSeed, Standin, now_millis};

/// Provider codes the server accepts.
const PROVIDERS: [&str; 8] = [
    "APNS",
    "ANDROID",
    "HUAWEIPUSH",
    "HONOR",
    "OPPOPUSH",
    "VIVOPUSH",
    "XIAOMIPUSH",
    "MEIZUPUSH",
];

/// Form parts that hold secrets. The stand-in checks they are present and
/// keeps neither them nor the file.
const SECRET_PARTS: [&str; 6] = [
    "passphrase",
    "clientSecret",
    "masterSecret",
    "appKey",
    "appSecret",
    "file",
];

/// Maximum `name` length in bytes, as for a binding's `notifier_name`.
const MAX_NAME: usize = 128;

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

/// Creates a notifier from a multipart form: text parts `provider`, `name`,
/// `environment`, `packageName` and the vendor's fields, and a `file` part
/// for APNs and FCM. A name that exists for the provider is rejected.
pub(crate) async fn create_notifier(
    State(standin): State<Standin>,
    Extension(app): Extension<AppKey>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let multipart = multipart.map_err(|rejection| {
        ApiError::illegal_argument(format!("the body must be multipart/form-data: {rejection}"))
    })?;
    let parts = read_parts(multipart).await?;
    let notifier = build_notifier(&parts)?;
    let (name, provider) = (notifier.seed.name.clone(), notifier.seed.provider.clone());
    let (application, created) = standin.with_app(&app.0, |app| {
        (app.uuid.clone(), app.create_notifier(notifier))
    });
    let created = created.ok_or_else(|| {
        ApiError::illegal_argument(format!("a {provider} notifier named {name} already exists"))
    })?;
    Ok(success(
        "post",
        &application,
        Value::Array(vec![notifier_json(&created)]),
    ))
}

/// Deletes the notifier `uuid`; 404 when there is none.
pub(crate) async fn delete_notifier(
    State(standin): State<Standin>,
    Extension(app): Extension<AppKey>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let uuid = params.get("uuid").cloned().unwrap_or_default();
    let (application, deleted) =
        standin.with_app(&app.0, |app| (app.uuid.clone(), app.delete_notifier(&uuid)));
    let deleted = deleted.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            format!("no notifier has uuid {uuid}"),
        )
    })?;
    Ok(success(
        "delete",
        &application,
        Value::Array(vec![notifier_json(&deleted)]),
    ))
}

/// The parts of an upload: text values by name, and whether a file came.
struct Parts {
    text: BTreeMap<String, String>,
    names: Vec<String>,
    file_len: Option<usize>,
}

async fn read_parts(mut multipart: Multipart) -> Result<Parts, ApiError> {
    let mut parts = Parts {
        text: BTreeMap::new(),
        names: Vec::new(),
        file_len: None,
    };
    let bad = |err: axum::extract::multipart::MultipartError| {
        ApiError::illegal_argument(format!("the multipart body cannot be read: {err}"))
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            parts.file_len = Some(field.bytes().await.map_err(bad)?.len());
        } else {
            let value = field.text().await.map_err(bad)?;
            parts.text.insert(name.clone(), value);
        }
        parts.names.push(name);
    }
    Ok(parts)
}

fn build_notifier(parts: &Parts) -> Result<Notifier, ApiError> {
    let text = |key: &str| parts.text.get(key).map(String::as_str);
    let required = |key: &str| {
        text(key)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| ApiError::illegal_argument(format!("{key} is required")))
    };
    let provider = required("provider")?;
    if !PROVIDERS.contains(&provider) {
        return Err(ApiError::illegal_argument(format!(
            "provider {provider} is not one of {}",
            PROVIDERS.join(", ")
        )));
    }
    let name = required("name")?;
    if name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::illegal_argument(format!(
            "name must be at most {MAX_NAME} bytes without control characters"
        )));
    }
    let environment = text("environment").unwrap_or("PRODUCTION");
    if !matches!(environment, "DEVELOPMENT" | "PRODUCTION") {
        return Err(ApiError::illegal_argument(
            "environment must be DEVELOPMENT or PRODUCTION",
        ));
    }
    check_vendor_parts(provider, parts, &required)?;
    let now = now_millis();
    let settings = parts
        .text
        .iter()
        .filter(|(key, _)| {
            !SECRET_PARTS.contains(&key.as_str())
                && !matches!(
                    key.as_str(),
                    "provider" | "name" | "environment" | "packageName"
                )
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(Notifier {
        uuid: Uuid::new_v4().to_string(),
        seed: NotifierSeed {
            name: name.to_owned(),
            provider: provider.to_owned(),
            environment: environment.to_owned(),
            package_name: text("packageName").map(str::to_owned),
            disabled: false,
        },
        created: now,
        modified: now,
        uploaded_parts: parts.names.clone(),
        settings,
    })
}

/// Checks the parts each vendor needs.
fn check_vendor_parts<'a>(
    provider: &str,
    parts: &Parts,
    required: &impl Fn(&str) -> Result<&'a str, ApiError>,
) -> Result<(), ApiError> {
    let needs_file = matches!(provider, "APNS" | "ANDROID");
    if needs_file && parts.file_len.is_none_or(|len| len == 0) {
        return Err(ApiError::illegal_argument(format!(
            "file is required for {provider}"
        )));
    }
    let fields: &[&str] = match provider {
        "APNS" => &["packageName"],
        "HUAWEIPUSH" => &["clientSecret", "packageName"],
        "HONOR" => &["clientId", "clientSecret"],
        "OPPOPUSH" => &["masterSecret", "packageName"],
        "VIVOPUSH" => &["appKey", "appSecret", "packageName"],
        "XIAOMIPUSH" | "MEIZUPUSH" => &["appSecret", "packageName"],
        _ => &[],
    };
    for field in fields {
        required(field)?;
    }
    if provider == "APNS" {
        let token_key = parts.text.contains_key("keyId") || parts.text.contains_key("teamId");
        if token_key {
            required("keyId")?;
            required("teamId")?;
        } else if !parts.text.contains_key("passphrase") {
            return Err(ApiError::illegal_argument(
                "passphrase is required with a .p12 certificate, or keyId and teamId with a .p8 key",
            ));
        }
    }
    Ok(())
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
