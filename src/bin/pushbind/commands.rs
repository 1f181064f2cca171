//! One function per subcommand: call the daemon, print the response, and
//! return the exit status.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pushbind::config::{CONFIG_ENV, Config, Overrides, default_config_file, key_help};
use pushbind_client::blocking::Client;
use pushbind_client::protocol::ConfigReport;
use pushbind_client::validate;
use pushbind_client::{ApnsEnvironment, BindOptions, BindingView, Error, SyncReport, SyncState};

use crate::exit::ExitStatus;
use crate::output::{Output, print_note, write_stdout};
use crate::render;
use crate::time::now_millis;
use crate::token::{TokenKind, TokenSource, read_token};

/// First line of `pushbind config` when the configuration was loaded
/// locally.
const LOCAL_CONFIG_NOTE: &str =
    "pushbindd is not running; this is the configuration it would load from this environment";

fn connect(socket: &Path) -> anyhow::Result<Client> {
    Ok(Client::connect_to(socket)?)
}

/// Prints events as they arrive, until the daemon closes the connection.
pub(crate) fn events(socket: &Path, output: Output) -> anyhow::Result<ExitStatus> {
    for event in connect(socket)?.subscribe()? {
        let event = event?;
        let line = if output.json {
            serde_json::to_string(&event)?
        } else {
            render::event(&event, now_millis())
        };
        write_stdout(&format!("{line}\n"))?;
    }
    print_note("pushbindd closed the event stream");
    Ok(ExitStatus::NotRunning)
}

pub(crate) fn status(socket: &Path, output: Output) -> anyhow::Result<ExitStatus> {
    let report = connect(socket)?.status()?;
    output.print(&report, |report| render::status(report, now_millis()))?;
    Ok(ExitStatus::Success)
}

pub(crate) fn login(
    socket: &Path,
    output: Output,
    user_id: &str,
    bearer_token: Option<TokenSource>,
) -> anyhow::Result<ExitStatus> {
    // Arguments are checked before connecting, so that a bad value is
    // reported with status 6 even when the daemon is down.
    validate::user_id(user_id).map_err(Error::from)?;
    let bearer_token = bearer_token
        .map(|source| read_token(&source, TokenKind::Bearer))
        .transpose()?;
    let report = connect(socket)?.login(user_id, bearer_token.as_deref())?;
    output.print(&report, |report| render::login(report, now_millis()))?;
    Ok(ExitStatus::Success)
}

pub(crate) fn logout(
    socket: &Path,
    output: Output,
    keep_token: bool,
) -> anyhow::Result<ExitStatus> {
    let report = connect(socket)?.logout(!keep_token)?;
    output.print(&report, |report| render::logout(report, keep_token))?;
    Ok(ExitStatus::Success)
}

/// The arguments of `pushbind bind`.
pub(crate) struct BindRequest {
    pub notifier: String,
    pub token: TokenSource,
    pub apns_environment: Option<ApnsEnvironment>,
    pub wait: bool,
}

pub(crate) fn bind(
    socket: &Path,
    output: Output,
    request: BindRequest,
) -> anyhow::Result<ExitStatus> {
    validate::notifier_name(&request.notifier).map_err(Error::from)?;
    let token = read_token(&request.token, TokenKind::Device)?;
    let options = BindOptions {
        apns_environment: request.apns_environment,
        wait: request.wait,
    };
    let binding = connect(socket)?.bind_device_token_with(&request.notifier, &token, &options)?;
    print_binding(output, &binding, request.wait)
}

pub(crate) fn unbind(
    socket: &Path,
    output: Output,
    notifier: &str,
    wait: bool,
) -> anyhow::Result<ExitStatus> {
    validate::notifier_name(notifier).map_err(Error::from)?;
    let binding = connect(socket)?.unbind_device_token(notifier, wait)?;
    print_binding(output, &binding, wait)
}

/// Prints the response to `bind` or `unbind`. After `--wait`, a binding that
/// is not synced gets its reason on stderr and exit status 7.
fn print_binding(output: Output, binding: &BindingView, wait: bool) -> anyhow::Result<ExitStatus> {
    let now = now_millis();
    output.print(binding, |binding| render::binding(binding, now))?;
    if !wait || binding.state == SyncState::Synced {
        return Ok(ExitStatus::Success);
    }
    let reason = render::not_synced_reason(binding, now);
    print_note(&format!("not synced: {reason}"));
    Ok(ExitStatus::ServerFailure)
}

pub(crate) fn certificates(
    socket: &Path,
    output: Output,
    refresh: bool,
) -> anyhow::Result<ExitStatus> {
    let list = connect(socket)?.notifiers(refresh)?;
    output.print(&list, |list| render::certificates(list, now_millis()))?;
    Ok(ExitStatus::Success)
}

