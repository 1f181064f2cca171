//! Test fixtures: the stand-in server in-process on loopback, and the real
//! `pushbindd` binary on a temporary directory.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use pushbind_client::protocol::{BindingView, StatusReport, SyncState};
use pushbind_client::{Client, Error};
use pushbind_standin::{AppSeed, Binding, NotifierSeed, Options, RunningStandin, Standin};
use tokio::time::Instant;

pub const APP_KEY: &str = "org#app";
pub const CLIENT_ID: &str = "client-id";
pub const CLIENT_SECRET: &str = "client-secret-value";

/// How long a test waits for the daemon to reach a state.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Starts the stand-in server with one app, users `u1` to `u3` and the
/// certificates `fcm-main` (FCM), `prod-apns` (APNs, production) and
/// `dev-apns` (APNs, development).
pub async fn standin() -> RunningStandin {
    let standin = Standin::new(Options::default());
    standin.add_app(AppSeed {
        org: "org".into(),
        name: "app".into(),
        app_id: "appid1".into(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
    });
    for user in ["u1", "u2", "u3"] {
        standin.add_user(APP_KEY, user);
    }
    standin.add_notifier(APP_KEY, NotifierSeed::new("fcm-main", "ANDROID"));
    let mut apns = NotifierSeed::new("prod-apns", "APNS");
    apns.environment = "PRODUCTION".into();
    standin.add_notifier(APP_KEY, apns);
    standin.add_notifier(APP_KEY, NotifierSeed::new("dev-apns", "APNS"));
    standin
        .start("127.0.0.1:0")
        .await
        .expect("stand-in server starts")
}

/// A `pushbindd` process with its own socket, database and device id.
pub struct Daemon {
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub config: PathBuf,
    child: Option<Child>,
    /// File creation mask the daemon starts with, when set.
    pub umask: Option<libc::mode_t>,
    _temp: Option<tempfile::TempDir>,
}

/// Writes a private config file for `server_url` with short retry delays.
pub fn write_config(dir: &Path, server_url: &str, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "server_url = \"{server_url}\"\napp_key = \"{APP_KEY}\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret = \"{CLIENT_SECRET}\"\ndata_dir = \"{}\"\nretry_initial = \"50ms\"\n\
         retry_max = \"400ms\"\nrequest_timeout = \"3s\"\n{extra}",
        dir.join("data").display()
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

impl Daemon {
    /// Starts a daemon for the stand-in at `server_url` and waits until it
    /// replies.
    pub async fn start(server_url: &str) -> Self {
        Self::start_with(server_url, "").await
    }

    /// Starts a daemon with extra config lines.
    pub async fn start_with(server_url: &str, extra: &str) -> Self {
        Self::start_edited(server_url, |text| text + extra).await
    }

    /// Starts a daemon whose config file text is passed through `edit`.
    pub async fn start_edited(server_url: &str, edit: impl FnOnce(String) -> String) -> Self {
        Self::prepare(server_url, edit).launch().await
    }

    /// Starts this prepared daemon and waits until it replies.
    pub async fn launch(mut self) -> Self {
        self.spawn();
        self.wait_ready().await;
        self
    }

    /// Sets up a daemon's directory and config without starting it.
    pub fn prepare(server_url: &str, edit: impl FnOnce(String) -> String) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_owned();
        let config = write_config(&dir, server_url, "");
        let text = edit(std::fs::read_to_string(&config).unwrap());
        std::fs::write(&config, text).unwrap();
        Self {
            socket: dir.join("run").join("pushbindd.sock"),
            dir,
            config,
            child: None,
            umask: None,
            _temp: Some(temp),
        }
    }

    /// Builds the command that starts this daemon.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pushbindd"));
        command
            .arg("--config")
            .arg(&self.config)
            .arg("--socket")
            .arg(&self.socket)
            .arg("--machine-id-file")
            .arg(self.dir.join("no-machine-id"))
            .env("RUST_LOG", "pushbind=debug,info")
            .env_remove("PUSHBIND_SOCKET")
            .env_remove("PUSHBIND_CONFIG");
        command
    }

    /// Returns the path of the daemon's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("pushbindd.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let mut command = self.command();
        if let Some(mask) = self.umask {
            use std::os::unix::process::CommandExt;
            // SAFETY: umask is async-signal-safe and touches no memory.
            unsafe {
                command.pre_exec(move || {
                    libc::umask(mask);
                    Ok(())
                });
            }
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("pushbindd starts");
        self.child = Some(child);
    }

    /// Polls until the daemon replies to `status`, or fails with its log.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Ok(mut client) = Client::connect_to(&self.socket).await
                && client.status().await.is_ok()
            {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("pushbindd exited with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "pushbindd not ready:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn client(&self) -> Client {
        Client::connect_to(&self.socket)
            .await
            .expect("connects to pushbindd")
    }

    pub async fn status(&self) -> StatusReport {
        self.client().await.status().await.expect("status")
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.stop_with(libc::SIGTERM)
    }

    /// Sends `signal_number` and returns the exit status.
    pub fn stop_with(&mut self, signal_number: i32) -> ExitStatus {
        let mut child = self.child.take().expect("daemon running");
        signal(&child, signal_number);
        child.wait().unwrap()
    }

    /// Kills the daemon with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("daemon running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Returns whether the daemon process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().unwrap().is_none())
    }

    /// Starts the daemon again on the same directory.
    pub async fn restart(&mut self) {
        self.spawn();
        self.wait_ready().await;
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon running").id()
    }

    /// Polls status until `done` holds for it, or fails showing the last
    /// status and the log.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&StatusReport) -> bool) -> StatusReport {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let status = self.status().await;
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last status: {status:#?}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the binding (user, notifier) reaches `state`.
    pub async fn wait_for_state(
        &self,
        user: &str,
        notifier: &str,
        state: SyncState,
    ) -> BindingView {
        let status = self
            .wait_for(&format!("{user}/{notifier} to be {state:?}"), |s| {
                binding(s, user, notifier).is_some_and(|b| b.state == state)
            })
            .await;
        binding(&status, user, notifier).unwrap().clone()
    }

    /// Waits until the outbox is empty and nothing is pending.
    pub async fn wait_until_idle(&self) -> StatusReport {
        self.wait_for("an empty outbox", |s| {
            s.outbox.pending == 0 && s.bindings.iter().all(|b| !b.state.is_pending())
        })
        .await
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill has no memory effects; the pid is our own child's.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(result, 0, "kill({pid}, {signal}) failed");
}

pub fn binding<'a>(
    status: &'a StatusReport,
    user: &str,
    notifier: &str,
) -> Option<&'a BindingView> {
    status
        .bindings
        .iter()
        .find(|b| b.user_id == user && b.notifier_name == notifier)
}

/// Returns the server's bindings of `user` as (device, notifier, token).
pub fn server_bindings(standin: &Standin, user: &str) -> Vec<(String, String, String)> {
    standin
        .bindings(APP_KEY, user)
        .into_iter()
        .map(
            |Binding {
                 device_id,
                 notifier_name,
                 device_token,
             }| (device_id, notifier_name, device_token),
        )
        .collect()
}

/// Returns the daemon's error code from a failed call.
pub fn code(err: &Error) -> pushbind_client::ErrorCode {
    err.code()
        .unwrap_or_else(|| panic!("expected a daemon error, got {err}"))
}
