//! Views of the stored state for the local API. Tokens leave the database
//! only as fingerprints.

use pushbind_client::protocol::{
    ApnsEnvironment, BindingView, LoginInfo, OutboxSummary, ServerBinding, SyncState, TokenView,
    UnixMillis,
};
use rusqlite::{Connection, OptionalExtension, Row};

use super::bindings::{BindInput, parse_state};
use super::{StoreError, now_millis};
use crate::fingerprint::fingerprint;

pub(super) fn parse_environment(
    name: Option<String>,
) -> Result<Option<ApnsEnvironment>, StoreError> {
    match name.as_deref() {
        None => Ok(None),
        Some("DEVELOPMENT") => Ok(Some(ApnsEnvironment::Development)),
        Some("PRODUCTION") => Ok(Some(ApnsEnvironment::Production)),
        Some(other) => Err(StoreError::Corrupt(format!("APNs environment {other:?}"))),
    }
}

const BINDING_QUERY: &str = "
    SELECT b.user_id, b.notifier_name, b.desired_token, b.confirmed_token, b.state,
           o.attempts, coalesce(o.last_error, b.last_error), o.next_attempt_at, o.parked,
           b.confirmed_at, b.updated_at, b.apns_environment,
           (SELECT n.environment FROM notifiers n
            WHERE n.name = b.notifier_name AND n.provider = 'APNS' LIMIT 1),
           b.warning
    FROM bindings b
    LEFT JOIN outbox o ON o.id = (
        SELECT max(id) FROM outbox WHERE user_id = b.user_id AND notifier_name = b.notifier_name)";

fn binding_from_row(row: &Row) -> rusqlite::Result<(BindingView, String, Option<String>)> {
    let parked: Option<bool> = row.get(8)?;
    let view = BindingView {
        user_id: row.get(0)?,
        notifier_name: row.get(1)?,
        desired_token: row.get::<_, Option<String>>(2)?.as_deref().map(fingerprint),
        confirmed_token: row.get::<_, Option<String>>(3)?.as_deref().map(fingerprint),
        state: SyncState::Unknown,
        attempts: row.get::<_, Option<u32>>(5)?.unwrap_or(0),
        last_error: row.get(6)?,
        next_retry_at: match (parked, row.get::<_, Option<u32>>(5)?) {
            (Some(false), Some(attempts)) if attempts > 0 => row.get(7)?,
            _ => None,
        },
        confirmed_at: row.get(9)?,
        updated_at: row.get(10)?,
        apns_environment: None,
        notifier_environment: row.get(12)?,
        warning: row.get(13)?,
    };
    Ok((view, row.get(4)?, row.get(11)?))
}

fn finish_view(
    (mut view, state, environment): (BindingView, String, Option<String>),
) -> Result<BindingView, StoreError> {
    view.state = parse_state(&state)?;
    view.apns_environment = parse_environment(environment)?;
    if view.state == SyncState::Pending && view.attempts > 0 {
        view.state = SyncState::Retrying;
    }
    Ok(view)
}

/// Returns the view of one binding.
pub fn binding_view(
    conn: &Connection,
    user_id: &str,
    notifier_name: &str,
) -> Result<BindingView, StoreError> {
    let sql = format!("{BINDING_QUERY} WHERE b.user_id = ?1 AND b.notifier_name = ?2");
    let row = conn
        .query_row(&sql, [user_id, notifier_name], binding_from_row)
        .optional()?;
    match row {
        Some(row) => finish_view(row),
        // A binding whose removal the server confirmed leaves no row.
        None => Ok(absent_view(user_id, notifier_name, now_millis(), None)),
    }
}

/// Returns every binding, the logged-in user's first.
pub fn bindings(conn: &Connection) -> Result<Vec<BindingView>, StoreError> {
    let sql = format!(
        "{BINDING_QUERY} ORDER BY b.user_id != coalesce((SELECT user_id FROM login), ''),
                                  b.user_id, b.notifier_name"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map([], binding_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(finish_view).collect()
}

/// Builds the view of a token kept while no user is logged in.
pub fn waiting_for_login_view(input: &BindInput, now: UnixMillis) -> BindingView {
    BindingView {
        user_id: String::new(),
        notifier_name: input.notifier_name.clone(),
        desired_token: Some(fingerprint(&input.device_token)),
        confirmed_token: None,
        state: SyncState::WaitingForLogin,
        attempts: 0,
        last_error: None,
        next_retry_at: None,
        confirmed_at: None,
        updated_at: now,
        apns_environment: input.apns_environment,
        notifier_environment: None,
        warning: Some("no user is logged in; the token is bound at the next login".into()),
    }
}

/// Builds the view of a binding that does not exist: removed, or never made.
pub fn absent_view(
    user_id: &str,
    notifier_name: &str,
    now: UnixMillis,
    warning: Option<String>,
) -> BindingView {
    BindingView {
        user_id: user_id.to_owned(),
        notifier_name: notifier_name.to_owned(),
        desired_token: None,
        confirmed_token: None,
        state: SyncState::Synced,
        attempts: 0,
        last_error: None,
        next_retry_at: None,
        confirmed_at: None,
        updated_at: now,
        apns_environment: None,
        notifier_environment: None,
        warning,
    }
}

/// Returns the logged-in user.
pub fn login_info(conn: &Connection) -> Result<Option<LoginInfo>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT user_id, logged_in_at, bearer_token FROM login WHERE id = 1",
            [],
            |row| {
                Ok(LoginInfo {
                    user_id: row.get(0)?,
                    logged_in_at: row.get(1)?,
                    bearer_token: row.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Returns the tokens the app supplied, as fingerprints.
pub fn tokens(conn: &Connection) -> Result<Vec<TokenView>, StoreError> {
    let tokens = super::bindings::stored_tokens(conn)?;
    let views = tokens
        .into_iter()
        .map(|token| TokenView {
            notifier_name: token.notifier_name,
            device_token: fingerprint(&token.device_token),
            apns_environment: token.apns_environment,
            updated_at: token.updated_at,
        })
        .collect();
    Ok(views)
}

/// Counts of queued server calls.
pub fn outbox_summary(conn: &Connection) -> Result<OutboxSummary, StoreError> {
    Ok(conn.query_row(
        "SELECT count(*) FILTER (WHERE parked = 0), count(*) FILTER (WHERE parked = 1),
                min(next_attempt_at) FILTER (WHERE parked = 0)
         FROM outbox",
        [],
        |row| {
            Ok(OutboxSummary {
                pending: row.get(0)?,
                parked: row.get(1)?,
                next_attempt_at: row.get(2)?,
            })
        },
    )?)
}

/// When bindings were last compared with the server's, and the server's
/// bindings of this device that the daemon did not make.
pub fn reconcile_info(
    conn: &Connection,
) -> Result<(Option<UnixMillis>, Vec<ServerBinding>), StoreError> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT at, unmanaged FROM reconcile WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((at, unmanaged)) = row else {
        return Ok((None, Vec::new()));
    };
    let unmanaged: Vec<(String, String, String, String)> = serde_json::from_str(&unmanaged)
        .map_err(|err| StoreError::Corrupt(format!("reconcile result: {err}")))?;
    let unmanaged = unmanaged
        .into_iter()
        .map(
            |(user_id, device_id, notifier_name, device_token)| ServerBinding {
                user_id,
                device_id,
                notifier_name,
                device_token,
            },
        )
        .collect();
    Ok((Some(at), unmanaged))
}