pub(crate) fn sync(socket: &Path, output: Output, wait: bool) -> anyhow::Result<ExitStatus> {
    let report = connect(socket)?.sync_now(wait)?;
    output.print(&report, render::sync)?;
    if !wait {
        return Ok(ExitStatus::Success);
    }
    match sync_shortfall(&report) {
        Some(reason) => {
            print_note(&format!("sync incomplete: {reason}"));
            Ok(ExitStatus::ServerFailure)
        }
        None => Ok(ExitStatus::Success),
    }
}

/// Describes what a waited-for sync pass left undone: parked or queued
/// calls, or the error that kept it from the server. Returns `None` when
/// the pass left nothing undone.
pub(crate) fn sync_shortfall(report: &SyncReport) -> Option<String> {
    let mut parts = Vec::new();
    if report.parked > 0 {
        parts.push(format!("{} parked", report.parked));
    }
    if report.pending > 0 {
        parts.push(format!("{} still queued", report.pending));
    }
    if report.unsynced > 0 {
        parts.push(format!(
            "{} binding(s) not synced, see `pushbind status`",
            report.unsynced
        ));
    }
    if let Some(error) = &report.error {
        parts.push(format!("error: {error}"));
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(", "))
    }
}

pub(crate) fn config(socket: &Path, output: Output) -> anyhow::Result<ExitStatus> {
    let response = Client::connect_to(socket).and_then(|mut client| client.config());
    let report = match response {
        Ok(report) => report,
        Err(Error::NotRunning { .. }) => return local_config(output),
        Err(err) => return Err(err.into()),
    };
    output.print(&report, |report| render::config_entries(&report.entries))?;
    Ok(ExitStatus::Success)
}

/// Prints the configuration that `pushbindd` would load from this process's
/// environment and config file.
fn local_config(output: Output) -> anyhow::Result<ExitStatus> {
    let config = pushbind::config::load(&Overrides::default()).context(
        "pushbindd is not running, and the configuration it would load from this environment \
         is invalid",
    )?;
    if output.json {
        print_note(LOCAL_CONFIG_NOTE);
        let report = ConfigReport {
            entries: config.entries,
        };
        output.print(&report, |_| String::new())?;
    } else {
        write_stdout(&local_config_text(&config))?;
    }
    Ok(ExitStatus::Success)
}

fn local_config_text(config: &Config) -> String {
    let mut text = format!("{LOCAL_CONFIG_NOTE}\n");
    let _ = writeln!(text, "config file: {}", config_file_text());
    if let Err(missing) = &config.server {
        let _ = writeln!(text, "server: {missing}");
    }
    text.push('\n');
    text.push_str(&render::config_entries(&config.entries));
    text
}

/// Names the config file that a local load reads, and whether it exists.
/// Mirrors the choice in `pushbind::config::load` when
/// `Overrides::config_file` is not set.
fn config_file_text() -> String {
    let from_env = std::env::var_os(CONFIG_ENV).filter(|value| !value.is_empty());
    if let Some(path) = from_env {
        return format!("{} (from {CONFIG_ENV})", PathBuf::from(path).display());
    }
    match default_config_file() {
        Some(path) if path.exists() => path.display().to_string(),
        Some(path) => format!("{} (not found, so none is read)", path.display()),
        None => "none, because no home directory was found".to_owned(),
    }
}

/// Builds the long help of `pushbind config`: where values come from, and
/// the keys.
pub(crate) fn config_keys_help() -> String {
    let default_file = match default_config_file() {
        Some(path) => path.display().to_string(),
        None => "none, because no home directory was found".to_owned(),
    };
    format!(
        "Each key is read from the config file named by {CONFIG_ENV} (default: {default_file}), \
         overridden by the environment variable PUSHBIND_<KEY>.\n\nConfiguration keys:\n{}",
        key_help()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_shortfall_cases() {
        let clean = SyncReport {
            completed: true,
            confirmed: 2,
            ..SyncReport::default()
        };
        assert_eq!(sync_shortfall(&clean), None);
        let parked = SyncReport {
            parked: 1,
            ..clean.clone()
        };
        assert_eq!(sync_shortfall(&parked).as_deref(), Some("1 parked"));
        let pending = SyncReport {
            pending: 3,
            ..clean.clone()
        };
        assert_eq!(sync_shortfall(&pending).as_deref(), Some("3 still queued"));
        let error = SyncReport {
            error: Some("connection refused".into()),
            ..clean
        };
        let reason = sync_shortfall(&error).unwrap();
        assert!(reason.contains("connection refused"), "{reason}");
    }
}
