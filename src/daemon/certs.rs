//! Handlers of the certificate requests (upload, delete, show), the expiry
//! flags of certificate lists, and the task that warns of expiring
//! certificates.

use std::sync::Arc;
use std::time::Duration;

use pushbind_client::protocol::{
    ErrorCode, ErrorReply, Event, NotifierDetails, NotifierInfo, NotifierUpload, UnixMillis, Vendor,
};
use tokio::sync::{Semaphore, watch};

use super::Daemon;
use super::handlers::{Reply, internal, max_age_ms};
use crate::certs;
use crate::store::notifiers::{self, NotifierRecord, expiry};
use crate::store::{now_millis, status};

/// How often the expiry task looks for certificates entering the warning
/// window. Warning windows are usually days long, so a check up to an hour
/// late is harmless.
const EXPIRY_CHECK_INTERVAL: Duration = Duration::from_secs(3600);

/// Returns the warning window in milliseconds.
pub(super) fn window_ms(daemon: &Daemon) -> i64 {
    i64::try_from(daemon.config.cert_expiry_warning.as_millis()).unwrap_or(i64::MAX)
}

/// Checks the upload, rejects a name the vendor already uses, sends it, and
/// refreshes the cache. The secrets leave this function only towards the
/// server.
pub(super) async fn upload(daemon: &Daemon, upload: NotifierUpload) -> Reply<NotifierInfo> {
    let checked = check_off_runtime(upload).await?;
    let vendor = checked.form.vendor;
    let name = checked
        .form
        .text_value("name")
        .unwrap_or_default()
        .to_owned();
    // A failed refresh leaves the cached list; the server rejects a
    // duplicate name by itself too.
    if let Err(err) = daemon.sync.refresh_notifiers().await {
        if err.code == ErrorCode::NotConfigured {
            return Err(err);
        }
        tracing::warn!(error = %err.message, "cannot refresh the certificate list before an upload");
    }
    let cached = cached_list(daemon).await?;
    if let Some(existing) = cached
        .iter()
        .find(|n| n.name == name && n.provider == vendor.provider())
    {
        let message = format!(
            "invalid name: the app already has a certificate named {name:?} for vendor {vendor} \
             (uuid {}); \
             delete it first with `pushbind certs delete {name} --vendor {vendor}`, or choose \
             another name",
            existing.uuid
        );
        return Err(ErrorReply::new(ErrorCode::InvalidArgument, message));
    }
    let created = daemon
        .sync
        .upload_notifier(&checked.form)
        .await
        .map_err(|mut err| {
            err.message = checked.form.redact(&err.message);
            tracing::warn!(%name, %vendor, error = %err.message, "certificate upload failed");
            err
        })?;
    tracing::info!(name = %created.name, provider = %created.provider, uuid = %created.uuid, "uploaded certificate");
    if let Some(expires_at) = checked.facts.expires_at {
        let record = created.clone();
        daemon
            .store
            .write(move |tx| {
                expiry::record(
                    tx,
                    &record.uuid,
                    &record.name,
                    &record.provider,
                    expires_at,
                    now_millis(),
                )
            })
            .await
            .map_err(internal)?;
    }
    refresh_after_change(daemon).await;
    warn_expiring(daemon).await;
    Ok(info_of(daemon, created, checked.facts.expires_at))
}

/// Runs the checks of one upload at a time on a blocking thread. Opening a
/// `.p12` derives a key for its MAC and for each encrypted bag, and
/// p12-keystore 0.4 allows a million PBKDF iterations for each, so a
/// hostile file can take seconds of CPU or more. On the async runtime that
/// would stall every other client's requests.
async fn check_off_runtime(upload: NotifierUpload) -> Reply<certs::CheckedUpload> {
    static CHECKS: Semaphore = Semaphore::const_new(1);
    let _permit = CHECKS
        .acquire()
        .await
        .expect("the semaphore of certificate checks is never closed");
    let now = now_millis();
    let result = tokio::task::spawn_blocking(move || certs::check(&upload, now)).await;
    match result {
        Ok(checked) => {
            checked.map_err(|err| ErrorReply::new(ErrorCode::InvalidArgument, err.to_string()))
        }
        Err(err) => {
            tracing::error!(error = %err, "the certificate check failed to finish");
            Err(ErrorReply::new(
                ErrorCode::Internal,
                format!("the certificate check failed to finish: {err}"),
            ))
        }
    }
}

/// Deletes the certificate `name` (of `vendor`, when several share it) from
/// the server, then refreshes the cache.
pub(super) async fn delete(
    daemon: &Daemon,
    name: String,
    vendor: Option<Vendor>,
) -> Reply<NotifierInfo> {
    pushbind_client::validate::notifier_name(&name)
        .map_err(|err| ErrorReply::new(ErrorCode::InvalidArgument, err.to_string()))?;
    if let Err(err) = daemon.sync.refresh_notifiers().await {
        if err.code == ErrorCode::NotConfigured {
            return Err(err);
        }
        tracing::warn!(error = %err.message, "cannot refresh the certificate list before a delete");
    }
    let cached = cached_list(daemon).await?;
    let target = pick(&cached, &name, vendor)?;
    let deleted = daemon.sync.delete_notifier(&target.uuid).await?;
    tracing::info!(name = %deleted.name, provider = %deleted.provider, uuid = %deleted.uuid, "deleted certificate");
    refresh_after_change(daemon).await;
    Ok(info_of(daemon, deleted, target.expires_at))
}

