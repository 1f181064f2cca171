//! The stand-in's HTTP routes over real loopback connections.

mod common;

use std::time::Duration;

use common::{APP_KEY, CLIENT_ID, CLIENT_SECRET, binding, send, start, triple, triples};
use pushbind_standin::{AppSeed, Binding, NotifierSeed};
use reqwest::Method;
use serde_json::{Value, json};

fn token_request() -> Value {
    json!({
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    })
}

#[tokio::test]
async fn token_success_default_ttl() {
    let fixture = start().await;
    let answer = fixture.post_token(&fixture.base(), token_request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let token = answer.json["access_token"].as_str().unwrap();
    assert!(!token.is_empty());
    assert_eq!(answer.json["expires_in"], 7 * 24 * 60 * 60);
    let application = answer.json["application"].as_str().unwrap();
    assert_eq!(application.len(), 36, "not a UUID: {application}");

    let url = format!("{}/users/alice/push/binding", fixture.base());
    let listed = send(fixture.client.get(url).bearer_auth(token)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
}

#[tokio::test]
async fn token_ttl_integer_or_string() {
    let fixture = start().await;
    let cases = [(json!(3600), 3600), (json!("120"), 120), (json!(0), 0)];
    for (ttl, expected) in cases {
        let mut request = token_request();
        request["ttl"] = ttl.clone();
        let answer = fixture.post_token(&fixture.base(), request).await;
        assert_eq!(answer.status, 200, "ttl {ttl}: {}", answer.text);
        assert_eq!(answer.json["expires_in"], expected, "ttl {ttl}");
    }
}

#[tokio::test]
async fn token_invalid_ttl_rejected() {
    let fixture = start().await;
    for ttl in [json!(-1), json!("soon"), json!(1.5), json!(true)] {
        let mut request = token_request();
        request["ttl"] = ttl.clone();
        let answer = fixture.post_token(&fixture.base(), request).await;
        assert_eq!(answer.status, 400, "ttl {ttl}");
        assert_eq!(answer.error(), Some("illegal_argument"), "ttl {ttl}");
        assert!(answer.description().contains("ttl"), "ttl {ttl}");
    }
}

#[tokio::test]
async fn token_invalid_grant() {
    let fixture = start().await;
    for field in ["client_id", "client_secret"] {
        let mut request = token_request();
        request[field] = json!("wrong");
        let answer = fixture.post_token(&fixture.base(), request).await;
        assert_eq!(answer.status, 400, "wrong {field}");
        assert_eq!(answer.error(), Some("invalid_grant"), "wrong {field}");
    }
}

#[tokio::test]
async fn token_missing_field() {
    let fixture = start().await;
    for field in ["grant_type", "client_id", "client_secret"] {
        let mut request = token_request();
        request.as_object_mut().unwrap().remove(field);
        let answer = fixture.post_token(&fixture.base(), request).await;
        assert_eq!(answer.status, 400, "without {field}");
        assert_eq!(answer.error(), Some("illegal_argument"), "without {field}");
        assert!(answer.description().contains(field), "without {field}");
    }
}

#[tokio::test]
async fn token_wrong_grant_type() {
    let fixture = start().await;
    let mut request = token_request();
    request["grant_type"] = json!("password");
    let answer = fixture.post_token(&fixture.base(), request).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error(), Some("illegal_argument"));
}

#[tokio::test]
async fn token_body_not_json() {
    let fixture = start().await;
    let url = format!("{}/token", fixture.base());
    let answer = send(
        fixture
            .client
            .post(url)
            .body("grant_type=client_credentials"),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error(), Some("json_parse"));
}

#[tokio::test]
async fn error_envelope_fields() {
    let fixture = start().await;
    let answer = fixture
        .put_binding("nobody", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(answer.status, 400);
    let body = &answer.json;
    assert_eq!(body["error"], "required_property_not_found");
    assert!(body["exception"].is_string());
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("nobody")
    );
    assert!(body["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(body["duration"].is_u64());
}

#[tokio::test]
async fn bind_returns_device_bindings() {
    let fixture = start().await;
    let answer = fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["action"], "put");
    assert!(answer.json["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(answer.json["duration"].is_u64());
    assert_eq!(triples(answer.entities()), [triple("d1", "n1", "t1")]);

    let stored = fixture.server.bindings(APP_KEY, "alice");
    let expected = Binding {
        device_id: "d1".into(),
        notifier_name: "n1".into(),
        device_token: "t1".into(),
    };
    assert_eq!(stored, [expected]);
}

#[tokio::test]
async fn rebind_replaces_token() {
    let fixture = start().await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    let answer = fixture
        .put_binding("alice", binding("d1", "n1", "t2"))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(triples(answer.entities()), [triple("d1", "n1", "t2")]);
    assert_eq!(fixture.server.bindings(APP_KEY, "alice").len(), 1);
}

#[tokio::test]
async fn rebind_same_token_idempotent() {
    let fixture = start().await;
    let first = fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    let second = fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(triples(first.entities()), triples(second.entities()));
}

#[tokio::test]
async fn device_holds_several_notifiers() {
    let fixture = start().await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    let answer = fixture
        .put_binding("alice", binding("d1", "n2", "t2"))
        .await;
    let expected = [triple("d1", "n1", "t1"), triple("d1", "n2", "t2")];
    assert_eq!(triples(answer.entities()), expected);
}

#[tokio::test]
async fn unbind_one_notifier() {
    let fixture = start().await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    fixture
        .put_binding("alice", binding("d1", "n2", "t2"))
        .await;
    let answer = fixture.put_binding("alice", binding("d1", "n1", "")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(triples(answer.entities()), [triple("d1", "n2", "t2")]);
}

#[tokio::test]
async fn unbind_all_of_device() {
    let fixture = start().await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    fixture
        .put_binding("alice", binding("d1", "n2", "t2"))
        .await;
    fixture
        .put_binding("alice", binding("d2", "n1", "t3"))
        .await;
    let answer = fixture.put_binding("alice", binding("d1", "", "")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.entities().is_empty());
    let remaining = fixture.server.bindings(APP_KEY, "alice");
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].device_id, "d2");
}

#[tokio::test]
async fn empty_notifier_removes_all_despite_token() {
    let fixture = start().await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    let answer = fixture.put_binding("alice", binding("d1", "", "t9")).await;
    assert_eq!(answer.status, 200);
    assert!(answer.entities().is_empty());
}

#[tokio::test]
async fn unbind_missing_binding_succeeds() {
    let fixture = start().await;
    let answer = fixture.put_binding("alice", binding("d1", "n1", "")).await;
    assert_eq!(answer.status, 200);
    assert!(answer.entities().is_empty());
}

#[tokio::test]
async fn put_lists_only_this_device() {
    let fixture = start().await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    let answer = fixture
        .put_binding("alice", binding("d2", "n1", "t2"))
        .await;
    assert_eq!(triples(answer.entities()), [triple("d2", "n1", "t2")]);
}

#[tokio::test]
async fn get_lists_all_devices() {
    let fixture = start().await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    fixture
        .put_binding("alice", binding("d2", "n2", "t2"))
        .await;
    fixture.put_binding("bob", binding("d3", "n1", "t3")).await;
    let answer = fixture.get_bindings("alice").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["action"], "get");
    let expected = [triple("d1", "n1", "t1"), triple("d2", "n2", "t2")];
    assert_eq!(triples(answer.entities()), expected);
}

#[tokio::test]
async fn get_without_bindings_is_empty() {
    let fixture = start().await;
    let answer = fixture.get_bindings("bob").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["entities"], json!([]));
}

#[tokio::test]
async fn bind_unknown_notifier_stored() {
    let fixture = start().await;
    let answer = fixture
        .put_binding("alice", binding("d1", "no-such-cert", "t1"))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(fixture.server.bindings(APP_KEY, "alice").len(), 1);
}

#[tokio::test]
async fn two_users_same_device_kept() {
    let fixture = start().await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    fixture.put_binding("bob", binding("d1", "n1", "t1")).await;
    assert_eq!(fixture.server.bindings(APP_KEY, "alice").len(), 1);
    assert_eq!(fixture.server.bindings(APP_KEY, "bob").len(), 1);
}

#[tokio::test]
async fn drop_binding_removes_one() {
    let fixture = start().await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    fixture
        .put_binding("alice", binding("d1", "n2", "t2"))
        .await;
    assert!(fixture.server.drop_binding(APP_KEY, "alice", "d1", "n1"));
    assert!(!fixture.server.drop_binding(APP_KEY, "alice", "d1", "n1"));
    let answer = fixture.get_bindings("alice").await;
    assert_eq!(triples(answer.entities()), [triple("d1", "n2", "t2")]);
}

#[tokio::test]
async fn binding_body_validation() {
    let fixture = start().await;
    let control = "a\u{1}b";
    let cases = [
        ("device_id", binding(&"d".repeat(65), "n1", "t1")),
        ("notifier_name", binding("d1", &"n".repeat(129), "t1")),
        ("device_token", binding("d1", "n1", &"t".repeat(4097))),
        ("device_id", binding(control, "n1", "t1")),
        ("notifier_name", binding("d1", control, "t1")),
        ("device_token", binding("d1", "n1", control)),
        ("device_id", binding("", "n1", "t1")),
        (
            "device_id",
            json!({"notifier_name": "n1", "device_token": "t1"}),
        ),
        (
            "notifier_name",
            json!({"device_id": "d1", "device_token": "t1"}),
        ),
        (
            "device_token",
            json!({"device_id": "d1", "notifier_name": "n1"}),
        ),
        (
            "device_token",
            json!({"device_id": "d1", "notifier_name": "n1", "device_token": 5}),
        ),
    ];
    for (field, body) in cases {
        let answer = fixture.put_binding("alice", body.clone()).await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.error(), Some("illegal_argument"), "{body}");
        let description = answer.description();
        assert!(description.contains(field), "{body}: {description}");
    }
    assert!(fixture.server.bindings(APP_KEY, "alice").is_empty());
}

