//! The app's requests (login, logout, bind and unbind), turned into the
//! desired state of each (user, certificate) binding and the server calls
//! that bring the server to it.

use pushbind_client::protocol::{ApnsEnvironment, BindingView, SyncState, UnixMillis};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{StoreError, history, status};

/// A bind request after validation.
#[derive(Clone, Debug)]
pub struct BindInput {
    pub notifier_name: String,
    pub device_token: String,
    pub apns_environment: Option<ApnsEnvironment>,
}

/// The result of a login.
#[derive(Debug)]
pub struct LoginChange {
    pub previous_user: Option<String>,
    pub queued: Vec<BindingView>,
}

/// The result of a logout.
#[derive(Debug)]
pub struct LogoutChange {
    pub user_id: String,
    pub unbinding: Vec<BindingView>,
}

/// One row of the `bindings` table.
#[derive(Clone, Debug)]
pub(super) struct BindingRow {
    pub user_id: String,
    pub notifier_name: String,
    pub desired_token: Option<String>,
    pub confirmed_token: Option<String>,
    pub confirmed_at: Option<UnixMillis>,
    pub state: SyncState,
}

pub(super) fn state_name(state: SyncState) -> &'static str {
    match state {
        SyncState::Synced => "synced",
        SyncState::Pending => "pending",
        SyncState::Retrying => "retrying",
        SyncState::Parked => "parked",
        SyncState::RemovedByServer => "removed_by_server",
        SyncState::WaitingForLogin => "waiting_for_login",
        SyncState::Unknown => "unknown",
    }
}

pub(super) fn parse_state(name: &str) -> Result<SyncState, StoreError> {
    let state = match name {
        "synced" => SyncState::Synced,
        "pending" => SyncState::Pending,
        "retrying" => SyncState::Retrying,
        "parked" => SyncState::Parked,
        "removed_by_server" => SyncState::RemovedByServer,
        "waiting_for_login" => SyncState::WaitingForLogin,
        other => return Err(StoreError::Corrupt(format!("binding state {other:?}"))),
    };
    Ok(state)
}

pub(super) fn environment_name(environment: Option<ApnsEnvironment>) -> Option<&'static str> {
    environment.map(ApnsEnvironment::as_str)
}

