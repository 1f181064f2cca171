//! Shared setup for the HTTP tests: one app `acme#chat` with the users
//! `alice` and `bob`, served on 127.0.0.1 with a fresh client and token.

#![allow(dead_code)]

use std::time::Duration;

use pushbind_standin::{AppSeed, Options, RunningStandin, Standin};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

pub const APP_KEY: &str = "acme#chat";
pub const APP_ID: &str = "app-id-1";
pub const CLIENT_ID: &str = "client-1";
pub const CLIENT_SECRET: &str = "secret-1";

pub struct Fixture {
    pub server: RunningStandin,
    pub client: reqwest::Client,
    /// A valid token for `acme#chat`.
    pub token: String,
}

/// A response reduced to what the tests check.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body parsed as JSON, or `Value::Null` when it is not JSON.
    pub json: Value,
    pub text: String,
}

impl Answer {
    /// Returns the `error` code of an error envelope.
    pub fn error(&self) -> Option<&str> {
        self.json.get("error").and_then(Value::as_str)
    }

    pub fn description(&self) -> &str {
        self.json["error_description"].as_str().unwrap_or_default()
    }

    pub fn entities(&self) -> &Vec<Value> {
        self.json["entities"]
            .as_array()
            .unwrap_or_else(|| panic!("no entities array in {}", self.text))
    }
}

pub fn app_seed() -> AppSeed {
    AppSeed {
        org: "acme".into(),
        name: "chat".into(),
        app_id: APP_ID.into(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
    }
}

/// Builds a client that ignores proxy settings, so every request stays on
/// loopback.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("failed to build the HTTP client")
}

pub async fn start() -> Fixture {
    start_with(Options::default()).await
}

pub async fn start_with(options: Options) -> Fixture {
    let standin = Standin::new(options);
    standin.add_app(app_seed());
    standin.add_user(APP_KEY, "alice");
    standin.add_user(APP_KEY, "bob");
    let server = standin
        .start("127.0.0.1:0")
        .await
        .expect("failed to start the stand-in");
    let token = server.issue_token(APP_KEY, Duration::from_secs(3600));
    Fixture {
        server,
        client: client(),
        token,
    }
}

pub fn binding(device_id: &str, notifier_name: &str, device_token: &str) -> Value {
    json!({
        "device_id": device_id,
        "notifier_name": notifier_name,
        "device_token": device_token,
    })
}

impl Fixture {
    /// Base URL in the `/{org}/{app}` form.
    pub fn base(&self) -> String {
        format!("{}/acme/chat", self.server.url())
    }

    /// Base URL in the `/app-id/{app_id}` form.
    pub fn id_base(&self) -> String {
        format!("{}/app-id/{APP_ID}", self.server.url())
    }

    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.client.request(method, url).bearer_auth(&self.token)
    }

    pub async fn put_binding(&self, user: &str, body: Value) -> Answer {
        let url = format!("{}/users/{user}/push/binding", self.base());
        send(self.request(Method::PUT, &url).json(&body)).await
    }

    pub async fn get_bindings(&self, user: &str) -> Answer {
        let url = format!("{}/users/{user}/push/binding", self.base());
        send(self.request(Method::GET, &url)).await
    }

    pub async fn post_token(&self, base: &str, body: Value) -> Answer {
        send(self.client.post(format!("{base}/token")).json(&body)).await
    }
}

pub async fn send(request: RequestBuilder) -> Answer {
    let response = request.send().await.expect("request failed");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("failed to read the body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
        text,
    }
}

/// Returns the entities as sorted `(device_id, notifier_name, device_token)`
/// triples.
pub fn triples(entities: &[Value]) -> Vec<(String, String, String)> {
    let field = |entity: &Value, key: &str| entity[key].as_str().unwrap_or_default().to_owned();
    let mut list: Vec<_> = entities
        .iter()
        .map(|e| {
            (
                field(e, "device_id"),
                field(e, "notifier_name"),
                field(e, "device_token"),
            )
        })
        .collect();
    list.sort();
    list
}

pub fn triple(
    device_id: &str,
    notifier_name: &str,
    device_token: &str,
) -> (String, String, String) {
    (
        device_id.to_owned(),
        notifier_name.to_owned(),
        device_token.to_owned(),
    )
}
