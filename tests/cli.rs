//! The `pushbind` CLI against the real daemon: output, JSON and exit codes.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{APP_KEY, Daemon, standin};

fn pushbind(daemon: &Daemon, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pushbind"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(args)
        .env_remove("PUSHBIND_CONFIG")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn bind_wait_then_status() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let login = pushbind(&daemon, &["login", "u1"]);
    assert!(login.status.success(), "{}", stderr(&login));
    let bind = pushbind(
        &daemon,
        &["bind", "--notifier", "fcm-main", "--token", "T1", "--wait"],
    );
    assert!(bind.status.success(), "{}", stderr(&bind));
    assert!(stdout(&bind).contains("synced"), "{}", stdout(&bind));
    assert_eq!(server.bindings(APP_KEY, "u1").len(), 1);

    let status = pushbind(&daemon, &["status"]);
    assert!(status.status.success());
    let text = stdout(&status);
    assert!(text.contains("u1"), "{text}");
    assert!(text.contains("fcm-main"), "{text}");
    assert!(
        !text.contains("T1 "),
        "tokens are shown only as fingerprints: {text}"
    );

    let json = pushbind(&daemon, &["--json", "status"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["login"]["user_id"], "u1");
    assert_eq!(report["bindings"][0]["state"], "synced");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_from_stdin() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    pushbind(&daemon, &["login", "u1"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pushbind"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(["bind", "--notifier", "fcm-main", "--token-stdin", "--wait"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"token-from-stdin\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        server.bindings(APP_KEY, "u1")[0].device_token,
        "token-from-stdin"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_for_rejected_values() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    daemon
        .wait_for("the certificate list", |s| s.notifiers.fresh)
        .await;
    let bad_user = pushbind(&daemon, &["login", "not a user"]);
    assert_eq!(bad_user.status.code(), Some(6), "{}", stderr(&bad_user));
    assert!(stderr(&bad_user).contains("user_id"));

    pushbind(&daemon, &["login", "u1"]);
    let unknown = pushbind(
        &daemon,
        &["bind", "--notifier", "fcm_main", "--token", "T1"],
    );
    assert_eq!(unknown.status.code(), Some(6));
    assert!(
        stderr(&unknown).contains("Did you mean \"fcm-main\""),
        "{}",
        stderr(&unknown)
    );

    let json = pushbind(
        &daemon,
        &["--json", "bind", "--notifier", "nope", "--token", "T1"],
    );
    assert_eq!(json.status.code(), Some(6));
    let error: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(error["error"]["code"], "unknown_notifier");
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_that_ends_unsynced_exits_7() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let fault = pushbind_standin::Fault::error(
        pushbind_standin::Route::PutBinding,
        1,
        400,
        "illegal_argument",
        "token rejected",
    );
    server.inject(fault);
    pushbind(&daemon, &["login", "u1"]);
    let bind = pushbind(
        &daemon,
        &["bind", "--notifier", "fcm-main", "--token", "T1", "--wait"],
    );
    assert_eq!(bind.status.code(), Some(7), "{}", stdout(&bind));
    assert!(
        stderr(&bind).contains("token rejected"),
        "{}",
        stderr(&bind)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn not_running_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pushbind"))
        .arg("--socket")
        .arg(dir.path().join("none.sock"))
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("not running"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_shows_sources_and_masks_secret() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let output = pushbind(&daemon, &["config"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("server_url"), "{text}");
    assert!(
        text.contains(&daemon.config.display().to_string()),
        "{text}"
    );
    assert!(text.contains("********"), "{text}");
    assert!(
        !text.contains(common::CLIENT_SECRET),
        "the secret must be masked: {text}"
    );
    assert!(text.contains("default"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_never_contain_tokens_or_secrets() {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    pushbind(&daemon, &["login", "u1"]);
    let token = "secret-device-token-4711";
    pushbind(
        &daemon,
        &["bind", "--notifier", "fcm-main", "--token", token, "--wait"],
    );
    pushbind(&daemon, &["logout"]);
    daemon.wait_until_idle().await;
    daemon.stop();
    let log = daemon.log();
    assert!(log.contains("bind stored"), "{log}");
    assert!(
        !log.contains(token),
        "a device token reached the log:\n{log}"
    );
    assert!(
        !log.contains(common::CLIENT_SECRET),
        "the client secret reached the log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn certs_refresh_without_server_is_not_configured() {
    let daemon = Daemon::start_edited("http://127.0.0.1:9", |text| {
        text.lines()
            .filter(|line| !line.starts_with("server_url"))
            .collect::<Vec<_>>()
            .join("\n")
    })
    .await;
    let output = pushbind(&daemon, &["--json", "certs", "--refresh"]);
    assert_eq!(output.status.code(), Some(7));
    let error: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(error["error"]["code"], "not_configured");
}
