//! The local socket under input from an attacker or a buggy app: malformed frames,
//! wrong versions, other users, many writers at once. The daemon must reply
//! or close the one connection, and keep serving everyone else.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{APP_KEY, Daemon, code, standin};
use pushbind_client::codec::{decode_payload, encode_frame};
use pushbind_client::protocol::{
    ErrorCode, FRAME_TIMEOUT, Handshake, PROTOCOL_VERSION, Request, Response, SyncState,
};
use pushbind_client::{Client, Error};
use pushbind_standin::NotifierSeed;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Opens a raw connection and completes the handshake.
async fn raw_connection(daemon: &Daemon) -> UnixStream {
    let mut stream = UnixStream::connect(&daemon.socket).await.unwrap();
    stream
        .write_all(&encode_frame(&Handshake::new("raw test")).unwrap())
        .await
        .unwrap();
    let theirs: Handshake = read_message(&mut stream).await.expect("daemon handshake");
    assert_eq!(theirs.protocol, PROTOCOL_VERSION);
    stream
}

/// Reads one frame and decodes it; `None` when the daemon closed the
/// connection.
async fn read_message<T: serde::de::DeserializeOwned>(stream: &mut UnixStream) -> Option<T> {
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut header = [0u8; 4];
        if stream.read_exact(&mut header).await.is_err() {
            return None;
        }
        let mut payload = vec![0; u32::from_be_bytes(header) as usize];
        stream.read_exact(&mut payload).await.ok()?;
        Some(payload)
    })
    .await
    .expect("the daemon answers or closes within 10 s")?;
    Some(decode_payload(&read).expect("daemon frames decode"))
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

async fn expect_bad_request(stream: &mut UnixStream, payload: &[u8]) {
    stream.write_all(&frame(payload)).await.unwrap();
    match read_message::<Response>(stream).await {
        Some(Response::Error(reply)) => assert_eq!(reply.code, ErrorCode::BadRequest, "{reply:?}"),
        other => panic!("expected a bad_request reply, got {other:?}"),
    }
}

async fn expect_status_works(stream: &mut UnixStream) {
    stream
        .write_all(&encode_frame(&Request::Status).unwrap())
        .await
        .unwrap();
    let answer = read_message::<Response>(stream).await;
    assert!(matches!(answer, Some(Response::Status(_))), "{answer:?}");
}

