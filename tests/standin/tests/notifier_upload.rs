//! Uploading and deleting notifiers on the stand-in over loopback HTTP.

mod common;

use common::{APP_KEY, send, start};
use reqwest::Method;
use reqwest::multipart::{Form, Part};

fn file(bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec()).file_name("upload.bin")
}

fn apns_form(name: &str) -> Form {
    Form::new()
        .text("provider", "APNS")
        .text("name", name.to_owned())
        .text("environment", "PRODUCTION")
        .text("packageName", "com.example.chat")
        .text("passphrase", "pass")
        .part("file", file(b"p12 bytes"))
}

#[tokio::test]
async fn upload_then_list_then_delete() {
    let fixture = start().await;
    let url = format!("{}/notifiers", fixture.base());
    let created = send(
        fixture
            .request(Method::POST, &url)
            .multipart(apns_form("ios")),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.json["action"], "post");
    let entity = &created.entities()[0];
    assert_eq!(entity["name"], "ios");
    assert_eq!(entity["provider"], "APNS");
    assert_eq!(entity["packageName"], "com.example.chat");
    assert!(entity.get("passphrase").is_none(), "{entity}");
    let uuid = entity["uuid"].as_str().unwrap().to_owned();

    let (parts, settings) = fixture.server.upload_of(APP_KEY, &uuid).unwrap();
    assert!(parts.contains(&"file".to_owned()), "{parts:?}");
    assert!(parts.contains(&"passphrase".to_owned()), "{parts:?}");
    assert!(settings.is_empty(), "secrets are not kept: {settings:?}");

    let listed = send(fixture.request(Method::GET, &url)).await;
    assert_eq!(listed.entities().len(), 1);

    let delete_url = format!("{url}/{uuid}");
    let deleted = send(fixture.request(Method::DELETE, &delete_url)).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.json["action"], "delete");
    assert_eq!(deleted.entities()[0]["uuid"], uuid.as_str());
    let listed = send(fixture.request(Method::GET, &url)).await;
    assert!(listed.entities().is_empty());

    let again = send(fixture.request(Method::DELETE, &delete_url)).await;
    assert_eq!(again.status, 404, "{}", again.text);
}

#[tokio::test]
async fn duplicate_name_for_provider_rejected() {
    let fixture = start().await;
    let url = format!("{}/notifiers", fixture.base());
    let first = send(
        fixture
            .request(Method::POST, &url)
            .multipart(apns_form("ios")),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let second = send(
        fixture
            .request(Method::POST, &url)
            .multipart(apns_form("ios")),
    )
    .await;
    assert_eq!(second.status, 400, "{}", second.text);
    assert_eq!(second.error(), Some("illegal_argument"));
    assert!(second.description().contains("already exists"));
    let other_vendor = Form::new()
        .text("provider", "XIAOMIPUSH")
        .text("name", "ios")
        .text("packageName", "com.example.chat")
        .text("appSecret", "s");
    let third = send(fixture.request(Method::POST, &url).multipart(other_vendor)).await;
    assert_eq!(third.status, 200, "same name, other vendor: {}", third.text);
}

#[tokio::test]
async fn missing_vendor_fields_named() {
    let fixture = start().await;
    let url = format!("{}/notifiers", fixture.base());
    let cases: Vec<(Form, &str)> = vec![
        (Form::new().text("name", "n"), "provider"),
        (
            Form::new().text("provider", "GCM").text("name", "n"),
            "provider",
        ),
        (Form::new().text("provider", "ANDROID"), "name"),
        (
            Form::new().text("provider", "ANDROID").text("name", "123"),
            "file",
        ),
        (
            Form::new()
                .text("provider", "HUAWEIPUSH")
                .text("name", "1")
                .text("packageName", "com.example.chat"),
            "clientSecret",
        ),
        (
            Form::new()
                .text("provider", "VIVOPUSH")
                .text("name", "1")
                .text("appSecret", "s")
                .text("packageName", "com.example.chat"),
            "appKey",
        ),
        (
            Form::new()
                .text("provider", "APNS")
                .text("name", "ios")
                .text("packageName", "com.example.chat")
                .text("keyId", "ABC123DEFG")
                .part("file", file(b"p8")),
            "teamId",
        ),
        (
            Form::new()
                .text("provider", "APNS")
                .text("name", "ios")
                .text("environment", "STAGING")
                .text("packageName", "com.example.chat"),
            "environment",
        ),
    ];
    for (form, field) in cases {
        let answer = send(fixture.request(Method::POST, &url).multipart(form)).await;
        assert_eq!(answer.status, 400, "{field}: {}", answer.text);
        assert_eq!(answer.error(), Some("illegal_argument"), "{field}");
        assert!(
            answer.description().contains(field),
            "{field}: {}",
            answer.description()
        );
    }
}

#[tokio::test]
async fn json_body_rejected() {
    let fixture = start().await;
    let url = format!("{}/notifiers", fixture.base());
    let body = serde_json::json!({"provider": "APNS", "name": "ios"});
    let answer = send(fixture.request(Method::POST, &url).json(&body)).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(
        answer.description().contains("multipart"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn upload_needs_token() {
    let fixture = start().await;
    let url = format!("{}/notifiers", fixture.base());
    let answer = send(fixture.client.post(&url).multipart(apns_form("ios"))).await;
    assert_eq!(answer.status, 401, "{}", answer.text);
}
