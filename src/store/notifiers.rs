//! The cache of the app's push certificates ("notifiers") and the checks a
//! bind request passes against it.

pub mod expiry;

use pushbind_client::protocol::{
    ApnsEnvironment, NotifierCacheInfo, NotifierInfo, SyncState, UnixMillis,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::bindings::state_name;
use super::{StoreError, history};

/// One certificate as the server lists it, without secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifierRecord {
    pub uuid: String,
    pub name: String,
    pub provider: String,
    pub environment: Option<String>,
    pub package_name: Option<String>,
    pub disabled: bool,
    pub modified: Option<UnixMillis>,
}

/// The result of checking a certificate name before a bind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifierCheck {
    /// The name is in a fresh list, and the environment fits.
    Known,
    /// The list is missing or stale; the bind is accepted and checked when
    /// the list arrives.
    Unverified,
    /// The name is not in a fresh list.
    Unknown {
        known: Vec<String>,
        suggestion: Option<String>,
    },
    /// The app's APNs environment differs from the certificate's.
    EnvironmentMismatch { certificate: String },
    /// The app gave an APNs environment for a certificate of another vendor.
    NotApns { provider: String },
}

/// Replaces the cache with `list` and flags bindings whose certificate is
/// missing or disabled. Calls not yet sent for a missing certificate are
/// parked, because the server would store a binding no certificate serves.
pub fn replace(
    tx: &Transaction,
    list: &[NotifierRecord],
    now: UnixMillis,
) -> Result<(), StoreError> {
    tx.execute("DELETE FROM notifiers", [])?;
    for record in list {
        tx.execute(
            "INSERT OR REPLACE INTO notifiers
                 (uuid, name, provider, environment, package_name, disabled, modified)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                record.uuid,
                record.name,
                record.provider,
                record.environment,
                record.package_name,
                record.disabled,
                record.modified
            ],
        )?;
    }
    tx.execute(
        "INSERT INTO notifier_cache (id, fetched_at, last_error) VALUES (1, ?1, NULL)
         ON CONFLICT (id) DO UPDATE SET fetched_at = excluded.fetched_at, last_error = NULL",
        [now],
    )?;
    expiry::prune(tx)?;
    flag_bindings(tx, list, now)
}

fn flag_bindings(
    tx: &Transaction,
    list: &[NotifierRecord],
    now: UnixMillis,
) -> Result<(), StoreError> {
    let rows: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT user_id, notifier_name FROM bindings WHERE desired_token IS NOT NULL",
        )?;
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let known: Vec<String> = list.iter().map(|n| n.name.clone()).collect();
    for (user_id, name) in rows {
        let disabled = list.iter().find(|n| n.name == name).map(|n| n.disabled);
        let warning = warning_for(&name, disabled, &known);
        tx.execute(
            "UPDATE bindings SET warning = ?3 WHERE user_id = ?1 AND notifier_name = ?2",
            params![user_id, name, warning],
        )?;
        if list.iter().all(|n| n.name != name) {
            park_unsent(
                tx,
                &user_id,
                &name,
                warning.as_deref().unwrap_or_default(),
                now,
            )?;
        } else {
            resume_parked(tx, &user_id, &name, now)?;
        }
    }
    Ok(())
}

/// Builds the warning for a binding under certificate `name`, given
/// whether the list has it and it is disabled (`None` when it is missing),
/// and the names the list has.
fn warning_for(name: &str, disabled: Option<bool>, known: &[String]) -> Option<String> {
    match disabled {
        Some(true) => Some(format!(
            "certificate {name:?} is disabled on the server; pushes to it are not delivered"
        )),
        Some(false) => None,
        None => Some(unknown_message(name, known)),
    }
}

