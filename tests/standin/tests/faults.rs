//! Fault injection, rate limits and the call log over real loopback
//! connections.

mod common;

use std::time::{Duration, Instant};

use common::{APP_KEY, binding, send, start, start_with};
use pushbind_standin::{Fault, FaultAction, Options, Route};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn status_fault_with_retry_after() {
    let fixture = start().await;
    let fault = Fault::error(Route::PutBinding, 1, 503, "service_unavailable", "down")
        .with_retry_after("2");
    fixture.server.inject(fault);

    let failed = fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(failed.status, 503);
    assert_eq!(failed.error(), Some("service_unavailable"));
    assert_eq!(failed.description(), "down");
    assert_eq!(failed.headers["retry-after"], "2");
    assert!(fixture.server.bindings(APP_KEY, "alice").is_empty());

    let retried = fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert!(retried.headers.get("retry-after").is_none());
}

#[tokio::test]
async fn status_fault_without_code() {
    let fixture = start().await;
    fixture.server.inject(Fault::status(None, 1, 500));
    let answer = fixture.get_bindings("alice").await;
    assert_eq!(answer.status, 500);
    assert!(answer.json.is_object(), "{}", answer.text);
    assert_eq!(answer.error(), None);
    assert!(answer.description().contains("500"));
}

#[tokio::test]
async fn fault_applies_times_then_stops() {
    let fixture = start().await;
    fixture
        .server
        .inject(Fault::status(Route::GetBinding, 2, 502));
    assert_eq!(fixture.get_bindings("alice").await.status, 502);
    assert_eq!(fixture.get_bindings("alice").await.status, 502);
    assert_eq!(fixture.get_bindings("alice").await.status, 200);
}

#[tokio::test]
async fn fault_matches_only_its_route() {
    let fixture = start().await;
    fixture
        .server
        .inject(Fault::status(Route::GetBinding, 1, 500));
    let put = fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(fixture.get_bindings("alice").await.status, 500);
}

#[tokio::test]
async fn faults_apply_in_queue_order() {
    let fixture = start().await;
    fixture.server.inject(Fault::status(None, 1, 500));
    fixture
        .server
        .inject(Fault::status(Route::GetBinding, 1, 502));
    fixture.server.inject(Fault::status(None, 1, 504));
    assert_eq!(fixture.get_bindings("alice").await.status, 500);
    assert_eq!(fixture.get_bindings("alice").await.status, 502);
    assert_eq!(fixture.get_bindings("alice").await.status, 504);
    assert_eq!(fixture.get_bindings("alice").await.status, 200);
}

#[tokio::test]
async fn clear_faults_empties_queue() {
    let fixture = start().await;
    fixture.server.inject(Fault::status(None, 5, 500));
    fixture.server.clear_faults();
    assert_eq!(fixture.get_bindings("alice").await.status, 200);
}

#[tokio::test]
async fn fault_precedes_token_check() {
    let fixture = start().await;
    fixture
        .server
        .inject(Fault::status(Route::ListNotifiers, 1, 503));
    let url = format!("{}/notifiers", fixture.base());
    let answer = send(fixture.client.get(&url)).await;
    assert_eq!(answer.status, 503);
    let unauthorized = send(fixture.client.get(&url)).await;
    assert_eq!(unauthorized.status, 401);
}

#[tokio::test]
async fn fault_skips_unknown_app() {
    let fixture = start().await;
    fixture.server.inject(Fault::status(None, 1, 500));
    let url = format!("{}/acme/nope/notifiers", fixture.server.url());
    let unknown = send(fixture.request(Method::GET, &url)).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(fixture.get_bindings("alice").await.status, 500);
}

#[tokio::test]
async fn fault_on_token_route() {
    let fixture = start().await;
    fixture.server.inject(Fault::html(Route::Token, 1, 502));
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": common::CLIENT_ID,
        "client_secret": common::CLIENT_SECRET,
    });
    let failed = fixture.post_token(&fixture.base(), body.clone()).await;
    assert_eq!(failed.status, 502);
    let issued = fixture.post_token(&fixture.base(), body).await;
    assert_eq!(issued.status, 200);
}

#[tokio::test]
async fn delay_fault_then_normal_answer() {
    let fixture = start().await;
    let delay = Duration::from_millis(300);
    fixture
        .server
        .inject(Fault::delay(Route::GetBinding, 1, delay));
    let started = Instant::now();
    let answer = fixture.get_bindings("alice").await;
    let elapsed = started.elapsed();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(elapsed >= delay, "answered after {elapsed:?}");
    assert_eq!(answer.json["action"], "get");
}

#[tokio::test]
async fn drop_fault_gives_connection_error() {
    let fixture = start().await;
    fixture
        .server
        .inject(Fault::drop_connection(Route::PutBinding, 1));
    let url = format!("{}/users/alice/push/binding", fixture.base());
    let body = binding("d1", "n1", "t1");
    let result = fixture.request(Method::PUT, &url).json(&body).send().await;
    let error = result.expect_err("a response arrived despite the drop fault");
    assert!(error.status().is_none(), "{error}");
    assert!(fixture.server.bindings(APP_KEY, "alice").is_empty());

    let calls = fixture.server.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, 0);
    assert_eq!(calls[0].route, Route::PutBinding);

    let retried = fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(retried.status, 200, "{}", retried.text);
}