#[tokio::test]
async fn binding_limits_accepted_at_maximum() {
    let fixture = start().await;
    let body = binding(&"d".repeat(64), &"n".repeat(128), &"t".repeat(4096));
    let answer = fixture.put_binding("alice", body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn user_id_validation() {
    let fixture = start().await;
    for user in ["a%20b", "a%0Ab", "caf%C3%A9", &"u".repeat(65)] {
        let put = fixture.put_binding(user, binding("d1", "n1", "t1")).await;
        assert_eq!(put.status, 400, "PUT {user}");
        assert_eq!(put.error(), Some("illegal_argument"), "PUT {user}");
        assert!(put.description().contains("user_id"), "PUT {user}");
        let get = fixture.get_bindings(user).await;
        assert_eq!(get.status, 400, "GET {user}");
        assert_eq!(get.error(), Some("illegal_argument"), "GET {user}");
    }
}

#[tokio::test]
async fn binding_body_not_json() {
    let fixture = start().await;
    let url = format!("{}/users/alice/push/binding", fixture.base());
    let answer = send(fixture.request(Method::PUT, &url).body("{device_id")).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error(), Some("json_parse"));

    let array = send(fixture.request(Method::PUT, &url).json(&json!([]))).await;
    assert_eq!(array.status, 400);
    assert_eq!(array.error(), Some("illegal_argument"));
}

#[tokio::test]
async fn unknown_user_rejected() {
    let fixture = start().await;
    let put = fixture
        .put_binding("carol", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(put.status, 400);
    assert_eq!(put.error(), Some("required_property_not_found"));
    let get = fixture.get_bindings("carol").await;
    assert_eq!(get.status, 400);
    assert_eq!(get.error(), Some("required_property_not_found"));
}

#[tokio::test]
async fn unknown_app_not_found() {
    let fixture = start().await;
    let url = fixture.server.url();
    let requests = [
        fixture
            .client
            .post(format!("{url}/acme/other/token"))
            .json(&token_request()),
        fixture
            .client
            .post(format!("{url}/app-id/nope/token"))
            .json(&token_request()),
        fixture.request(
            Method::GET,
            &format!("{url}/other/chat/users/alice/push/binding"),
        ),
        fixture.request(Method::GET, &format!("{url}/app-id/nope/notifiers")),
    ];
    for request in requests {
        let answer = send(request).await;
        assert_eq!(answer.status, 404, "{}", answer.text);
        assert_eq!(answer.error(), Some("organization_application_not_found"));
    }
}

#[tokio::test]
async fn unknown_path_has_no_error_code() {
    let fixture = start().await;
    let url = fixture.server.url();
    for path in [
        "/",
        "/acme/chat/users/alice",
        "/acme/chat/push/binding",
        "/a/b/c/d/e/f/g",
    ] {
        let answer = send(fixture.request(Method::GET, &format!("{url}{path}"))).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.error(), None, "{path}: {}", answer.text);
    }
}

#[tokio::test]
async fn both_path_forms_same_app() {
    let fixture = start().await;
    let token = fixture
        .post_token(&fixture.id_base(), token_request())
        .await;
    assert_eq!(token.status, 200, "{}", token.text);
    let token = token.json["access_token"].as_str().unwrap().to_owned();

    let put_url = format!("{}/users/alice/push/binding", fixture.id_base());
    let body = binding("d1", "n1", "t1");
    let put = send(fixture.client.put(put_url).bearer_auth(&token).json(&body)).await;
    assert_eq!(put.status, 200, "{}", put.text);

    let get_url = format!("{}/users/alice/push/binding", fixture.base());
    let get = send(fixture.client.get(get_url).bearer_auth(&token)).await;
    assert_eq!(get.status, 200, "{}", get.text);
    assert_eq!(triples(get.entities()), [triple("d1", "n1", "t1")]);
    assert_eq!(get.json["application"], put.json["application"]);
}

#[tokio::test]
async fn missing_token_unauthorized() {
    let fixture = start().await;
    let url = format!("{}/users/alice/push/binding", fixture.base());
    let answer = send(fixture.client.get(&url)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.error(), Some("unauthorized"));

    let basic = send(
        fixture
            .client
            .get(&url)
            .header("Authorization", "Basic abc"),
    )
    .await;
    assert_eq!(basic.status, 401);
    assert_eq!(basic.error(), Some("unauthorized"));
}

#[tokio::test]
async fn unknown_token_bad_access_token() {
    let fixture = start().await;
    let url = format!("{}/notifiers", fixture.base());
    let answer = send(fixture.client.get(&url).bearer_auth("not-a-token")).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.error(), Some("auth_bad_access_token"));
}

