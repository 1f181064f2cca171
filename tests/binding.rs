//! The real daemon against the stand-in server: each test checks the server's
//! bindings afterwards, and how many calls it took.

mod common;

use common::{APP_KEY, Daemon, binding, code, server_bindings, standin};
use pushbind_client::protocol::SyncState;
use pushbind_client::{BindOptions, ErrorCode};
use pushbind_standin::{Fault, FaultAction, Route};

fn with_device(device: &str, notifier: &str, token: &str) -> (String, String, String) {
    (device.to_owned(), notifier.to_owned(), token.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn bind_reaches_server() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let view = client.bind_device_token("fcm-main", "T1").await.unwrap();
    assert_eq!(view.user_id, "u1");
    let confirmed = daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    let device = daemon.status().await.device_id;
    assert_eq!(
        server_bindings(&server, "u1"),
        [with_device(&device, "fcm-main", "T1")]
    );
    assert!(confirmed.confirmed_at.is_some());
    assert_eq!(confirmed.confirmed_token, confirmed.desired_token);
}

#[tokio::test(flavor = "multi_thread")]
async fn bind_with_wait_answers_after_server() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let options = BindOptions {
        wait: true,
        ..BindOptions::default()
    };
    let view = client
        .bind_device_token_with("fcm-main", "T1", &options)
        .await
        .unwrap();
    assert_eq!(view.state, SyncState::Synced);
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn new_token_replaces_old_and_repeat_makes_no_call() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    client.bind_device_token("fcm-main", "T2").await.unwrap();
    daemon
        .wait_for("T2 on the server", |_| {
            server
                .bindings(APP_KEY, "u1")
                .iter()
                .any(|b| b.device_token == "T2")
        })
        .await;
    daemon.wait_until_idle().await;
    let device = daemon.status().await.device_id;
    assert_eq!(
        server_bindings(&server, "u1"),
        [with_device(&device, "fcm-main", "T2")]
    );

    let puts = server.call_count(Route::PutBinding);
    let view = client.bind_device_token("fcm-main", "T2").await.unwrap();
    assert_eq!(view.state, SyncState::Synced);
    client.sync_now(true).await.unwrap();
    assert_eq!(
        server.call_count(Route::PutBinding),
        puts,
        "a repeated bind must not call the server"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unbind_removes_binding_from_server() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    client.bind_device_token("prod-apns", "A1").await.unwrap();
    daemon.wait_until_idle().await;
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 2);
    let view = client.unbind_device_token("fcm-main", true).await.unwrap();
    assert_eq!(view.state, SyncState::Synced);
    let device = daemon.status().await.device_id;
    assert_eq!(
        server_bindings(&server, "u1"),
        [with_device(&device, "prod-apns", "A1")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_with_unbind_clears_server() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon.wait_until_idle().await;
    let report = client.logout(true).await.unwrap();
    assert_eq!(report.user_id, "u1");
    assert_eq!(report.unbinding.len(), 1);
    daemon.wait_until_idle().await;
    assert!(server.bindings(APP_KEY, "u1").is_empty());
    assert!(daemon.status().await.login.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_keeping_token_leaves_server_binding() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon.wait_until_idle().await;
    let puts = server.call_count(Route::PutBinding);
    let report = client.logout(false).await.unwrap();
    assert!(report.unbinding.is_empty());
    client.sync_now(true).await.unwrap();
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
    assert_eq!(server.call_count(Route::PutBinding), puts);

    // Logging the same user in again finds the binding in place.
    client.login("u1", None).await.unwrap();
    client.sync_now(true).await.unwrap();
    assert_eq!(server.call_count(Route::PutBinding), puts);
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_unbind_survives_outage_and_restart() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon.wait_until_idle().await;
    server.inject(Fault::status(Route::PutBinding, 1000, 503));
    client.logout(true).await.unwrap();
    daemon
        .wait_for("a failed unbind attempt", |s| {
            binding(s, "u1", "fcm-main").is_some_and(|b| b.attempts > 0)
        })
        .await;
    drop(client);
    daemon.kill();
    daemon.restart().await;
    let status = daemon.status().await;
    assert_eq!(
        status.outbox.pending, 1,
        "the unbind must survive the crash"
    );
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
    server.clear_faults();
    let status = daemon.wait_until_idle().await;
    assert!(server.bindings(APP_KEY, "u1").is_empty());
    assert!(
        binding(&status, "u1", "fcm-main").is_none(),
        "a confirmed removal leaves no binding"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn user_switch_unbinds_previous_user() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon.wait_until_idle().await;
    let report = client.login("u2", None).await.unwrap();
    assert_eq!(report.previous_user.as_deref(), Some("u1"));
    daemon.wait_until_idle().await;
    let device = daemon.status().await.device_id;
    assert!(server.bindings(APP_KEY, "u1").is_empty());
    assert_eq!(
        server_bindings(&server, "u2"),
        [with_device(&device, "fcm-main", "T1")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bind_before_login_is_sent_after_login() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    let view = client.bind_device_token("fcm-main", "T1").await.unwrap();
    assert_eq!(view.state, SyncState::WaitingForLogin);
    client.sync_now(true).await.unwrap();
    assert_eq!(server.call_count(Route::PutBinding), 0);
    client.login("u1", None).await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_binds_survive_sigkill() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    server.inject(Fault::status(Route::PutBinding, 1000, 503));
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    client.bind_device_token("prod-apns", "A1").await.unwrap();
    drop(client);
    daemon.kill();
    daemon.restart().await;
    assert_eq!(daemon.status().await.outbox.pending, 2);
    server.clear_faults();
    daemon.wait_until_idle().await;
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_failures_are_retried_until_success() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    server.inject(Fault::status(Route::PutBinding, 3, 503));
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    let retrying = daemon
        .wait_for_state("u1", "fcm-main", SyncState::Retrying)
        .await;
    assert!(retrying.last_error.as_deref().unwrap().contains("503"));
    assert!(retrying.next_retry_at.is_some());
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
    let failed = server
        .calls()
        .iter()
        .filter(|call| call.route == Route::PutBinding && call.status == 503)
        .count();
    assert_eq!(failed, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_connection_and_html_page_are_retried() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    server.inject(Fault::drop_connection(Route::PutBinding, 1));
    server.inject(Fault::html(Route::PutBinding, 1, 502));
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    let history = daemon.status().await.history;
    let retries: Vec<&str> = history
        .iter()
        .filter(|entry| entry.event == "retry")
        .map(|entry| entry.detail.as_str())
        .collect();
    assert_eq!(retries.len(), 2, "{history:#?}");
    assert!(
        retries.iter().any(|detail| detail.contains("not JSON")),
        "{retries:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn permanent_failure_parks_while_other_binding_proceeds() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let fault = FaultAction::Status {
        status: 400,
        error: Some("illegal_argument".into()),
        description: "device_token is not accepted".into(),
        retry_after: None,
    };
    server.inject(Fault::new(Route::PutBinding, 1, fault));
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "BAD").await.unwrap();
    let parked = daemon
        .wait_for_state("u1", "fcm-main", SyncState::Parked)
        .await;
    assert!(
        parked
            .last_error
            .unwrap()
            .contains("device_token is not accepted")
    );
    client.bind_device_token("prod-apns", "A1").await.unwrap();
    daemon
        .wait_for_state("u1", "prod-apns", SyncState::Synced)
        .await;
    let status = daemon.status().await;
    assert_eq!(status.outbox.parked, 1);
    let device = status.device_id;
    assert_eq!(
        server_bindings(&server, "u1"),
        [with_device(&device, "prod-apns", "A1")]
    );

    // A parked binding is retried when its input changes.
    client.bind_device_token("fcm-main", "GOOD").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_devices_keep_separate_bindings() {
    let server = standin().await;
    let phone = Daemon::start(&server.url()).await;
    let laptop = Daemon::start(&server.url()).await;
    for daemon in [&phone, &laptop] {
        let mut client = daemon.client().await;
        client.login("u1", None).await.unwrap();
        client
            .bind_device_token("fcm-main", &format!("T-{}", daemon.pid()))
            .await
            .unwrap();
        daemon.wait_until_idle().await;
    }
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 2);
    phone.client().await.logout(true).await.unwrap();
    phone.wait_until_idle().await;
    let laptop_device = laptop.status().await.device_id;
    let remaining = server_bindings(&server, "u1");
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].0, laptop_device);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_certificate_rejected_with_known_names() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    daemon
        .wait_for("the certificate list", |s| s.notifiers.fresh)
        .await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let err = client
        .bind_device_token("prodAPNs", "A1")
        .await
        .unwrap_err();
    assert_eq!(code(&err), ErrorCode::UnknownNotifier);
    let message = err.to_string();
    assert!(message.contains("Did you mean \"prod-apns\""), "{message}");
    assert!(message.contains("fcm-main"), "{message}");
    assert!(daemon.status().await.bindings.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn apns_environment_mismatch_rejected() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    daemon
        .wait_for("the certificate list", |s| s.notifiers.fresh)
        .await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let options = BindOptions {
        apns_environment: Some(pushbind_client::ApnsEnvironment::Production),
        wait: false,
    };
    let err = client
        .bind_device_token_with("dev-apns", "A1", &options)
        .await
        .unwrap_err();
    assert_eq!(code(&err), ErrorCode::EnvironmentMismatch);
    assert!(err.to_string().contains("DEVELOPMENT"));
    let view = client
        .bind_device_token_with("prod-apns", "A1", &options)
        .await
        .unwrap();
    assert_eq!(view.notifier_environment.as_deref(), Some("PRODUCTION"));
}

#[tokio::test(flavor = "multi_thread")]
async fn binding_dropped_by_server_is_reported_not_resent() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    let device = daemon.status().await.device_id;
    assert!(server.drop_binding(APP_KEY, "u1", &device, "fcm-main"));
    drop(client);
    daemon.stop();
    daemon.restart().await;
    let view = daemon
        .wait_for_state("u1", "fcm-main", SyncState::RemovedByServer)
        .await;
    assert!(view.warning.unwrap().contains("fresh token"));
    daemon.client().await.sync_now(true).await.unwrap();
    assert!(
        server.bindings(APP_KEY, "u1").is_empty(),
        "the dropped token must not be re-sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_app_token_is_refreshed_once() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    let tokens = server.call_count(Route::Token);
    server.expire_tokens(APP_KEY);
    client.bind_device_token("fcm-main", "T2").await.unwrap();
    daemon
        .wait_for("T2 on the server", |_| {
            server
                .bindings(APP_KEY, "u1")
                .iter()
                .any(|b| b.device_token == "T2")
        })
        .await;
    assert_eq!(server.call_count(Route::Token), tokens + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn app_id_path_form_works() {
    let server = standin().await;
    let daemon = Daemon::start_edited(&server.url(), |text| {
        text.replace("app_key = \"org#app\"", "app_id = \"appid1\"")
    })
    .await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
    assert!(
        server
            .calls()
            .iter()
            .all(|call| call.path.starts_with("/app-id/appid1/"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    server.inject(
        Fault::error(Route::PutBinding, 1, 429, "reach_limit", "too many calls")
            .with_retry_after("1"),
    );
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    let puts: Vec<_> = server
        .calls()
        .into_iter()
        .filter(|call| call.route == Route::PutBinding)
        .collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[0].status, 429);
    let gap = puts[1].at.duration_since(puts[0].at).unwrap();
    assert!(
        gap >= std::time::Duration::from_millis(990),
        "retried after {gap:?}"
    );
}

/// Sends `PUT push/binding` to the stand-in as another client of the app.
async fn put_on_server(
    server: &pushbind_standin::RunningStandin,
    device: &str,
    notifier: &str,
    token: &str,
) {
    let bearer = server.issue_token(APP_KEY, std::time::Duration::from_secs(60));
    let url = format!("{}/org/app/users/u1/push/binding", server.url());
    let body =
        serde_json::json!({"device_id": device, "notifier_name": notifier, "device_token": token});
    let response = reqwest::Client::new()
        .put(url)
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_repairs_token_and_removes_stale_binding() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    let device = daemon.status().await.device_id;
    put_on_server(&server, &device, "fcm-main", "STRANGER").await;
    put_on_server(&server, &device, "prod-apns", "LEFTOVER").await;
    put_on_server(&server, "other-device", "fcm-main", "PHONE").await;
    drop(client);
    daemon.stop();
    daemon.restart().await;
    daemon.wait_until_idle().await;
    let mut held = server_bindings(&server, "u1");
    held.sort();
    let mut expected = vec![
        with_device("other-device", "fcm-main", "PHONE"),
        with_device(&device, "fcm-main", "T1"),
    ];
    expected.sort();
    assert_eq!(
        held, expected,
        "repaired, stale removed, other device left alone"
    );
    let status = daemon.status().await;
    assert_eq!(status.unmanaged.len(), 1, "{status:#?}");
    assert_eq!(status.unmanaged[0].device_id, "other-device");
    assert!(!status.unmanaged[0].device_token.contains("PHONE"));
    assert!(status.history.iter().any(|entry| entry.event == "repair"));
    assert!(status.history.iter().any(|entry| entry.event == "stale"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_back_during_call_in_flight_ends_right() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let options = BindOptions {
        wait: true,
        ..BindOptions::default()
    };
    client
        .bind_device_token_with("fcm-main", "OLD", &options)
        .await
        .unwrap();
    server.inject(Fault::delay(
        Route::PutBinding,
        1,
        std::time::Duration::from_millis(800),
    ));
    client.bind_device_token("fcm-main", "NEW").await.unwrap();
    daemon
        .wait_for("the NEW call in flight", |_| {
            server
                .calls()
                .iter()
                .filter(|call| call.route == Route::PutBinding)
                .count()
                >= 1
        })
        .await;
    let view = client.bind_device_token("fcm-main", "OLD").await.unwrap();
    assert_eq!(
        view.state,
        SyncState::Pending,
        "a call in flight may change the server"
    );
    daemon
        .wait_for("OLD back on the server", |s| {
            binding(s, "u1", "fcm-main").is_some_and(|b| b.state == SyncState::Synced)
                && server
                    .bindings(APP_KEY, "u1")
                    .iter()
                    .any(|b| b.device_token == "OLD")
        })
        .await;
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_401_is_retried_not_fatal() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    server.inject(Fault::html(Route::PutBinding, 2, 401));
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_retry_after_does_not_stop_daemon() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let fault = Fault::error(Route::PutBinding, 1, 429, "reach_limit", "slow down");
    server.inject(fault.with_retry_after("9300000000000000000"));
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    let retrying = daemon
        .wait_for_state("u1", "fcm-main", SyncState::Retrying)
        .await;
    let day_ms = 24 * 3600 * 1000;
    assert!(retrying.next_retry_at.unwrap() - retrying.updated_at <= day_ms + 1000);
    let report = client.sync_now(true).await.unwrap();
    assert_eq!(report.confirmed, 1, "{report:?}");
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn login_does_not_resend_token_server_removed() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    let device = daemon.status().await.device_id;
    assert!(server.drop_binding(APP_KEY, "u1", &device, "fcm-main"));
    client.login("u1", None).await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::RemovedByServer)
        .await;
    let puts = server.call_count(Route::PutBinding);
    let report = client.login("u1", None).await.unwrap();
    assert!(report.queued.is_empty(), "{report:?}");
    client.sync_now(true).await.unwrap();
    assert_eq!(server.call_count(Route::PutBinding), puts);
    assert!(server.bindings(APP_KEY, "u1").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn login_parks_token_for_unlisted_certificate() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    assert!(server.remove_notifier(APP_KEY, "fcm-main"));
    client.notifiers(true).await.unwrap();
    client.login("u1", None).await.unwrap();
    let parked = daemon
        .wait_for_state("u1", "fcm-main", SyncState::Parked)
        .await;
    assert!(
        parked
            .warning
            .unwrap()
            .contains("not in the app's certificate list")
    );
    client.sync_now(true).await.unwrap();
    assert_eq!(server.call_count(Route::PutBinding), 0);
}

/// After an outage the daemon compares its bindings with the server's. The
/// response to the binding call that succeeded lists this device's bindings,
/// so a binding the server dropped meanwhile is found without a list call.
#[tokio::test(flavor = "multi_thread")]
async fn bindings_compared_when_server_returns() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    client.bind_device_token("prod-apns", "A1").await.unwrap();
    daemon.wait_until_idle().await;
    let device = daemon.status().await.device_id;
    server.inject(Fault::status(Route::PutBinding, 2, 503));
    client.bind_device_token("fcm-main", "T2").await.unwrap();
    // While the server is failing, it drops the other binding by itself.
    server.drop_binding(APP_KEY, "u1", &device, "prod-apns");
    let before = server.call_count(Route::GetBinding);
    daemon
        .wait_for_state("u1", "prod-apns", SyncState::RemovedByServer)
        .await;
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    assert_eq!(server.call_count(Route::GetBinding), before);
    assert_eq!(
        server_bindings(&server, "u1"),
        [with_device(&device, "fcm-main", "T2")]
    );
}

/// When the call that succeeded after an outage was for an earlier user,
/// its response lists none of the logged-in user's bindings, so the daemon
/// fetches their list.
#[tokio::test(flavor = "multi_thread")]
async fn earlier_user_response_needs_list_call() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon.wait_until_idle().await;
    // The removal of u1's binding fails twice and then goes through; the
    // carried-over binding of u2 that follows it is rejected, so the only
    // response after the outage is about u1.
    server.inject(Fault::status(Route::PutBinding, 2, 503));
    server.inject(Fault::delay(
        Route::PutBinding,
        1,
        std::time::Duration::ZERO,
    ));
    server.inject(Fault::error(
        Route::PutBinding,
        1,
        400,
        "illegal_argument",
        "token rejected",
    ));
    client.logout(true).await.unwrap();
    let view = client.login("u2", None).await.unwrap();
    assert_eq!(view.queued.len(), 1);
    daemon
        .wait_for_state("u2", "fcm-main", SyncState::Parked)
        .await;
    let answered_at = server
        .calls()
        .into_iter()
        .filter(|call| call.route == Route::PutBinding && call.status == 200)
        .map(|call| call.at)
        .max()
        .unwrap();
    daemon
        .wait_for("a list call after the outage", |_| {
            server
                .calls()
                .iter()
                .any(|call| call.route == Route::GetBinding && call.at >= answered_at)
        })
        .await;
}

/// With `fleet_size` set, retries after server failures come one fleet
/// window apart, the first anywhere within it, instead of doubling.
#[tokio::test(flavor = "multi_thread")]
async fn paced_retries_come_one_window_apart() {
    let server = standin().await;
    // Two devices at one call per second: a window of 2.3 s, far from the
    // 50 ms to 400 ms of the test's doubling back-off.
    let daemon = Daemon::start_with(&server.url(), "fleet_size = 2\napp_rate_limit = 1\n").await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    daemon.wait_until_idle().await;
    server.inject(Fault::status(Route::PutBinding, 3, 503));
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    let times: Vec<_> = server
        .calls()
        .into_iter()
        .filter(|call| call.route == Route::PutBinding)
        .map(|call| call.at)
        .collect();
    assert_eq!(times.len(), 4, "three failures and a success");
    let gaps: Vec<_> = times
        .windows(2)
        .map(|pair| pair[1].duration_since(pair[0]).unwrap())
        .collect();
    let window = std::time::Duration::from_millis(2300);
    assert!(
        gaps[0] <= window + std::time::Duration::from_millis(500),
        "{gaps:?}"
    );
    for gap in &gaps[1..] {
        assert!(*gap >= window.mul_f64(0.98), "{gaps:?}");
        assert!(*gap <= window * 2, "{gaps:?}");
    }
}

/// A comparison that fails while a binding call waits to be retried is not
/// retried on its own: the binding call's success brings the comparison.
#[tokio::test(flavor = "multi_thread")]
async fn failed_comparison_waits_for_queued_call() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon.wait_until_idle().await;
    let lists_before = server.call_count(Route::GetBinding);
    server.inject(Fault::status(Route::GetBinding, 1_000, 503));
    server.inject(Fault::status(Route::PutBinding, 5, 503));
    client.bind_device_token("fcm-main", "T2").await.unwrap();
    // A forced sync compares first, and the comparison fails.
    client.sync_now(false).await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    assert_eq!(server.call_count(Route::PutBinding), 1 + 6);
    assert_eq!(server.call_count(Route::GetBinding), lists_before + 1);
    let status = daemon.status().await;
    assert_eq!(status.server.problem, None);
}

/// With `fleet_size` set, a failing token request is retried at the fleet's
/// pace too, not after a wait that doubles from 5 s.
#[tokio::test(flavor = "multi_thread")]
async fn paced_token_requests_stay_one_window_apart() {
    let server = standin().await;
    server.inject(Fault::status(Route::Token, 4, 503));
    // A window of 2.3 s, as in the test above.
    let daemon = Daemon::start_with(&server.url(), "fleet_size = 2\napp_rate_limit = 1\n").await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon
        .wait_for_state("u1", "fcm-main", SyncState::Synced)
        .await;
    let times: Vec<_> = server
        .calls()
        .into_iter()
        .filter(|call| call.route == Route::Token)
        .map(|call| call.at)
        .collect();
    assert_eq!(times.len(), 5, "four failures and a success");
    let window = std::time::Duration::from_millis(2300);
    for pair in times.windows(2).skip(1) {
        let gap = pair[1].duration_since(pair[0]).unwrap();
        assert!(gap >= window.mul_f64(0.98), "{gap:?}");
        assert!(gap < window * 2, "{gap:?}");
    }
}