#[tokio::test]
async fn drop_fault_sends_no_bytes() {
    let fixture = start().await;
    fixture.server.inject(Fault::drop_connection(None, 1));
    let mut stream = TcpStream::connect(fixture.server.addr()).await.unwrap();
    let request = format!(
        "GET /acme/chat/notifiers HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        fixture.server.addr(),
        fixture.token
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received))
        .await
        .expect("the server kept the connection open");
    // A reset connection is as good as a clean close: no response either way.
    if let Err(error) = read {
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    }
    assert!(
        received.is_empty(),
        "received {:?}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn html_fault_page() {
    let fixture = start().await;
    fixture
        .server
        .inject(Fault::new(None, 1, FaultAction::Html { status: 502 }));
    let answer = fixture.get_bindings("alice").await;
    assert_eq!(answer.status, 502);
    let content_type = answer.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(answer.text.contains("<html>"), "{}", answer.text);
    assert!(answer.text.contains("502 Bad Gateway"), "{}", answer.text);
    assert!(answer.json.is_null());
}

#[test]
#[should_panic(expected = "not a valid HTTP status code")]
fn invalid_fault_status_panics() {
    let standin = pushbind_standin::Standin::new(Options::default());
    standin.inject(Fault::status(None, 1, 42));
}

#[tokio::test]
async fn rate_limit_rejects_with_retry_after() {
    let options = Options {
        rate_limit_per_second: Some(3),
        rate_limit_retry_after: Some(7),
        ..Options::default()
    };
    let fixture = start_with(options).await;
    for _ in 0..3 {
        assert_eq!(fixture.get_bindings("alice").await.status, 200);
    }
    // The window restarts each second, so a slow machine may need a few
    // more calls to exceed the limit within one window.
    let mut rejected = None;
    for _ in 0..10 {
        let answer = fixture.get_bindings("alice").await;
        if answer.status == 429 {
            rejected = Some(answer);
            break;
        }
    }
    let rejected = rejected.expect("no call was rate limited");
    assert_eq!(rejected.error(), Some("reach_limit"));
    assert_eq!(rejected.headers["retry-after"], "7");
    assert!(fixture.server.calls().iter().any(|call| call.status == 429));
}

#[tokio::test]
async fn rate_limit_without_retry_after() {
    let fixture = start().await;
    fixture.server.set_rate_limit(Some(0));
    let answer = fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.error(), Some("reach_limit"));
    assert!(answer.headers.get("retry-after").is_none());
}

#[tokio::test]
async fn rate_limit_shared_by_routes() {
    let fixture = start().await;
    fixture.server.set_rate_limit(Some(2));
    let put = fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    assert_eq!(put.status, 200);
    let url = format!("{}/notifiers", fixture.base());
    let listed = send(fixture.request(Method::GET, &url)).await;
    assert_eq!(listed.status, 200);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(fixture.get_bindings("bob").await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn rate_limit_off_allows_bursts() {
    let fixture = start().await;
    fixture.server.set_rate_limit(Some(0));
    fixture.server.set_rate_limit(None);
    for _ in 0..150 {
        assert_eq!(fixture.get_bindings("alice").await.status, 200);
    }
}

#[tokio::test]
async fn token_route_own_bucket() {
    let fixture = start().await;
    fixture.server.set_rate_limit(Some(0));
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": common::CLIENT_ID,
        "client_secret": common::CLIENT_SECRET,
    });
    let issued = fixture.post_token(&fixture.base(), body.clone()).await;
    assert_eq!(issued.status, 200, "{}", issued.text);

    fixture.server.set_token_rate_limit(Some(0));
    let limited = fixture.post_token(&fixture.base(), body).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.error(), Some("reach_limit"));
}

#[tokio::test]
async fn call_log_counts_routes() {
    let fixture = start().await;
    let token_body = json!({
        "grant_type": "client_credentials",
        "client_id": common::CLIENT_ID,
        "client_secret": "wrong",
    });
    fixture.post_token(&fixture.base(), token_body).await;
    fixture
        .put_binding("alice", binding("d1", "n1", "t1"))
        .await;
    fixture.put_binding("alice", binding("d1", "n1", "")).await;
    fixture.get_bindings("alice").await;
    let notifiers = format!("{}/notifiers", fixture.id_base());
    send(fixture.request(Method::GET, &notifiers)).await;
    let unknown = format!("{}/nowhere", fixture.server.url());
    send(fixture.request(Method::GET, &unknown)).await;
    let wrong_method = format!("{}/users/alice/push/binding", fixture.base());
    send(fixture.request(Method::DELETE, &wrong_method)).await;

    let server = &fixture.server;
    assert_eq!(server.call_count(Route::Token), 1);
    assert_eq!(server.call_count(Route::PutBinding), 2);
    assert_eq!(server.call_count(Route::GetBinding), 1);
    assert_eq!(server.call_count(Route::ListNotifiers), 1);
    assert_eq!(server.call_count(Route::Other), 2);

    let calls = server.calls();
    assert_eq!(calls.len(), 7);
    let statuses: Vec<u16> = calls.iter().map(|call| call.status).collect();
    assert_eq!(statuses, [400, 200, 200, 200, 200, 404, 405]);
    assert_eq!(calls[1].method, "PUT");
    assert_eq!(calls[1].path, "/acme/chat/users/alice/push/binding");
    assert_eq!(calls[4].path, "/app-id/app-id-1/notifiers");
    assert!(calls.windows(2).all(|pair| pair[0].at <= pair[1].at));

    server.clear_calls();
    assert!(server.calls().is_empty());
    assert_eq!(server.call_count(Route::Token), 0);
}

#[tokio::test]
async fn call_log_records_rejections() {
    let fixture = start().await;
    let url = format!("{}/users/alice/push/binding", fixture.base());
    send(fixture.client.get(&url)).await;
    let unknown_app = format!("{}/acme/nope/token", fixture.server.url());
    send(fixture.client.post(&unknown_app).json(&json!({}))).await;

    let calls = fixture.server.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].route, calls[0].status), (Route::GetBinding, 401));
    assert_eq!((calls[1].route, calls[1].status), (Route::Token, 404));
}
