//! Expiry dates of certificates uploaded through this daemon. The server
//! reports none, so the date read from an APNs `.p12` at upload is kept
//! here by the certificate's uuid. No secret is stored.

use pushbind_client::protocol::{NotifierInfo, UnixMillis};
use rusqlite::{Connection, Transaction, params};

use crate::store::StoreError;

/// A certificate whose expiry warning is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiryWarning {
    pub uuid: String,
    pub name: String,
    pub provider: String,
    pub expires_at: UnixMillis,
}

/// Records the expiry of the certificate `uuid`, replacing an older record.
pub fn record(
    tx: &Transaction,
    uuid: &str,
    name: &str,
    provider: &str,
    expires_at: UnixMillis,
    now: UnixMillis,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO notifier_expiry
             (uuid, name, provider, expires_at, uploaded_at, warned_at)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
        params![uuid, name, provider, expires_at, now],
    )?;
    Ok(())
}

/// Forgets the expiry of certificates no longer in the cached list.
pub fn prune(tx: &Transaction) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM notifier_expiry WHERE uuid NOT IN (SELECT uuid FROM notifiers)",
        [],
    )?;
    Ok(())
}

/// Returns the cached certificates that entered the warning window
/// (`expires_at - now <= window_ms`) since their last warning, and marks
/// them warned. A certificate that left the window, because the window
/// shrank, is marked unwarned, so that it is warned again when it returns.
pub fn take_due_warnings(
    tx: &Transaction,
    now: UnixMillis,
    window_ms: i64,
) -> Result<Vec<ExpiryWarning>, StoreError> {
    let limit = now.saturating_add(window_ms);
    tx.execute(
        "UPDATE notifier_expiry SET warned_at = NULL WHERE expires_at > ?1",
        [limit],
    )?;
    let due: Vec<ExpiryWarning> = {
        let mut stmt = tx.prepare(
            "SELECT e.uuid, e.name, e.provider, e.expires_at FROM notifier_expiry e
             JOIN notifiers n ON n.uuid = e.uuid
             WHERE e.expires_at <= ?1 AND e.warned_at IS NULL
             ORDER BY e.expires_at, e.name",
        )?;
        stmt.query_map([limit], |row| {
            Ok(ExpiryWarning {
                uuid: row.get(0)?,
                name: row.get(1)?,
                provider: row.get(2)?,
                expires_at: row.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?
    };
    for warning in &due {
        tx.execute(
            "UPDATE notifier_expiry SET warned_at = ?2 WHERE uuid = ?1",
            params![warning.uuid, now],
        )?;
    }
    Ok(due)
}

/// Sets `expires_at` from the records and `expiring` by the warning window.
pub fn annotate(
    conn: &Connection,
    list: &mut [NotifierInfo],
    now: UnixMillis,
    window_ms: i64,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("SELECT expires_at FROM notifier_expiry WHERE uuid = ?1")?;
    for info in list.iter_mut() {
        let mut rows = stmt.query([&info.uuid])?;
        info.expires_at = match rows.next()? {
            Some(row) => Some(row.get(0)?),
            None => None,
        };
        info.expiring = info
            .expires_at
            .is_some_and(|at| at <= now.saturating_add(window_ms));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::notifiers::{NotifierRecord, replace};
    use crate::store::test_support::open_temp;

    const DAY: i64 = 86_400_000;

    fn apns(uuid: &str) -> NotifierRecord {
        NotifierRecord {
            uuid: uuid.into(),
            name: format!("name-{uuid}"),
            provider: "APNS".into(),
            environment: Some("PRODUCTION".into()),
            package_name: None,
            disabled: false,
            modified: None,
        }
    }

    #[test]
    fn warnings_once_per_crossing() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        replace(&tx, &[apns("tomorrow"), apns("twenty"), apns("year")], 0).unwrap();
        record(&tx, "tomorrow", "name-tomorrow", "APNS", DAY, 0).unwrap();
        record(&tx, "twenty", "name-twenty", "APNS", 20 * DAY, 0).unwrap();
        record(&tx, "year", "name-year", "APNS", 365 * DAY, 0).unwrap();
        let due = take_due_warnings(&tx, 0, 30 * DAY).unwrap();
        let names: Vec<&str> = due.iter().map(|w| w.uuid.as_str()).collect();
        assert_eq!(names, ["tomorrow", "twenty"]);
        assert!(take_due_warnings(&tx, 1, 30 * DAY).unwrap().is_empty());
        // A shorter window lets "twenty" leave it; a longer one brings it back.
        assert!(take_due_warnings(&tx, 2, 10 * DAY).unwrap().is_empty());
        let again = take_due_warnings(&tx, 3, 30 * DAY).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].uuid, "twenty");
        // The year-long certificate crosses in time.
        let later = take_due_warnings(&tx, 340 * DAY, 30 * DAY).unwrap();
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].uuid, "year");
    }

    #[test]
    fn annotate_flags_window() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        replace(&tx, &[apns("a"), apns("b"), apns("c")], 0).unwrap();
        record(&tx, "a", "name-a", "APNS", DAY, 0).unwrap();
        record(&tx, "b", "name-b", "APNS", 365 * DAY, 0).unwrap();
        let mut list = crate::store::notifiers::list(&tx).unwrap();
        annotate(&tx, &mut list, 0, 30 * DAY).unwrap();
        let flags: Vec<(Option<i64>, bool)> =
            list.iter().map(|n| (n.expires_at, n.expiring)).collect();
        assert_eq!(
            flags,
            [(Some(DAY), true), (Some(365 * DAY), false), (None, false)]
        );
    }

    #[test]
    fn deleted_certificate_forgotten() {
        let (_dir, mut conn) = open_temp();
        let tx = conn.transaction().unwrap();
        replace(&tx, &[apns("a")], 0).unwrap();
        record(&tx, "a", "name-a", "APNS", DAY, 0).unwrap();
        replace(&tx, &[], 1).unwrap();
        let count: i64 = tx
            .query_row("SELECT count(*) FROM notifier_expiry", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }
}