async fn expect_closed(stream: &mut UnixStream) {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(FRAME_TIMEOUT * 2, stream.read(&mut byte)).await;
    let closed = matches!(read, Ok(Ok(0)) | Ok(Err(_)));
    assert!(
        closed,
        "expected the daemon to close the connection, got {read:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn undecodable_requests_get_bad_request_and_connection_stays() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut stream = raw_connection(&daemon).await;
    // A byte string header claiming about 2^60 bytes.
    expect_bad_request(
        &mut stream,
        &[0x5b, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14],
    )
    .await;
    // 10,000 nested tags.
    let mut tags = vec![0xc6; 10_000];
    tags.push(0x00);
    expect_bad_request(&mut stream, &tags).await;
    // 10,000 nested arrays.
    let mut arrays = vec![0x81; 10_000];
    arrays.push(0x00);
    expect_bad_request(&mut stream, &arrays).await;
    // A valid request followed by a stray byte.
    let mut trailing = encode_frame(&Request::Status).unwrap()[4..].to_vec();
    trailing.push(0x00);
    expect_bad_request(&mut stream, &trailing).await;
    // A well-formed value of the wrong shape, and an unknown request.
    expect_bad_request(&mut stream, &encode_frame(&vec![1, 2, 3]).unwrap()[4..]).await;
    expect_bad_request(&mut stream, &encode_frame(&"subscribe_all").unwrap()[4..]).await;
    expect_bad_request(&mut stream, &[]).await;
    expect_status_works(&mut stream).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_length_closes_only_that_connection() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut bad = raw_connection(&daemon).await;
    let mut good = raw_connection(&daemon).await;
    bad.write_all(&[0xff, 0xff, 0xff, 0xff]).await.unwrap();
    expect_closed(&mut bad).await;
    expect_status_works(&mut good).await;
    expect_status_works(&mut raw_connection(&daemon).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stalled_frame_is_dropped_after_timeout() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut stalled = raw_connection(&daemon).await;
    stalled.write_all(&[0, 0, 0, 100, 1, 2, 3]).await.unwrap();
    let mut good = raw_connection(&daemon).await;
    expect_status_works(&mut good).await;
    expect_closed(&mut stalled).await;
    expect_status_works(&mut good).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_handshake_closes_connection() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut stream = UnixStream::connect(&daemon.socket).await.unwrap();
    stream
        .write_all(&frame(b"GET / HTTP/1.1\r\n\r\n"))
        .await
        .unwrap();
    expect_closed(&mut stream).await;
    expect_status_works(&mut raw_connection(&daemon).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn other_protocol_version_gets_handshake_then_close() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut stream = UnixStream::connect(&daemon.socket).await.unwrap();
    let future = Handshake {
        protocol: PROTOCOL_VERSION + 1,
        agent: "future client".into(),
    };
    stream
        .write_all(&encode_frame(&future).unwrap())
        .await
        .unwrap();
    let theirs: Handshake = read_message(&mut stream).await.unwrap();
    assert_eq!(theirs.protocol, PROTOCOL_VERSION);
    expect_closed(&mut stream).await;
    assert!(
        daemon.log().contains("speaks local API version"),
        "{}",
        daemon.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_reports_both_versions_on_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("old.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let fake_daemon = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let _client_handshake: Option<Handshake> = read_message(&mut stream).await;
        let old = Handshake {
            protocol: 99,
            agent: "pushbindd 9.9.9".into(),
        };
        stream
            .write_all(&encode_frame(&old).unwrap())
            .await
            .unwrap();
    });
    let err = Client::connect_to(&socket).await.unwrap_err();
    fake_daemon.await.unwrap();
    let Error::ProtocolMismatch { client, daemon, .. } = &err else {
        panic!("expected a version mismatch, got {err}");
    };
    assert_eq!((*client, *daemon), (PROTOCOL_VERSION, 99));
    let message = err.to_string();
    assert!(
        message.contains("version 1") && message.contains("version 99"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_values_rejected_by_daemon() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut stream = raw_connection(&daemon).await;
    let requests = [
        (
            Request::Login {
                user_id: "bad id".into(),
                bearer_token: None,
            },
            "user_id",
        ),
        (
            Request::Login {
                user_id: "..".into(),
                bearer_token: None,
            },
            "user_id",
        ),
        (
            Request::BindDeviceToken {
                notifier_name: "fcm-main".into(),
                device_token: "t".repeat(4097),
                apns_environment: None,
                wait: false,
            },
            "device_token",
        ),
        (
            Request::BindDeviceToken {
                notifier_name: "fcm\u{0}main".into(),
                device_token: "t".into(),
                apns_environment: None,
                wait: false,
            },
            "notifier_name",
        ),
    ];
    for (request, field) in requests {
        stream
            .write_all(&encode_frame(&request).unwrap())
            .await
            .unwrap();
        match read_message::<Response>(&mut stream).await {
            Some(Response::Error(reply)) => {
                assert_eq!(reply.code, ErrorCode::InvalidArgument);
                assert!(reply.message.contains(field), "{reply:?}");
            }
            other => panic!("expected invalid_argument for {field}, got {other:?}"),
        }
    }
    assert!(daemon.status().await.bindings.is_empty());
    assert!(server.bindings(APP_KEY, "u1").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_when_logged_out_is_not_logged_in() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let err = daemon.client().await.logout(true).await.unwrap_err();
    assert_eq!(code(&err), ErrorCode::NotLoggedIn);
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_and_files_private_under_umask_000() {
    let server = standin().await;
    let mut daemon = Daemon::prepare(&server.url(), |text| text);
    daemon.umask = Some(0);
    let daemon = daemon.launch().await;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(daemon.socket.parent().unwrap()), 0o700);
    assert_eq!(
        mode(&daemon.socket) & 0o077,
        0,
        "socket mode {:o}",
        mode(&daemon.socket)
    );
    let data = daemon.dir.join("data");
    assert_eq!(mode(&data), 0o700);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(
            mode(&path) & 0o077,
            0,
            "{} has mode {:o}",
            path.display(),
            mode(&path)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn other_user_cannot_reach_socket() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let own = std::process::Command::new(env!("CARGO_BIN_EXE_pushbind"))
        .arg("--socket")
        .arg(&daemon.socket)
        .arg("status")
        .output()
        .unwrap();
    assert!(own.status.success(), "the owner is served");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot run the CLI as another user; checked the owner only");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // The other user must be able to run the CLI, and the build directory
    // may sit in a checkout only the owner can enter (a `mktemp -d`), so
    // it runs a copy from a directory open to all.
    let open_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cli = open_dir.path().join("pushbind");
    std::fs::copy(env!("CARGO_BIN_EXE_pushbind"), &cli).unwrap();
    std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
    let other = std::process::Command::new(&cli)
        .arg("--socket")
        .arg(&daemon.socket)
        .arg("status")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn second_daemon_refuses_to_start() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    let second = daemon.command().output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(stderr.contains(&daemon.pid().to_string()), "{stderr}");
    assert!(daemon.is_running());
    daemon.status().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_cleanly_and_removes_socket() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    let status = daemon.stop();
    assert!(status.success(), "{status}");
    assert!(!daemon.socket.exists());
    assert!(daemon.log().contains("stopped"));
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_socket_after_crash_is_replaced() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    let device = daemon.status().await.device_id;
    daemon.kill();
    assert!(daemon.socket.exists(), "a killed daemon leaves its socket");
    assert!(matches!(
        Client::connect_to(&daemon.socket).await,
        Err(Error::NotRunning { .. })
    ));
    daemon.restart().await;
    assert_eq!(
        daemon.status().await.device_id,
        device,
        "the device id survives restarts"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unsafe_socket_directory_refused() {
    let server = standin().await;
    let daemon = Daemon::prepare(&server.url(), |text| text);
    let dir = daemon.socket.parent().unwrap();
    std::fs::create_dir(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = daemon.command().output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("chmod 700"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_binds_all_answered_and_stored() {
    let server = standin().await;
    let names: Vec<String> = (0..8).map(|i| format!("extra-{i}")).collect();
    for name in &names {
        server.add_notifier(APP_KEY, NotifierSeed::new(name.as_str(), "ANDROID"));
    }
    let daemon = Daemon::start(&server.url()).await;
    daemon.client().await.login("u1", None).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for name in names.clone() {
        let socket = daemon.socket.clone();
        tasks.spawn(async move {
            let mut client = Client::connect_to(&socket).await.unwrap();
            for round in 0..10 {
                client
                    .bind_device_token(&name, &format!("{name}-token-{round}"))
                    .await?;
            }
            Ok::<_, Error>(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result
            .unwrap()
            .expect("every bind is answered with success");
    }
    daemon.wait_until_idle().await;
    let mut held: Vec<(String, String)> = server
        .bindings(APP_KEY, "u1")
        .into_iter()
        .map(|b| (b.notifier_name, b.device_token))
        .collect();
    held.sort();
    let expected: Vec<(String, String)> = names
        .iter()
        .map(|n| (n.clone(), format!("{n}-token-9")))
        .collect();
    assert_eq!(held, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn blocking_client_binds() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let socket = daemon.socket.clone();
    let view = tokio::task::spawn_blocking(move || {
        let mut client = pushbind_client::blocking::Client::connect_to(&socket).unwrap();
        client.login("u1", None).unwrap();
        let options = pushbind_client::BindOptions {
            wait: true,
            ..Default::default()
        };
        client
            .bind_device_token_with("fcm-main", "T1", &options)
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(view.state, SyncState::Synced);
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unconfigured_daemon_keeps_requests() {
    let daemon = Daemon::start_edited("http://127.0.0.1:9", |text| {
        text.lines()
            .filter(|line| !line.starts_with("server_url"))
            .collect::<Vec<_>>()
            .join("\n")
    })
    .await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let view = client.bind_device_token("fcm-main", "T1").await.unwrap();
    assert_eq!(view.state, SyncState::Pending);
    let status = daemon.status().await;
    assert!(status.server.problem.unwrap().contains("server_url"));
    assert_eq!(status.outbox.pending, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn second_daemon_on_same_data_dir_refused() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let other_socket = daemon.dir.join("other").join("pushbindd.sock");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pushbindd"))
        .arg("--config")
        .arg(&daemon.config)
        .arg("--socket")
        .arg(&other_socket)
        .env_remove("PUSHBIND_SOCKET")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("data directory"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_mode_login_needs_token() {
    let server = standin().await;
    let daemon = Daemon::start_with(&server.url(), "auth = \"bearer_token\"\n").await;
    let err = daemon.client().await.login("u1", None).await.unwrap_err();
    assert_eq!(code(&err), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("bearer-token-file"), "{err}");
    assert!(daemon.status().await.login.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn apns_environment_on_other_vendor_rejected() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    daemon
        .wait_for("the certificate list", |s| s.notifiers.fresh)
        .await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let options = pushbind_client::BindOptions {
        apns_environment: Some(pushbind_client::ApnsEnvironment::Development),
        wait: false,
    };
    let err = client
        .bind_device_token_with("fcm-main", "T1", &options)
        .await
        .unwrap_err();
    assert_eq!(code(&err), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("ANDROID"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unbind_of_unknown_name_sends_nothing() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let view = client
        .unbind_device_token("never-bound", true)
        .await
        .unwrap();
    assert!(view.warning.unwrap().contains("nothing to remove"));
    client.sync_now(true).await.unwrap();
    assert_eq!(server.call_count(pushbind_standin::Route::PutBinding), 0);
    assert!(daemon.status().await.bindings.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn status_names_server_failure() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    server.inject(pushbind_standin::Fault::drop_connection(None, 1000));
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    let options = pushbind_client::BindOptions {
        wait: true,
        ..Default::default()
    };
    let view = client
        .bind_device_token_with("fcm-main", "T1", &options)
        .await
        .unwrap();
    assert_ne!(view.state, SyncState::Synced);
    assert!(view.last_error.is_some(), "{view:?}");
    let status = daemon
        .wait_for("a server problem", |s| s.server.problem.is_some())
        .await;
    assert!(
        status.server.problem.unwrap().contains("PUT"),
        "names the failing call"
    );
    server.clear_faults();
    let report = client.sync_now(true).await.unwrap();
    assert!(report.error.is_none(), "{report:?}");
    assert!(daemon.status().await.server.problem.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_cannot_lock_out_new_clients() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut idle = Vec::new();
    for _ in 0..80 {
        idle.push(raw_connection(&daemon).await);
    }
    let mut client = daemon.client().await;
    let status = client.status().await.expect("a new client is served");
    assert!(status.login.is_none());
    // The oldest idle connection was closed to make room.
    expect_closed(&mut idle[0]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_stops_cleanly() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    let status = daemon.stop_with(libc::SIGINT);
    assert!(status.success(), "{status}");
    assert!(!daemon.socket.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_does_not_wait_for_slow_server() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    let mut client = daemon.client().await;
    client.login("u1", None).await.unwrap();
    daemon.wait_until_idle().await;
    server.inject(pushbind_standin::Fault::delay(
        pushbind_standin::Route::PutBinding,
        1,
        Duration::from_secs(30),
    ));
    client.bind_device_token("fcm-main", "T1").await.unwrap();
    drop(client);
    let started = std::time::Instant::now();
    let status = daemon.stop();
    let took = started.elapsed();
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    server.clear_faults();
    daemon.restart().await;
    daemon.wait_until_idle().await;
    assert_eq!(
        server.bindings(APP_KEY, "u1").len(),
        1,
        "the abandoned call is sent after restart"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn history_is_trimmed_to_limit() {
    let server = standin().await;
    let daemon = Daemon::start_with(&server.url(), "history_limit = 5\n").await;
    let mut client = daemon.client().await;
    for round in 0..20 {
        client
            .bind_device_token("fcm-main", &format!("T{round}"))
            .await
            .unwrap();
    }
    assert_eq!(daemon.status().await.history.len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_database_refused_with_fix() {
    let server = standin().await;
    let daemon = Daemon::prepare(&server.url(), |text| text);
    let data = daemon.dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(data.join("pushbind.db"), vec![0x42; 8192]).unwrap();
    let output = daemon.command().output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("pushbind.db"), "{stderr}");
    assert!(stderr.contains("move the file away"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_comparison_shows_in_status() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    server.inject(pushbind_standin::Fault::html(
        pushbind_standin::Route::GetBinding,
        1000,
        502,
    ));
    daemon.client().await.login("u1", None).await.unwrap();
    let status = daemon
        .wait_for("the comparison problem", |s| s.server.problem.is_some())
        .await;
    let problem = status.server.problem.unwrap();
    assert!(problem.contains("cannot compare bindings"), "{problem}");
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_connections_cannot_lock_out_new_clients() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut silent = Vec::new();
    for _ in 0..70 {
        silent.push(UnixStream::connect(&daemon.socket).await.unwrap());
    }
    let mut client = daemon.client().await;
    assert!(client.status().await.is_ok(), "a new client is served");
}
