//! The outbox of server calls: which call is due, what its result did to the
//! binding, and the comparison with the server's own list.

use std::collections::HashMap;

use pushbind_client::protocol::{SyncState, UnixMillis};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::bindings::{enqueue, load_row, state_name};
use super::{StoreError, history};
use crate::fingerprint::fingerprint;

/// One queued `PUT push/binding` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub user_id: String,
    pub notifier_name: String,
    /// The token to bind; empty to remove the binding.
    pub device_token: String,
    pub attempts: u32,
}

/// The outcome of one attempt at an outbox item.
#[derive(Clone, Debug)]
pub enum Attempt {
    /// The server applied the call; `remaining` is its list of this device's
    /// bindings for the user afterwards, as (certificate, token).
    Applied { remaining: Vec<(String, String)> },
    /// A transient failure: retry at `next_attempt_at`.
    Retry {
        error: String,
        next_attempt_at: UnixMillis,
    },
    /// A permanent failure: keep the item with its reason until the binding
    /// changes.
    Park { error: String },
}

/// Returns the oldest item that is due at `now` and not parked.
pub fn next_due(conn: &Connection, now: UnixMillis) -> Result<Option<OutboxItem>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, user_id, notifier_name, device_token, attempts FROM outbox
             WHERE parked = 0 AND next_attempt_at <= ?1 ORDER BY id LIMIT 1",
            [now],
            |row| {
                Ok(OutboxItem {
                    id: row.get(0)?,
                    user_id: row.get(1)?,
                    notifier_name: row.get(2)?,
                    device_token: row.get(3)?,
                    attempts: row.get(4)?,
                })
            },
        )
        .optional()?)
}

/// When the next item that is not parked falls due.
pub fn next_attempt_at(conn: &Connection) -> Result<Option<UnixMillis>, StoreError> {
    Ok(conn.query_row(
        "SELECT min(next_attempt_at) FROM outbox WHERE parked = 0",
        [],
        |row| row.get(0),
    )?)
}

/// Makes every waiting item due now, for a forced sync.
pub fn make_all_due(tx: &Transaction, now: UnixMillis) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE outbox SET next_attempt_at = ?1, scheduled_at = ?1
         WHERE parked = 0 AND next_attempt_at > ?1",
        [now],
    )?;
    Ok(())
}

/// Records the outcome of an attempt at `item` on the item and its binding.
/// An item replaced while its call was in flight is already gone: a success
/// still updates what the server holds, a failure leaves the new call's
/// state alone.
pub fn record(
    tx: &Transaction,
    item: &OutboxItem,
    attempt: &Attempt,
    now: UnixMillis,
) -> Result<(), StoreError> {
    match attempt {
        Attempt::Applied { remaining } => record_applied(tx, item, remaining, now),
        Attempt::Retry {
            error,
            next_attempt_at,
        } => {
            // The server may have applied the call before the failure, so its
            // state is unknown until a later call or comparison.
            tx.execute(
                "UPDATE bindings SET confirmed_at = NULL WHERE user_id = ?1 AND notifier_name = ?2",
                params![item.user_id, item.notifier_name],
            )?;
            let updated = tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3,
                                   scheduled_at = ?4
                 WHERE id = ?1",
                params![item.id, next_attempt_at, error, now],
            )?;
            if updated == 0 {
                return Ok(());
            }
            set_state(tx, item, SyncState::Pending, Some(error), now)?;
            let detail = format!("attempt {} failed: {error}", item.attempts + 1);
            let (user, name) = (
                Some(item.user_id.as_str()),
                Some(item.notifier_name.as_str()),
            );
            history::append(tx, "retry", user, name, &detail, now)
        }
        Attempt::Park { error } => {
            let updated = tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, parked = 1, park_reason = 'server',
                                   last_error = ?2
                 WHERE id = ?1",
                params![item.id, error],
            )?;
            if updated == 0 {
                return Ok(());
            }
            set_state(tx, item, SyncState::Parked, Some(error), now)?;
            let (user, name) = (
                Some(item.user_id.as_str()),
                Some(item.notifier_name.as_str()),
            );
            history::append(tx, "parked", user, name, error, now)
        }
    }
}

