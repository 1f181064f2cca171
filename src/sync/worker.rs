//! The sync worker task: one loop that waits for a command, a due item or a
//! timer, then runs a pass.

use std::sync::Arc;
use std::time::Duration;

use pushbind_client::protocol::SyncReport;
use pushbind_client::protocol::{EVENT_QUEUE_LEN, Event};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{Instant, sleep_until};

use super::backoff::{MAX_RETRY_AFTER, jittered, paced_delay, retry_delay};
use super::failure::{ApiError, FailureKind};
use super::http::ImClient;
use super::{Command, SyncHandle, publish, refresh_notifiers};
use crate::config::SyncSettings;
use crate::store::outbox::{self, Attempt, OutboxItem};
use crate::store::{Store, StoreError, bindings, now_millis};

/// Maximum sleep between passes, so timers are re-checked after a clock
/// jump or a suspended machine.
const MAX_SLEEP: Duration = Duration::from_secs(60);

struct Worker {
    store: Store,
    client: Result<Arc<ImClient>, String>,
    device_id: String,
    settings: SyncSettings,
    commands: mpsc::UnboundedReceiver<Command>,
    progress: watch::Sender<u64>,
    /// No outbox call before this instant, after a failure that concerns
    /// every call.
    paused_until: Option<Instant>,
    next_reconcile: Instant,
    reconcile_requested: bool,
    next_notifier_refresh: Instant,
    /// The last pass's failure, shown in status until a pass succeeds.
    health: Arc<std::sync::Mutex<Option<String>>>,
    /// Turns true when the daemon stops.
    stop: watch::Receiver<bool>,
    events: broadcast::Sender<Event>,
    /// The reason the last comparison with the server failed, kept until one
    /// succeeds.
    reconcile_error: Option<String>,
    /// Whether the last server call failed with a transient error, so that
    /// the next success means the server is reachable again.
    server_was_down: bool,
    /// The bearer token rejection count last announced with `TokenNeeded`.
    token_needed_announced: u64,
    /// The user and this device's bindings from the response to this pass's
    /// last successful binding call.
    last_answer: Option<(String, Vec<(String, String)>)>,
    /// Binding calls in a row that received 429 `reach_limit`, for paced
    /// retries.
    limited_in_a_row: u32,
    /// Failed comparisons with the server in a row.
    reconcile_failures: u32,
    /// Failed certificate list fetches in a row.
    refresh_failures: u32,
}

/// Starts the worker. It stops when `shutdown` turns true, after the call
/// in flight; the call's result is recorded first.
pub fn spawn(
    store: Store,
    client: Result<Arc<ImClient>, String>,
    device_id: String,
    settings: SyncSettings,
    shutdown: watch::Receiver<bool>,
) -> (SyncHandle, tokio::task::JoinHandle<()>) {
    let (commands, receiver) = mpsc::unbounded_channel();
    let (progress, progress_receiver) = watch::channel(0);
    let health = Arc::new(std::sync::Mutex::new(None));
    let (events, _) = broadcast::channel(EVENT_QUEUE_LEN);
    let now = Instant::now();
    let worker = Worker {
        store: store.clone(),
        client: client.clone(),
        device_id,
        settings,
        commands: receiver,
        progress,
        paused_until: None,
        next_reconcile: now,
        reconcile_requested: true,
        next_notifier_refresh: now,
        health: health.clone(),
        events: events.clone(),
        stop: shutdown,
        reconcile_error: None,
        server_was_down: false,
        token_needed_announced: 0,
        last_answer: None,
        limited_in_a_row: 0,
        reconcile_failures: 0,
        refresh_failures: 0,
    };
    let task = tokio::spawn(worker.run());
    let handle = SyncHandle {
        commands,
        progress: progress_receiver,
        client,
        store,
        health,
        events,
    };
    (handle, task)
}

