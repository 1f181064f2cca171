//! One function per request: validate, commit, wake the worker, reply.
//! Every failure becomes an error reply; nothing here drops a connection.

use pushbind_client::protocol::{
    BindingView, ConfigReport, ErrorCode, ErrorReply, LoginReport, LogoutReport, NotifierList,
    Response, ServerInfo, StatusReport, SyncState,
};
use pushbind_client::validate::{self, InvalidArgument};
use tokio::time::Instant;

use super::{Daemon, certs};
use crate::config::Auth;
use crate::store::notifiers::{self, NotifierCheck};
use crate::store::{BindInput, StoreError, bindings, history, now_millis, status};
use crate::sync::WAIT_LIMIT;

/// Number of history entries in a status reply.
const STATUS_HISTORY: u32 = 20;

pub(super) type Reply<T> = Result<T, ErrorReply>;

pub(super) async fn handle(
    daemon: &Daemon,
    request: pushbind_client::protocol::Request,
) -> Response {
    use pushbind_client::protocol::Request;
    let result = match request {
        Request::Status => status(daemon)
            .await
            .map(|report| Response::Status(Box::new(report))),
        Request::Login {
            user_id,
            bearer_token,
        } => login(daemon, user_id, bearer_token)
            .await
            .map(Response::LoggedIn),
        Request::Logout { unbind_token } => {
            logout(daemon, unbind_token).await.map(Response::LoggedOut)
        }
        Request::BindDeviceToken {
            notifier_name,
            device_token,
            apns_environment,
            wait,
        } => {
            let input = BindInput {
                notifier_name,
                device_token,
                apns_environment,
            };
            bind(daemon, input, wait).await.map(Response::Binding)
        }
        Request::UnbindDeviceToken {
            notifier_name,
            wait,
        } => unbind(daemon, notifier_name, wait)
            .await
            .map(Response::Binding),
        Request::ListNotifiers { refresh } => list_notifiers(daemon, refresh)
            .await
            .map(Response::Notifiers),
        Request::UploadNotifier(upload) => certs::upload(daemon, *upload)
            .await
            .map(Response::NotifierChanged),
        Request::DeleteNotifier { name, vendor } => certs::delete(daemon, name, vendor)
            .await
            .map(Response::NotifierChanged),
        Request::ShowNotifier { name } => certs::show(daemon, name)
            .await
            .map(Response::NotifierDetails),
        Request::SyncNow { wait } => Ok(Response::Synced(daemon.sync.sync_now(wait).await)),
        Request::Config => Ok(Response::Config(ConfigReport {
            entries: daemon.config.entries.clone(),
        })),
        // The connection loop serves subscriptions before requests get here.
        Request::Subscribe => Err(ErrorReply::new(
            ErrorCode::Internal,
            "a subscription reached the request handler",
        )),
    };
    result.unwrap_or_else(Response::Error)
}

fn invalid(err: InvalidArgument) -> ErrorReply {
    ErrorReply::new(ErrorCode::InvalidArgument, err.to_string())
}

pub(super) fn internal(err: StoreError) -> ErrorReply {
    if let StoreError::Closed = err {
        return ErrorReply::new(
            ErrorCode::ShuttingDown,
            "pushbindd is shutting down; try again",
        );
    }
    tracing::error!(error = %err, "database call failed");
    ErrorReply::new(
        ErrorCode::Internal,
        format!("pushbindd cannot use its database: {err}"),
    )
}

pub(super) fn max_age_ms(daemon: &Daemon) -> i64 {
    i64::try_from(daemon.config.sync.notifier_max_age.as_millis()).unwrap_or(i64::MAX)
}

async fn status(daemon: &Daemon) -> Reply<StatusReport> {
    let max_age = max_age_ms(daemon);
    let window = certs::window_ms(daemon);
    let device_id = daemon.device_id.clone();
    let mut report = daemon
        .store
        .read(move |conn| {
            let now = now_millis();
            let (last_reconcile_at, unmanaged) = status::reconcile_info(conn)?;
            Ok(StatusReport {
                daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
                device_id,
                server: ServerInfo {
                    url: String::new(),
                    app: String::new(),
                    auth: String::new(),
                    problem: None,
                    last_reconcile_at,
                },
                login: status::login_info(conn)?,
                bindings: status::bindings(conn)?,
                tokens: status::tokens(conn)?,
                outbox: status::outbox_summary(conn)?,
                notifiers: notifiers::cache_info(conn, now, max_age)?,
                certificates: {
                    let mut list = notifiers::list(conn)?;
                    notifiers::expiry::annotate(conn, &mut list, now, window)?;
                    list
                },
                unmanaged,
                history: history::recent(conn, STATUS_HISTORY)?,
            })
        })
        .await
        .map_err(internal)?;
    if let Ok(server) = &daemon.config.server {
        report.server.url = server.url.to_string();
        report.server.app = server.app.to_string();
        report.server.auth = server.auth.name().to_owned();
    }
    report.server.problem = daemon.sync.problem().await;
    Ok(report)
}