/// Finds the one certificate to delete.
fn pick(cached: &[NotifierInfo], name: &str, vendor: Option<Vendor>) -> Reply<NotifierInfo> {
    let named: Vec<&NotifierInfo> = cached.iter().filter(|n| n.name == name).collect();
    if named.is_empty() {
        let known: Vec<String> = cached.iter().map(|n| n.name.clone()).collect();
        return Err(ErrorReply::new(
            ErrorCode::UnknownNotifier,
            notifiers::unknown_message(name, &known),
        ));
    }
    let matching: Vec<&NotifierInfo> = match vendor {
        Some(vendor) => named
            .iter()
            .copied()
            .filter(|n| n.provider == vendor.provider())
            .collect(),
        None => named.clone(),
    };
    let vendors = || {
        named
            .iter()
            .map(|n| vendor_name(&n.provider))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(ErrorReply::new(
            ErrorCode::UnknownNotifier,
            format!(
                "certificate {name:?} exists only for {}; pass that --vendor",
                vendors()
            ),
        )),
        _ => Err(ErrorReply::new(
            ErrorCode::InvalidArgument,
            format!(
                "several certificates are named {name:?} ({}); pass --vendor to pick one",
                vendors()
            ),
        )),
    }
}

fn vendor_name(provider: &str) -> String {
    Vendor::from_provider(provider).map_or_else(|| provider.to_owned(), |v| v.name().to_owned())
}

/// Returns the cached certificates named `name` and this device's bindings
/// under that name.
pub(super) async fn show(daemon: &Daemon, name: String) -> Reply<NotifierDetails> {
    pushbind_client::validate::notifier_name(&name)
        .map_err(|err| ErrorReply::new(ErrorCode::InvalidArgument, err.to_string()))?;
    let (now, max_age, window) = (now_millis(), max_age_ms(daemon), window_ms(daemon));
    let wanted = name.clone();
    let (details, known) = daemon
        .store
        .read(move |conn| {
            let mut list = notifiers::list(conn)?;
            expiry::annotate(conn, &mut list, now, window)?;
            let known: Vec<String> = list.iter().map(|n| n.name.clone()).collect();
            let details = NotifierDetails {
                notifiers: list.into_iter().filter(|n| n.name == wanted).collect(),
                bindings: status::bindings(conn)?
                    .into_iter()
                    .filter(|b| b.notifier_name == wanted)
                    .collect(),
                cache: notifiers::cache_info(conn, now, max_age)?,
            };
            Ok((details, known))
        })
        .await
        .map_err(internal)?;
    if details.notifiers.is_empty() {
        let mut message = notifiers::unknown_message(&name, &known);
        if details.cache.fetched_at.is_none() {
            message.push_str(" The list was never fetched; run `pushbind certs refresh`.");
        }
        return Err(ErrorReply::new(ErrorCode::UnknownNotifier, message));
    }
    Ok(details)
}

/// Returns the cached list with expiry flags.
pub(super) async fn cached_list(daemon: &Daemon) -> Reply<Vec<NotifierInfo>> {
    let window = window_ms(daemon);
    daemon
        .store
        .read(move |conn| {
            let mut list = notifiers::list(conn)?;
            expiry::annotate(conn, &mut list, now_millis(), window)?;
            Ok(list)
        })
        .await
        .map_err(internal)
}

/// Refreshes the cache after an upload or delete. A failure is logged and
/// left to the worker's next refresh, because the change itself succeeded.
async fn refresh_after_change(daemon: &Daemon) {
    if let Err(err) = daemon.sync.refresh_notifiers().await {
        tracing::warn!(error = %err.message, "cannot refresh the certificate list after a change");
    }
}

fn info_of(
    daemon: &Daemon,
    record: NotifierRecord,
    expires_at: Option<UnixMillis>,
) -> NotifierInfo {
    let limit = now_millis().saturating_add(window_ms(daemon));
    NotifierInfo {
        name: record.name,
        uuid: record.uuid,
        provider: record.provider,
        environment: record.environment,
        package_name: record.package_name,
        disabled: record.disabled,
        modified: record.modified,
        expires_at,
        expiring: expires_at.is_some_and(|at| at <= limit),
    }
}

/// Sends [`Event::CertificateExpiring`] for each certificate that entered
/// the warning window since its last warning.
pub(super) async fn warn_expiring(daemon: &Daemon) {
    let window = window_ms(daemon);
    let due = daemon
        .store
        .write(move |tx| expiry::take_due_warnings(tx, now_millis(), window))
        .await;
    match due {
        Ok(due) => {
            for warning in due {
                tracing::warn!(
                    name = %warning.name,
                    provider = %warning.provider,
                    uuid = %warning.uuid,
                    expires_at = warning.expires_at,
                    "certificate expires soon"
                );
                daemon.sync.publish(Event::CertificateExpiring {
                    notifier_name: warning.name,
                    provider: warning.provider,
                    expires_at: warning.expires_at,
                });
            }
        }
        Err(err) => tracing::error!(error = %err, "cannot check certificate expiry"),
    }
}

/// Looks for expiring certificates at start and every
/// [`EXPIRY_CHECK_INTERVAL`] until `stop` turns true.
pub(super) async fn watch_expiry(daemon: Arc<Daemon>, mut stop: watch::Receiver<bool>) {
    loop {
        warn_expiring(&daemon).await;
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(EXPIRY_CHECK_INTERVAL) => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}
