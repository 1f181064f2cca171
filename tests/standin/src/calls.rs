//! The call log: one entry per request the server received.

use std::fmt;
use std::time::SystemTime;

use axum::http::Method;

use crate::Standin;

/// The endpoint a request was routed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST {base}/token`.
    Token,
    /// `PUT {base}/users/{user_id}/push/binding`.
    PutBinding,
    /// `GET {base}/users/{user_id}/push/binding`.
    GetBinding,
    /// `GET {base}/notifiers`.
    ListNotifiers,
    /// `POST {base}/notifiers`.
    CreateNotifier,
    /// `DELETE {base}/notifiers/{uuid}`.
    DeleteNotifier,
    /// Any other method or path.
    Other,
}

impl Route {
    /// Classifies a request by its method and the route pattern it matched.
    pub(crate) fn classify(method: &Method, pattern: Option<&str>) -> Self {
        let Some(pattern) = pattern else {
            return Self::Other;
        };
        let is = |suffix: &str, expected: Method| pattern.ends_with(suffix) && method == expected;
        if is("/token", Method::POST) {
            Self::Token
        } else if is("/push/binding", Method::PUT) {
            Self::PutBinding
        } else if is("/push/binding", Method::GET) {
            Self::GetBinding
        } else if is("/notifiers", Method::GET) {
            Self::ListNotifiers
        } else if is("/notifiers", Method::POST) {
            Self::CreateNotifier
        } else if is("/notifiers/{uuid}", Method::DELETE) {
            Self::DeleteNotifier
        } else {
            Self::Other
        }
    }

    /// Returns a short snake_case name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::PutBinding => "put_binding",
            Self::GetBinding => "get_binding",
            Self::ListNotifiers => "list_notifiers",
            Self::CreateNotifier => "create_notifier",
            Self::DeleteNotifier => "delete_notifier",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// HTTP method, such as `PUT`.
    pub method: String,
    /// The endpoint the request was routed to.
    pub route: Route,
    /// The request path without the query string, as sent (percent-encoded).
    pub path: String,
    /// The status sent back; 0 when the connection was closed without a
    /// response by a [`crate::FaultAction::Drop`] fault.
    pub status: u16,
    /// When the request arrived.
    pub at: SystemTime,
}

/// The call log.
impl Standin {
    /// Returns every logged call, oldest first. A call is logged once its
    /// response is ready, so a delayed call appears after calls that
    /// overtook it.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Empties the call log.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Returns how many logged calls went to `route`.
    pub fn call_count(&self, route: Route) -> usize {
        let state = self.lock();
        state
            .calls
            .iter()
            .filter(|call| call.route == route)
            .count()
    }

    pub(crate) fn record_call(&self, call: Call) {
        self.lock().calls.push(call);
    }
}
