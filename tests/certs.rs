//! Push certificates through the real daemon and the real CLI against the
//! stand-in server: upload, list, show and delete for every vendor, local
//! checks, and expiry warnings.

mod common;

#[path = "../src/certs/test_credentials.rs"]
mod credentials;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{APP_KEY, Daemon, standin};
use credentials::{DAY, P12Options, ec_p8_pem, p12, service_account_json};
use pushbind_client::Event;
use serde_json::Value;

fn pushbind(daemon: &Daemon, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pushbind"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(args)
        .env_remove("PUSHBIND_CONFIG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Uploads with `--json` and returns the created certificate.
fn upload(daemon: &Daemon, args: &[&str]) -> Value {
    let mut all = vec!["--json", "certs", "upload"];
    all.extend_from_slice(args);
    let output = pushbind(daemon, &all);
    assert!(
        output.status.success(),
        "{args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Writes each vendor's secret files into `dir` and returns its upload
/// arguments with the provider code expected back.
fn vendor_uploads(dir: &Path) -> Vec<(&'static str, Vec<String>)> {
    let hex = |len: usize| "ab12".repeat(len / 4);
    let p12_file = write(dir, "cert.p12", &p12(&P12Options::default()));
    let passphrase = write(dir, "passphrase", b"pass\n");
    let p8 = write(dir, "key.p8", ec_p8_pem().as_bytes());
    let json = write(dir, "account.json", service_account_json().as_bytes());
    let huawei = write(dir, "huawei", hex(64).as_bytes());
    let honor = write(dir, "honor", b"honor-secret\n");
    let oppo = write(dir, "oppo", hex(32).as_bytes());
    let vivo = write(dir, "vivo", b"vivo-secret");
    let xiaomi = write(dir, "xiaomi", b"Yx3Jz1c0AbCdEfGh12345==");
    let meizu = write(dir, "meizu", hex(32).as_bytes());
    let package = "com.example.chat";
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        (
            "APNS",
            args(&[
                "apns",
                "--name",
                "apns-p12",
                "--file",
                &p12_file,
                "--passphrase-file",
                &passphrase,
                "--bundle-id",
                package,
                "--environment",
                "production",
            ]),
        ),
        (
            "APNS",
            args(&[
                "apns",
                "--name",
                "apns-p8",
                "--file",
                &p8,
                "--key-id",
                "ABC123DEFG",
                "--team-id",
                "TEAM123456",
                "--bundle-id",
                package,
                "--environment",
                "development",
            ]),
        ),
        (
            "ANDROID",
            args(&[
                "fcm",
                "--name",
                "123456789012",
                "--file",
                &json,
                "--push-type",
                "data",
            ]),
        ),
        (
            "HUAWEIPUSH",
            args(&[
                "huawei",
                "--name",
                "101234567",
                "--file",
                &huawei,
                "--package-name",
                package,
                "--project-id",
                "736430079244623135",
            ]),
        ),
        (
            "HONOR",
            args(&[
                "honor",
                "--name",
                "104000001",
                "--file",
                &honor,
                "--client-id",
                "honor-client",
            ]),
        ),
        (
            "OPPOPUSH",
            args(&[
                "oppo",
                "--name",
                "0123456789abcdef0123456789abcdef",
                "--file",
                &oppo,
                "--package-name",
                package,
            ]),
        ),
        (
            "VIVOPUSH",
            args(&[
                "vivo",
                "--name",
                "105000001",
                "--file",
                &vivo,
                "--app-key",
                "vivokey",
                "--package-name",
                package,
            ]),
        ),
        (
            "XIAOMIPUSH",
            args(&[
                "xiaomi",
                "--name",
                "2882303761518000000",
                "--file",
                &xiaomi,
                "--package-name",
                package,
            ]),
        ),
        (
            "MEIZUPUSH",
            args(&[
                "meizu",
                "--name",
                "110071",
                "--file",
                &meizu,
                "--package-name",
                package,
            ]),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_vendor_uploads_lists_shows_deletes() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    for (provider, args) in vendor_uploads(dir.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let name = args[2];
        let created = upload(&daemon, &args);
        assert_eq!(created["name"], name, "{provider}");
        assert_eq!(created["provider"], provider, "{provider}");
        let uuid = created["uuid"].as_str().unwrap().to_owned();
        let (parts, _) = server
            .upload_of(APP_KEY, &uuid)
            .expect("stored on the server");
        assert!(parts.len() >= 3, "{provider}: {parts:?}");

        let list = pushbind(&daemon, &["--json", "certs", "list"]);
        let list: Value = serde_json::from_slice(&list.stdout).unwrap();
        let listed = list["notifiers"].as_array().unwrap();
        assert!(
            listed.iter().any(|n| n["uuid"] == uuid.as_str()),
            "{provider}: {list}"
        );

        let show = pushbind(&daemon, &["certs", "show", name]);
        assert!(show.status.success(), "{provider}: {}", text(&show.stderr));
        assert!(text(&show.stdout).contains(&uuid), "{provider}");

        let delete = pushbind(&daemon, &["certs", "delete", name]);
        assert!(
            delete.status.success(),
            "{provider}: {}",
            text(&delete.stderr)
        );
        assert!(text(&delete.stdout).contains("deleted"), "{provider}");
        assert!(server.upload_of(APP_KEY, &uuid).is_none(), "{provider}");
    }
    let log = daemon.log();
    for secret in [
        "honor-secret",
        "vivo-secret",
        "Yx3Jz1c0",
        "BEGIN PRIVATE KEY",
    ] {
        assert!(!log.contains(secret), "the log holds a secret: {secret}");
    }
    let db = std::fs::read(daemon.dir.join("data").join("pushbind.db")).unwrap();
    assert!(
        !text(&db).contains("honor-secret"),
        "the database holds a secret"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_inputs_rejected_with_field() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let p12_file = write(dir.path(), "cert.p12", &p12(&P12Options::default()));
    let expired = write(
        dir.path(),
        "old.p12",
        &p12(&P12Options {
            days_valid: -2,
            ..P12Options::default()
        }),
    );
    let wrong = write(dir.path(), "wrong", b"nope");
    let right = write(dir.path(), "right", b"pass");
    let short = write(dir.path(), "short", b"abc");
    let p8 = write(dir.path(), "key.p8", ec_p8_pem().as_bytes());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "apns",
                "--name",
                "a",
                "--file",
                &p12_file,
                "--passphrase-file",
                &wrong,
                "--bundle-id",
                "com.example.chat",
                "--environment",
                "production",
            ],
            "invalid passphrase",
        ),
        (
            vec![
                "apns",
                "--name",
                "a",
                "--file",
                &expired,
                "--passphrase-file",
                &right,
                "--bundle-id",
                "com.example.chat",
                "--environment",
                "production",
            ],
            "expired",
        ),
        (
            vec![
                "apns",
                "--name",
                "a",
                "--file",
                &p12_file,
                "--passphrase-file",
                &right,
                "--bundle-id",
                "com.other.app",
                "--environment",
                "production",
            ],
            "invalid bundle_id",
        ),
        (
            vec![
                "apns",
                "--name",
                "a",
                "--file",
                &p8,
                "--key-id",
                "ABC123DEFG",
                "--team-id",
                "ab12",
                "--bundle-id",
                "com.example.chat",
                "--environment",
                "production",
            ],
            "invalid team_id: `ab12` must be 10 characters",
        ),
        (
            vec!["fcm", "--name", "fcm-main", "--file", &p8],
            "Sender ID",
        ),
        (
            vec![
                "oppo",
                "--name",
                "0123456789abcdef0123456789abcdef",
                "--file",
                &short,
                "--package-name",
                "com.example.chat",
            ],
            "invalid master_secret",
        ),
        (
            vec![
                "xiaomi",
                "--name",
                "1",
                "--file",
                &short,
                "--package-name",
                "chat",
            ],
            "invalid package_name",
        ),
        (
            vec![
                "meizu",
                "--name",
                "",
                "--file",
                &short,
                "--package-name",
                "com.example.chat",
            ],
            "invalid name",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["certs", "upload"];
        all.extend_from_slice(&args);
        let output = pushbind(&daemon, &all);
        assert_eq!(
            output.status.code(),
            Some(6),
            "{args:?}: {}",
            text(&output.stderr)
        );
        let message = text(&output.stderr);
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(!message.contains("pass\n"), "{message}");
    }
    assert_eq!(server.notifiers_named(APP_KEY, "a"), Vec::new());
    // The daemon keeps serving after bad input, and rejects a duplicate.
    let first = [
        "certs",
        "upload",
        "apns",
        "--name",
        "dup",
        "--file",
        &p12_file,
        "--passphrase-file",
        &right,
        "--bundle-id",
        "com.example.chat",
        "--environment",
        "production",
    ];
    assert!(pushbind(&daemon, &first).status.success());
    let again = pushbind(&daemon, &first);
    assert_eq!(again.status.code(), Some(6));
    assert!(
        text(&again.stderr).contains("for vendor apns"),
        "{}",
        text(&again.stderr)
    );
    let missing = pushbind(&daemon, &["certs", "delete", "nothing-here"]);
    assert_eq!(missing.status.code(), Some(6), "{}", text(&missing.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn expiry_flagged_and_warned_once() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let mut events = daemon.client().await.subscribe().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let passphrase = write(dir.path(), "passphrase", b"pass");
    for (name, days) in [("tomorrow", 1), ("twenty-days", 20), ("one-year", 365)] {
        let options = P12Options {
            days_valid: days,
            ..P12Options::default()
        };
        let file = write(dir.path(), name, &p12(&options));
        let created = upload(
            &daemon,
            &[
                "apns",
                "--name",
                name,
                "--file",
                &file,
                "--passphrase-file",
                &passphrase,
                "--bundle-id",
                "com.example.chat",
                "--environment",
                "production",
            ],
        );
        let expires = created["expires_at"].as_i64().unwrap();
        assert!(
            (expires - (credentials::now() + days * DAY)).abs() < DAY,
            "{name}"
        );
        assert_eq!(created["expiring"], days <= 30, "{name}");
    }
    let mut warned = Vec::new();
    while warned.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("expiry event")
            .unwrap()
            .unwrap();
        if let Event::CertificateExpiring { notifier_name, .. } = event {
            warned.push(notifier_name);
        }
    }
    assert_eq!(warned, ["tomorrow", "twenty-days"]);

    let status = daemon.status().await;
    let flags: Vec<(&str, bool)> = status
        .certificates
        .iter()
        .filter(|c| c.expires_at.is_some())
        .map(|c| (c.name.as_str(), c.expiring))
        .collect();
    assert_eq!(
        flags,
        [
            ("one-year", false),
            ("tomorrow", true),
            ("twenty-days", true)
        ]
    );
    let text_status = text(&pushbind(&daemon, &["status"]).stdout);
    assert!(
        text_status.contains("EXPIRING    tomorrow (APNS) expires in"),
        "{text_status}"
    );
    let list = text(&pushbind(&daemon, &["certs", "list"]).stdout);
    assert!(list.contains("EXPIRING    twenty-days"), "{list}");
    assert!(!list.contains("EXPIRING    one-year"), "{list}");

    // A refresh of the list warns no second time.
    assert!(pushbind(&daemon, &["certs", "refresh"]).status.success());
    let quiet = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            if let Some(Ok(Event::CertificateExpiring { notifier_name, .. })) = events.next().await
            {
                return notifier_name;
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "warned again: {quiet:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn short_window_flags_only_tomorrow() {
    let server = standin().await;
    let daemon = Daemon::start_with(&server.url(), "cert_expiry_warning = \"7d\"\n").await;
    let dir = tempfile::tempdir().unwrap();
    let passphrase = write(dir.path(), "passphrase", b"pass");
    for (name, days) in [("tomorrow", 1), ("twenty-days", 20)] {
        let options = P12Options {
            days_valid: days,
            ..P12Options::default()
        };
        let file = write(dir.path(), name, &p12(&options));
        let created = upload(
            &daemon,
            &[
                "apns",
                "--name",
                name,
                "--file",
                &file,
                "--passphrase-file",
                &passphrase,
                "--bundle-id",
                "com.example.chat",
                "--environment",
                "production",
            ],
        );
        assert_eq!(created["expiring"], days <= 7, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_certificate_flags_binding() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    assert!(pushbind(&daemon, &["login", "u1"]).status.success());
    let bind = pushbind(
        &daemon,
        &["bind", "--notifier", "fcm-main", "--token", "T1", "--wait"],
    );
    assert!(bind.status.success(), "{}", text(&bind.stderr));
    let delete = pushbind(&daemon, &["certs", "delete", "fcm-main"]);
    assert!(delete.status.success(), "{}", text(&delete.stderr));
    let status = daemon.status().await;
    let binding = common::binding(&status, "u1", "fcm-main").unwrap();
    let warning = binding.warning.as_deref().unwrap_or_default();
    assert!(
        warning.contains("not in the app's certificate list"),
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn passphrase_read_from_pipe() {
    use std::io::Write as _;
    use std::process::Stdio;

    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let p12_file = write(dir.path(), "cert.p12", &p12(&P12Options::default()));
    // A pipe reports a size of 0, so /dev/stdin must be read to see that it
    // carries the passphrase.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pushbind"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args([
            "certs",
            "upload",
            "apns",
            "--name",
            "piped",
            "--file",
            &p12_file,
            "--passphrase-file",
            "/dev/stdin",
            "--bundle-id",
            "com.example.chat",
            "--environment",
            "production",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(credentials::PASSPHRASE.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(server.notifiers_named(APP_KEY, "piped").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn key_files_with_extra_blocks_rejected() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let key = ec_p8_pem();
    let certificate = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    let two_keys = write(
        dir.path(),
        "two.p8",
        format!("{key}{}", credentials::rsa_p8_pem()).as_bytes(),
    );
    let with_certificate = write(
        dir.path(),
        "cert.p8",
        format!("{certificate}{key}").as_bytes(),
    );
    let trailing = write(
        dir.path(),
        "trailing.p8",
        format!("{key}notes\n").as_bytes(),
    );
    for (file, expected) in [
        (&two_keys, "invalid p8: contains 2 PEM blocks"),
        (&with_certificate, "invalid p8: contains 2 PEM blocks"),
        (&trailing, "invalid p8: has text outside"),
    ] {
        let output = pushbind(
            &daemon,
            &[
                "certs",
                "upload",
                "apns",
                "--name",
                "extra",
                "--file",
                file,
                "--key-id",
                "ABC123DEFG",
                "--team-id",
                "TEAM123456",
                "--bundle-id",
                "com.example.chat",
                "--environment",
                "production",
            ],
        );
        let message = text(&output.stderr);
        assert_eq!(output.status.code(), Some(6), "{file}: {message}");
        assert!(message.contains(expected), "{file}: {message}");
    }
    let mut account: Value = serde_json::from_str(&service_account_json()).unwrap();
    let rsa_key = account["private_key"].as_str().unwrap().to_owned();
    account["private_key"] = Value::from(format!("{rsa_key}{key}"));
    let json = write(dir.path(), "account.json", account.to_string().as_bytes());
    let output = pushbind(
        &daemon,
        &["certs", "upload", "fcm", "--name", "123", "--file", &json],
    );
    let message = text(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{message}");
    assert!(
        message.contains("private_key contains 2 PEM blocks"),
        "{message}"
    );
    assert!(!message.contains("BEGIN PRIVATE KEY-----\n"), "{message}");
    assert_eq!(server.notifiers_named(APP_KEY, "extra"), Vec::new());
    assert_eq!(server.notifiers_named(APP_KEY, "123"), Vec::new());
}

/// Builds a `.p12` whose MAC takes 1,000,000 PBKDF iterations to check. It is
/// written with 65,536 iterations, quick to create, and the count is then
/// patched in place: both are 3-byte DER integers. The MAC no longer
/// matches, so the check ends as with a wrong passphrase.
fn slow_p12() -> Vec<u8> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};

    let (cert_der, key_der) = credentials::certificate(&P12Options::default());
    let chain = PrivateKeyChain::new(
        vec![1u8; 20],
        PrivateKey::from_der(&key_der).unwrap(),
        [Certificate::from_der(&cert_der).unwrap()],
    );
    let mut store = KeyStore::new();
    store.add_entry("push", KeyStoreEntry::PrivateKeyChain(chain));
    let mut bytes = store
        .writer(credentials::PASSPHRASE)
        .encryption_iterations(1)
        .mac_iterations(0x01_0000)
        .write()
        .unwrap();
    let written = [0x02, 0x03, 0x01, 0x00, 0x00];
    let at = bytes
        .windows(written.len())
        .rposition(|window| window == written)
        .expect("the MAC iteration count");
    bytes[at..at + written.len()].copy_from_slice(&[0x02, 0x03, 0x0f, 0x42, 0x40]);
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_p12_check_keeps_serving() {
    use pushbind_client::protocol::{
        ApnsCredentials, ApnsKey, NotifierUpload, SecretBytes, SecretText, VendorCredentials,
    };
    use pushbind_client::{ApnsEnvironment, ErrorCode};

    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let upload = NotifierUpload {
        name: "slow".into(),
        credentials: VendorCredentials::Apns(ApnsCredentials {
            environment: ApnsEnvironment::Production,
            bundle_id: "com.example.chat".into(),
            key: ApnsKey::Certificate {
                p12: SecretBytes::new(slow_p12()),
                passphrase: SecretText::new(credentials::PASSPHRASE),
            },
        }),
    };
    // One upload for each runtime worker the daemon may have, so that checks
    // run on the runtime would leave none free.
    // NOTE: each check takes seconds in a debug build only. An optimized
    // build checks fast enough to pass this test even on the runtime.
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let mut uploads = Vec::new();
    for _ in 0..workers {
        let mut client = daemon.client().await;
        let upload = upload.clone();
        uploads.push(tokio::spawn(async move {
            client.upload_notifier(&upload).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = std::time::Instant::now();
    daemon.status().await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(1),
        "status took {elapsed:?} during certificate checks"
    );
    for upload in uploads {
        let err = upload.await.unwrap().unwrap_err();
        assert_eq!(common::code(&err), ErrorCode::InvalidArgument, "{err}");
        assert!(err.to_string().contains("invalid passphrase"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error_quoting_secret_redacted() {
    use pushbind_standin::{Fault, Route};

    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "Yx3Jz1c0AbCdEfGh12345==";
    let file = write(dir.path(), "xiaomi", secret.as_bytes());
    let key = ec_p8_pem();
    let key_line = key.lines().nth(1).unwrap().to_owned();
    let p8 = write(dir.path(), "key.p8", key.as_bytes());
    let uploads = [
        (
            secret.to_owned(),
            vec![
                "certs",
                "upload",
                "xiaomi",
                "--name",
                "2882303761518000000",
                "--file",
                &file,
                "--package-name",
                "com.example.chat",
            ],
        ),
        (
            key_line.clone(),
            vec![
                "certs",
                "upload",
                "apns",
                "--name",
                "apns-p8",
                "--file",
                &p8,
                "--key-id",
                "ABC123DEFG",
                "--team-id",
                "TEAM123456",
                "--bundle-id",
                "com.example.chat",
                "--environment",
                "production",
            ],
        ),
    ];
    for (quoted, args) in uploads {
        let description = format!("value {quoted} is invalid");
        server.inject(Fault::error(
            Route::CreateNotifier,
            1,
            400,
            "illegal_argument",
            &description,
        ));
        let output = pushbind(&daemon, &args);
        let message = text(&output.stderr);
        assert_eq!(output.status.code(), Some(7), "{message}");
        assert!(message.contains("illegal_argument"), "{message}");
        assert!(message.contains("value ******** is invalid"), "{message}");
        assert!(!message.contains(&quoted), "{message}");
    }
    let log = daemon.log();
    assert!(log.contains("certificate upload failed"), "{log}");
    assert!(!log.contains(secret), "the log holds the secret");
    assert!(!log.contains(&key_line), "the log holds a line of the key");
}

#[tokio::test(flavor = "multi_thread")]
async fn invisible_characters_rejected() {
    let server = standin().await;
    let daemon = Daemon::start(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    // Windows editors start a UTF-8 file with a byte-order mark.
    let with_bom = write(dir.path(), "xiaomi", "\u{FEFF}Yx3Jz1c0AbCdEf".as_bytes());
    let output = pushbind(
        &daemon,
        &[
            "certs",
            "upload",
            "xiaomi",
            "--name",
            "2882303761518000000",
            "--file",
            &with_bom,
            "--package-name",
            "com.example.chat",
        ],
    );
    let message = text(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{message}");
    assert!(
        message.contains("invalid app_secret: contains a character that is not printable ASCII"),
        "{message}"
    );
    assert!(!message.contains("Yx3Jz1c0"), "{message}");

    let p8 = write(dir.path(), "key.p8", ec_p8_pem().as_bytes());
    for name in ["prod\u{200B}apns", "prod\u{202E}apns"] {
        let output = pushbind(
            &daemon,
            &[
                "certs",
                "upload",
                "apns",
                "--name",
                name,
                "--file",
                &p8,
                "--key-id",
                "ABC123DEFG",
                "--team-id",
                "TEAM123456",
                "--bundle-id",
                "com.example.chat",
                "--environment",
                "production",
            ],
        );
        let message = text(&output.stderr);
        assert_eq!(output.status.code(), Some(6), "{name:?}: {message}");
        assert!(message.contains("invisible character"), "{message}");
    }
    assert_eq!(
        server.notifiers_named(APP_KEY, "2882303761518000000"),
        Vec::new()
    );
}