/// Reschedules waiting calls whose stored times no back-off produces, and
/// returns how many. A call scheduled at a wall clock time later than now
/// was scheduled before the clock was set back: it keeps its delay, counted
/// from now, instead of waiting for the clock to catch up. Then any call
/// due later than `max_delay_ms` from now is due now, because no back-off
/// produces that either. This covers rows stored without a scheduling time
/// and edited databases. A clock set forward needs nothing here: it makes
/// waiting calls due early, and the first failure pauses the outbox again.
pub fn clamp_schedule(
    tx: &Transaction,
    now: UnixMillis,
    max_delay_ms: i64,
) -> Result<usize, StoreError> {
    let set_back = tx.execute(
        "UPDATE outbox
         SET next_attempt_at = ?1 + max(next_attempt_at - scheduled_at, 0), scheduled_at = ?1
         WHERE parked = 0 AND scheduled_at > ?1",
        [now],
    )?;
    let too_late = tx.execute(
        "UPDATE outbox SET next_attempt_at = ?1, scheduled_at = ?1
         WHERE parked = 0 AND next_attempt_at > ?2",
        params![now, now.saturating_add(max_delay_ms)],
    )?;
    Ok(set_back + too_late)
}

fn record_applied(
    tx: &Transaction,
    item: &OutboxItem,
    remaining: &[(String, String)],
    now: UnixMillis,
) -> Result<(), StoreError> {
    tx.execute("DELETE FROM outbox WHERE id = ?1", [item.id])?;
    let on_server = remaining
        .iter()
        .find(|(name, _)| *name == item.notifier_name)
        .map(|(_, token)| token.as_str());
    // A success ends a warning about the binding itself, such as a removal
    // by the server, but not one about its certificate.
    let warning = super::notifiers::cached_warning(tx, &item.notifier_name)?;
    tx.execute(
        "UPDATE bindings SET confirmed_token = ?3, confirmed_at = ?4, warning = ?5
         WHERE user_id = ?1 AND notifier_name = ?2",
        params![item.user_id, item.notifier_name, on_server, now, warning],
    )?;
    let Some(row) = load_row(tx, &item.user_id, &item.notifier_name)? else {
        return Ok(());
    };
    let still_queued: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE user_id = ?1 AND notifier_name = ?2)",
        params![item.user_id, item.notifier_name],
        |row| row.get(0),
    )?;
    if !still_queued && row.desired_token.is_none() && on_server.is_none() {
        // The removal is confirmed; an absent row means no binding.
        forget(tx, item)?;
        let detail = "server holds no binding";
        return history::append(
            tx,
            "confirmed",
            Some(&item.user_id),
            Some(&item.notifier_name),
            detail,
            now,
        );
    }
    let sent_desired = row.desired_token.as_deref().unwrap_or("") == item.device_token;
    let (state, error) = if still_queued {
        (SyncState::Pending, None)
    } else if row.desired_token.as_deref() == on_server {
        (SyncState::Synced, None)
    } else if !sent_desired {
        // The binding changed while this call was in flight, and no call
        // for the new value is queued: queue one.
        enqueue(
            tx,
            &item.user_id,
            &item.notifier_name,
            row.desired_token.as_deref().unwrap_or(""),
            now,
        )?;
        (SyncState::Pending, None)
    } else {
        let error = "the server answered success but does not hold the requested binding";
        (SyncState::Parked, Some(error))
    };
    set_state(tx, item, state, error, now)?;
    let detail = match on_server {
        Some(token) => format!("server holds token {}", fingerprint(token)),
        None => "server holds no binding".to_owned(),
    };
    history::append(
        tx,
        "confirmed",
        Some(&item.user_id),
        Some(&item.notifier_name),
        &detail,
        now,
    )
}

fn forget(tx: &Transaction, item: &OutboxItem) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM bindings WHERE user_id = ?1 AND notifier_name = ?2",
        params![item.user_id, item.notifier_name],
    )?;
    Ok(())
}

fn set_state(
    tx: &Transaction,
    item: &OutboxItem,
    state: SyncState,
    error: Option<&str>,
    now: UnixMillis,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE bindings SET state = ?3, last_error = ?4, updated_at = ?5
         WHERE user_id = ?1 AND notifier_name = ?2",
        params![
            item.user_id,
            item.notifier_name,
            state_name(state),
            error,
            now
        ],
    )?;
    Ok(())
}