#[tokio::test]
async fn other_app_token_rejected() {
    let fixture = start().await;
    fixture.server.add_app(AppSeed {
        org: "acme".into(),
        name: "other".into(),
        app_id: "app-id-2".into(),
        client_id: "client-2".into(),
        client_secret: "secret-2".into(),
    });
    let other = fixture.server.issue_token("acme#other", Duration::ZERO);
    let url = format!("{}/notifiers", fixture.base());
    let answer = send(fixture.client.get(&url).bearer_auth(&other)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.error(), Some("auth_bad_access_token"));
}

#[tokio::test]
async fn expired_tokens_unauthorized() {
    let fixture = start().await;
    let issued = fixture.post_token(&fixture.base(), token_request()).await;
    let http_token = issued.json["access_token"].as_str().unwrap().to_owned();
    fixture.server.expire_tokens(APP_KEY);

    let url = format!("{}/users/alice/push/binding", fixture.base());
    for token in [&fixture.token, &http_token] {
        let answer = send(fixture.client.get(&url).bearer_auth(token)).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.error(), Some("unauthorized"));
    }

    let fresh = fixture.server.issue_token(APP_KEY, Duration::from_secs(60));
    let answer = send(fixture.client.get(&url).bearer_auth(&fresh)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn notifiers_listed_without_secrets() {
    let fixture = start().await;
    let mut apns = NotifierSeed::new("ios-cert", "APNS");
    apns.environment = "PRODUCTION".into();
    apns.package_name = Some("com.example.chat".into());
    let uuid = fixture.server.add_notifier(APP_KEY, apns);
    let mut fcm = NotifierSeed::new("123456789", "ANDROID");
    fcm.disabled = true;
    fixture.server.add_notifier(APP_KEY, fcm);

    let url = format!("{}/notifiers", fixture.base());
    let answer = send(fixture.request(Method::GET, &url)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["action"], "get");
    let entities = answer.entities();
    assert_eq!(entities.len(), 2);
    let first = &entities[0];
    assert_eq!(first["uuid"], uuid.as_str());
    assert_eq!(first["name"], "ios-cert");
    assert_eq!(first["provider"], "APNS");
    assert_eq!(first["environment"], "PRODUCTION");
    assert_eq!(first["packageName"], "com.example.chat");
    assert_eq!(first["disabled"], false);
    assert!(first["created"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(first["modified"].is_u64());
    assert_eq!(entities[1]["disabled"], true);
    assert!(entities[1].get("packageName").is_none());
    for secret in ["certificate", "passphrase", "secret", "privateKey"] {
        assert!(!answer.text.contains(secret), "body mentions {secret}");
    }
}

#[tokio::test]
async fn notifier_changes_visible() {
    let fixture = start().await;
    fixture
        .server
        .add_notifier(APP_KEY, NotifierSeed::new("a", "HUAWEIPUSH"));
    fixture
        .server
        .add_notifier(APP_KEY, NotifierSeed::new("b", "HONOR"));
    assert!(fixture.server.set_notifier_disabled(APP_KEY, "b", true));
    assert!(fixture.server.remove_notifier(APP_KEY, "a"));
    assert!(!fixture.server.remove_notifier(APP_KEY, "a"));
    assert!(!fixture.server.set_notifier_disabled(APP_KEY, "a", true));

    let url = format!("{}/notifiers", fixture.id_base());
    let answer = send(fixture.request(Method::GET, &url)).await;
    let entities = answer.entities();
    assert_eq!(entities.len(), 1);
    assert_eq!(entities[0]["name"], "b");
    assert_eq!(entities[0]["disabled"], true);
}

#[tokio::test]
async fn notifiers_empty_list() {
    let fixture = start().await;
    let url = format!("{}/notifiers", fixture.base());
    let answer = send(fixture.request(Method::GET, &url)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["entities"], json!([]));
}

#[tokio::test]
async fn stop_closes_listener() {
    let fixture = start().await;
    let url = format!("{}/notifiers", fixture.base());
    fixture.server.stop().await;
    let result = fixture
        .client
        .get(&url)
        .bearer_auth(&fixture.token)
        .send()
        .await;
    let error = result.expect_err("the stopped server answered");
    assert!(error.is_connect(), "{error}");
}

#[tokio::test]
async fn start_rejects_non_loopback() {
    let standin = pushbind_standin::Standin::new(Default::default());
    let error = standin.start("0.0.0.0:0").await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("loopback"), "{error}");
}
