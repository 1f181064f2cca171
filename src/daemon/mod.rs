//! The daemon as a library: [`run`] takes every path from its options, so
//! tests run it in-process on temporary directories and the `pushbindd`
//! binary is a thin wrapper.

mod certs;
mod handlers;
mod server;
pub mod socket;

use std::future::Future;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::{Auth, Config, ConfigError};
use crate::store::{Store, StoreError};
use crate::sync::http::ImClient;
use crate::sync::{self, SyncHandle};

/// Time the worker gets to record a result at shutdown. It abandons a
/// server call in flight at once (the call stays queued), so this bounds
/// only database work; a worker still running after it is aborted.
const WORKER_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Time the database threads get to finish queued jobs at shutdown. Jobs
/// still queued after it were never acknowledged, so nothing is lost by
/// leaving them.
const STORE_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Time open connections get to finish their request at shutdown.
const CONNECTION_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A reason the daemon cannot start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("unsafe socket directory {}: {reason}", path.display())]
    RuntimeDir { path: PathBuf, reason: String },
    #[error(
        "another pushbindd (pid {pid}) is already running with {resource}; stop it first, or give this one its own socket (--socket) and data_dir"
    )]
    AlreadyRunning { resource: String, pid: String },
    #[error("cannot use lock file {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {}: {source}", path.display())]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the sync worker failed ({0}); pushbindd stopped so that a service manager restarts it"
    )]
    WorkerFailed(String),
}

/// Everything [`run`] needs.
#[derive(Debug)]
pub struct DaemonOptions {
    pub config: Config,
    /// Path of the socket, or of where it would be for an inherited
    /// listener. The lock file is next to it.
    pub socket: PathBuf,
    /// A listening socket inherited from a service manager, used instead of
    /// binding `socket`.
    pub inherited_listener: Option<OwnedFd>,
    /// File holding the machine id the device id is derived from.
    pub machine_id_file: PathBuf,
}

/// State shared by the connection handlers.
struct Daemon {
    config: Config,
    store: Store,
    sync: SyncHandle,
    device_id: String,
}

/// Runs the daemon until `shutdown` completes, then stops cleanly: no new
/// connections, the server call in flight and open requests finish, the
/// database is closed and the socket removed.
pub async fn run(
    options: DaemonOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let socket = options.socket.clone();
    if let Some(dir) = socket.parent() {
        socket::prepare_dir(dir)?;
    }
    let lock = socket::lock(&socket)?;
    let data_lock = socket::lock_data_dir(&options.config.data_dir)?;
    let history_limit = options.config.sync.history_limit;
    let (store, store_threads) = Store::open(&options.config.data_dir, history_limit)?;
    let machine_id_file = options.machine_id_file.clone();
    let device_id = store
        .write(move |tx| {
            crate::store::device_id(tx, || crate::device::new_device_id(&machine_id_file))
        })
        .await?;
    let client = build_client(&options.config, &store).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (sync, worker) = sync::spawn(
        store.clone(),
        client,
        device_id.clone(),
        options.config.sync.clone(),
        stop_rx.clone(),
    );
    let listener = match options.inherited_listener {
        Some(fd) => socket::adopt(fd, &socket)?,
        None => {
            socket::remove_stale(&socket)?;
            socket::bind(&socket)?
        }
    };
    log_start(&options.config, &socket, &device_id);
    let daemon = Arc::new(Daemon {
        config: options.config,
        store,
        sync,
        device_id,
    });
    let expiry_task = tokio::spawn(certs::watch_expiry(daemon.clone(), stop_rx.clone()));
    let worker_abort = worker.abort_handle();
    let (worker_done, worker_failure) = watch_worker(worker);
    let stop = stop_signal(shutdown, worker_failure.clone());
    let connections = server::serve(listener, daemon.clone(), stop, stop_rx).await;
    tracing::info!("stopping");
    let _ = stop_tx.send(true);
    // The task owns a handle to the daemon, so it must end before the database closes.
    expiry_task.abort();
    let _ = expiry_task.await;
    if tokio::time::timeout(WORKER_STOP_TIMEOUT, worker_done)
        .await
        .is_err()
    {
        tracing::warn!("sync worker did not stop in time; aborting it, its queued calls stay");
        worker_abort.abort();
    }
    server::drain(connections, CONNECTION_STOP_TIMEOUT).await;
    drop(daemon);
    // The thread ends once every handle is gone, after its queued jobs.
    let joined = tokio::time::timeout(
        STORE_STOP_TIMEOUT,
        tokio::task::spawn_blocking(move || store_threads.join()),
    );
    if joined.await.is_err() {
        tracing::warn!(
            "database writes still waiting for another process's lock; stopping without them"
        );
    }
    drop(data_lock);
    drop(lock);
    tracing::info!("stopped");
    let failure = worker_failure.borrow().clone();
    match failure {
        Some(reason) => Err(DaemonError::WorkerFailed(reason)),
        None => Ok(()),
    }
}

/// Watches the worker task. Returns a task that ends with the worker, and a
/// receiver that gets the reason if the worker panicked.
fn watch_worker(
    worker: tokio::task::JoinHandle<()>,
) -> (tokio::task::JoinHandle<()>, watch::Receiver<Option<String>>) {
    let (failed, failure) = watch::channel(None);
    let monitor = tokio::spawn(async move {
        if let Err(err) = worker.await
            && err.is_panic()
        {
            tracing::error!(error = %err, "sync worker failed; stopping pushbindd");
            let _ = failed.send(Some(err.to_string()));
        }
    });
    (monitor, failure)
}

/// Completes when `shutdown` does or the worker fails, whichever is first.
async fn stop_signal(
    shutdown: impl Future<Output = ()>,
    mut failure: watch::Receiver<Option<String>>,
) {
    let failed = async {
        // An error means the worker ended without failing: wait for shutdown.
        if failure.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = shutdown => {}
        _ = failed => {}
    }
}

async fn build_client(
    config: &Config,
    store: &Store,
) -> Result<Result<Arc<ImClient>, String>, DaemonError> {
    let server = match &config.server {
        Ok(server) => server,
        Err(problem) => return Ok(Err(problem.clone())),
    };
    let bearer = match server.auth {
        Auth::BearerToken => {
            store
                .read(|conn| {
                    use rusqlite::OptionalExtension;
                    Ok(conn
                        .query_row("SELECT token FROM bearer_token WHERE id = 1", [], |row| {
                            row.get(0)
                        })
                        .optional()?)
                })
                .await?
        }
        Auth::ClientCredentials { .. } => None,
    };
    Ok(ImClient::new(server, config.sync.request_timeout, bearer)
        .map(|client| Arc::new(client.with_token_wait_max(config.sync.fleet_window)))
        .map_err(|err| err.message))
}

fn log_start(config: &Config, socket: &std::path::Path, device_id: &str) {
    match &config.server {
        Ok(server) => tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            socket = %socket.display(),
            data_dir = %config.data_dir.display(),
            server = %server.url,
            app = %server.app,
            auth = server.auth.name(),
            device_id,
            "pushbindd started"
        ),
        Err(problem) => tracing::warn!(
            version = env!("CARGO_PKG_VERSION"),
            socket = %socket.display(),
            data_dir = %config.data_dir.display(),
            device_id,
            problem,
            "pushbindd started without a server; requests are stored but not sent"
        ),
    }
}