/// Returns the warning the cached list gives a binding under `name`: the
/// certificate is disabled or missing. Without a fetched list there is none.
pub fn cached_warning(conn: &Connection, name: &str) -> Result<Option<String>, StoreError> {
    let fetched: Option<i64> = conn
        .query_row(
            "SELECT fetched_at FROM notifier_cache WHERE id = 1",
            [],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    if fetched.is_none() {
        return Ok(None);
    }
    let list = list(conn)?;
    let disabled = list.iter().find(|n| n.name == name).map(|n| n.disabled);
    let known: Vec<String> = list.into_iter().map(|n| n.name).collect();
    Ok(warning_for(name, disabled, &known))
}

fn park_unsent(
    tx: &Transaction,
    user_id: &str,
    name: &str,
    reason: &str,
    now: UnixMillis,
) -> Result<(), StoreError> {
    let parked = tx.execute(
        "UPDATE outbox SET parked = 1, park_reason = 'unknown_notifier', last_error = ?3
         WHERE user_id = ?1 AND notifier_name = ?2 AND parked = 0 AND device_token != ''",
        params![user_id, name, reason],
    )?;
    if parked > 0 {
        tx.execute(
            "UPDATE bindings SET state = ?3, last_error = ?4, updated_at = ?5
             WHERE user_id = ?1 AND notifier_name = ?2",
            params![user_id, name, state_name(SyncState::Parked), reason, now],
        )?;
        history::append(tx, "parked", Some(user_id), Some(name), reason, now)?;
    }
    Ok(())
}

/// Applies the cached list to every binding again when the list is fresh:
/// flags bindings whose certificate is missing or disabled, and parks their
/// unsent calls. Run after a login queues stored tokens.
pub fn recheck(tx: &Transaction, now: UnixMillis, max_age_ms: i64) -> Result<(), StoreError> {
    if !cache_info(tx, now, max_age_ms)?.fresh {
        return Ok(());
    }
    let records: Vec<NotifierRecord> = list(tx)?
        .into_iter()
        .map(|info| NotifierRecord {
            uuid: info.uuid,
            name: info.name,
            provider: info.provider,
            environment: info.environment,
            package_name: info.package_name,
            disabled: info.disabled,
            modified: info.modified,
        })
        .collect();
    flag_bindings(tx, &records, now)
}

/// Queues again the calls parked because their certificate was missing from
/// the list, now that it is listed.
fn resume_parked(
    tx: &Transaction,
    user_id: &str,
    name: &str,
    now: UnixMillis,
) -> Result<(), StoreError> {
    let resumed = tx.execute(
        "UPDATE outbox SET parked = 0, park_reason = NULL, last_error = NULL, next_attempt_at = ?3,
                           scheduled_at = ?3
         WHERE user_id = ?1 AND notifier_name = ?2 AND park_reason = 'unknown_notifier'",
        params![user_id, name, now],
    )?;
    if resumed > 0 {
        tx.execute(
            "UPDATE bindings SET state = ?3, last_error = NULL, updated_at = ?4
             WHERE user_id = ?1 AND notifier_name = ?2",
            params![user_id, name, state_name(SyncState::Pending), now],
        )?;
        let detail = "certificate is listed again";
        history::append(tx, "resumed", Some(user_id), Some(name), detail, now)?;
    }
    Ok(())
}

/// Records a failed fetch of the list; the cached list stays.
pub fn record_error(conn: &Connection, error: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO notifier_cache (id, fetched_at, last_error) VALUES (1, NULL, ?1)
         ON CONFLICT (id) DO UPDATE SET last_error = excluded.last_error",
        [error],
    )?;
    Ok(())
}

