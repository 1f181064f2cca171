//! Keeping the server in step with the store.
//!
//! One worker task owns all sync traffic. Each pass it refreshes the
//! certificate list when due, compares the logged-in user's bindings with
//! the server's when due, and then sends due outbox items one at a time,
//! oldest first. A transient failure schedules that item with back-off and
//! pauses the outbox for the same delay, since the server is likely failing
//! every call; a permanent failure parks the item and the pass goes on.

pub mod backoff;
pub mod failure;
pub mod http;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use pushbind_client::protocol::{ErrorCode, ErrorReply, Event, SyncReport};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

pub use worker::spawn;

use crate::store::{Store, notifiers};
use failure::{ApiError, FailureKind};
use http::ImClient;

/// Requests to the worker.
#[derive(Debug)]
enum Command {
    /// New outbox items were committed.
    Kick,
    /// A user logged in: compare bindings with the server soon.
    LoggedIn,
    /// The certificate list is missing or stale: fetch it in the next pass.
    RefreshNotifiers,
    /// Run a pass now with every waiting item due, and reply with its
    /// results.
    SyncNow {
        reply: Option<oneshot::Sender<SyncReport>>,
    },
}

/// Handle to the sync worker, shared by the local API handlers.
#[derive(Clone, Debug)]
pub struct SyncHandle {
    commands: mpsc::UnboundedSender<Command>,
    progress: watch::Receiver<u64>,
    client: Result<Arc<ImClient>, String>,
    store: Store,
    health: Arc<std::sync::Mutex<Option<String>>>,
    events: broadcast::Sender<Event>,
}

impl SyncHandle {
    /// Wakes the worker for newly committed outbox items.
    pub fn kick(&self) {
        let _ = self.commands.send(Command::Kick);
    }

    /// Tells the worker that a user logged in.
    pub fn logged_in(&self) {
        let _ = self.commands.send(Command::LoggedIn);
    }

    /// Asks the worker to fetch the certificate list before it sends
    /// anything else.
    pub fn notifiers_stale(&self) {
        let _ = self.commands.send(Command::RefreshNotifiers);
    }

    /// Runs a pass now. With `wait`, returns the pass's results.
    pub async fn sync_now(&self, wait: bool) -> SyncReport {
        if !wait {
            let _ = self.commands.send(Command::SyncNow { reply: None });
            return SyncReport::default();
        }
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(Command::SyncNow { reply: Some(reply) })
            .is_err()
        {
            return stopped_report();
        }
        answer.await.unwrap_or_else(|_| stopped_report())
    }

    /// Returns a receiver that changes after every recorded attempt and
    /// every pass from now on.
    pub fn progress(&self) -> watch::Receiver<u64> {
        let mut progress = self.progress.clone();
        progress.mark_unchanged();
        progress
    }

    /// Fetches the certificate list into the cache now. A failure carries
    /// the local API's error code for it.
    pub async fn refresh_notifiers(&self) -> Result<(), ErrorReply> {
        let client = match &self.client {
            Ok(client) => client,
            Err(problem) => return Err(ErrorReply::new(ErrorCode::NotConfigured, problem.clone())),
        };
        refresh_notifiers(client, &self.store, &self.events)
            .await
            .map_err(api_reply)
    }

    /// Uploads a checked certificate (`POST notifiers`). A failure carries
    /// the local API's error code for it.
    pub async fn upload_notifier(
        &self,
        form: &crate::certs::UploadForm,
    ) -> Result<notifiers::NotifierRecord, ErrorReply> {
        let client = self.api_client()?;
        client.upload_notifier(form).await.map_err(api_reply)
    }

    /// Deletes the certificate `uuid` (`DELETE notifiers/{uuid}`).
    pub async fn delete_notifier(
        &self,
        uuid: &str,
    ) -> Result<notifiers::NotifierRecord, ErrorReply> {
        let client = self.api_client()?;
        client.delete_notifier(uuid).await.map_err(api_reply)
    }

    fn api_client(&self) -> Result<&Arc<ImClient>, ErrorReply> {
        self.client
            .as_ref()
            .map_err(|problem| ErrorReply::new(ErrorCode::NotConfigured, problem.clone()))
    }

    /// Sends `event` to every subscriber.
    pub fn publish(&self, event: Event) {
        publish(&self.events, event);
    }

    /// Returns the reason no call can be sent until the configuration or the
    /// credentials change, if there is one.
    pub async fn blocked(&self) -> Option<String> {
        match &self.client {
            Ok(client) => client.auth_problem().await,
            Err(problem) => Some(problem.clone()),
        }
    }

    /// Returns the reason the daemon cannot sync now: missing
    /// configuration, rejected credentials, or the last pass's failure.
    pub async fn problem(&self) -> Option<String> {
        match &self.client {
            Ok(_) => match self.blocked().await {
                Some(problem) => Some(problem),
                None => self.health.lock().expect("health lock").clone(),
            },
            Err(problem) => Some(problem.clone()),
        }
    }

    /// Returns a receiver of every event from now on, with a queue of
    /// [`pushbind_client::protocol::EVENT_QUEUE_LEN`] events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Hands the app's new bearer token to the server client.
    pub async fn set_bearer(&self, token: String) {
        if let Ok(client) = &self.client {
            client.set_bearer(token).await;
        }
    }
}

/// Turns a failed server call into an error reply: transient failures are
/// `server_unavailable`, the others `server_rejected`.
fn api_reply(err: ApiError) -> ErrorReply {
    let code = match err.kind {
        kind if kind.is_transient() => ErrorCode::ServerUnavailable,
        _ => ErrorCode::ServerRejected,
    };
    ErrorReply::new(code, err.message)
}

fn stopped_report() -> SyncReport {
    SyncReport {
        error: Some("the sync worker has stopped; pushbindd is shutting down".into()),
        ..SyncReport::default()
    }
}

/// Fetches the certificate list and replaces the cache. A failure is kept
/// in the cache's status and returned.
/// Sends `event` to every subscriber; an event with none is dropped.
fn publish(events: &broadcast::Sender<Event>, event: Event) {
    let _ = events.send(event);
}

async fn refresh_notifiers(
    client: &ImClient,
    store: &Store,
    events: &broadcast::Sender<Event>,
) -> Result<(), ApiError> {
    let stored =
        |err: crate::store::StoreError| ApiError::new(FailureKind::Transient, err.to_string());
    match client.list_notifiers().await {
        Ok(list) => {
            let count = list.len();
            let now = crate::store::now_millis();
            let mut names: Vec<String> = list.iter().map(|n| n.name.clone()).collect();
            names.sort();
            let before = store
                .write(move |tx| {
                    let before = notifiers::list(tx)?;
                    notifiers::replace(tx, &list, now)?;
                    Ok(before)
                })
                .await
                .map_err(stored)?;
            let mut before: Vec<String> = before.into_iter().map(|n| n.name).collect();
            before.sort();
            if before != names {
                publish(events, Event::NotifiersChanged { names });
            }
            tracing::debug!(count, "refreshed certificate list");
            Ok(())
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot fetch the certificate list");
            let message = err.message.clone();
            store
                .write(move |tx| notifiers::record_error(tx, &message))
                .await
                .map_err(stored)?;
            Err(err)
        }
    }
}

/// Time after which a `wait` request gets a reply with the state so far.
pub const WAIT_LIMIT: Duration = Duration::from_secs(30);