/// Returns the logged-in user, if any.
pub fn current_user(tx: &rusqlite::Connection) -> Result<Option<String>, StoreError> {
    Ok(tx
        .query_row("SELECT user_id FROM login WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()?)
}

pub(super) fn load_row(
    tx: &rusqlite::Connection,
    user_id: &str,
    notifier_name: &str,
) -> Result<Option<BindingRow>, StoreError> {
    let row = tx
        .query_row(
            "SELECT desired_token, confirmed_token, confirmed_at, state FROM bindings
             WHERE user_id = ?1 AND notifier_name = ?2",
            params![user_id, notifier_name],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                    row.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((desired_token, confirmed_token, confirmed_at, state)) = row else {
        return Ok(None);
    };
    Ok(Some(BindingRow {
        user_id: user_id.to_owned(),
        notifier_name: notifier_name.to_owned(),
        desired_token,
        confirmed_token,
        confirmed_at,
        state: parse_state(&state)?,
    }))
}

/// Queues a server call that sets the binding to `token` (`""` removes it).
pub(super) fn enqueue(
    tx: &Transaction,
    user_id: &str,
    notifier_name: &str,
    token: &str,
    now: UnixMillis,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO outbox (user_id, notifier_name, device_token, created_at, next_attempt_at,
                             scheduled_at)
         VALUES (?1, ?2, ?3, ?4, ?4, ?4)",
        params![user_id, notifier_name, token, now],
    )?;
    Ok(())
}

/// Sets what the server should hold for (user, certificate) and queues the
/// server call that gets it there, replacing an older call. Returns whether
/// anything changed: a repeat of the current request changes nothing and
/// queues no call, unless the binding is parked or was removed by the
/// server, when the repeat is the app's request to try again.
///
/// The confirmed token decides that no call is needed only while no call is
/// queued or in flight, because such a call may change the server's state
/// after the confirmation was recorded.
pub(super) fn set_desired(
    tx: &Transaction,
    user_id: &str,
    notifier_name: &str,
    desired: Option<&str>,
    environment: Option<ApnsEnvironment>,
    now: UnixMillis,
) -> Result<bool, StoreError> {
    let row = load_row(tx, user_id, notifier_name)?;
    if let Some(row) = &row {
        let repeat = row.desired_token.as_deref() == desired;
        let retry = matches!(row.state, SyncState::RemovedByServer | SyncState::Parked);
        if repeat && !retry {
            return Ok(false);
        }
    }
    let calls_outstanding = tx.execute(
        "DELETE FROM outbox WHERE user_id = ?1 AND notifier_name = ?2 AND parked = 0",
        params![user_id, notifier_name],
    )? > 0;
    tx.execute(
        "DELETE FROM outbox WHERE user_id = ?1 AND notifier_name = ?2",
        params![user_id, notifier_name],
    )?;
    let on_server = !calls_outstanding
        && row.as_ref().is_some_and(|row| {
            row.confirmed_at.is_some() && row.confirmed_token.as_deref() == desired
        });
    let state = if on_server {
        SyncState::Synced
    } else {
        enqueue(tx, user_id, notifier_name, desired.unwrap_or(""), now)?;
        SyncState::Pending
    };
    tx.execute(
        "INSERT INTO bindings (user_id, notifier_name, desired_token, apns_environment, state,
                               updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id, notifier_name) DO UPDATE SET
             desired_token = excluded.desired_token,
             apns_environment = excluded.apns_environment,
             state = excluded.state,
             last_error = NULL,
             updated_at = excluded.updated_at",
        params![
            user_id,
            notifier_name,
            desired,
            environment_name(environment),
            state_name(state),
            now
        ],
    )?;
    let event = if desired.is_some() { "bind" } else { "unbind" };
    let detail = match (state, desired) {
        (SyncState::Synced, _) => "server already has it".to_owned(),
        (_, Some(token)) => format!("queued token {}", crate::fingerprint::fingerprint(token)),
        (_, None) => "queued removal".to_owned(),
    };
    history::append(tx, event, Some(user_id), Some(notifier_name), &detail, now)?;
    Ok(true)
}

/// Stores the app's token for a certificate and, when a user is logged in,
/// makes it that user's desired binding. Returns the binding's view.
pub fn bind(
    tx: &Transaction,
    input: &BindInput,
    now: UnixMillis,
) -> Result<BindingView, StoreError> {
    tx.execute(
        "INSERT INTO tokens (notifier_name, device_token, apns_environment, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (notifier_name) DO UPDATE SET
             device_token = excluded.device_token,
             apns_environment = excluded.apns_environment,
             updated_at = excluded.updated_at",
        params![
            input.notifier_name,
            input.device_token,
            environment_name(input.apns_environment),
            now
        ],
    )?;
    let Some(user_id) = current_user(tx)? else {
        let detail = format!(
            "token {} kept until login",
            crate::fingerprint::fingerprint(&input.device_token)
        );
        history::append(tx, "bind", None, Some(&input.notifier_name), &detail, now)?;
        return Ok(status::waiting_for_login_view(input, now));
    };
    set_desired(
        tx,
        &user_id,
        &input.notifier_name,
        Some(&input.device_token),
        input.apns_environment,
        now,
    )?;
    status::binding_view(tx, &user_id, &input.notifier_name)
}

/// Forgets the app's token for a certificate and removes the binding from
/// the server: the logged-in user's, or when logged out, every user's that
/// a logout kept. Returns the view of the first binding affected.
pub fn unbind(
    tx: &Transaction,
    notifier_name: &str,
    now: UnixMillis,
) -> Result<BindingView, StoreError> {
    tx.execute(
        "DELETE FROM tokens WHERE notifier_name = ?1",
        [notifier_name],
    )?;
    let users: Vec<String> = match current_user(tx)? {
        Some(user) if load_row(tx, &user, notifier_name)?.is_some() => vec![user],
        Some(user) => {
            let warning =
                format!("{user} has no binding under {notifier_name:?}; nothing to remove");
            history::append(
                tx,
                "unbind",
                Some(&user),
                Some(notifier_name),
                "no binding to remove",
                now,
            )?;
            return Ok(status::absent_view(
                &user,
                notifier_name,
                now,
                Some(warning),
            ));
        }
        None => {
            let mut stmt = tx.prepare(
                "SELECT user_id FROM bindings
                 WHERE notifier_name = ?1 AND desired_token IS NOT NULL ORDER BY user_id",
            )?;
            stmt.query_map([notifier_name], |row| row.get(0))?
                .collect::<Result<_, _>>()?
        }
    };
    for user in &users {
        set_desired(tx, user, notifier_name, None, None, now)?;
    }
    match users.first() {
        Some(user) => status::binding_view(tx, user, notifier_name),
        None => {
            history::append(
                tx,
                "unbind",
                None,
                Some(notifier_name),
                "no binding to remove",
                now,
            )?;
            let warning = "no user is logged in and no binding was kept; nothing to remove";
            Ok(status::absent_view(
                "",
                notifier_name,
                now,
                Some(warning.into()),
            ))
        }
    }
}

/// Logs `user_id` in: removes other users' bindings of this device and binds
/// every token the app supplied for this user.
pub fn login(
    tx: &Transaction,
    user_id: &str,
    bearer_token: Option<&str>,
    now: UnixMillis,
) -> Result<LoginChange, StoreError> {
    if let Some(token) = bearer_token {
        tx.execute(
            "INSERT INTO bearer_token (id, token, updated_at, rejected) VALUES (1, ?1, ?2, 0)
             ON CONFLICT (id) DO UPDATE SET
                 token = excluded.token, updated_at = excluded.updated_at, rejected = 0",
            params![token, now],
        )?;
    }
    let before = current_user(tx)?;
    tx.execute(
        "INSERT INTO login (id, user_id, logged_in_at, bearer_token) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET
             user_id = excluded.user_id,
             logged_in_at = CASE WHEN login.user_id = excluded.user_id
                                 THEN login.logged_in_at ELSE excluded.logged_in_at END,
             bearer_token = excluded.bearer_token",
        params![user_id, now, bearer_token.is_some()],
    )?;
    history::append(tx, "login", Some(user_id), None, "", now)?;
    let previous_user = unbind_other_users(tx, user_id, now)?.or(before.filter(|u| u != user_id));
    let mut queued = Vec::new();
    for token in stored_tokens(tx)? {
        let name = &token.notifier_name;
        let environment = token.apns_environment;
        // A parked or server-removed token is tried again only when the app
        // binds it again, never by a login.
        if let Some(row) = load_row(tx, user_id, name)?
            && row.desired_token.as_deref() == Some(token.device_token.as_str())
            && matches!(row.state, SyncState::Parked | SyncState::RemovedByServer)
        {
            continue;
        }
        if set_desired(
            tx,
            user_id,
            name,
            Some(&token.device_token),
            environment,
            now,
        )? {
            queued.push(status::binding_view(tx, user_id, name)?);
        }
    }
    Ok(LoginChange {
        previous_user,
        queued,
    })
}

/// Queues removal of every binding of this device held by a user other than
/// `user_id`. Returns one of those users.
fn unbind_other_users(
    tx: &Transaction,
    user_id: &str,
    now: UnixMillis,
) -> Result<Option<String>, StoreError> {
    let others: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT user_id, notifier_name FROM bindings
             WHERE user_id != ?1
               AND (desired_token IS NOT NULL OR confirmed_token IS NOT NULL OR confirmed_at IS NULL)
             ORDER BY user_id, notifier_name",
        )?;
        stmt.query_map([user_id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    for (other, notifier_name) in &others {
        set_desired(tx, other, notifier_name, None, None, now)?;
    }
    Ok(others.into_iter().next().map(|(user, _)| user))
}

/// One row of the `tokens` table.
pub(super) struct StoredToken {
    pub notifier_name: String,
    pub device_token: String,
    pub apns_environment: Option<ApnsEnvironment>,
    pub updated_at: UnixMillis,
}

/// Returns every token the app supplied, by certificate name.
pub(super) fn stored_tokens(conn: &rusqlite::Connection) -> Result<Vec<StoredToken>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT notifier_name, device_token, apns_environment, updated_at FROM tokens
         ORDER BY notifier_name",
    )?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(notifier_name, device_token, environment, updated_at)| {
            Ok(StoredToken {
                notifier_name,
                device_token,
                apns_environment: status::parse_environment(environment)?,
                updated_at,
            })
        })
        .collect()
}

