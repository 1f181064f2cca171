//! Binding sequences people meet in practice, each run as written and again
//! with the daemon restarted (cleanly and with SIGKILL) at every boundary
//! between steps. Every run must end with the server holding exactly the
//! bindings written out in the scenario.

mod common;

use common::{APP_KEY, Daemon, standin};
use pushbind_client::Client;
use pushbind_standin::{Fault, RunningStandin};

/// One thing a user, an app or the server does.
#[derive(Clone, Copy, Debug)]
enum Step {
    Login(&'static str),
    Bind(&'static str, &'static str),
    Unbind(&'static str),
    Logout {
        unbind: bool,
    },
    /// Every binding call fails with 503 until `ServerUp`.
    ServerDown,
    ServerUp,
    /// The server drops (user, certificate) by itself, as after a vendor
    /// rejected the token.
    ServerDrops(&'static str, &'static str),
    /// Every app token issued so far expires.
    TokensExpire,
    /// The server rejects the next binding call with 400.
    ServerRejectsNext,
}

/// How the daemon is restarted between two steps.
#[derive(Clone, Copy, Debug)]
enum Restart {
    Clean,
    Kill,
}

struct Scenario {
    steps: &'static [Step],
    /// What the server holds for this device at the end, as (user,
    /// certificate, token), sorted.
    expected: &'static [(&'static str, &'static str, &'static str)],
    /// Binding calls the run without a restart makes, where the count does
    /// not depend on timing.
    calls: Option<usize>,
}

use Step::*;

const USERS: [&str; 3] = ["u1", "u2", "u3"];

async fn apply(step: Step, daemon: &Daemon, server: &RunningStandin, device: &str) {
    let mut client: Client = daemon.client().await;
    match step {
        Login(user) => drop(client.login(user, None).await.unwrap()),
        Bind(name, token) => drop(client.bind_device_token(name, token).await.unwrap()),
        Unbind(name) => drop(client.unbind_device_token(name, false).await.unwrap()),
        Logout { unbind } => drop(client.logout(unbind).await.unwrap()),
        ServerDown => server.inject(Fault::status(
            pushbind_standin::Route::PutBinding,
            100_000,
            503,
        )),
        ServerUp => server.clear_faults(),
        TokensExpire => server.expire_tokens(APP_KEY),
        ServerRejectsNext => server.inject(Fault::error(
            pushbind_standin::Route::PutBinding,
            1,
            400,
            "illegal_argument",
            "token rejected",
        )),
        ServerDrops(user, name) => {
            // Let the binding reach the server first, as it had in practice.
            daemon.wait_until_idle().await;
            server.drop_binding(APP_KEY, user, device, name);
        }
    }
}

async fn restart(daemon: &mut Daemon, how: Restart) {
    match how {
        Restart::Clean => {
            let status = daemon.stop();
            assert!(status.success(), "clean stop failed: {status}");
        }
        Restart::Kill => daemon.kill(),
    }
    daemon.restart().await;
}

/// Returns the server's bindings of `device` for every test user, sorted.
fn held(server: &RunningStandin, device: &str) -> Vec<(String, String, String)> {
    let mut held: Vec<_> = USERS
        .iter()
        .flat_map(|user| {
            server
                .bindings(APP_KEY, user)
                .into_iter()
                .filter(|b| b.device_id == device)
                .map(|b| (user.to_string(), b.notifier_name, b.device_token))
        })
        .collect();
    held.sort();
    held
}

/// Runs `scenario` with an optional restart before step `restart_at`.
async fn run(scenario: &Scenario, restart_at: Option<(usize, Restart)>) {
    let server = standin().await;
    let mut daemon = Daemon::start(&server.url()).await;
    let device = daemon.status().await.device_id;
    for (index, step) in scenario.steps.iter().enumerate() {
        if let Some((at, how)) = restart_at
            && at == index
        {
            restart(&mut daemon, how).await;
        }
        apply(*step, &daemon, &server, &device).await;
    }
    if let Some((at, how)) = restart_at
        && at == scenario.steps.len()
    {
        restart(&mut daemon, how).await;
    }
    server.clear_faults();
    let mut client = daemon.client().await;
    client.sync_now(true).await.unwrap();
    daemon.wait_until_idle().await;
    // One more pass compares with the server, as the daemon does on a timer.
    client.sync_now(true).await.unwrap();
    daemon.wait_until_idle().await;
    let expected: Vec<(String, String, String)> = scenario
        .expected
        .iter()
        .map(|(u, n, t)| (u.to_string(), n.to_string(), t.to_string()))
        .collect();
    if restart_at.is_none()
        && let Some(calls) = scenario.calls
    {
        let made = server.call_count(pushbind_standin::Route::PutBinding);
        assert_eq!(made, calls, "binding calls for steps {:?}", scenario.steps);
    }
    assert_eq!(
        held(&server, &device),
        expected,
        "steps {:?} with restart {restart_at:?}\nstatus: {:#?}",
        scenario.steps,
        daemon.status().await
    );
}

/// Runs `scenario` as written, then with each restart at each boundary.
async fn run_all(scenario: Scenario) {
    run(&scenario, None).await;
    for at in 0..=scenario.steps.len() {
        for how in [Restart::Clean, Restart::Kill] {
            run(&scenario, Some((at, how))).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_rotation_and_back() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            Bind("fcm-main", "T2"),
            Bind("fcm-main", "T1"),
        ],
        expected: &[("u1", "fcm-main", "T1")],
        calls: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_identical_binds() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            Bind("fcm-main", "T1"),
            Bind("fcm-main", "T1"),
        ],
        expected: &[("u1", "fcm-main", "T1")],
        calls: Some(1),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_unbind_during_outage() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            ServerDown,
            Logout { unbind: true },
            ServerUp,
        ],
        expected: &[],
        calls: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_keep_then_same_user() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            Logout { unbind: false },
            Login("u1"),
        ],
        expected: &[("u1", "fcm-main", "T1")],
        calls: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_keep_then_other_user() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            Logout { unbind: false },
            Login("u2"),
        ],
        expected: &[("u2", "fcm-main", "T1")],
        calls: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_switch_while_unbind_pending() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            ServerDown,
            Login("u2"),
            ServerUp,
        ],
        expected: &[("u2", "fcm-main", "T1")],
        calls: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_certificates_one_removed() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            Bind("prod-apns", "A1"),
            Unbind("fcm-main"),
        ],
        expected: &[("u1", "prod-apns", "A1")],
        calls: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bind_before_login() {
    run_all(Scenario {
        steps: &[Bind("fcm-main", "T1"), Login("u1")],
        expected: &[("u1", "fcm-main", "T1")],
        calls: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_drop_is_not_undone() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            ServerDrops("u1", "fcm-main"),
        ],
        expected: &[],
        calls: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn app_token_expires_mid_session() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            TokensExpire,
            Bind("fcm-main", "T2"),
        ],
        expected: &[("u1", "fcm-main", "T2")],
        calls: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_token_then_new_token() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            ServerRejectsNext,
            Bind("fcm-main", "BAD"),
            Bind("fcm-main", "T2"),
        ],
        expected: &[("u1", "fcm-main", "T2")],
        calls: None,
    })
    .await;
}
