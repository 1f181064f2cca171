//! `daemon::run` as a library call, with an inherited listening socket as a
//! service manager's socket activation would hand over.

mod common;

use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{APP_KEY, DEADLINE, standin};
use pushbind::config::{self, Overrides};
use pushbind::daemon::{self, DaemonOptions};
use pushbind_client::Client;
use pushbind_client::protocol::SyncState;
use tokio::sync::oneshot;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread")]
async fn run_serves_inherited_listener_until_shutdown() {
    let server = standin().await;
    let temp = tempfile::tempdir().unwrap();
    let run_dir = temp.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket = run_dir.join("pushbindd.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();

    let config_file = common::write_config(temp.path(), &server.url(), "");
    let overrides = Overrides {
        config_file: Some(config_file),
        set: Vec::new(),
    };
    let options = DaemonOptions {
        config: config::load_with_env(&overrides, &[]).unwrap(),
        socket: socket.clone(),
        inherited_listener: Some(OwnedFd::from(listener)),
        machine_id_file: temp.path().join("no-machine-id"),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let daemon = tokio::spawn(daemon::run(options, async {
        let _ = stopped.await;
    }));

    let deadline = Instant::now() + DEADLINE;
    let mut client = loop {
        if let Ok(client) = Client::connect_to(&socket).await {
            break client;
        }
        assert!(
            Instant::now() < deadline,
            "run() did not serve the inherited socket"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    client.login("u1", None).await.unwrap();
    let options = pushbind_client::BindOptions {
        wait: true,
        ..Default::default()
    };
    let view = client
        .bind_device_token_with("fcm-main", "T1", &options)
        .await
        .unwrap();
    assert_eq!(view.state, SyncState::Synced);
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);

    drop(client);
    stop.send(()).unwrap();
    let result = tokio::time::timeout(DEADLINE, daemon)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
}