async fn login(
    daemon: &Daemon,
    user_id: String,
    bearer_token: Option<String>,
) -> Reply<LoginReport> {
    validate::user_id(&user_id).map_err(invalid)?;
    if let Some(token) = &bearer_token {
        validate::bearer_token(token).map_err(invalid)?;
    }
    let bearer_mode =
        matches!(&daemon.config.server, Ok(server) if server.auth == Auth::BearerToken);
    if bearer_mode && bearer_token.is_none() {
        return Err(ErrorReply::new(
            ErrorCode::InvalidArgument,
            "missing bearer_token: pushbindd is configured with auth = \"bearer_token\", so each \
             login must hand over a token from the app's backend \
             (pushbind login USER --bearer-token-file FILE)",
        ));
    }
    let bearer = bearer_token.clone();
    let user = user_id.clone();
    let max_age = max_age_ms(daemon);
    let change = daemon
        .store
        .write(move |tx| {
            let now = now_millis();
            let mut change = bindings::login(tx, &user, bearer.as_deref(), now)?;
            notifiers::recheck(tx, now, max_age)?;
            for view in &mut change.queued {
                *view = status::binding_view(tx, &view.user_id, &view.notifier_name)?;
            }
            Ok(change)
        })
        .await
        .map_err(internal)?;
    if let Some(token) = bearer_token {
        daemon.sync.set_bearer(token).await;
    }
    tracing::info!(user = %user_id, previous_user = ?change.previous_user, queued = change.queued.len(), "logged in");
    daemon.sync.logged_in();
    daemon.sync.kick();
    let login = daemon
        .store
        .read(status::login_info)
        .await
        .map_err(internal)?
        .ok_or_else(|| ErrorReply::new(ErrorCode::Internal, "login was not stored"))?;
    Ok(LoginReport {
        login,
        previous_user: change.previous_user,
        queued: change.queued,
    })
}

async fn logout(daemon: &Daemon, unbind_token: bool) -> Reply<LogoutReport> {
    let change = daemon
        .store
        .write(move |tx| bindings::logout(tx, unbind_token, now_millis()))
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            ErrorReply::new(
                ErrorCode::NotLoggedIn,
                "no user is logged in; nothing to log out",
            )
        })?;
    tracing::info!(user = %change.user_id, unbind_token, "logged out");
    daemon.sync.kick();
    Ok(LogoutReport {
        user_id: change.user_id,
        unbinding: change.unbinding,
    })
}

/// Checks the certificate name and environment, then stores the token. The
/// check and the write share one transaction, so a certificate list that
/// arrives in between cannot slip past the check.
async fn bind(daemon: &Daemon, input: BindInput, wait: bool) -> Reply<BindingView> {
    validate::notifier_name(&input.notifier_name).map_err(invalid)?;
    validate::device_token(&input.device_token).map_err(invalid)?;
    let max_age = max_age_ms(daemon);
    let stored = input.clone();
    let (check, view) = daemon
        .store
        .write(move |tx| {
            let now = now_millis();
            let check = notifiers::check(
                tx,
                &stored.notifier_name,
                stored.apns_environment,
                now,
                max_age,
            )?;
            if matches!(check, NotifierCheck::Known | NotifierCheck::Unverified) {
                return Ok((check, Some(bindings::bind(tx, &stored, now)?)));
            }
            Ok((check, None))
        })
        .await
        .map_err(internal)?;
    if let Some(reply) = check_error(&check, &input) {
        return Err(reply);
    }
    let view = view.ok_or_else(|| ErrorReply::new(ErrorCode::Internal, "bind was not stored"))?;
    if check == NotifierCheck::Unverified {
        daemon.sync.notifiers_stale();
    }
    tracing::info!(
        user = %view.user_id,
        notifier = %view.notifier_name,
        token = view.desired_token.as_deref().unwrap_or_default(),
        state = ?view.state,
        "bind stored"
    );
    daemon.sync.kick();
    if wait && view.state.is_pending() {
        return wait_for(daemon, view).await;
    }
    Ok(view)
}