/// The changes made by a comparison with the server's bindings.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReconcileChange {
    /// Bindings queued again because the server differs from the desired
    /// state.
    pub repaired: Vec<String>,
    /// Bindings the server removed by itself.
    pub removed_by_server: Vec<String>,
    /// Server bindings of this device that the daemon has no record of,
    /// such as ones left by a wiped database: their removal is queued.
    pub stale: Vec<String>,
    /// Bindings of the user on other devices, which the daemon leaves alone.
    pub unmanaged: Vec<String>,
}

/// Compares `user_id`'s bindings with the server's. `server` lists this
/// device's as (certificate, token), and `others` the user's bindings on
/// other devices as (device, certificate, token). `others` is `None` when
/// the server's response did not include them, because a binding call's
/// response lists only this device's; the list stored from the last full
/// comparison is then kept.
/// Bindings with a call in flight or queued are left alone, because the
/// call decides them.
pub fn reconcile(
    tx: &Transaction,
    user_id: &str,
    server: &[(String, String)],
    others: Option<&[(String, String, String)]>,
    now: UnixMillis,
) -> Result<ReconcileChange, StoreError> {
    let server: HashMap<&str, &str> = server
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let mut change = ReconcileChange::default();
    let names: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT notifier_name FROM bindings b WHERE user_id = ?1 AND NOT EXISTS (
                 SELECT 1 FROM outbox o
                 WHERE o.user_id = b.user_id AND o.notifier_name = b.notifier_name AND parked = 0)",
        )?;
        stmt.query_map([user_id], |row| row.get(0))?
            .collect::<Result<_, _>>()?
    };
    for name in &names {
        let Some(row) = load_row(tx, user_id, name)? else {
            continue;
        };
        reconcile_one(
            tx,
            &row,
            server.get(name.as_str()).copied(),
            &mut change,
            now,
        )?;
    }
    let managed: Vec<String> = {
        let mut stmt = tx.prepare("SELECT notifier_name FROM bindings WHERE user_id = ?1")?;
        stmt.query_map([user_id], |row| row.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut stale: Vec<(&str, &str)> = server
        .iter()
        .filter(|(name, _)| !managed.iter().any(|m| m == *name))
        .map(|(name, token)| (*name, *token))
        .collect();
    stale.sort();
    for (name, token) in stale {
        queue_stale_removal(tx, user_id, name, token, now)?;
        change.stale.push(name.to_owned());
    }
    let Some(others) = others else {
        tx.execute(
            "INSERT INTO reconcile (id, at, unmanaged) VALUES (1, ?1, '[]')
             ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            params![now],
        )?;
        return Ok(change);
    };
    let unmanaged: Vec<(String, String, String, String)> = others
        .iter()
        .map(|(device, name, token)| {
            (
                user_id.to_owned(),
                device.clone(),
                name.clone(),
                fingerprint(token),
            )
        })
        .collect();
    change.unmanaged = unmanaged
        .iter()
        .map(|(_, _, name, _)| name.clone())
        .collect();
    change.unmanaged.sort();
    let unmanaged = serde_json::to_string(&unmanaged).expect("tuples of strings serialize");
    tx.execute(
        "INSERT INTO reconcile (id, at, unmanaged) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET at = excluded.at, unmanaged = excluded.unmanaged",
        params![now, unmanaged],
    )?;
    Ok(change)
}

/// Queues removal of a binding of this device that the daemon has no
/// record of, and records it as confirmed on the server until then.
fn queue_stale_removal(
    tx: &Transaction,
    user_id: &str,
    notifier_name: &str,
    token: &str,
    now: UnixMillis,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO bindings (user_id, notifier_name, desired_token, confirmed_token,
                               confirmed_at, state, updated_at)
         VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?4)",
        params![
            user_id,
            notifier_name,
            token,
            now,
            state_name(SyncState::Pending)
        ],
    )?;
    enqueue(tx, user_id, notifier_name, "", now)?;
    let detail = format!(
        "server holds token {} for this device, which no request made; removing it",
        fingerprint(token)
    );
    history::append(
        tx,
        "stale",
        Some(user_id),
        Some(notifier_name),
        &detail,
        now,
    )
}