/// Returns the cached certificates, by name.
pub fn list(conn: &Connection) -> Result<Vec<NotifierInfo>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name, uuid, provider, environment, package_name, disabled, modified
         FROM notifiers ORDER BY name, provider",
    )?;
    let list = stmt
        .query_map([], |row| {
            Ok(NotifierInfo {
                name: row.get(0)?,
                uuid: row.get(1)?,
                provider: row.get(2)?,
                environment: row.get(3)?,
                package_name: row.get(4)?,
                disabled: row.get(5)?,
                modified: row.get(6)?,
                expires_at: None,
                expiring: false,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(list)
}

/// Reports the cache's age and health. The list is fresh when the last fetch
/// succeeded within `max_age_ms`.
pub fn cache_info(
    conn: &Connection,
    now: UnixMillis,
    max_age_ms: i64,
) -> Result<NotifierCacheInfo, StoreError> {
    let count: u32 = conn.query_row("SELECT count(*) FROM notifiers", [], |row| row.get(0))?;
    let row: Option<(Option<i64>, Option<String>)> = conn
        .query_row(
            "SELECT fetched_at, last_error FROM notifier_cache WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (fetched_at, last_error) = row.unwrap_or((None, None));
    Ok(NotifierCacheInfo {
        count,
        fetched_at,
        fresh: fetched_at.is_some_and(|at| now.saturating_sub(at) <= max_age_ms),
        last_error,
    })
}

/// Checks `name`, and the app's APNs environment when given, against the
/// cache.
pub fn check(
    conn: &Connection,
    name: &str,
    environment: Option<ApnsEnvironment>,
    now: UnixMillis,
    max_age_ms: i64,
) -> Result<NotifierCheck, StoreError> {
    if !cache_info(conn, now, max_age_ms)?.fresh {
        return Ok(NotifierCheck::Unverified);
    }
    let list = list(conn)?;
    let Some(record) = list.iter().find(|n| n.name == name) else {
        let known: Vec<String> = list.into_iter().map(|n| n.name).collect();
        let suggestion = closest(name, &known);
        return Ok(NotifierCheck::Unknown { known, suggestion });
    };
    if environment.is_some() && record.provider != "APNS" {
        return Ok(NotifierCheck::NotApns {
            provider: record.provider.clone(),
        });
    }
    let mismatch = matches!(
        (environment, record.provider.as_str(), record.environment.as_deref()),
        (Some(app), "APNS", Some(certificate)) if app.as_str() != certificate
    );
    if mismatch {
        return Ok(NotifierCheck::EnvironmentMismatch {
            certificate: record.environment.clone().unwrap_or_default(),
        });
    }
    Ok(NotifierCheck::Known)
}

/// Builds the message for a certificate name that is not in the list.
pub fn unknown_message(name: &str, known: &[String]) -> String {
    let mut message = format!("certificate {name:?} is not in the app's certificate list");
    if let Some(close) = closest(name, known) {
        message.push_str(&format!(". Did you mean {close:?}?"));
    } else {
        message.push('.');
    }
    if known.is_empty() {
        message.push_str(" The app has no certificates on the server; upload one in the console.");
    } else {
        message.push_str(&format!(" Known names: {}.", known.join(", ")));
    }
    message
}

/// Finds the known name closest to `name`: equal when case and `-`/`_` are
/// ignored, or within an edit distance of a third of its length.
fn closest(name: &str, known: &[String]) -> Option<String> {
    let normal = |s: &str| s.to_lowercase().replace(['-', '_'], "");
    if let Some(same) = known.iter().find(|k| normal(k) == normal(name)) {
        return Some(same.clone());
    }
    let limit = name.chars().count().div_ceil(3).max(1);
    known
        .iter()
        .map(|k| (edit_distance(&normal(k), &normal(name)), k))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, k)| k.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::open_temp;

    fn record(name: &str, provider: &str, environment: &str) -> NotifierRecord {
        NotifierRecord {
            uuid: format!("uuid-{name}"),
            name: name.into(),
            provider: provider.into(),
            environment: Some(environment.into()),
            package_name: None,
            disabled: false,
            modified: None,
        }
    }

    const HOUR: i64 = 3_600_000;

    #[test]
    fn unknown_name_lists_known_and_suggests_close_match() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        replace(
            &tx,
            &[
                record("prod-apns", "APNS", "PRODUCTION"),
                record("fcm", "ANDROID", "PRODUCTION"),
            ],
            0,
        )
        .unwrap();
        let check = check(&tx, "prodAPNs", None, 1, HOUR).unwrap();
        let NotifierCheck::Unknown { known, suggestion } = check else {
            panic!("{check:?}")
        };
        assert_eq!(known, ["fcm", "prod-apns"]);
        assert_eq!(suggestion.as_deref(), Some("prod-apns"));
    }

    #[test]
    fn stale_cache_accepts_any_name() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        assert_eq!(
            check(&tx, "x", None, 0, HOUR).unwrap(),
            NotifierCheck::Unverified
        );
        replace(&tx, &[record("fcm", "ANDROID", "PRODUCTION")], 0).unwrap();
        assert_eq!(
            check(&tx, "x", None, 2 * HOUR, HOUR).unwrap(),
            NotifierCheck::Unverified
        );
        assert!(matches!(
            check(&tx, "x", None, HOUR, HOUR).unwrap(),
            NotifierCheck::Unknown { .. }
        ));
    }

    #[test]
    fn apns_environment_mismatch_detected() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        replace(&tx, &[record("dev-apns", "APNS", "DEVELOPMENT")], 0).unwrap();
        let check_env = |environment| check(&tx, "dev-apns", Some(environment), 1, HOUR).unwrap();
        assert_eq!(
            check_env(ApnsEnvironment::Production),
            NotifierCheck::EnvironmentMismatch {
                certificate: "DEVELOPMENT".into()
            }
        );
        assert_eq!(
            check_env(ApnsEnvironment::Development),
            NotifierCheck::Known
        );
    }

    #[test]
    fn call_parked_for_missing_certificate_resumes_when_listed() {
        use crate::store::bindings::{BindInput, bind, login};
        use crate::store::outbox::next_due;
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        login(&tx, "u1", None, 0).unwrap();
        let input = BindInput {
            notifier_name: "fcm".into(),
            device_token: "T1".into(),
            apns_environment: None,
        };
        bind(&tx, &input, 0).unwrap();
        replace(&tx, &[record("other", "ANDROID", "PRODUCTION")], 1).unwrap();
        assert!(next_due(&tx, 2).unwrap().is_none(), "parked while unknown");
        replace(&tx, &[record("fcm", "ANDROID", "PRODUCTION")], 3).unwrap();
        let due = next_due(&tx, 4).unwrap().unwrap();
        assert_eq!(due.device_token, "T1");
    }

    #[test]
    fn closest_ignores_distant_names() {
        let known = vec!["fcm-main".to_owned()];
        assert_eq!(closest("fcm-mian", &known).as_deref(), Some("fcm-main"));
        assert_eq!(closest("huawei", &known), None);
    }
}
