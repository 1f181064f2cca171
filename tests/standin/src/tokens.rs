//! Bearer tokens issued by the token route or by a test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::Standin;

/// A token and what it grants.
#[derive(Debug)]
struct TokenRecord {
    app_key: String,
    /// `None` for a token that never expires.
    expires_at: Option<Instant>,
    /// Set by [`Standin::expire_tokens`].
    revoked: bool,
}

/// All issued tokens, keyed by token value.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    by_value: HashMap<String, TokenRecord>,
}

/// Why a bearer token was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No token, or one that expired or was revoked: 401 `unauthorized`.
    MissingOrExpired,
    /// A token this server never issued for the app: 401
    /// `auth_bad_access_token`.
    Unknown,
}

impl Tokens {
    /// Issues a token for the app. A zero `ttl` gives a token that never
    /// expires, and so does a `ttl` too large to add to the current time.
    pub(crate) fn issue(&mut self, app_key: &str, ttl: Duration) -> String {
        let value = format!("standin-{}", Uuid::new_v4().simple());
        let expires_at = if ttl.is_zero() {
            None
        } else {
            Instant::now().checked_add(ttl)
        };
        let record = TokenRecord {
            app_key: app_key.to_owned(),
            expires_at,
            revoked: false,
        };
        self.by_value.insert(value.clone(), record);
        value
    }

    /// Checks that `token` was issued for the app and is still valid.
    pub(crate) fn check(&self, app_key: &str, token: &str) -> Result<(), AuthFailure> {
        let record = self.by_value.get(token).ok_or(AuthFailure::Unknown)?;
        if record.app_key != app_key {
            return Err(AuthFailure::Unknown);
        }
        let expired = record.expires_at.is_some_and(|at| at <= Instant::now());
        if record.revoked || expired {
            return Err(AuthFailure::MissingOrExpired);
        }
        Ok(())
    }

    fn revoke_app(&mut self, app_key: &str) {
        self.by_value
            .values_mut()
            .filter(|record| record.app_key == app_key)
            .for_each(|record| record.revoked = true);
    }
}

/// Tokens that tests hand to the client directly.
impl Standin {
    /// Issues a bearer token for the app, as a backend would for a deployment
    /// that keeps the client secret off the device. A zero `ttl` gives a
    /// token that never expires.
    ///
    /// # Panics
    ///
    /// Panics when no app with this key was added.
    pub fn issue_token(&self, app_key: &str, ttl: Duration) -> String {
        self.with_app(app_key, |_| ());
        self.lock().tokens.issue(app_key, ttl)
    }

    /// Expires every token issued so far for the app, so calls that use one
    /// get 401 `unauthorized`. Tokens issued afterwards are valid.
    pub fn expire_tokens(&self, app_key: &str) {
        self.lock().tokens.revoke_app(app_key);
    }
}
