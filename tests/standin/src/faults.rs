//! Faults that tests queue to make the next matching calls fail.

use std::collections::VecDeque;
use std::time::Duration;

use axum::http::StatusCode;

use crate::{Route, Standin};

/// A queued fault: the next `times` calls on `route` get `action` instead of,
/// or before, their normal handling.
///
/// Faults apply only to calls on one of the four routes of an app that exists,
/// after the app is looked up and before the rate limit and token are checked.
/// When several queued faults match a call, the one queued first applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The route the fault applies to; `None` matches every route.
    pub route: Option<Route>,
    /// How many matching calls the fault applies to.
    pub times: u32,
    /// What those calls get.
    pub action: FaultAction,
}

/// What a call that meets a [`Fault`] gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// A response with this status. With `error` set, the body is the error
    /// envelope with that code; without it, the envelope has no `error` key.
    Status {
        /// HTTP status code.
        status: u16,
        /// The envelope's `error` code, such as `reach_limit`.
        error: Option<String>,
        /// The envelope's `error_description`.
        description: String,
        /// The `Retry-After` header's value, sent as given.
        retry_after: Option<String>,
    },
    /// A pause of this length, after which the call is handled normally.
    Delay(Duration),
    /// Closing the connection without sending any response.
    Drop,
    /// A `text/html` error page with this status, as a proxy in front of the
    /// server would send.
    Html {
        /// HTTP status code.
        status: u16,
    },
}

impl Fault {
    /// Creates a fault. `route` takes a [`Route`] or `None` for every route.
    pub fn new(route: impl Into<Option<Route>>, times: u32, action: FaultAction) -> Self {
        Self {
            route: route.into(),
            times,
            action,
        }
    }

    /// Creates a fault that responds with `status` and an envelope with no
    /// `error` code.
    pub fn status(route: impl Into<Option<Route>>, times: u32, status: u16) -> Self {
        let action = FaultAction::Status {
            status,
            error: None,
            description: format!("fault injected with status {status}"),
            retry_after: None,
        };
        Self::new(route, times, action)
    }

    /// Creates a fault that responds with `status` and the error envelope
    /// with `error` and `description`.
    pub fn error(
        route: impl Into<Option<Route>>,
        times: u32,
        status: u16,
        error: &str,
        description: &str,
    ) -> Self {
        let action = FaultAction::Status {
            status,
            error: Some(error.to_owned()),
            description: description.to_owned(),
            retry_after: None,
        };
        Self::new(route, times, action)
    }

    /// Adds a `Retry-After` header with `value` to a [`FaultAction::Status`]
    /// fault. Other faults are returned unchanged.
    pub fn with_retry_after(mut self, value: &str) -> Self {
        if let FaultAction::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(value.to_owned());
        }
        self
    }

    /// Creates a fault that delays calls by `delay` before handling them.
    pub fn delay(route: impl Into<Option<Route>>, times: u32, delay: Duration) -> Self {
        Self::new(route, times, FaultAction::Delay(delay))
    }

    /// Creates a fault that closes the connection without a response.
    pub fn drop_connection(route: impl Into<Option<Route>>, times: u32) -> Self {
        Self::new(route, times, FaultAction::Drop)
    }

    /// Creates a fault that responds with a proxy's `text/html` page.
    pub fn html(route: impl Into<Option<Route>>, times: u32, status: u16) -> Self {
        Self::new(route, times, FaultAction::Html { status })
    }

    fn matches(&self, route: Route) -> bool {
        self.times > 0 && self.route.is_none_or(|wanted| wanted == route)
    }

    /// Returns the status of the fault's response, if it sends one.
    fn status_code(&self) -> Option<u16> {
        match self.action {
            FaultAction::Status { status, .. } | FaultAction::Html { status } => Some(status),
            FaultAction::Delay(_) | FaultAction::Drop => None,
        }
    }
}

/// Queued faults, oldest first.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    queue: VecDeque<Fault>,
}

impl FaultQueue {
    /// Takes one use of the oldest fault matching `route` and returns its
    /// action. A fault whose uses run out leaves the queue.
    pub(crate) fn take(&mut self, route: Route) -> Option<FaultAction> {
        let index = self.queue.iter().position(|fault| fault.matches(route))?;
        let fault = &mut self.queue[index];
        fault.times -= 1;
        let action = fault.action.clone();
        if fault.times == 0 {
            self.queue.remove(index);
        }
        Some(action)
    }
}

/// Fault injection.
impl Standin {
    /// Queues a fault behind those already queued. A fault with `times == 0`
    /// is ignored.
    ///
    /// # Panics
    ///
    /// Panics when the fault's status is not a valid HTTP status code
    /// (100 to 999).
    pub fn inject(&self, fault: Fault) {
        if let Some(status) = fault.status_code() {
            assert!(
                StatusCode::from_u16(status).is_ok(),
                "fault status {status} is not a valid HTTP status code"
            );
        }
        if fault.times > 0 {
            self.lock().faults.queue.push_back(fault);
        }
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        self.lock().faults.queue.clear();
    }
}