impl Worker {
    async fn run(mut self) {
        tracing::info!(device_id = %self.device_id, "sync worker started");
        let mut shutdown = self.stop.clone();
        let mut pass_due = true;
        loop {
            if pass_due {
                self.pass().await;
            }
            let wake = self.next_wake().await;
            pass_due = tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                command = self.commands.recv() => match command {
                    Some(command) => self.handle(command).await,
                    None => break,
                },
                _ = sleep_until(wake) => true,
            };
            if *shutdown.borrow() {
                break;
            }
        }
        tracing::info!("sync worker stopped");
    }

    /// Acts on `command`. Returns whether a pass is still due, which is
    /// false after a forced sync that ran one itself.
    async fn handle(&mut self, command: Command) -> bool {
        match command {
            Command::Kick => {}
            Command::LoggedIn => self.reconcile_requested = true,
            Command::RefreshNotifiers => self.next_notifier_refresh = Instant::now(),
            Command::SyncNow { reply } => {
                self.paused_until = None;
                self.reconcile_requested = true;
                self.next_notifier_refresh = Instant::now();
                let now = now_millis();
                if let Err(err) = self
                    .store
                    .write(move |tx| outbox::make_all_due(tx, now))
                    .await
                {
                    tracing::error!(error = %err, "cannot reschedule the outbox");
                }
                let mut report = self.pass().await;
                report.completed = true;
                (report.pending, report.unsynced) = self.counts().await;
                if let Some(reply) = reply {
                    let _ = reply.send(report);
                }
                return false;
            }
        }
        true
    }

    /// When the next pass is due: the next outbox item, reconcile or
    /// certificate refresh, whichever comes first.
    async fn next_wake(&self) -> Instant {
        let now = Instant::now();
        let mut wake = now + MAX_SLEEP;
        let Ok(client) = &self.client else {
            return wake;
        };
        if client.auth_problem().await.is_some() {
            // Nothing is sent until a login or a restart changes the
            // credentials; both wake the worker.
            return wake;
        }
        wake = wake
            .min(self.next_reconcile)
            .min(self.next_notifier_refresh);
        let next_item = self.store.read(outbox::next_attempt_at).await;
        if let Ok(Some(at)) = next_item {
            let delay = Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0));
            wake = wake.min(now + delay);
        }
        if let Some(paused) = self.paused_until {
            wake = wake.max(paused.min(now + MAX_SLEEP));
        }
        wake
    }

    async fn pass(&mut self) -> SyncReport {
        let mut report = SyncReport::default();
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(problem) => {
                report.error = Some(problem.clone());
                return report;
            }
        };
        if let Some(problem) = client.auth_problem().await {
            self.announce_token_needed(&client);
            report.error = Some(problem);
            return report;
        }
        let now = Instant::now();
        let stop = self.stop.clone();
        if now >= self.next_notifier_refresh {
            unless_stopping(&stop, self.refresh_notifiers(&client)).await;
        }
        if self.reconcile_requested || now >= self.next_reconcile {
            unless_stopping(&stop, self.reconcile(&client)).await;
        }
        let paused = self.paused_until.is_some_and(|until| now < until);
        if let Err(err) = self.drain(&client, &mut report).await {
            tracing::error!(error = %err, "sync pass failed");
            report.error = Some(err.to_string());
            self.paused_until = Some(Instant::now() + self.settings.retry_initial);
        }
        if let (None, Some(problem)) = (&report.error, client.auth_problem().await) {
            report.error = Some(problem);
        }
        self.note_server_state(&report).await;
        if report.error.is_none() {
            report.error = self.reconcile_error.clone();
        }
        if !paused {
            *self.health.lock().expect("health lock") = report.error.clone();
        }
        self.announce_token_needed(&client);
        self.progress.send_modify(|count| *count += 1);
        report
    }

    /// Publishes `TokenNeeded` once for each rejection of the bearer token,
    /// whichever call met it: a binding call, a comparison or a
    /// certificate list fetch.
    fn announce_token_needed(&mut self, client: &ImClient) {
        let Some((count, reason)) = client.token_needed() else {
            return;
        };
        if count > self.token_needed_announced {
            self.token_needed_announced = count;
            let needed = Event::TokenNeeded {
                notifier_name: None,
                reason,
            };
            publish(&self.events, needed);
        }
    }

    /// Compares bindings with the server once calls succeed again after
    /// transient failures: the server may have changed while unreachable.
    ///
    /// A binding call's response lists this device's bindings for its user,
    /// which is all the comparison repairs. When such a response for the
    /// logged-in user came back, it serves as the comparison, so a fleet of
    /// daemons that recovers together spends none of the app's shared rate
    /// limit on list calls. Otherwise the list is fetched.
    async fn note_server_state(&mut self, report: &SyncReport) {
        let answer = self.last_answer.take();
        if report.retrying > 0 {
            self.server_was_down = true;
            return;
        }
        if !self.server_was_down || report.confirmed == 0 {
            return;
        }
        self.server_was_down = false;
        let current = self.store.read(bindings::current_user).await;
        if let (Some((user, mine)), Ok(Some(current))) = (answer, current)
            && user == current
        {
            tracing::info!(
                "server reachable again; comparing bindings with a binding call's response"
            );
            match self.compare(user, mine, None).await {
                Ok(()) => {
                    self.reconcile_error = None;
                    self.reconcile_failures = 0;
                    return;
                }
                Err(err) => tracing::warn!(error = %err, "cannot compare bindings"),
            }
        }
        tracing::info!("server reachable again; comparing bindings");
        self.next_reconcile = Instant::now();
    }

    async fn refresh_notifiers(&mut self, client: &ImClient) {
        let interval = self.settings.notifier_refresh_interval;
        let delay = match refresh_notifiers(client, &self.store, &self.events).await {
            Ok(()) => {
                self.refresh_failures = 0;
                jittered(interval)
            }
            Err(err) => {
                self.refresh_failures = self.refresh_failures.saturating_add(1);
                self.timer_retry(self.refresh_failures, err.kind, interval)
            }
        };
        self.next_notifier_refresh = Instant::now() + delay;
    }

    async fn reconcile(&mut self, client: &ImClient) {
        self.reconcile_requested = false;
        let interval = self.settings.reconcile_interval;
        let delay = match self.reconcile_user(client).await {
            Ok(()) => {
                self.reconcile_error = None;
                self.reconcile_failures = 0;
                jittered(interval)
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot compare bindings with the server");
                let problem = format!("cannot compare bindings with the server: {err}");
                self.reconcile_error = Some(problem);
                self.reconcile_failures = self.reconcile_failures.saturating_add(1);
                if err.kind.is_transient() && self.has_waiting_calls().await {
                    // A queued binding call is retried anyway, and when it
                    // goes through the comparison follows (see
                    // `note_server_state`): a retry of its own would only
                    // add a call per device to a recovering server.
                    self.server_was_down = true;
                    jittered(interval)
                } else {
                    self.timer_retry(self.reconcile_failures, err.kind, interval)
                }
            }
        };
        self.next_reconcile = Instant::now() + delay;
    }

    /// Returns the delay before a periodic comparison or list fetch is tried
    /// again after its `failures`-th failure in a row, of `kind`. It is paced
    /// like binding calls when the fleet's size is known. Otherwise it is
    /// `retry_max` or `interval`, whichever is shorter, with jitter.
    fn timer_retry(&self, failures: u32, kind: FailureKind, interval: Duration) -> Duration {
        self.paced_delay(failures, kind, failures)
            .unwrap_or_else(|| jittered(self.settings.retry_max.min(interval)))
    }

    /// Returns the paced delay after a failure (see
    /// [`super::backoff::paced_delay`]), or `None` when the fleet's size is
    /// not configured or the failure is not paced. The window is at least
    /// `retry_initial`.
    fn paced_delay(
        &self,
        attempt: u32,
        kind: FailureKind,
        limited_in_a_row: u32,
    ) -> Option<Duration> {
        let initial = self.settings.retry_initial;
        let window = self.settings.fleet_window?.max(initial);
        paced_delay(attempt, kind, limited_in_a_row, window, initial)
    }

    /// Returns whether a binding call is queued and not parked.
    async fn has_waiting_calls(&self) -> bool {
        matches!(self.store.read(outbox::next_attempt_at).await, Ok(Some(_)))
    }

    /// Fetches the logged-in user's bindings and compares them with the
    /// store's. A database failure is reported as a transient one.
    async fn reconcile_user(&self, client: &ImClient) -> Result<(), ApiError> {
        let stored = |message: String| ApiError::new(FailureKind::Transient, message);
        let user = self
            .store
            .read(bindings::current_user)
            .await
            .map_err(|err| stored(err.to_string()))?;
        let Some(user) = user else { return Ok(()) };
        let remote = client.get_bindings(&user, &self.device_id).await?;
        let (mine, others): (Vec<_>, Vec<_>) = remote
            .into_iter()
            .partition(|binding| binding.device_id == self.device_id);
        let mine: Vec<(String, String)> = mine
            .into_iter()
            .map(|binding| (binding.notifier_name, binding.device_token))
            .collect();
        let others: Vec<(String, String, String)> = others
            .into_iter()
            .map(|binding| {
                (
                    binding.device_id,
                    binding.notifier_name,
                    binding.device_token,
                )
            })
            .collect();
        self.compare(user, mine, Some(others))
            .await
            .map_err(|message| ApiError::new(FailureKind::Transient, message))
    }

    /// Repairs `user`'s bindings from the server's list of this device's,
    /// `mine`, and publishes an event for each binding the server removed.
    /// `others` are the user's bindings on other devices, when the server's
    /// response included them.
    async fn compare(
        &self,
        user: String,
        mine: Vec<(String, String)>,
        others: Option<Vec<(String, String, String)>>,
    ) -> Result<(), String> {
        let user_id = user.clone();
        let now = now_millis();
        let change = self
            .store
            .write(move |tx| outbox::reconcile(tx, &user, &mine, others.as_deref(), now))
            .await
            .map_err(|err| err.to_string())?;
        if change != Default::default() {
            tracing::info!(
                repaired = ?change.repaired,
                removed_by_server = ?change.removed_by_server,
                stale = ?change.stale,
                unmanaged = ?change.unmanaged.len(),
                "compared bindings with the server"
            );
        }
        for name in change.removed_by_server {
            publish(
                &self.events,
                Event::BindingRemovedByServer {
                    user_id: user_id.clone(),
                    notifier_name: name.clone(),
                },
            );
            let reason = "the server removed the binding; supply a fresh device token".to_owned();
            let needed = Event::TokenNeeded {
                notifier_name: Some(name),
                reason,
            };
            publish(&self.events, needed);
        }
        Ok(())
    }

    /// Sends due items until none is due or a failure pauses the outbox.
    async fn drain(
        &mut self,
        client: &ImClient,
        report: &mut SyncReport,
    ) -> Result<(), StoreError> {
        if self
            .paused_until
            .is_some_and(|until| Instant::now() < until)
        {
            return Ok(());
        }
        self.paused_until = None;
        let max_delay = MAX_RETRY_AFTER + self.settings.retry_max;
        let max_delay_ms = i64::try_from(max_delay.as_millis()).unwrap_or(i64::MAX);
        let now = now_millis();
        let clamped = self
            .store
            .write(move |tx| outbox::clamp_schedule(tx, now, max_delay_ms))
            .await?;
        if clamped > 0 {
            tracing::warn!(clamped, "rescheduled calls that were due implausibly late");
        }
        let stop = self.stop.clone();
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let now = now_millis();
            let Some(item) = self
                .store
                .read(move |conn| outbox::next_due(conn, now))
                .await?
            else {
                return Ok(());
            };
            let call = client.put_binding(
                &item.user_id,
                &self.device_id,
                &item.notifier_name,
                &item.device_token,
            );
            let Some(result) = unless_stopping(&stop, call).await else {
                tracing::info!(
                    item = item.id,
                    "call abandoned at shutdown; it stays queued"
                );
                return Ok(());
            };
            self.limited_in_a_row = match &result {
                Err(err) if err.kind == FailureKind::RateLimited => {
                    self.limited_in_a_row.saturating_add(1)
                }
                _ => 0,
            };
            let attempt = match result {
                Ok(remaining) => self.applied(remaining),
                Err(err) if err.kind.is_transient() => self.retry(&item, &err),
                Err(err) if err.kind.pauses_all_calls() => {
                    tracing::warn!(error = %err, "server calls stopped until the credentials change");
                    report.error = Some(err.message);
                    // The client records the rejection and the worker then
                    // sleeps until a command; this pause guards against a
                    // failure it did not record.
                    self.paused_until = Some(Instant::now() + self.settings.retry_initial);
                    return Ok(());
                }
                Err(err) => Attempt::Park { error: err.message },
            };
            self.record(&item, attempt.clone()).await?;
            match attempt {
                Attempt::Applied { remaining } => {
                    report.confirmed += 1;
                    self.last_answer = Some((item.user_id.clone(), remaining));
                }
                Attempt::Park { .. } => report.parked += 1,
                Attempt::Retry { error, .. } => {
                    report.retrying += 1;
                    report.error = Some(format!("server call failed, will retry: {error}"));
                    return Ok(());
                }
            }
        }
    }

    fn applied(&self, remaining: Vec<super::http::RemoteBinding>) -> Attempt {
        let remaining = remaining
            .into_iter()
            .filter(|binding| binding.device_id == self.device_id)
            .map(|binding| (binding.notifier_name, binding.device_token))
            .collect();
        Attempt::Applied { remaining }
    }

    fn retry(&mut self, item: &OutboxItem, err: &ApiError) -> Attempt {
        let attempt = item.attempts + 1;
        // A server failure with `Retry-After`, or a wait before the next
        // token request, is paced too, but never sooner than that wait. A
        // 429 with `Retry-After` follows the server alone.
        let paced = match err.retry_after {
            Some(_) if err.kind != FailureKind::Transient => None,
            after => self
                .paced_delay(attempt, err.kind, self.limited_in_a_row)
                .map(|delay| delay.max(after.unwrap_or_default())),
        };
        let delay = paced.unwrap_or_else(|| {
            retry_delay(
                attempt,
                err.kind,
                err.retry_after,
                self.settings.retry_initial,
                self.settings.retry_max,
            )
        });
        tracing::info!(
            item = item.id,
            attempt = item.attempts + 1,
            delay_ms = delay.as_millis() as u64,
            error = %err,
            "server call failed, will retry"
        );
        self.paused_until = Some(Instant::now() + delay);
        let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        Attempt::Retry {
            error: err.message.clone(),
            next_attempt_at: now_millis().saturating_add(delay_ms),
        }
    }

    async fn record(&self, item: &OutboxItem, attempt: Attempt) -> Result<(), StoreError> {
        match &attempt {
            Attempt::Applied { .. } => {
                tracing::info!(item = item.id, user = %item.user_id, notifier = %item.notifier_name, "server confirmed binding change")
            }
            Attempt::Park { error } => {
                tracing::warn!(item = item.id, user = %item.user_id, notifier = %item.notifier_name, %error, "server rejected binding change; parked")
            }
            Attempt::Retry { .. } => {}
        }
        let event = attempt_event(item, &attempt);
        let item = item.clone();
        let now = now_millis();
        self.store
            .write(move |tx| outbox::record(tx, &item, &attempt, now))
            .await?;
        publish(&self.events, event);
        self.progress.send_modify(|count| *count += 1);
        Ok(())
    }

    /// Queued calls, and bindings that are not synced.
    async fn counts(&self) -> (u32, u32) {
        let counts = self
            .store
            .read(|conn| {
                let pending = crate::store::status::outbox_summary(conn)?.pending;
                let bindings = crate::store::status::bindings(conn)?;
                let unsynced = bindings
                    .iter()
                    .filter(|binding| binding.state != pushbind_client::protocol::SyncState::Synced)
                    .count();
                Ok((pending, u32::try_from(unsynced).unwrap_or(u32::MAX)))
            })
            .await;
        counts.unwrap_or_else(|err| {
            tracing::error!(error = %err, "cannot count queued calls");
            (0, 0)
        })
    }
}

