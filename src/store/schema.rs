//! Versioned schema migrations, tracked in SQLite's `user_version`.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version up and runs in
//! its own transaction. Entries are never edited once released; a change
//! is a new entry.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // Version 1.
    "
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    -- The logged-in user; no row when logged out.
    CREATE TABLE login (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        user_id TEXT NOT NULL,
        logged_in_at INTEGER NOT NULL,
        bearer_token INTEGER NOT NULL
    );

    -- The last bearer token the app handed over. Kept after logout, because
    -- the unbind calls of a logout still need it.
    CREATE TABLE bearer_token (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        token TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        rejected INTEGER NOT NULL DEFAULT 0
    );

    -- What the app asked for: one token per certificate name, bound for
    -- whoever is logged in.
    CREATE TABLE tokens (
        notifier_name TEXT PRIMARY KEY,
        device_token TEXT NOT NULL,
        apns_environment TEXT,
        updated_at INTEGER NOT NULL
    );

    -- One row per (user, certificate) this device was bound under: what the
    -- server should have and what it last confirmed. A NULL desired_token
    -- means the binding should be removed; a NULL confirmed_token with a
    -- confirmed_at means the server confirmed it has none.
    CREATE TABLE bindings (
        user_id TEXT NOT NULL,
        notifier_name TEXT NOT NULL,
        desired_token TEXT,
        apns_environment TEXT,
        confirmed_token TEXT,
        confirmed_at INTEGER,
        state TEXT NOT NULL,
        last_error TEXT,
        warning TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, notifier_name)
    );

    -- Server calls still to make, one PUT push/binding each. An empty
    -- device_token removes the binding. A newer call for the same binding
    -- replaces an older one that has not been sent.
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        notifier_name TEXT NOT NULL,
        device_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        parked INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_due ON outbox (parked, next_attempt_at);
    CREATE INDEX outbox_binding ON outbox (user_id, notifier_name);

    -- The app's push certificates as last fetched from the server.
    CREATE TABLE notifiers (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        provider TEXT NOT NULL,
        environment TEXT,
        package_name TEXT,
        disabled INTEGER NOT NULL,
        modified INTEGER
    );
    CREATE INDEX notifiers_name ON notifiers (name);

    CREATE TABLE notifier_cache (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        fetched_at INTEGER,
        last_error TEXT
    );

    -- The last comparison with the server's bindings.
    CREATE TABLE reconcile (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at INTEGER NOT NULL,
        unmanaged TEXT NOT NULL
    );

    -- Recent changes and sync results, pruned to the configured length.
    CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        user_id TEXT,
        notifier_name TEXT,
        detail TEXT NOT NULL
    );
    ",
    // Version 2: why a call is parked, so that calls parked for a
    // certificate missing from the list resume when it appears.
    "
    ALTER TABLE outbox ADD COLUMN park_reason TEXT;
    ",
    // Version 3: the expiry of certificates uploaded through this daemon,
    // read from the credentials at upload, and when the daemon last warned
    // about it. Secrets are never stored.
    "
    CREATE TABLE notifier_expiry (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        provider TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        uploaded_at INTEGER NOT NULL,
        warned_at INTEGER
    );
    ",
    // Version 4: when next_attempt_at was set, by the wall clock, so that a
    // clock set back since then is distinguished from a long delay.
    "
    ALTER TABLE outbox ADD COLUMN scheduled_at INTEGER;
    ",
];

/// Applies every migration newer than the database's version.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            known,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "migrated database schema");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &path).unwrap();
        migrate(&mut conn, &path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }

    #[test]
    fn newer_schema_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let err = migrate(&mut conn, &path).unwrap_err();
        assert!(matches!(err, StoreError::NewerSchema { found: 99, .. }));
    }
}
