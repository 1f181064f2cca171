//! The daemon's SQLite database, served by threads of its own.
//!
//! Each connection is used only by one thread, which runs jobs sent over a
//! channel, so no SQLite call ever blocks the async runtime and writes are
//! serialised without "database is locked" errors inside the daemon. Write
//! jobs run in `BEGIN IMMEDIATE` transactions, and a busy timeout covers
//! other processes that open the file. A request is acknowledged only after
//! its transaction committed; with WAL and `synchronous = FULL` a commit
//! survives a crash of the daemon or of the machine.

pub mod bindings;
pub mod history;
pub mod notifiers;
pub mod outbox;
mod schema;
pub mod status;

use std::fs::OpenOptions;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

pub use bindings::{BindInput, LoginChange, LogoutChange};
pub use notifiers::{NotifierCheck, NotifierRecord};
pub use outbox::{Attempt, OutboxItem};

/// File name of the database inside the data directory.
pub const DATABASE_FILE_NAME: &str = "pushbind.db";

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot prepare the database at {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {} was written by a newer pushbind (schema {found}, this build knows up to {known}); install the newer pushbind or move the file away", path.display())]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot use the database {}: {source}; {fix}", path.display())]
    Unusable {
        path: PathBuf,
        source: rusqlite::Error,
        fix: &'static str,
    },
    #[error("invalid value in the database: {0}")]
    Corrupt(String),
    #[error("the database thread has stopped")]
    Closed,
}

type Job = Box<dyn FnOnce() + Send>;

/// A connection and the thread that runs its jobs, one at a time, in the
/// order they were sent.
#[derive(Clone, Debug)]
struct Lane {
    jobs: mpsc::Sender<Job>,
    // Only the lane's thread locks it, so the lock is never contended; it
    // lets a shared thread serve the connections of many stores.
    conn: Arc<Mutex<Connection>>,
}

impl Lane {
    fn new(jobs: mpsc::Sender<Job>, conn: Connection) -> Self {
        Self {
            jobs,
            conn: Arc::new(Mutex::new(conn)),
        }
    }
}

/// Handle to the database threads. Cheap to clone; the threads end when the
/// last handle is dropped, after running every job already sent.
#[derive(Clone, Debug)]
pub struct Store {
    writes: Lane,
    reads: Lane,
    history_limit: u32,
}

/// The database threads, to join at shutdown once every [`Store`] handle is
/// dropped.
#[derive(Debug)]
pub struct StoreThreads(Vec<thread::JoinHandle<()>>);

impl StoreThreads {
    /// Waits until the threads have run their queued jobs and ended.
    pub fn join(self) {
        for thread in self.0 {
            if thread.join().is_err() {
                tracing::error!("a database thread panicked");
            }
        }
    }
}

/// A fixed set of threads that run the jobs of many stores, for a process
/// with thousands of them (the fleet benchmark). The daemon itself
/// uses [`Store::open`], which gives its one store threads of its own.
#[derive(Debug)]
pub struct StorePool {
    lanes: Vec<mpsc::Sender<Job>>,
    next: std::sync::atomic::AtomicUsize,
    threads: StoreThreads,
}

impl StorePool {
    /// Starts `size` threads (at least one).
    pub fn new(size: usize) -> std::io::Result<Self> {
        let mut lanes = Vec::new();
        let mut threads = Vec::new();
        for _ in 0..size.max(1) {
            let (jobs, thread) = spawn_thread("pushbind-store-pool")?;
            lanes.push(jobs);
            threads.push(thread);
        }
        Ok(Self {
            lanes,
            next: std::sync::atomic::AtomicUsize::new(0),
            threads: StoreThreads(threads),
        })
    }

    /// Stops taking stores and waits until every store opened in the pool is
    /// dropped and its jobs have run.
    pub fn join(self) {
        drop(self.lanes);
        self.threads.join();
    }

    fn lane(&self) -> mpsc::Sender<Job> {
        let index = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lanes[index % self.lanes.len()].clone()
    }
}

