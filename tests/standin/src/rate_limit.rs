//! Per-app rate limits over fixed one-second windows.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::{Route, Standin};

const WINDOW: Duration = Duration::from_secs(1);

/// The two buckets every app has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Bucket {
    /// Shared by the binding and notifier routes.
    Api,
    /// The token route's own bucket.
    Token,
}

/// Calls counted in the current window of one bucket.
#[derive(Debug)]
struct Window {
    started: Instant,
    count: u32,
}

/// Limits in calls per second, and the windows of every app and bucket.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    api_per_second: Option<u32>,
    token_per_second: Option<u32>,
    windows: HashMap<(String, Bucket), Window>,
}

impl Limits {
    pub(crate) fn new(api_per_second: Option<u32>, token_per_second: Option<u32>) -> Self {
        Self {
            api_per_second,
            token_per_second,
            windows: HashMap::new(),
        }
    }

    /// Counts a call on `route` and returns whether it is within the limit.
    /// A call over the limit is not counted.
    pub(crate) fn admit(&mut self, app_key: &str, route: Route) -> bool {
        let (bucket, limit) = match route {
            Route::Token => (Bucket::Token, self.token_per_second),
            _ => (Bucket::Api, self.api_per_second),
        };
        let Some(limit) = limit else {
            return true;
        };
        let now = Instant::now();
        let window = self
            .windows
            .entry((app_key.to_owned(), bucket))
            .or_insert(Window {
                started: now,
                count: 0,
            });
        if now.duration_since(window.started) >= WINDOW {
            window.started = now;
            window.count = 0;
        }
        if window.count >= limit {
            return false;
        }
        window.count += 1;
        true
    }
}

/// Rate limits changed at run time.
impl Standin {
    /// Sets the calls per second per app shared by the binding and notifier
    /// routes; `None` turns the limit off and `Some(0)` rejects every call.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        self.lock().limits.api_per_second = per_second;
    }

    /// Sets the calls per second per app on the token route; `None` turns
    /// the limit off and `Some(0)` rejects every call.
    pub fn set_token_rate_limit(&self, per_second: Option<u32>) {
        self.lock().limits.token_per_second = per_second;
    }
}
