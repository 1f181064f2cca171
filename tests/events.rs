//! Event subscriptions from both client APIs and the CLI.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{APP_KEY, DEADLINE, Daemon, standin};
use pushbind_client::Events;
use pushbind_client::protocol::Event;
use pushbind_standin::{Fault, Route};

/// Waits for the first event that `wanted` accepts, skipping others.
async fn expect(events: &mut Events, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let next = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("no {what} event in time"));
        let event = next.expect("the stream stays open").expect("events decode");
        if wanted(&event) {
            return event;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn confirmed_and_failed_events_reach_subscriber() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut events = daemon.client().await.subscribe().await.unwrap();
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    let confirmed = expect(&mut events, "confirmed", |e| {
        matches!(e, Event::BindingConfirmed { .. })
    })
    .await;
    let Event::BindingConfirmed {
        user_id,
        notifier_name,
        device_token,
    } = confirmed
    else {
        unreachable!()
    };
    assert_eq!(
        (user_id.as_str(), notifier_name.as_str()),
        ("u1", "fcm-main")
    );
    let token = device_token.unwrap();
    assert!(
        token.starts_with("sha256:") && !token.contains("T1"),
        "{token}"
    );

    server.inject(Fault::status(Route::PutBinding, 1, 503));
    client.bind_device_token("fcm-main", "T2").await.unwrap();
    let failed = expect(&mut events, "failed", |e| {
        matches!(e, Event::BindingFailed { .. })
    })
    .await;
    assert!(
        matches!(
            failed,
            Event::BindingFailed {
                will_retry: true,
                ..
            }
        ),
        "{failed:?}"
    );
    daemon.wait_until_idle().await;

    server.inject(Fault::error(
        Route::PutBinding,
        1,
        400,
        "illegal_argument",
        "bad token",
    ));
    client.bind_device_token("prod-apns", "A1").await.unwrap();
    let parked = expect(
        &mut events,
        "parked",
        |e| matches!(e, Event::BindingFailed { notifier_name, .. } if notifier_name == "prod-apns"),
    )
    .await;
    let Event::BindingFailed {
        will_retry, reason, ..
    } = parked
    else {
        unreachable!()
    };
    assert!(!will_retry);
    assert!(reason.contains("bad token"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn removal_by_server_asks_for_token() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    daemon.wait_until_idle().await;
    let mut events = daemon.client().await.subscribe().await.unwrap();
    let device = daemon.status().await.device_id;
    assert!(server.drop_binding(APP_KEY, "u1", &device, "fcm-main"));
    // A login compares the bindings with the server.
    client.login("u1", None).await.unwrap();
    let removed = expect(&mut events, "removed", |e| {
        matches!(e, Event::BindingRemovedByServer { .. })
    })
    .await;
    assert!(
        matches!(removed, Event::BindingRemovedByServer { ref notifier_name, .. } if notifier_name == "fcm-main")
    );
    let needed = expect(&mut events, "token needed", |e| {
        matches!(e, Event::TokenNeeded { .. })
    })
    .await;
    let Event::TokenNeeded { notifier_name, .. } = needed else {
        unreachable!()
    };
    assert_eq!(notifier_name.as_deref(), Some("fcm-main"));
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_list_change_is_an_event() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    daemon
        .wait_for("the certificate list", |s| s.notifiers.fresh)
        .await;
    let mut events = daemon.client().await.subscribe().await.unwrap();
    server.add_notifier(
        APP_KEY,
        pushbind_standin::NotifierSeed::new("huawei-main", "HUAWEIPUSH"),
    );
    daemon.client().await.notifiers(true).await.unwrap();
    let changed = expect(&mut events, "certificates changed", |e| {
        matches!(e, Event::NotifiersChanged { .. })
    })
    .await;
    let Event::NotifiersChanged { names } = changed else {
        unreachable!()
    };
    assert!(names.contains(&"huawei-main".to_owned()), "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn blocking_subscription_iterates_events() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let socket = daemon.socket.clone();
    let reader = std::thread::spawn(move || {
        let client = pushbind_client::blocking::Client::connect_to(&socket).unwrap();
        client
            .subscribe()
            .unwrap()
            .map(Result::unwrap)
            .find(|event| matches!(event, Event::BindingConfirmed { .. }))
    });
    // The subscription must exist before the bind; poll until it does.
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !daemon.log().contains("subscribed to events") {
        assert!(tokio::time::Instant::now() < deadline, "no subscription");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    let event = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    assert!(
        matches!(event, Some(Event::BindingConfirmed { .. })),
        "{event:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_follows_events_as_json_lines() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pushbind"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(["--json", "events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !daemon.log().contains("subscribed to events") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the CLI did not subscribe"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map(Result::unwrap)
            .find(|line| line.contains("binding_confirmed"))
    })
    .await
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
    assert_eq!(event["binding_confirmed"]["notifier_name"], "fcm-main");
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_subscriber_is_told_what_it_missed() {
    let server = standin().await;
    // Every bind must reach the server and make one event.
    server.set_rate_limit(None);
    let daemon = Daemon::start(&server.url()).await;
    let mut events = daemon.client().await.subscribe().await.unwrap();
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let options = pushbind_client::BindOptions {
        wait: true,
        ..Default::default()
    };
    // Far more events than the subscriber's queue of 256 and the socket's
    // buffer hold, while the subscriber reads nothing.
    for round in 0..800 {
        let token = format!("T{round}");
        client
            .bind_device_token_with("fcm-main", &token, &options)
            .await
            .unwrap();
    }
    let missed = expect(&mut events, "missed", |e| matches!(e, Event::Missed { .. })).await;
    let Event::Missed { count } = missed else {
        unreachable!()
    };
    assert!(count > 0);
    assert!(
        daemon.status().await.login.is_some(),
        "the daemon kept serving"
    );
}