/// Builds the event that reports an attempt at `item` to subscribers.
fn attempt_event(item: &OutboxItem, attempt: &Attempt) -> Event {
    let (user_id, notifier_name) = (item.user_id.clone(), item.notifier_name.clone());
    match attempt {
        Attempt::Applied { remaining } => Event::BindingConfirmed {
            device_token: remaining
                .iter()
                .find(|(name, _)| *name == item.notifier_name)
                .map(|(_, token)| crate::fingerprint::fingerprint(token)),
            user_id,
            notifier_name,
        },
        Attempt::Retry { error, .. } => Event::BindingFailed {
            user_id,
            notifier_name,
            reason: error.clone(),
            will_retry: true,
        },
        Attempt::Park { error } => Event::BindingFailed {
            user_id,
            notifier_name,
            reason: error.clone(),
            will_retry: false,
        },
    }
}

/// Runs `call` unless the daemon stops first, and returns `None` when it
/// stopped. A server call abandoned this way stays queued and is sent again
/// after the restart; `PUT push/binding` is idempotent.
async fn unless_stopping<T>(
    stop: &watch::Receiver<bool>,
    call: impl std::future::Future<Output = T>,
) -> Option<T> {
    let mut stop = stop.clone();
    tokio::select! {
        biased;
        // An error means the daemon dropped the sender: it is stopping too.
        _ = stop.wait_for(|stopping| *stopping) => None,
        value = call => Some(value),
    }
}