fn reconcile_one(
    tx: &Transaction,
    row: &super::bindings::BindingRow,
    on_server: Option<&str>,
    change: &mut ReconcileChange,
    now: UnixMillis,
) -> Result<(), StoreError> {
    let item = OutboxItem {
        id: 0,
        user_id: row.user_id.clone(),
        notifier_name: row.notifier_name.clone(),
        device_token: String::new(),
        attempts: 0,
    };
    let desired = row.desired_token.as_deref();
    if on_server == desired {
        // A parked call is moot because the server already has what it asked for.
        tx.execute(
            "DELETE FROM outbox WHERE user_id = ?1 AND notifier_name = ?2",
            params![row.user_id, row.notifier_name],
        )?;
        if desired.is_none() {
            return forget(tx, &item);
        }
        confirm(tx, row, on_server, now)?;
        return set_state(tx, &item, SyncState::Synced, None, now);
    }
    if row.state == SyncState::RemovedByServer && on_server.is_none() {
        return Ok(());
    }
    let confirmed_present = row.confirmed_at.is_some() && row.confirmed_token.is_some();
    if on_server.is_none() && confirmed_present && row.confirmed_token.as_deref() == desired {
        mark_removed_by_server(tx, row, &item, now)?;
        change.removed_by_server.push(row.notifier_name.clone());
        return Ok(());
    }
    if row.state == SyncState::Parked {
        return Ok(());
    }
    queue_repair(tx, row, &item, on_server, now)?;
    change.repaired.push(row.notifier_name.clone());
    Ok(())
}

/// Records that the server dropped a binding it had confirmed. The token is
/// not sent again: the vendor most likely rejected it.
fn mark_removed_by_server(
    tx: &Transaction,
    row: &super::bindings::BindingRow,
    item: &OutboxItem,
    now: UnixMillis,
) -> Result<(), StoreError> {
    confirm(tx, row, None, now)?;
    set_state(tx, item, SyncState::RemovedByServer, None, now)?;
    tx.execute(
        "UPDATE bindings SET warning = ?3 WHERE user_id = ?1 AND notifier_name = ?2",
        params![
            row.user_id,
            row.notifier_name,
            "the server removed this binding, usually because the push vendor rejected \
             the token; the app should supply a fresh token"
        ],
    )?;
    let (user, name) = (Some(row.user_id.as_str()), Some(row.notifier_name.as_str()));
    history::append(tx, "removed_by_server", user, name, "", now)
}

/// Queues the desired state again for a binding the server holds otherwise.
fn queue_repair(
    tx: &Transaction,
    row: &super::bindings::BindingRow,
    item: &OutboxItem,
    on_server: Option<&str>,
    now: UnixMillis,
) -> Result<(), StoreError> {
    confirm(tx, row, on_server, now)?;
    tx.execute(
        "DELETE FROM outbox WHERE user_id = ?1 AND notifier_name = ?2",
        params![row.user_id, row.notifier_name],
    )?;
    let desired = row.desired_token.as_deref().unwrap_or("");
    enqueue(tx, &row.user_id, &row.notifier_name, desired, now)?;
    set_state(tx, item, SyncState::Pending, None, now)?;
    let detail = match on_server {
        Some(token) => format!(
            "server holds token {}; sending the desired state again",
            fingerprint(token)
        ),
        None => "server holds no binding; sending the desired state again".to_owned(),
    };
    let (user, name) = (Some(row.user_id.as_str()), Some(row.notifier_name.as_str()));
    history::append(tx, "repair", user, name, &detail, now)
}

