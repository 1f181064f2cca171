//! Binding sequences people meet in practice, each run as written and again
//! with the daemon restarted (cleanly and with SIGKILL) at every boundary
//! between steps. Every run must end with the server holding exactly the
//! bindings written out in the scenario, and with the local status the
//! scenario writes out.

mod common;

use std::time::{Duration, SystemTime};

use common::{APP_KEY, CLIENT_SECRET, DEADLINE, Daemon, binding, code, standin};
use pushbind_client::protocol::{Event, StatusReport, SyncState};
use pushbind_client::{Client, ErrorCode, Events};
use pushbind_standin::{Fault, FaultAction, Route, RunningStandin};

/// One thing a user, an app, the server or the machine does, or a check of
/// what the daemon shows at that point.
#[derive(Clone, Copy, Debug)]
enum Step {
    Login(&'static str),
    /// Logs `user` in with a bearer token the server issues now, as an app
    /// with `auth = "bearer_token"` does.
    LoginWithNewToken(&'static str),
    Bind(&'static str, &'static str),
    /// A bind that the local API must reject with `code`.
    BindRejected(&'static str, &'static str, ErrorCode),
    Unbind(&'static str),
    Logout {
        unbind: bool,
    },
    /// Every binding call fails with 503 until `ServerUp`.
    ServerDown,
    /// Clears every fault queued on the server.
    ServerUp,
    /// Every binding call gets `status` with the error envelope's `error`
    /// set to `code` (no `error` key when `None`) until `ServerUp`.
    ServerAnswers(u16, Option<&'static str>),
    /// Every binding call gets a proxy's HTML error page with this status
    /// until `ServerUp`.
    ProxyPage(u16),
    /// The server drops (user, certificate) by itself, as after a vendor
    /// rejected the token.
    ServerDrops(&'static str, &'static str),
    /// The user is created on the server.
    ServerAddsUser(&'static str),
    /// The certificate is deleted on the server; bindings made with it stay.
    CertificateDeleted(&'static str),
    /// The certificate is disabled on the server.
    CertificateDisabled(&'static str),
    /// The app makes the daemon fetch the certificate list now.
    RefreshCertificates,
    /// Every app token issued so far expires.
    TokensExpire,
    /// The server rejects the next binding call with 400.
    ServerRejectsNext,
    /// Replaces the first text with the second in the config file and
    /// restarts the daemon cleanly, as a user fixing or breaking it does.
    EditConfig(&'static str, &'static str),
    /// Forces a sync pass and waits for its result.
    SyncNow,
    /// Waits until no call is queued or retrying.
    WaitIdle,
    /// Once a binding call has failed, stops the daemon with SIGSTOP for
    /// this many milliseconds, as a closed laptop lid does, brings the
    /// server back meanwhile, and resumes the daemon with SIGCONT.
    LidClosed(u64),
    /// Once a binding call has failed, stops the daemon, moves every wall
    /// clock time stored in its database as if the clock had jumped this
    /// many hours forward (negative: back), brings the server back and
    /// starts the daemon again.
    ClockJump(i64),
    /// Waits until (user, certificate) is in `state`, with the text in its
    /// last error or warning when one is given.
    ExpectState(&'static str, &'static str, SyncState, Option<&'static str>),
    /// Waits until status shows a problem that contains each text.
    ExpectProblem(&'static [&'static str]),
    /// Waits until status says that the app must log in with a new bearer
    /// token, and checks that subscribers received a `TokenNeeded` event
    /// when they were subscribed before the rejection.
    ExpectTokenNeeded,
    /// After `LidClosed` or `ClockJump` (or a restart after them): waits
    /// until every binding is synced and checks that the last binding call
    /// landed within `within_ms` and that the first second saw at most
    /// `max_calls` binding calls.
    ExpectPromptLanding {
        within_ms: u64,
        max_calls: usize,
    },
}

/// How the daemon is restarted between two steps.
#[derive(Clone, Copy, Debug)]
enum Restart {
    Clean,
    Kill,
}

/// What status shows for one binding at the end of a scenario.
#[derive(Debug)]
struct Local {
    user: &'static str,
    notifier: &'static str,
    state: SyncState,
    /// Text that the binding's warning or last error contains; `None`
    /// means it has neither.
    note: Option<&'static str>,
}

#[derive(Default)]
struct Scenario {
    steps: &'static [Step],
    /// Lines added to the daemon's config file.
    config: &'static str,
    /// What the server holds for this device at the end, as (user,
    /// certificate, token), sorted.
    expected: &'static [(&'static str, &'static str, &'static str)],
    /// Binding calls the run without a restart makes, where the count does
    /// not depend on timing.
    calls: Option<usize>,
    /// Upper bounds on the calls a route receives in a whole run, as
    /// (route, without a restart, with one restart). A restart may repeat
    /// the call in flight and fetches a new app token.
    max_calls: &'static [(Route, usize, usize)],
    /// Every binding status shows at the end, sorted by user and
    /// certificate. Empty: not checked.
    local: &'static [Local],
    /// Text that status's problem contains at the end; `None` means status
    /// shows no problem.
    problem: Option<&'static str>,
}

use Step::*;

const USERS: [&str; 4] = ["u1", "u2", "u3", "ghost"];

/// How long the first-second check of `ExpectPromptLanding` watches.
const FIRST_SECOND: Duration = Duration::from_secs(1);

/// One run of a scenario: the server, the daemon, and what the checks need
/// to know about the run so far.
struct Run<'a> {
    server: &'a RunningStandin,
    daemon: Daemon,
    device: String,
    /// Events of the running daemon process, subscribed right after it
    /// started.
    events: Events,
    /// Index of the step before or during which the running daemon process
    /// started.
    started_at: usize,
    /// Index of the `TokensExpire` step, once it ran.
    expired_at: Option<usize>,
    /// When the daemon resumed after `LidClosed` or started after
    /// `ClockJump`; `ExpectPromptLanding` measures from here.
    mark: Option<SystemTime>,
    /// When a restart between steps began after the mark, if one did.
    restarted_after_mark: Option<SystemTime>,
}

impl<'a> Run<'a> {
    async fn start(server: &'a RunningStandin, config: &str) -> Self {
        let daemon = Daemon::start_with(&server.url(), config).await;
        let device = daemon.status().await.device_id;
        let events = subscribe(&daemon).await;
        Self {
            server,
            daemon,
            device,
            events,
            started_at: 0,
            expired_at: None,
            mark: None,
            restarted_after_mark: None,
        }
    }

    /// Restarts the daemon before step `index`.
    async fn restart(&mut self, index: usize, how: Restart) {
        match how {
            Restart::Clean => self.stop(),
            Restart::Kill => self.daemon.kill(),
        }
        if self.mark.is_some() {
            self.restarted_after_mark = Some(SystemTime::now());
        }
        self.start_again(index).await;
    }

    fn stop(&mut self) {
        let status = self.daemon.stop();
        assert!(status.success(), "clean stop failed: {status}");
    }

    /// Starts the stopped daemon again during or before step `index`.
    async fn start_again(&mut self, index: usize) {
        self.daemon.restart().await;
        self.events = subscribe(&self.daemon).await;
        self.started_at = index;
    }

    async fn apply(&mut self, index: usize, step: Step) {
        let (server, device) = (self.server, self.device.as_str());
        let mut client: Client = self.daemon.client().await;
        match step {
            Login(user) => drop(client.login(user, None).await.unwrap()),
            LoginWithNewToken(user) => {
                let token = server.issue_token(APP_KEY, Duration::from_secs(3600));
                drop(client.login(user, Some(&token)).await.unwrap());
            }
            Bind(name, token) => drop(client.bind_device_token(name, token).await.unwrap()),
            BindRejected(name, token, expected) => {
                let err = client.bind_device_token(name, token).await.unwrap_err();
                assert_eq!(code(&err), expected, "bind {name} {token}: {err}");
            }
            Unbind(name) => drop(client.unbind_device_token(name, false).await.unwrap()),
            Logout { unbind } => drop(client.logout(unbind).await.unwrap()),
            ServerDown => server.inject(Fault::status(Route::PutBinding, 100_000, 503)),
            ServerUp => server.clear_faults(),
            ServerAnswers(status, error) => {
                let action = FaultAction::Status {
                    status,
                    error: error.map(str::to_owned),
                    description: format!("answer {status} injected by the scenario"),
                    retry_after: None,
                };
                server.inject(Fault::new(Route::PutBinding, 100_000, action));
            }
            ProxyPage(status) => server.inject(Fault::html(Route::PutBinding, 100_000, status)),
            TokensExpire => {
                server.expire_tokens(APP_KEY);
                self.expired_at = Some(index);
            }
            ServerRejectsNext => server.inject(Fault::error(
                Route::PutBinding,
                1,
                400,
                "illegal_argument",
                "token rejected",
            )),
            ServerDrops(user, name) => {
                // Let the binding reach the server first, as it had in practice.
                self.daemon.wait_until_idle().await;
                server.drop_binding(APP_KEY, user, device, name);
            }
            ServerAddsUser(user) => server.add_user(APP_KEY, user),
            CertificateDeleted(name) => assert!(server.remove_notifier(APP_KEY, name)),
            CertificateDisabled(name) => {
                assert!(server.set_notifier_disabled(APP_KEY, name, true));
            }
            RefreshCertificates => drop(client.notifiers(true).await.unwrap()),
            EditConfig(from, to) => {
                drop(client);
                self.edit_config(from, to);
                self.stop();
                self.start_again(index).await;
            }
            SyncNow => drop(client.sync_now(true).await.unwrap()),
            WaitIdle => drop(self.daemon.wait_until_idle().await),
            LidClosed(millis) => self.close_lid(millis).await,
            ClockJump(hours) => {
                drop(client);
                self.jump_clock(index, hours).await;
            }
            ExpectState(user, name, state, note) => {
                let what = format!("{user}/{name} to be {state:?} with {note:?}");
                self.daemon
                    .wait_for(&what, |s| {
                        binding(s, user, name).is_some_and(|b| {
                            b.state == state && note.is_none_or(|text| mentions(b, text))
                        })
                    })
                    .await;
            }
            ExpectProblem(texts) => {
                let what = format!("a problem that mentions {texts:?}");
                self.daemon
                    .wait_for(&what, |s| {
                        let problem = s.server.problem.as_deref().unwrap_or_default();
                        texts.iter().all(|text| problem.contains(text))
                    })
                    .await;
            }
            ExpectTokenNeeded => self.expect_token_needed().await,
            ExpectPromptLanding {
                within_ms,
                max_calls,
            } => {
                self.expect_prompt_landing(Duration::from_millis(within_ms), max_calls)
                    .await
            }
        }
    }

    fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.daemon.config).unwrap();
        assert!(text.contains(from), "config has no {from:?}:\n{text}");
        std::fs::write(&self.daemon.config, text.replace(from, to)).unwrap();
    }

    async fn wait_for_failed_call(&self) {
        self.daemon
            .wait_for("a failed binding call", |s| {
                s.bindings.iter().any(|b| b.attempts > 0)
            })
            .await;
    }

    async fn close_lid(&mut self, millis: u64) {
        self.wait_for_failed_call().await;
        let pid = i32::try_from(self.daemon.pid()).unwrap();
        send_signal(pid, libc::SIGSTOP);
        // The lid stays closed this long; nothing else is waited for.
        tokio::time::sleep(Duration::from_millis(millis)).await;
        self.server.clear_faults();
        self.mark = Some(SystemTime::now());
        self.restarted_after_mark = None;
        send_signal(pid, libc::SIGCONT);
    }

    async fn jump_clock(&mut self, index: usize, hours: i64) {
        self.wait_for_failed_call().await;
        self.stop();
        // A clock that jumps forward makes every stored time look that much
        // older, which is the same as moving the stored times back.
        let database = self.daemon.dir.join("data").join("pushbind.db");
        shift_stored_times(&database, -hours * 3_600_000);
        self.server.clear_faults();
        self.mark = Some(SystemTime::now());
        self.restarted_after_mark = None;
        self.start_again(index).await;
    }

    async fn expect_token_needed(&mut self) {
        self.daemon
            .wait_for("the request for a new bearer token", |s| {
                s.server
                    .problem
                    .as_deref()
                    .is_some_and(|p| p.contains("log in again with a new token"))
            })
            .await;
        // A process that started after the tokens expired may have found
        // out before this test subscribed.
        if self.expired_at.is_some_and(|at| self.started_at <= at) {
            let event = next_event(&mut self.events, "TokenNeeded", |event| {
                matches!(event, Event::TokenNeeded { reason, .. } if reason.contains("rejected"))
            })
            .await;
            let Event::TokenNeeded {
                notifier_name,
                reason,
            } = event
            else {
                unreachable!()
            };
            assert_eq!(notifier_name, None, "a bearer token concerns every binding");
            assert!(reason.contains("bearer token"), "{reason}");
        }
    }

    /// Checks that the calls waiting at the mark landed within `within`
    /// of it, or of a restart after it, and that the first second after
    /// the mark saw at most `max_calls` binding calls. A restart after the
    /// mark may send the call it interrupted once more.
    async fn expect_prompt_landing(&self, within: Duration, max_calls: usize) {
        let mark = self
            .mark
            .expect("ExpectPromptLanding follows LidClosed or ClockJump");

        let status = self.daemon.wait_until_idle().await;
        for view in &status.bindings {
            assert_eq!(view.state, SyncState::Synced, "{status:#?}");
        }

        let landed = self
            .binding_calls_since(mark)
            .iter()
            .filter(|call| call.status == 200)
            .map(|call| call.at)
            .max()
            .expect("a binding call succeeded after resuming");
        let start = self.restarted_after_mark.unwrap_or(mark);
        let delay = landed.duration_since(start).unwrap_or_default();
        assert!(delay <= within, "landed {delay:?} after resuming");

        // Calls can still arrive until the first second is over.
        if let Ok(left) = (mark + FIRST_SECOND).duration_since(SystemTime::now()) {
            tokio::time::sleep(left).await;
        }
        let first_second: Vec<_> = self
            .binding_calls_since(mark)
            .into_iter()
            .filter(|call| call.at < mark + FIRST_SECOND)
            .collect();
        let allowed = max_calls + usize::from(self.restarted_after_mark.is_some());
        assert!(
            first_second.len() <= allowed,
            "{} binding calls in the first second: {first_second:#?}",
            first_second.len()
        );
    }

    fn binding_calls_since(&self, mark: SystemTime) -> Vec<pushbind_standin::Call> {
        self.server
            .calls()
            .into_iter()
            .filter(|call| call.route == Route::PutBinding && call.at >= mark)
            .collect()
    }
}

async fn subscribe(daemon: &Daemon) -> Events {
    daemon.client().await.subscribe().await.expect("subscribes")
}

/// Waits for the first event that `wanted` accepts, skipping others.
async fn next_event(events: &mut Events, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
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

fn send_signal(pid: i32, signal: i32) {
    // SAFETY: kill has no memory effects; the pid is the test's own child.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(result, 0, "kill({pid}, {signal}) failed");
}

/// Adds `shift_ms` to every wall clock time stored in the database: the
/// columns named `at` or ending in `_at`.
fn shift_stored_times(database: &std::path::Path, shift_ms: i64) {
    let conn = rusqlite::Connection::open(database).unwrap();
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let mut shifted = 0;
    for table in tables {
        let columns: Vec<String> = {
            let mut stmt = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap();
            stmt.query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        for column in columns {
            if column == "at" || column.ends_with("_at") {
                let sql = format!("UPDATE {table} SET {column} = {column} + ?1");
                conn.execute(&sql, [shift_ms]).unwrap();
                shifted += 1;
            }
        }
    }
    assert!(
        shifted > 0,
        "no stored times found in {}",
        database.display()
    );
}

/// Returns whether the binding's warning or last error contains `text`.
fn mentions(view: &pushbind_client::protocol::BindingView, text: &str) -> bool {
    let has = |field: &Option<String>| field.as_deref().is_some_and(|f| f.contains(text));
    has(&view.warning) || has(&view.last_error)
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
    let mut run = Run::start(&server, scenario.config).await;
    for (index, step) in scenario.steps.iter().enumerate() {
        if let Some((at, how)) = restart_at
            && at == index
        {
            run.restart(index, how).await;
        }
        run.apply(index, *step).await;
    }
    if let Some((at, how)) = restart_at
        && at == scenario.steps.len()
    {
        run.restart(at, how).await;
    }
    server.clear_faults();
    let mut client = run.daemon.client().await;
    client.sync_now(true).await.unwrap();
    run.daemon.wait_until_idle().await;
    // One more pass compares with the server, as the daemon does on a timer.
    client.sync_now(true).await.unwrap();
    let status = run.daemon.wait_until_idle().await;
    let context = format!(
        "steps {:?} with restart {restart_at:?}\nstatus: {status:#?}",
        scenario.steps
    );
    check_calls(scenario, &server, restart_at.is_some(), &context);
    let expected: Vec<(String, String, String)> = scenario
        .expected
        .iter()
        .map(|(u, n, t)| (u.to_string(), n.to_string(), t.to_string()))
        .collect();
    assert_eq!(held(&server, &run.device), expected, "{context}");
    check_local(scenario, &status, &context);
}

fn check_calls(scenario: &Scenario, server: &RunningStandin, restarted: bool, context: &str) {
    if !restarted && let Some(calls) = scenario.calls {
        let made = server.call_count(Route::PutBinding);
        assert_eq!(made, calls, "binding calls; {context}");
    }
    for &(route, plain, with_restart) in scenario.max_calls {
        let bound = if restarted { with_restart } else { plain };
        let made = server.call_count(route);
        assert!(
            made <= bound,
            "{made} {route} calls, more than {bound}; {context}"
        );
    }
}

fn check_local(scenario: &Scenario, status: &StatusReport, context: &str) {
    match (scenario.problem, status.server.problem.as_deref()) {
        (None, None) => {}
        (Some(text), Some(problem)) => {
            assert!(problem.contains(text), "problem {problem:?}; {context}");
        }
        (expected, found) => panic!("problem {found:?}, expected {expected:?}; {context}"),
    }
    if scenario.local.is_empty() {
        return;
    }
    let mut views: Vec<_> = status.bindings.iter().collect();
    views.sort_by(|a, b| (&a.user_id, &a.notifier_name).cmp(&(&b.user_id, &b.notifier_name)));
    let found: Vec<(&str, &str)> = views
        .iter()
        .map(|v| (v.user_id.as_str(), v.notifier_name.as_str()))
        .collect();
    let listed: Vec<(&str, &str)> = scenario
        .local
        .iter()
        .map(|l| (l.user, l.notifier))
        .collect();
    assert_eq!(found, listed, "bindings in status; {context}");
    for (view, local) in views.iter().zip(scenario.local) {
        assert_eq!(view.state, local.state, "{local:?}; {context}");
        match local.note {
            Some(text) => assert!(mentions(view, text), "{local:?}; {context}"),
            None => {
                assert_eq!(view.warning, None, "{local:?}; {context}");
                assert_eq!(view.last_error, None, "{local:?}; {context}");
            }
        }
    }
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
        ..Scenario::default()
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
        ..Scenario::default()
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
        ..Scenario::default()
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
        ..Scenario::default()
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
        ..Scenario::default()
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
        ..Scenario::default()
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
        ..Scenario::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bind_before_login() {
    run_all(Scenario {
        steps: &[Bind("fcm-main", "T1"), Login("u1")],
        expected: &[("u1", "fcm-main", "T1")],
        ..Scenario::default()
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
        ..Scenario::default()
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
        ..Scenario::default()
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
            // The rejection must meet BAD's call: a T2 bound before that
            // call went out would replace it and meet the rejection itself.
            WaitIdle,
            Bind("fcm-main", "T2"),
        ],
        expected: &[("u1", "fcm-main", "T2")],
        ..Scenario::default()
    })
    .await;
}

const NOT_LISTED: &str = "not in the app's certificate list";

#[tokio::test(flavor = "multi_thread")]
async fn certificate_deleted_on_server() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("fcm-main", "T1"),
            Bind("prod-apns", "A1"),
            WaitIdle,
            CertificateDeleted("fcm-main"),
            RefreshCertificates,
            ExpectState("u1", "fcm-main", SyncState::Synced, Some(NOT_LISTED)),
            BindRejected("fcm-main", "T2", ErrorCode::UnknownNotifier),
        ],
        // The server keeps bindings of a deleted certificate.
        expected: &[("u1", "fcm-main", "T1"), ("u1", "prod-apns", "A1")],
        calls: Some(2),
        // Certificate lists are fetched at start, perhaps for a bind that
        // came before that fetch, at the refresh step and at the two forced
        // syncs at the end. A restart adds the first two again.
        max_calls: &[
            (Route::PutBinding, 2, 3),
            (Route::Token, 1, 2),
            (Route::ListNotifiers, 5, 7),
        ],
        local: &[
            Local {
                user: "u1",
                notifier: "fcm-main",
                state: SyncState::Synced,
                note: Some(NOT_LISTED),
            },
            Local {
                user: "u1",
                notifier: "prod-apns",
                state: SyncState::Synced,
                note: None,
            },
        ],
        ..Scenario::default()
    })
    .await;
}