/// Logs the current user out, queuing removal of their bindings when
/// `unbind_token` is set. Returns `None` when no user is logged in.
pub fn logout(
    tx: &Transaction,
    unbind_token: bool,
    now: UnixMillis,
) -> Result<Option<LogoutChange>, StoreError> {
    let Some(user_id) = current_user(tx)? else {
        return Ok(None);
    };
    tx.execute("DELETE FROM login WHERE id = 1", [])?;
    let detail = if unbind_token {
        "unbinding tokens"
    } else {
        "tokens kept"
    };
    history::append(tx, "logout", Some(&user_id), None, detail, now)?;
    let mut unbinding = Vec::new();
    if unbind_token {
        let names: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT notifier_name FROM bindings
                 WHERE user_id = ?1 AND desired_token IS NOT NULL ORDER BY notifier_name",
            )?;
            stmt.query_map([&user_id], |row| row.get(0))?
                .collect::<Result<_, _>>()?
        };
        for name in names {
            set_desired(tx, &user_id, &name, None, None, now)?;
            unbinding.push(status::binding_view(tx, &user_id, &name)?);
        }
    }
    Ok(Some(LogoutChange { user_id, unbinding }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::open_temp;

    fn input(name: &str, token: &str) -> BindInput {
        BindInput {
            notifier_name: name.into(),
            device_token: token.into(),
            apns_environment: None,
        }
    }

    fn outbox(tx: &rusqlite::Connection) -> Vec<(String, String, String)> {
        let mut stmt = tx
            .prepare("SELECT user_id, notifier_name, device_token FROM outbox ORDER BY id")
            .unwrap();
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn call(user: &str, name: &str, token: &str) -> (String, String, String) {
        (user.into(), name.into(), token.into())
    }

    #[test]
    fn bind_before_login_waits_then_queues() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        let view = bind(&tx, &input("fcm", "T1"), 1).unwrap();
        assert_eq!(view.state, SyncState::WaitingForLogin);
        assert!(outbox(&tx).is_empty());
        let change = login(&tx, "u1", None, 2).unwrap();
        assert_eq!(change.queued.len(), 1);
        assert_eq!(outbox(&tx), vec![call("u1", "fcm", "T1")]);
    }

    #[test]
    fn new_token_replaces_unsent_call_and_repeat_is_free() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        login(&tx, "u1", None, 1).unwrap();
        bind(&tx, &input("fcm", "T1"), 2).unwrap();
        bind(&tx, &input("fcm", "T2"), 3).unwrap();
        bind(&tx, &input("fcm", "T2"), 4).unwrap();
        assert_eq!(outbox(&tx), vec![call("u1", "fcm", "T2")]);
    }

    #[test]
    fn logout_with_unbind_queues_removal() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        login(&tx, "u1", None, 1).unwrap();
        bind(&tx, &input("fcm", "T1"), 2).unwrap();
        let change = logout(&tx, true, 3).unwrap().unwrap();
        assert_eq!(change.user_id, "u1");
        assert_eq!(change.unbinding.len(), 1);
        assert_eq!(outbox(&tx), vec![call("u1", "fcm", "")]);
        assert!(current_user(&tx).unwrap().is_none());
    }

    #[test]
    fn logout_keeping_token_queues_nothing() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        login(&tx, "u1", None, 1).unwrap();
        bind(&tx, &input("fcm", "T1"), 2).unwrap();
        tx.execute("DELETE FROM outbox", []).unwrap();
        let change = logout(&tx, false, 3).unwrap().unwrap();
        assert!(change.unbinding.is_empty());
        assert!(outbox(&tx).is_empty());
    }

    #[test]
    fn user_switch_unbinds_previous_user_first() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        login(&tx, "u1", None, 1).unwrap();
        bind(&tx, &input("fcm", "T1"), 2).unwrap();
        let change = login(&tx, "u2", None, 3).unwrap();
        assert_eq!(change.previous_user.as_deref(), Some("u1"));
        assert_eq!(
            outbox(&tx),
            vec![call("u1", "fcm", ""), call("u2", "fcm", "T1")]
        );
    }

    #[test]
    fn logout_without_login_is_none() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        assert!(logout(&tx, true, 1).unwrap().is_none());
    }
}
