//! Retry delays: capped exponential back-off with full jitter, so that a
//! fleet of daemons failing at the same moment spreads its retries instead
//! of hitting the server's shared rate limit together.

use std::time::Duration;

use super::failure::FailureKind;

/// Longest `Retry-After` honoured; a server asking for more is retried after
/// this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The delay before attempt `attempt + 1`, after `attempt` failed attempts
/// (`attempt >= 1`).
///
/// Without `Retry-After` the delay is uniform in `[0, min(max, initial *
/// 2^(attempt - 1))]`. With it, the delay is `Retry-After` plus a uniform
/// share of the same ceiling, never less than what the server asked for. A
/// plan quota (`resource_limited`) waits between half of `max` and `max`.
pub fn retry_delay(
    attempt: u32,
    kind: FailureKind,
    retry_after: Option<Duration>,
    initial: Duration,
    max: Duration,
) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    let ceiling = initial.saturating_mul(1 << exponent).min(max);
    if kind == FailureKind::QuotaLimited {
        return max / 2 + uniform(max / 2);
    }
    match retry_after {
        Some(after) => {
            let after = after.min(MAX_RETRY_AFTER);
            after + uniform(ceiling.min(after.max(initial)))
        }
        None => uniform(ceiling),
    }
}

/// Returns the delay before the next attempt when the fleet's retries are
/// paced over `window`, the time the app's rate limit needs to admit one
/// call of every device, or `None` when [`retry_delay`] applies.
///
/// A server failure (5xx, timeout, no connection) is likely failing the
/// whole fleet at once, so the first retry is uniform over the whole
/// window and later ones come one window apart, within 2 %. The devices'
/// calls then stay evenly spread, just under the app's limit, for as long
/// as the failure lasts. When the server recovers, every device gets
/// through within about one window. With doubling back-off instead, the
/// devices either send faster than the limit admits or sleep long past the
/// recovery. The server does not tell devices the fleet's size, so it is
/// configured.
///
/// A 429 `reach_limit` during such paced traffic is calls bunching by
/// chance, so it is retried soon: uniform up to `initial` doubled for each
/// 429 in a row (`limited_in_a_row >= 1`), at most one window.
pub fn paced_delay(
    attempt: u32,
    kind: FailureKind,
    limited_in_a_row: u32,
    window: Duration,
    initial: Duration,
) -> Option<Duration> {
    match kind {
        FailureKind::Transient if attempt <= 1 => Some(uniform(window)),
        FailureKind::Transient => Some(window.mul_f64(0.98 + fastrand::f64() * 0.04)),
        FailureKind::RateLimited => {
            let exponent = limited_in_a_row.saturating_sub(1).min(31);
            Some(uniform(initial.saturating_mul(1 << exponent).min(window)))
        }
        _ => None,
    }
}

/// A uniformly random duration in `[0, ceiling]`.
fn uniform(ceiling: Duration) -> Duration {
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(fastrand::u64(0..=millis))
}

/// `interval` scaled by a random factor in `[0.9, 1.1]`, for timers that
/// many daemons run.
pub fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + fastrand::f64() * 0.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn delay_stays_under_growing_cap() {
        for attempt in 1..=12 {
            let cap = (SECOND * 2u32.pow(attempt - 1)).min(SECOND * 60);
            for _ in 0..50 {
                let delay = retry_delay(attempt, FailureKind::Transient, None, SECOND, SECOND * 60);
                assert!(delay <= cap, "attempt {attempt}: {delay:?} > {cap:?}");
            }
        }
    }

    #[test]
    fn delays_are_spread() {
        let delays: std::collections::HashSet<_> = (0..50)
            .map(|_| retry_delay(6, FailureKind::Transient, None, SECOND, SECOND * 60))
            .collect();
        assert!(delays.len() > 25, "only {} distinct delays", delays.len());
    }

    #[test]
    fn retry_after_is_a_minimum() {
        for _ in 0..50 {
            let delay = retry_delay(
                1,
                FailureKind::RateLimited,
                Some(SECOND * 2),
                SECOND,
                SECOND * 60,
            );
            assert!(delay >= SECOND * 2);
            assert!(delay <= SECOND * 4);
        }
    }

    #[test]
    fn huge_retry_after_is_capped() {
        let huge = Duration::from_secs(9_300_000_000_000_000_000);
        let delay = retry_delay(1, FailureKind::RateLimited, Some(huge), SECOND, SECOND * 60);
        assert!(delay <= MAX_RETRY_AFTER + SECOND * 60);
        assert!(tokio::time::Instant::now().checked_add(delay).is_some());
    }

    #[test]
    fn huge_attempt_count_does_not_overflow() {
        let delay = retry_delay(u32::MAX, FailureKind::Transient, None, SECOND, SECOND * 300);
        assert!(delay <= SECOND * 300);
    }

    #[test]
    fn quota_waits_long() {
        let delay = retry_delay(1, FailureKind::QuotaLimited, None, SECOND, SECOND * 300);
        assert!(delay >= SECOND * 150);
    }

    #[test]
    fn paced_first_retry_spreads_over_the_window() {
        let window = SECOND * 100;
        let delays: Vec<_> = (0..200)
            .map(|_| paced_delay(1, FailureKind::Transient, 0, window, SECOND).unwrap())
            .collect();
        assert!(delays.iter().all(|delay| *delay <= window));
        assert!(delays.iter().any(|delay| *delay < SECOND * 25));
        assert!(delays.iter().any(|delay| *delay > SECOND * 75));
    }

    #[test]
    fn paced_later_retries_come_one_window_apart() {
        let window = SECOND * 100;
        for attempt in [2, 10, u32::MAX] {
            let delay = paced_delay(attempt, FailureKind::Transient, 0, window, SECOND).unwrap();
            assert!(delay >= SECOND * 98, "{delay:?}");
            assert!(delay <= SECOND * 102, "{delay:?}");
        }
    }

    #[test]
    fn paced_rate_limit_retries_soon_and_doubles() {
        let window = SECOND * 100;
        for (in_a_row, cap) in [(1, SECOND), (3, SECOND * 4), (40, window)] {
            for _ in 0..50 {
                let delay =
                    paced_delay(9, FailureKind::RateLimited, in_a_row, window, SECOND).unwrap();
                assert!(delay <= cap, "{in_a_row}: {delay:?} > {cap:?}");
            }
        }
    }

    #[test]
    fn pacing_leaves_other_failures_to_back_off() {
        let paced = paced_delay(1, FailureKind::QuotaLimited, 1, SECOND * 100, SECOND);
        assert_eq!(paced, None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..50 {
            let value = jittered(SECOND * 100);
            assert!(value >= SECOND * 90 && value <= SECOND * 110);
        }
    }
}