/// Builds the error reply for a bind whose certificate check failed, if it
/// did.
fn check_error(check: &NotifierCheck, input: &BindInput) -> Option<ErrorReply> {
    let name = &input.notifier_name;
    let reply = match check {
        NotifierCheck::Known | NotifierCheck::Unverified => return None,
        NotifierCheck::Unknown { known, .. } => ErrorReply::new(
            ErrorCode::UnknownNotifier,
            notifiers::unknown_message(name, known),
        ),
        NotifierCheck::EnvironmentMismatch { certificate } => {
            let app = input
                .apns_environment
                .map(|e| e.as_str())
                .unwrap_or_default();
            let message = format!(
                "the app reports APNs environment {app} but certificate {name:?} is for \
                 {certificate}; bind with the certificate of the app's environment"
            );
            ErrorReply::new(ErrorCode::EnvironmentMismatch, message)
        }
        NotifierCheck::NotApns { provider } => {
            let message = format!(
                "invalid apns_environment: certificate {name:?} is a {provider} certificate, and \
                 an APNs environment applies to APNS certificates only; leave it out"
            );
            ErrorReply::new(ErrorCode::InvalidArgument, message)
        }
    };
    Some(reply)
}

async fn unbind(daemon: &Daemon, notifier_name: String, wait: bool) -> Reply<BindingView> {
    validate::notifier_name(&notifier_name).map_err(invalid)?;
    let name = notifier_name.clone();
    let view = daemon
        .store
        .write(move |tx| bindings::unbind(tx, &name, now_millis()))
        .await
        .map_err(internal)?;
    tracing::info!(user = %view.user_id, notifier = %notifier_name, "unbind stored");
    daemon.sync.kick();
    if wait && view.state.is_pending() {
        return wait_for(daemon, view).await;
    }
    Ok(view)
}

/// Waits until the binding's first server call gets its result, a pass of the
/// worker ends with a problem, or [`WAIT_LIMIT`] passes; returns its view
/// then, with the problem as its last error.
async fn wait_for(daemon: &Daemon, view: BindingView) -> Reply<BindingView> {
    let deadline = Instant::now() + WAIT_LIMIT;
    let mut progress = daemon.sync.progress();
    let mut passes = 0;
    loop {
        let (user, name) = (view.user_id.clone(), view.notifier_name.clone());
        let current = daemon
            .store
            .read(move |conn| status::binding_view(conn, &user, &name))
            .await
            .map_err(internal)?;
        if current.state != SyncState::Pending {
            return Ok(current);
        }
        let problem = match passes {
            0 => daemon.sync.blocked().await,
            _ => daemon.sync.problem().await,
        };
        if let Some(problem) = problem {
            return Ok(with_error(current, problem));
        }
        match tokio::time::timeout_at(deadline, progress.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                let stopped = "the sync worker has stopped; pushbindd is shutting down".to_owned();
                return Ok(with_error(current, stopped));
            }
            Err(_) => {
                let waited = format!("still queued after waiting {WAIT_LIMIT:?}");
                return Ok(with_error(current, waited));
            }
        }
        passes += 1;
    }
}

fn with_error(mut view: BindingView, error: String) -> BindingView {
    view.last_error.get_or_insert(error);
    view
}

async fn list_notifiers(daemon: &Daemon, refresh: bool) -> Reply<NotifierList> {
    let refresh_error = match refresh {
        true => daemon.sync.refresh_notifiers().await.err(),
        false => None,
    };
    let max_age = max_age_ms(daemon);
    let window = certs::window_ms(daemon);
    let list = daemon
        .store
        .read(move |conn| {
            let now = now_millis();
            let mut notifiers = notifiers::list(conn)?;
            notifiers::expiry::annotate(conn, &mut notifiers, now, window)?;
            Ok(NotifierList {
                notifiers,
                cache: notifiers::cache_info(conn, now, max_age)?,
            })
        })
        .await
        .map_err(internal)?;
    match (refresh_error, list.cache.fetched_at) {
        (Some(error), None) => Err(ErrorReply::new(
            error.code,
            format!(
                "cannot fetch the certificate list and none is cached: {}",
                error.message
            ),
        )),
        (Some(error), Some(_)) => Err(ErrorReply::new(
            error.code,
            format!(
                "cannot fetch the certificate list ({}); `pushbind certs list` shows the cached one",
                error.message
            ),
        )),
        (None, _) => Ok(list),
    }
}
