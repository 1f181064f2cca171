//! Display of the daemon's timestamps, which are milliseconds since the Unix
//! epoch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pushbind_client::protocol::UnixMillis;

/// The first millisecond after 9999-12-31T23:59:59Z, the last second that
/// RFC 3339 can write with a four-digit year.
const RFC3339_END: UnixMillis = 253_402_300_800_000;

/// Returns the current time in milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> UnixMillis {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => UnixMillis::try_from(elapsed.as_millis()).unwrap_or(UnixMillis::MAX),
        Err(before_epoch) => {
            -UnixMillis::try_from(before_epoch.duration().as_millis()).unwrap_or(0)
        }
    }
}

/// Formats `at` relative to `now`: `in 4s`, `3m ago`, `1h 5m ago`, or `now`
/// within one second. Two units are shown when the second one is not zero.
pub(crate) fn relative(at: UnixMillis, now: UnixMillis) -> String {
    let delta = i128::from(at) - i128::from(now);
    let millis = delta.unsigned_abs();
    if millis < 1000 {
        return "now".to_owned();
    }
    let span = span_text(u64::try_from(millis / 1000).unwrap_or(u64::MAX));
    if delta > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// Formats a number of seconds with its largest unit and the next one, such
/// as `1h 5m`. Seconds are rounded down.
fn span_text(seconds: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let Some(index) = UNITS.iter().position(|(size, _)| seconds >= *size) else {
        return "0s".to_owned();
    };
    let (size, name) = UNITS[index];
    let whole = seconds / size;
    let rest = seconds % size;
    match UNITS.get(index + 1) {
        Some((next_size, next_name)) if rest / next_size > 0 => {
            format!("{whole}{name} {}{next_name}", rest / next_size)
        }
        _ => format!("{whole}{name}"),
    }
}

/// Formats `at` as RFC 3339 in UTC, to the second. A time outside the years
/// 1970 to 9999 is shown as its raw millisecond count.
pub(crate) fn absolute(at: UnixMillis) -> String {
    match u64::try_from(at) {
        Ok(millis) if at < RFC3339_END => {
            let time = UNIX_EPOCH + Duration::from_millis(millis);
            humantime::format_rfc3339_seconds(time).to_string()
        }
        _ => format!("{at} ms since the Unix epoch"),
    }
}

/// Formats `at` both ways: `3m ago (2025-01-01T00:00:00Z)`.
pub(crate) fn moment(at: UnixMillis, now: UnixMillis) -> String {
    format!("{} ({})", relative(at, now), absolute(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_750_000_000_000;
    const SECOND: UnixMillis = 1000;
    const MINUTE: UnixMillis = 60 * SECOND;
    const HOUR: UnixMillis = 60 * MINUTE;
    const DAY: UnixMillis = 24 * HOUR;

    #[test]
    fn relative_within_a_second_is_now() {
        assert_eq!(relative(NOW, NOW), "now");
        assert_eq!(relative(NOW + 999, NOW), "now");
        assert_eq!(relative(NOW - 999, NOW), "now");
    }

    #[test]
    fn relative_future_and_past() {
        assert_eq!(relative(NOW + 4 * SECOND, NOW), "in 4s");
        assert_eq!(relative(NOW + 4 * SECOND + 900, NOW), "in 4s");
        assert_eq!(relative(NOW - 3 * MINUTE, NOW), "3m ago");
        assert_eq!(relative(NOW - 59 * SECOND, NOW), "59s ago");
        assert_eq!(relative(NOW - 2 * HOUR, NOW), "2h ago");
        assert_eq!(relative(NOW + 3 * DAY, NOW), "in 3d");
    }

    #[test]
    fn relative_shows_second_unit() {
        assert_eq!(relative(NOW + 90 * SECOND, NOW), "in 1m 30s");
        assert_eq!(relative(NOW - HOUR - 5 * MINUTE, NOW), "1h 5m ago");
        assert_eq!(relative(NOW - DAY - 4 * HOUR - MINUTE, NOW), "1d 4h ago");
        assert_eq!(relative(NOW - HOUR - 30 * SECOND, NOW), "1h ago");
    }

    #[test]
    fn relative_extremes_do_not_overflow() {
        assert!(relative(UnixMillis::MIN, UnixMillis::MAX).ends_with(" ago"));
        assert!(relative(UnixMillis::MAX, UnixMillis::MIN).starts_with("in "));
    }

    #[test]
    fn absolute_is_rfc3339_utc() {
        assert_eq!(absolute(0), "1970-01-01T00:00:00Z");
        assert_eq!(absolute(NOW + 999), "2025-06-15T15:06:40Z");
        assert_eq!(absolute(RFC3339_END - 1), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn absolute_out_of_range_is_raw() {
        assert_eq!(absolute(-1), "-1 ms since the Unix epoch");
        assert!(absolute(RFC3339_END).contains("ms since the Unix epoch"));
    }

    #[test]
    fn moment_has_both_forms() {
        assert_eq!(
            moment(NOW - 3 * MINUTE, NOW),
            "3m ago (2025-06-15T15:03:40Z)"
        );
    }
}
