//! A stand-in for the IM server's push REST API, for tests and the quick start.
//!
//! [`Standin`] keeps apps, users, notifiers, bindings and tokens in memory and
//! serves the push endpoints over HTTP/1.1 on a loopback address:
//!
//! | method | path (after the app base) | route |
//! |---|---|---|
//! | `POST` | `/token` | [`Route::Token`] |
//! | `PUT` | `/users/{user_id}/push/binding` | [`Route::PutBinding`] |
//! | `GET` | `/users/{user_id}/push/binding` | [`Route::GetBinding`] |
//! | `GET` | `/notifiers` | [`Route::ListNotifiers`] |
//! | `POST` | `/notifiers` (multipart form) | [`Route::CreateNotifier`] |
//! | `DELETE` | `/notifiers/{uuid}` | [`Route::DeleteNotifier`] |
//!
//! The app base is either `/{org_name}/{app_name}` or `/app-id/{app_id}`; both
//! address the same app. Every call is handled in this order:
//!
//! 1. an unknown app gets 404 `organization_application_not_found`;
//! 2. the first queued [`Fault`] that matches the route, if any, is applied;
//! 3. the app's per-second rate limit is checked (429 `reach_limit`);
//! 4. every route except the token route needs a bearer token of that app
//!    (401 `unauthorized` or `auth_bad_access_token`);
//! 5. the body and path are validated and the call is carried out.
//!
//! Every request, rejected ones included, is recorded in the call log
//! ([`Standin::calls`]). Tests drive the server through the methods of
//! [`Standin`], which take the state lock only briefly and never block on I/O.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use pushbind_standin::{AppSeed, Options, Standin};
//!
//! let standin = Standin::new(Options::default());
//! standin.add_app(AppSeed {
//!     org: "org".into(),
//!     name: "app".into(),
//!     app_id: "app-id-1".into(),
//!     client_id: "client".into(),
//!     client_secret: "secret".into(),
//! });
//! standin.add_user("org#app", "alice");
//! let running = standin.start("127.0.0.1:0").await?;
//! println!("serving on {}", running.url());
//! running.stop().await;
//! # Ok(())
//! # }
//! ```

mod api;
mod apps;
mod calls;
mod conn;
mod faults;
mod rate_limit;
mod server;
mod tokens;
mod validate;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use apps::{AppSeed, Binding, NotifierSeed};
pub use calls::{Call, Route};
pub use faults::{Fault, FaultAction};
pub use server::RunningStandin;

/// Settings fixed when a [`Standin`] is created.
#[derive(Clone, Debug)]
pub struct Options {
    /// Calls per second per app shared by the binding and notifier routes;
    /// `None` turns the limit off. Default: 100.
    pub rate_limit_per_second: Option<u32>,
    /// Calls per second per app on the token route; `None` turns the limit
    /// off. Default: 300.
    pub token_rate_limit_per_second: Option<u32>,
    /// Lifetime of a token requested without `ttl`. Default: 7 days.
    pub token_ttl: Duration,
    /// Seconds sent in `Retry-After` with a 429 `reach_limit`; `None` sends
    /// no header. Default: `None`.
    pub rate_limit_retry_after: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rate_limit_per_second: Some(100),
            token_rate_limit_per_second: Some(300),
            token_ttl: Duration::from_secs(7 * 24 * 60 * 60),
            rate_limit_retry_after: None,
        }
    }
}

/// The stand-in server's state. Clones share the same state.
#[derive(Clone, Debug)]
pub struct Standin {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: Options,
    state: Mutex<State>,
}

/// Everything the server stores, behind one lock.
#[derive(Debug, Default)]
struct State {
    apps: apps::Apps,
    tokens: tokens::Tokens,
    faults: faults::FaultQueue,
    calls: Vec<Call>,
    limits: rate_limit::Limits,
}

impl Standin {
    /// Creates a stand-in with no apps.
    pub fn new(options: Options) -> Self {
        let limits = rate_limit::Limits::new(
            options.rate_limit_per_second,
            options.token_rate_limit_per_second,
        );
        let state = State {
            limits,
            ..State::default()
        };
        let shared = Shared {
            options,
            state: Mutex::new(state),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Returns the options this stand-in was created with.
    pub fn options(&self) -> &Options {
        &self.shared.options
    }

    /// Locks the state. A panic in another thread that held the lock leaves
    /// the state usable, so a poisoned lock is taken over as is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Returns the current time in milliseconds since the Unix epoch, the unit of
/// every timestamp the server sends.
fn now_millis() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}
