//! A bounded log of changes and sync results, shown in status.

use pushbind_client::protocol::{HistoryEntry, UnixMillis};
use rusqlite::{Connection, params};

use super::StoreError;

/// Appends one entry. `detail` must hold no token or secret, only
/// fingerprints.
pub fn append(
    conn: &Connection,
    event: &str,
    user_id: Option<&str>,
    notifier_name: Option<&str>,
    detail: &str,
    now: UnixMillis,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO history (at, event, user_id, notifier_name, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now, event, user_id, notifier_name, detail],
    )?;
    Ok(())
}

/// Deletes all but the newest `keep` entries.
pub fn prune(conn: &Connection, keep: u32) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM history WHERE id <= (SELECT max(id) FROM history) - ?1",
        [keep],
    )?;
    Ok(())
}

/// The newest `limit` entries, newest first.
pub fn recent(conn: &Connection, limit: u32) -> Result<Vec<HistoryEntry>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT at, event, user_id, notifier_name, detail FROM history ORDER BY id DESC LIMIT ?1",
    )?;
    let entries = stmt
        .query_map([limit], |row| {
            Ok(HistoryEntry {
                at: row.get(0)?,
                event: row.get(1)?,
                user_id: row.get(2)?,
                notifier_name: row.get(3)?,
                detail: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::open_temp;

    #[test]
    fn prune_keeps_newest() {
        let (_dir, conn) = open_temp();
        for i in 0..10 {
            append(&conn, "bind", None, None, &i.to_string(), i).unwrap();
        }
        prune(&conn, 3).unwrap();
        let details: Vec<String> = recent(&conn, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.detail)
            .collect();
        assert_eq!(details, ["9", "8", "7"]);
    }
}
