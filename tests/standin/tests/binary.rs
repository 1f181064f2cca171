//! The `pushbind-standin` binary, run as a child process on loopback.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{CLIENT_ID, CLIENT_SECRET, send};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_pushbind-standin");

/// Kills the child when a test fails before stopping it.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the first line the child prints on standard output, which is the
/// bound address, giving up after 30 seconds.
fn read_first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("the binary printed no address within 30 seconds")
}

#[tokio::test]
async fn binary_serves_seeded_app() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n")).unwrap();
    let addr_file = dir.path().join("addr");

    let child = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--app-key", "acme#chat"])
        .args(["--app-id", "app-id-1", "--client-id", CLIENT_ID])
        .arg("--client-secret-file")
        .arg(&secret_file)
        .args(["--user", "alice", "--user", "bob"])
        .args(["--notifier", "ios-cert:APNS:PRODUCTION"])
        .args(["--notifier", "123456:ANDROID"])
        .arg("--addr-file")
        .arg(&addr_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to start the binary");
    let mut child = ChildGuard(child);

    let addr = read_first_line(&mut child.0);
    assert!(addr.starts_with("127.0.0.1:"), "{addr:?}");
    assert_eq!(std::fs::read_to_string(&addr_file).unwrap(), addr);

    let base = format!("http://{}/acme/chat", addr.trim());
    let client = common::client();
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    });
    let issued = send(client.post(format!("{base}/token")).json(&body)).await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let token = issued.json["access_token"].as_str().unwrap().to_owned();

    let notifiers = send(client.get(format!("{base}/notifiers")).bearer_auth(&token)).await;
    assert_eq!(notifiers.status, 200, "{}", notifiers.text);
    let names: Vec<&str> = notifiers
        .entities()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ios-cert", "123456"]);
    assert_eq!(notifiers.entities()[0]["environment"], "PRODUCTION");
    assert_eq!(notifiers.entities()[1]["environment"], "DEVELOPMENT");

    let url = format!("{base}/users/bob/push/binding");
    let bindings = send(client.get(url).bearer_auth(&token)).await;
    assert_eq!(bindings.status, 200, "{}", bindings.text);

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "exit status {exit}");

    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("route=token"), "{stderr}");
    assert!(stderr.contains("status=200"), "{stderr}");
    assert!(!stderr.contains(CLIENT_SECRET), "the secret was logged");
    assert!(!stderr.contains(&token), "the token was logged");
}

#[test]
fn binary_rejects_non_loopback() {
    let output = Command::new(BINARY)
        .args(["--listen", "0.0.0.0:0", "--app-key", "acme#chat"])
        .args(["--app-id", "app-id-1", "--client-id", CLIENT_ID])
        .args(["--client-secret-env", "STANDIN_TEST_SECRET"])
        .env("STANDIN_TEST_SECRET", CLIENT_SECRET)
        .output()
        .unwrap();
    // The secret is read before listening, so the loopback check is what
    // fails here.
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}

#[test]
fn binary_requires_secret_source() {
    let output = Command::new(BINARY)
        .args([
            "--app-key",
            "acme#chat",
            "--app-id",
            "a",
            "--client-id",
            "c",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--client-secret"), "{stderr}");
}

#[test]
fn binary_missing_secret_variable() {
    let output = Command::new(BINARY)
        .args([
            "--app-key",
            "acme#chat",
            "--app-id",
            "a",
            "--client-id",
            "c",
        ])
        .args(["--client-secret-env", "STANDIN_TEST_UNSET_VARIABLE"])
        .env_remove("STANDIN_TEST_UNSET_VARIABLE")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("STANDIN_TEST_UNSET_VARIABLE"), "{stderr}");
}