const DISABLED: &str = "is disabled on the server";

#[tokio::test(flavor = "multi_thread")]
async fn certificate_disabled_on_server() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            Bind("prod-apns", "A1"),
            WaitIdle,
            CertificateDisabled("prod-apns"),
            RefreshCertificates,
            ExpectState("u1", "prod-apns", SyncState::Synced, Some(DISABLED)),
            Bind("prod-apns", "A2"),
            // The new token lands and the binding stays flagged.
            ExpectState("u1", "prod-apns", SyncState::Synced, Some(DISABLED)),
        ],
        expected: &[("u1", "prod-apns", "A2")],
        calls: Some(2),
        max_calls: &[
            (Route::PutBinding, 2, 3),
            (Route::Token, 1, 2),
            (Route::ListNotifiers, 5, 7),
        ],
        local: &[Local {
            user: "u1",
            notifier: "prod-apns",
            state: SyncState::Synced,
            note: Some(DISABLED),
        }],
        ..Scenario::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_client_secret_then_fixed() {
    run_all(Scenario {
        steps: &[
            EditConfig(CLIENT_SECRET, "wrong-secret"),
            Login("u1"),
            Bind("fcm-main", "T1"),
            ExpectProblem(&["rejected client_id", "restart pushbindd"]),
            SyncNow,
            ExpectState("u1", "fcm-main", SyncState::Pending, None),
            EditConfig("wrong-secret", CLIENT_SECRET),
        ],
        expected: &[("u1", "fcm-main", "T1")],
        calls: Some(1),
        // One token request per daemon start: with the right secret, with
        // the wrong one, and with the right one again.
        max_calls: &[(Route::Token, 3, 4), (Route::PutBinding, 1, 2)],
        local: &[Local {
            user: "u1",
            notifier: "fcm-main",
            state: SyncState::Synced,
            note: None,
        }],
        ..Scenario::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_app_then_fixed() {
    run_all(Scenario {
        steps: &[
            EditConfig("app_key = \"org#app\"", "app_key = \"org#nope\""),
            Login("u1"),
            Bind("fcm-main", "T1"),
            ExpectProblem(&["organization_application_not_found", "app_key"]),
            SyncNow,
            ExpectState("u1", "fcm-main", SyncState::Pending, None),
            EditConfig("app_key = \"org#nope\"", "app_key = \"org#app\""),
        ],
        expected: &[("u1", "fcm-main", "T1")],
        calls: Some(1),
        max_calls: &[(Route::Token, 3, 4), (Route::PutBinding, 1, 2)],
        local: &[Local {
            user: "u1",
            notifier: "fcm-main",
            state: SyncState::Synced,
            note: None,
        }],
        ..Scenario::default()
    })
    .await;
}

const BEARER: &str = "auth = \"bearer_token\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_expires_with_call_queued() {
    run_all(Scenario {
        steps: &[
            LoginWithNewToken("u1"),
            Bind("fcm-main", "T1"),
            WaitIdle,
            TokensExpire,
            Bind("fcm-main", "T2"),
            ExpectTokenNeeded,
            SyncNow,
            LoginWithNewToken("u1"),
        ],
        config: BEARER,
        expected: &[("u1", "fcm-main", "T2")],
        // T1, T2 rejected once, T2 with the new token.
        max_calls: &[(Route::Token, 0, 0), (Route::PutBinding, 3, 4)],
        local: &[Local {
            user: "u1",
            notifier: "fcm-main",
            state: SyncState::Synced,
            note: None,
        }],
        ..Scenario::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_expires_while_idle() {
    run_all(Scenario {
        steps: &[
            LoginWithNewToken("u1"),
            Bind("fcm-main", "T1"),
            WaitIdle,
            TokensExpire,
            SyncNow,
            ExpectTokenNeeded,
            LoginWithNewToken("u1"),
            Bind("fcm-main", "T2"),
        ],
        config: BEARER,
        expected: &[("u1", "fcm-main", "T2")],
        max_calls: &[(Route::Token, 0, 0), (Route::PutBinding, 2, 3)],
        local: &[Local {
            user: "u1",
            notifier: "fcm-main",
            state: SyncState::Synced,
            note: None,
        }],
        ..Scenario::default()
    })
    .await;
}

const USER_NOT_FOUND: &str = "user not found";

#[tokio::test(flavor = "multi_thread")]
async fn user_not_found_as_400_then_created() {
    run_all(Scenario {
        steps: &[
            Login("ghost"),
            Bind("fcm-main", "T1"),
            ExpectState("ghost", "fcm-main", SyncState::Parked, Some(USER_NOT_FOUND)),
            SyncNow,
            ServerAddsUser("ghost"),
            // A repeated bind of the parked token is a request to try again.
            Bind("fcm-main", "T1"),
        ],
        expected: &[("ghost", "fcm-main", "T1")],
        calls: Some(2),
        max_calls: &[(Route::PutBinding, 2, 3), (Route::Token, 1, 2)],
        local: &[Local {
            user: "ghost",
            notifier: "fcm-main",
            state: SyncState::Synced,
            note: None,
        }],
        ..Scenario::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_not_found_as_404_stays_parked() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            ServerAnswers(404, Some("service_resource_not_found")),
            Bind("fcm-main", "T1"),
            ExpectState("u1", "fcm-main", SyncState::Parked, Some(USER_NOT_FOUND)),
            SyncNow,
        ],
        expected: &[],
        calls: Some(1),
        max_calls: &[(Route::PutBinding, 1, 2), (Route::Token, 1, 2)],
        local: &[Local {
            user: "u1",
            notifier: "fcm-main",
            state: SyncState::Parked,
            note: Some(USER_NOT_FOUND),
        }],
        ..Scenario::default()
    })
    .await;
}

const NOT_JSON: &str = "with a body that is not JSON (text/html";

#[tokio::test(flavor = "multi_thread")]
async fn proxy_html_502_is_retried() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            ProxyPage(502),
            Bind("fcm-main", "T1"),
            ExpectState("u1", "fcm-main", SyncState::Retrying, Some(NOT_JSON)),
            ServerUp,
        ],
        expected: &[("u1", "fcm-main", "T1")],
        // Retries back off from 50 ms to 400 ms, and the outage ends as soon
        // as status shows the first failure.
        max_calls: &[(Route::PutBinding, 10, 15), (Route::Token, 1, 2)],
        local: &[Local {
            user: "u1",
            notifier: "fcm-main",
            state: SyncState::Synced,
            note: None,
        }],
        ..Scenario::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_html_403_is_parked() {
    run_all(Scenario {
        steps: &[
            Login("u1"),
            ProxyPage(403),
            Bind("fcm-main", "T1"),
            ExpectState("u1", "fcm-main", SyncState::Parked, Some(NOT_JSON)),
        ],
        expected: &[],
        calls: Some(1),
        max_calls: &[(Route::PutBinding, 1, 2), (Route::Token, 1, 2)],
        local: &[Local {
            user: "u1",
            notifier: "fcm-main",
            state: SyncState::Parked,
            note: Some("perhaps from a proxy"),
        }],
        ..Scenario::default()
    })
    .await;
}

/// Both bindings, synced without a note.
const BOTH_SYNCED: &[Local] = &[
    Local {
        user: "u1",
        notifier: "fcm-main",
        state: SyncState::Synced,
        note: None,
    },
    Local {
        user: "u1",
        notifier: "prod-apns",
        state: SyncState::Synced,
        note: None,
    },
];

/// Two calls waiting through an outage, then something happens to time.
/// The retry ceiling is 400 ms, so both calls are due well within a second
/// of the daemon running again, and each is sent once.
const fn outage_then(event: Step) -> [Step; 6] {
    [
        Login("u1"),
        ServerDown,
        Bind("fcm-main", "T1"),
        Bind("prod-apns", "A1"),
        event,
        ExpectPromptLanding {
            within_ms: 1000,
            max_calls: 2,
        },
    ]
}

const LID_CLOSED: [Step; 6] = outage_then(LidClosed(1500));

#[tokio::test(flavor = "multi_thread")]
async fn lid_closed_during_retries() {
    run_all(Scenario {
        steps: &LID_CLOSED,
        expected: &[("u1", "fcm-main", "T1"), ("u1", "prod-apns", "A1")],
        max_calls: &[(Route::Token, 1, 2)],
        local: BOTH_SYNCED,
        ..Scenario::default()
    })
    .await;
}

const CLOCK_BACK_HOURS: [Step; 6] = outage_then(ClockJump(-3));

#[tokio::test(flavor = "multi_thread")]
async fn clock_set_back_hours_during_retries() {
    run_all(Scenario {
        steps: &CLOCK_BACK_HOURS,
        expected: &[("u1", "fcm-main", "T1"), ("u1", "prod-apns", "A1")],
        local: BOTH_SYNCED,
        ..Scenario::default()
    })
    .await;
}

const CLOCK_BACK_DAYS: [Step; 6] = outage_then(ClockJump(-48));

#[tokio::test(flavor = "multi_thread")]
async fn clock_set_back_days_during_retries() {
    run_all(Scenario {
        steps: &CLOCK_BACK_DAYS,
        expected: &[("u1", "fcm-main", "T1"), ("u1", "prod-apns", "A1")],
        local: BOTH_SYNCED,
        ..Scenario::default()
    })
    .await;
}

const CLOCK_FORWARD_DAYS: [Step; 6] = outage_then(ClockJump(48));

#[tokio::test(flavor = "multi_thread")]
async fn clock_set_forward_days_during_retries() {
    run_all(Scenario {
        steps: &CLOCK_FORWARD_DAYS,
        expected: &[("u1", "fcm-main", "T1"), ("u1", "prod-apns", "A1")],
        local: BOTH_SYNCED,
        ..Scenario::default()
    })
    .await;
}