fn spawn_thread(name: &str) -> std::io::Result<(mpsc::Sender<Job>, thread::JoinHandle<()>)> {
    let (jobs, receiver) = mpsc::channel::<Job>();
    let thread = thread::Builder::new().name(name.into()).spawn(move || {
        for job in receiver {
            job();
        }
    })?;
    Ok((jobs, thread))
}

impl StoreError {
    /// Returns whether the error lasts until someone acts, so that
    /// restarting the daemon cannot help: a corrupt, foreign or read-only
    /// database file.
    pub fn is_lasting(&self) -> bool {
        use rusqlite::ErrorCode;
        match self {
            Self::Unusable { source, .. } => !matches!(
                source.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            ),
            Self::Open { .. } | Self::NewerSchema { .. } => true,
            _ => false,
        }
    }
}

/// Names the database file and the fix for an error while opening it.
fn unusable(path: &Path, source: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    let fix = match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            "move the file away and start again; apps must bind their tokens again"
        }
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            "make data_dir and the file writable by this user, or set another data_dir"
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "another process holds the database; stop it, or wait and start again"
        }
        _ => "check the file, or set another data_dir",
    };
    StoreError::Unusable {
        path: path.to_owned(),
        source,
        fix,
    }
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and starts its
    /// threads. Returns the handle and the threads, to join at shutdown.
    ///
    /// Writes run on one thread and reads on another, with a connection
    /// each: in WAL mode a read never waits for a write, so status stays
    /// available while another process holds the write lock. Every write
    /// transaction also trims the history to `history_limit` entries.
    pub fn open(data_dir: &Path, history_limit: u32) -> Result<(Self, StoreThreads), StoreError> {
        let (path, writer, reader) = connect(data_dir)?;
        let thread_error = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let (writes, write_thread) = spawn_thread("pushbind-store-write").map_err(thread_error)?;
        let (reads, read_thread) = spawn_thread("pushbind-store-read").map_err(thread_error)?;
        let store = Self {
            writes: Lane::new(writes, writer),
            reads: Lane::new(reads, reader),
            history_limit,
        };
        Ok((store, StoreThreads(vec![write_thread, read_thread])))
    }

    /// Opens a new, empty database held in memory, with its jobs run by the
    /// threads of `pool`, for the fleet benchmark: thousands of database
    /// files would need more file descriptors than a process may hold. It
    /// has the daemon's schema, and one connection serves reads and writes.
    pub fn open_in_memory(pool: &StorePool, history_limit: u32) -> Result<Self, StoreError> {
        let path = Path::new(":memory:");
        let unusable = |source: rusqlite::Error| unusable(path, source);
        let mut conn = Connection::open_in_memory().map_err(unusable)?;
        configure(&conn).map_err(unusable)?;
        schema::migrate(&mut conn, path)?;
        let lane = Lane::new(pool.lane(), conn);
        Ok(Self {
            writes: lane.clone(),
            reads: lane,
            history_limit,
        })
    }

    /// Runs `job` on the reading thread and returns its result.
    pub async fn read<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        Self::run(&self.reads, move |conn| job(conn)).await
    }

    /// Runs `job` in a `BEGIN IMMEDIATE` transaction on the database thread
    /// and commits it when the job succeeds; returns once committed.
    pub async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction) -> Result<T, StoreError> + Send + 'static,
    {
        let history_limit = self.history_limit;
        Self::run(&self.writes, move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = job(&tx)?;
            history::prune(&tx, history_limit)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    async fn run<T, F>(lane: &Lane, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let conn = lane.conn.clone();
        let job: Job = Box::new(move || {
            let mut conn = conn.lock().expect("database connection lock");
            // The receiver is gone only when the caller stopped waiting; the
            // job's effects stand either way.
            let _ = reply.send(job(&mut conn));
        });
        lane.jobs.send(job).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// Opens the database file in `data_dir`, migrated, with a writing and a
/// read-only connection.
fn connect(data_dir: &Path) -> Result<(PathBuf, Connection, Connection), StoreError> {
    let path = prepare_file(data_dir)?;
    let unusable = |source: rusqlite::Error| unusable(&path, source);
    let mut writer = Connection::open(&path).map_err(unusable)?;
    configure(&writer).map_err(unusable)?;
    schema::migrate(&mut writer, &path).map_err(|err| match err {
        StoreError::Sqlite(source) => unusable(source),
        other => other,
    })?;
    let reader = Connection::open(&path).map_err(unusable)?;
    configure(&reader).map_err(unusable)?;
    reader
        .pragma_update(None, "query_only", true)
        .map_err(unusable)?;
    Ok((path, writer, reader))
}

/// Creates the data directory (mode 0700) and the database file (mode 0600)
/// so that SQLite, which gives its WAL and shared-memory files the database
/// file's mode, never creates anything other users can read.
fn prepare_file(data_dir: &Path) -> Result<PathBuf, StoreError> {
    let path = data_dir.join(DATABASE_FILE_NAME);
    let open_error = |source| StoreError::Open {
        path: path.clone(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(open_error)?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .map_err(open_error)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(open_error)?;
    Ok(path)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Opens a migrated database in a temporary directory.
    pub fn open_temp() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = prepare_file(dir.path()).unwrap();
        let mut conn = Connection::open(&path).unwrap();
        configure(&conn).unwrap();
        schema::migrate(&mut conn, &path).unwrap();
        (dir, conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (store, threads) = Store::open(&data, 100).unwrap();
        drop(store);
        threads.join();
        let dir_mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        for entry in std::fs::read_dir(&data).unwrap() {
            let mode = entry.unwrap().metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }

    #[tokio::test]
    async fn write_commits_and_read_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _threads) = Store::open(dir.path(), 100).unwrap();
        store
            .write(|tx| {
                tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 'x')", [])?;
                Ok(())
            })
            .await
            .unwrap();
        let value: String = store
            .read(|conn| {
                Ok(
                    conn.query_row("SELECT value FROM meta WHERE key = 'probe'", [], |row| {
                        row.get(0)
                    })?,
                )
            })
            .await
            .unwrap();
        assert_eq!(value, "x");
    }

    #[tokio::test]
    async fn pooled_stores_keep_their_own_data() {
        let pool = StorePool::new(1).unwrap();
        let first = Store::open_in_memory(&pool, 100).unwrap();
        let second = Store::open_in_memory(&pool, 100).unwrap();
        for (store, value) in [(&first, "first"), (&second, "second")] {
            store
                .write(move |tx| {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ('probe', ?1)",
                        [value],
                    )?;
                    Ok(())
                })
                .await
                .unwrap();
        }
        for (store, expected) in [(&first, "first"), (&second, "second")] {
            let value: String = store
                .read(|conn| {
                    Ok(
                        conn.query_row("SELECT value FROM meta WHERE key = 'probe'", [], |row| {
                            row.get(0)
                        })?,
                    )
                })
                .await
                .unwrap();
            assert_eq!(value, expected);
        }
        drop((first, second));
        pool.join();
    }

    #[tokio::test]
    async fn failed_write_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _threads) = Store::open(dir.path(), 100).unwrap();
        let result: Result<(), _> = store
            .write(|tx| {
                tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 'x')", [])?;
                Err(StoreError::Corrupt("stop".into()))
            })
            .await;
        assert!(result.is_err());
        let count: i64 = store
            .read(|conn| {
                Ok(
                    conn.query_row("SELECT count(*) FROM meta WHERE key = 'probe'", [], |row| {
                        row.get(0)
                    })?,
                )
            })
            .await
            .unwrap();
        assert_eq!(count, 0);
    }
}

/// This device's id, created once with `create` and kept in the database.
pub fn device_id(tx: &Transaction, create: impl FnOnce() -> String) -> Result<String, StoreError> {
    use rusqlite::OptionalExtension;
    let stored: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'device_id'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(id) = stored {
        return Ok(id);
    }
    let id = create();
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('device_id', ?1)",
        [&id],
    )?;
    Ok(id)
}