fn confirm(
    tx: &Transaction,
    row: &super::bindings::BindingRow,
    on_server: Option<&str>,
    now: UnixMillis,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE bindings SET confirmed_token = ?3, confirmed_at = ?4
         WHERE user_id = ?1 AND notifier_name = ?2",
        params![row.user_id, row.notifier_name, on_server, now],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::bindings::{BindInput, bind, login};
    use crate::store::status::binding_view;
    use crate::store::test_support::open_temp;

    fn setup(tx: &Transaction) -> OutboxItem {
        login(tx, "u1", None, 1).unwrap();
        let input = BindInput {
            notifier_name: "fcm".into(),
            device_token: "T1".into(),
            apns_environment: None,
        };
        bind(tx, &input, 2).unwrap();
        next_due(tx, 2).unwrap().unwrap()
    }

    fn applied(token: &str) -> Attempt {
        Attempt::Applied {
            remaining: vec![("fcm".into(), token.into())],
        }
    }

    #[test]
    fn applied_call_confirms_binding() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        record(&tx, &item, &applied("T1"), 3).unwrap();
        let view = binding_view(&tx, "u1", "fcm").unwrap();
        assert_eq!(view.state, SyncState::Synced);
        assert_eq!(view.confirmed_at, Some(3));
        assert!(next_due(&tx, 10).unwrap().is_none());
    }

    #[test]
    fn applied_call_keeps_certificate_warning() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        let disabled = crate::store::notifiers::NotifierRecord {
            uuid: "uuid-fcm".into(),
            name: "fcm".into(),
            provider: "ANDROID".into(),
            environment: None,
            package_name: None,
            disabled: true,
            modified: None,
        };
        crate::store::notifiers::replace(&tx, &[disabled], 3).unwrap();
        record(&tx, &item, &applied("T1"), 4).unwrap();
        let view = binding_view(&tx, "u1", "fcm").unwrap();
        assert_eq!(view.state, SyncState::Synced);
        assert!(view.warning.unwrap().contains("disabled"));
    }

    fn bind_token(tx: &Transaction, token: &str, now: UnixMillis) {
        let input = BindInput {
            notifier_name: "fcm".into(),
            device_token: token.into(),
            apns_environment: None,
        };
        bind(tx, &input, now).unwrap();
    }

    #[test]
    fn rebind_to_confirmed_token_during_call_is_sent() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let first = setup(&tx);
        record(&tx, &first, &applied("T1"), 3).unwrap();
        bind_token(&tx, "T2", 4);
        let in_flight = next_due(&tx, 4).unwrap().unwrap();
        // Back to the confirmed token while the T2 call is in flight.
        bind_token(&tx, "T1", 5);
        record(&tx, &in_flight, &applied("T2"), 6).unwrap();
        let view = binding_view(&tx, "u1", "fcm").unwrap();
        assert_eq!(view.state, SyncState::Pending);
        assert_eq!(next_due(&tx, 7).unwrap().unwrap().device_token, "T1");
    }

    #[test]
    fn rebind_after_failed_call_is_sent() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let first = setup(&tx);
        record(&tx, &first, &applied("T1"), 3).unwrap();
        bind_token(&tx, "T2", 4);
        let failed = next_due(&tx, 4).unwrap().unwrap();
        let retry = Attempt::Retry {
            error: "timed out".into(),
            next_attempt_at: 100,
        };
        record(&tx, &failed, &retry, 5).unwrap();
        // The server may hold T2 now, so T1 must be sent again.
        bind_token(&tx, "T1", 6);
        assert_eq!(next_due(&tx, 7).unwrap().unwrap().device_token, "T1");
    }

    #[test]
    fn failure_of_replaced_call_leaves_new_call_alone() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let old = setup(&tx);
        bind_token(&tx, "T2", 3);
        record(
            &tx,
            &old,
            &Attempt::Park {
                error: "bad".into(),
            },
            4,
        )
        .unwrap();
        let view = binding_view(&tx, "u1", "fcm").unwrap();
        assert_eq!(view.state, SyncState::Pending);
        assert_eq!(view.last_error, None);
        assert_eq!(next_due(&tx, 5).unwrap().unwrap().device_token, "T2");
    }

    #[test]
    fn far_future_schedule_is_clamped() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        let retry = Attempt::Retry {
            error: "503".into(),
            next_attempt_at: 10_000_000,
        };
        record(&tx, &item, &retry, 3).unwrap();
        assert!(next_due(&tx, 100).unwrap().is_none());
        assert_eq!(clamp_schedule(&tx, 100, 1000).unwrap(), 1);
        assert!(next_due(&tx, 100).unwrap().is_some());
    }

    #[test]
    fn clock_set_back_keeps_retry_delay() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        let retry = Attempt::Retry {
            error: "503".into(),
            next_attempt_at: 10_000_400,
        };
        record(&tx, &item, &retry, 10_000_000).unwrap();
        // The clock is set back by an hour: the call is still 400 ms away,
        // not an hour and 400 ms.
        let now = 10_000_000 - 3_600_000;
        assert_eq!(clamp_schedule(&tx, now, 86_400_000).unwrap(), 1);
        assert!(next_due(&tx, now + 399).unwrap().is_none());
        assert!(next_due(&tx, now + 400).unwrap().is_some());
        // A second pass leaves the new schedule alone.
        assert_eq!(clamp_schedule(&tx, now + 10, 86_400_000).unwrap(), 0);
    }

    #[test]
    fn clock_set_forward_makes_retry_due() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        let retry = Attempt::Retry {
            error: "503".into(),
            next_attempt_at: 10_000_400,
        };
        record(&tx, &item, &retry, 10_000_000).unwrap();
        let now = 10_000_000 + 2 * 86_400_000;
        assert_eq!(clamp_schedule(&tx, now, 86_400_000).unwrap(), 0);
        assert_eq!(next_due(&tx, now).unwrap().unwrap().attempts, 1);
    }

    #[test]
    fn repeat_bind_retries_parked_call() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        record(
            &tx,
            &item,
            &Attempt::Park {
                error: "bad".into(),
            },
            3,
        )
        .unwrap();
        assert!(next_due(&tx, 4).unwrap().is_none());
        bind_token(&tx, "T1", 5);
        assert_eq!(next_due(&tx, 6).unwrap().unwrap().device_token, "T1");
    }

    #[test]
    fn retry_schedules_and_counts_attempts() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        let retry = Attempt::Retry {
            error: "HTTP 503".into(),
            next_attempt_at: 100,
        };
        record(&tx, &item, &retry, 3).unwrap();
        assert!(next_due(&tx, 99).unwrap().is_none());
        let due = next_due(&tx, 100).unwrap().unwrap();
        assert_eq!(due.attempts, 1);
        let view = binding_view(&tx, "u1", "fcm").unwrap();
        assert_eq!(view.state, SyncState::Retrying);
        assert_eq!(view.next_retry_at, Some(100));
        assert_eq!(view.last_error.as_deref(), Some("HTTP 503"));
    }

    #[test]
    fn parked_item_does_not_block_others() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        record(
            &tx,
            &item,
            &Attempt::Park {
                error: "bad".into(),
            },
            3,
        )
        .unwrap();
        let other = BindInput {
            notifier_name: "apns".into(),
            device_token: "A1".into(),
            apns_environment: None,
        };
        bind(&tx, &other, 4).unwrap();
        let due = next_due(&tx, 5).unwrap().unwrap();
        assert_eq!(due.notifier_name, "apns");
        assert_eq!(
            binding_view(&tx, "u1", "fcm").unwrap().state,
            SyncState::Parked
        );
    }

    #[test]
    fn binding_dropped_by_server_is_not_resent() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        record(&tx, &item, &applied("T1"), 3).unwrap();
        let change = reconcile(&tx, "u1", &[], Some(&[]), 4).unwrap();
        assert_eq!(change.removed_by_server, ["fcm"]);
        assert!(next_due(&tx, 10).unwrap().is_none());
        let view = binding_view(&tx, "u1", "fcm").unwrap();
        assert_eq!(view.state, SyncState::RemovedByServer);
        assert!(view.warning.unwrap().contains("fresh token"));
    }

    #[test]
    fn reconcile_repairs_token_and_removes_stale() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let item = setup(&tx);
        record(&tx, &item, &applied("T1"), 3).unwrap();
        let server = [
            ("fcm".to_owned(), "OLD".to_owned()),
            ("other".to_owned(), "X".to_owned()),
        ];
        let others = [("d2".to_owned(), "fcm".to_owned(), "T9".to_owned())];
        let change = reconcile(&tx, "u1", &server, Some(&others), 4).unwrap();
        assert_eq!(change.repaired, ["fcm"]);
        assert_eq!(change.stale, ["other"]);
        assert_eq!(change.unmanaged, ["fcm"]);
        assert_eq!(next_due(&tx, 10).unwrap().unwrap().device_token, "T1");
        let stale = binding_view(&tx, "u1", "other").unwrap();
        assert_eq!(stale.state, SyncState::Pending);
        assert_eq!(stale.desired_token, None);
    }

    #[test]
    fn reconcile_leaves_queued_bindings_alone() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        setup(&tx);
        let change = reconcile(&tx, "u1", &[], Some(&[]), 4).unwrap();
        assert_eq!(change, ReconcileChange::default());
        assert_eq!(
            binding_view(&tx, "u1", "fcm").unwrap().state,
            SyncState::Pending
        );
    }
}
