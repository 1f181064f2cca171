//! Text forms of the daemon's responses for people. Every function takes the
//! current time, so that relative times can be tested.

use std::fmt::Write;

use pushbind_client::protocol::{
    ConfigEntry, Event, HistoryEntry, NotifierCacheInfo, OutboxSummary, ServerBinding, ServerInfo,
    TokenView, UnixMillis,
};
use pushbind_client::{
    BindingView, LoginReport, LogoutReport, NotifierInfo, NotifierList, StatusReport, SyncReport,
    SyncState, Vendor,
};

use crate::output::Table;
use crate::time::{moment, relative};

/// Width of the label column of `label  value` lines.
const LABEL_WIDTH: usize = 14;

/// Appends one `label  value` line.
fn line(text: &mut String, label: &str, value: impl std::fmt::Display) {
    // `fmt::Write` for String never returns an error.
    let _ = writeln!(text, "{label:<LABEL_WIDTH$}{value}");
}

/// Appends a `label  value` line indented under a table row or section.
fn detail(text: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(text, "    {label:<12}{value}");
}

/// Returns the wire name of a binding state, such as `removed_by_server`.
/// The name comes from the serde encoding, so states added to the protocol
/// need no change here.
pub(crate) fn state_name(state: SyncState) -> String {
    match serde_json::to_value(state) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{state:?}"),
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("{count} {one}")
    } else {
        format!("{count} {many}")
    }
}

fn desired_token_text(binding: &BindingView) -> &str {
    binding.desired_token.as_deref().unwrap_or("(none: remove)")
}

fn confirmed_token_text(binding: &BindingView) -> &str {
    binding.confirmed_token.as_deref().unwrap_or("(none)")
}

/// Renders one event as a line: the time, what happened and to which
/// binding.
pub(crate) fn event(event: &Event, now: UnixMillis) -> String {
    let when = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(now).unwrap_or(0)),
    );
    let text = match event {
        Event::BindingConfirmed {
            user_id,
            notifier_name,
            device_token,
        } => format!(
            "confirmed  {user_id} / {notifier_name}: server holds {}",
            device_token.as_deref().unwrap_or("no binding")
        ),
        Event::BindingFailed {
            user_id,
            notifier_name,
            reason,
            will_retry,
        } => {
            let next = if *will_retry { "will retry" } else { "parked" };
            format!("failed     {user_id} / {notifier_name} ({next}): {reason}")
        }
        Event::BindingRemovedByServer {
            user_id,
            notifier_name,
        } => format!("removed    {user_id} / {notifier_name} by the server"),
        Event::TokenNeeded {
            notifier_name,
            reason,
        } => match notifier_name {
            Some(name) => format!("token      needed for {name}: {reason}"),
            None => format!("token      needed: {reason}"),
        },
        Event::NotifiersChanged { names } => {
            format!("certs      changed: {}", names.join(", "))
        }
        Event::CertificateExpiring {
            notifier_name,
            provider,
            expires_at,
        } => format!(
            "expiring   certificate {notifier_name} ({provider}) {}",
            expiry_text(*expires_at, now)
        ),
        Event::Missed { count } => format!("missed     {count} events (read too slowly)"),
        Event::Unknown => "unknown    event from a newer pushbindd".to_owned(),
    };
    format!("{when}  {text}")
}

/// Renders `pushbind status`.
pub(crate) fn status(report: &StatusReport, now: UnixMillis) -> String {
    let mut text = String::new();
    line(&mut text, "pushbindd", &report.daemon_version);
    line(&mut text, "device", &report.device_id);
    server_section(&mut text, &report.server, now);
    match &report.login {
        Some(login) => {
            let mut value = format!(
                "{}, since {}",
                login.user_id,
                moment(login.logged_in_at, now)
            );
            if login.bearer_token {
                value.push_str(", with a bearer token");
            }
            line(&mut text, "login", value);
        }
        None => line(&mut text, "login", "not logged in"),
    }
    bindings_section(&mut text, &report.bindings, now);
    tokens_section(&mut text, &report.tokens, now);
    line(&mut text, "outbox", outbox_text(&report.outbox, now));
    certificate_cache_section(&mut text, &report.notifiers, now);
    expiring_lines(&mut text, &report.certificates, now);
    if !report.certificates.is_empty() {
        text.push_str(&certificate_table(&report.certificates, now));
    }
    unmanaged_section(&mut text, &report.unmanaged);
    history_section(&mut text, &report.history, now);
    text
}

fn server_section(text: &mut String, server: &ServerInfo, now: UnixMillis) {
    if server.url.is_empty() {
        line(text, "server", "(not configured)");
    } else {
        let value = format!("{} (app {}, auth {})", server.url, server.app, server.auth);
        line(text, "server", value);
    }
    if let Some(problem) = &server.problem {
        line(text, "problem", problem);
    }
    let reconciled = match server.last_reconcile_at {
        Some(at) => moment(at, now),
        None => "never".to_owned(),
    };
    line(text, "reconciled", reconciled);
}

fn bindings_section(text: &mut String, bindings: &[BindingView], now: UnixMillis) {
    if bindings.is_empty() {
        line(text, "bindings", "none");
        return;
    }
    let unsynced = bindings
        .iter()
        .filter(|binding| binding.state != SyncState::Synced)
        .count();
    let summary = format!("{}, {unsynced} not synced", bindings.len());
    line(text, "bindings", summary);
    let mut table = Table::new(&[
        "USER",
        "CERTIFICATE",
        "STATE",
        "DESIRED",
        "CONFIRMED",
        "ATTEMPTS",
        "UPDATED",
    ]);
    for binding in bindings {
        table.push(vec![
            binding.user_id.clone(),
            binding.notifier_name.clone(),
            state_name(binding.state),
            desired_token_text(binding).to_owned(),
            confirmed_token_text(binding).to_owned(),
            binding.attempts.to_string(),
            relative(binding.updated_at, now),
        ]);
    }
    text.push_str(&table.render("  "));
    for binding in bindings {
        let details = binding_details(binding, now);
        if !details.is_empty() {
            let _ = writeln!(text, "  {} / {}", binding.user_id, binding.notifier_name);
            text.push_str(&details);
        }
    }
}

/// Renders the indented lines of a binding that do not fit in the table:
/// last error, next retry, APNs environments and warning. Returns an empty
/// string when there are none.
fn binding_details(binding: &BindingView, now: UnixMillis) -> String {
    let mut text = String::new();
    if let Some(error) = &binding.last_error {
        detail(&mut text, "last error", error);
    }
    if let Some(at) = binding.next_retry_at {
        detail(&mut text, "next retry", moment(at, now));
    }
    if let Some(environment) = apns_text(binding) {
        detail(&mut text, "apns", environment);
    }
    if let Some(warning) = &binding.warning {
        detail(&mut text, "warning", warning);
    }
    text
}

fn apns_text(binding: &BindingView) -> Option<String> {
    let app = binding.apns_environment.map(|env| env.as_str());
    match (app, binding.notifier_environment.as_deref()) {
        (None, None) => None,
        (Some(app), None) => Some(format!("app {app}")),
        (None, Some(certificate)) => Some(format!("certificate {certificate}")),
        (Some(app), Some(certificate)) => Some(format!("app {app}, certificate {certificate}")),
    }
}

fn tokens_section(text: &mut String, tokens: &[TokenView], now: UnixMillis) {
    if tokens.is_empty() {
        line(text, "tokens", "none");
        return;
    }
    line(text, "tokens", tokens.len());
    let mut table = Table::new(&["CERTIFICATE", "TOKEN", "APNS", "UPDATED"]);
    for token in tokens {
        let apns = token.apns_environment.map_or("-", |env| env.as_str());
        table.push(vec![
            token.notifier_name.clone(),
            token.device_token.clone(),
            apns.to_owned(),
            moment(token.updated_at, now),
        ]);
    }
    text.push_str(&table.render("  "));
}

fn outbox_text(outbox: &OutboxSummary, now: UnixMillis) -> String {
    if outbox.pending == 0 && outbox.parked == 0 {
        return "empty".to_owned();
    }
    let mut value = format!("{} pending, {} parked", outbox.pending, outbox.parked);
    if let Some(at) = outbox.next_attempt_at {
        let _ = write!(value, ", next attempt {}", moment(at, now));
    }
    value
}

fn certificate_cache_text(cache: &NotifierCacheInfo, now: UnixMillis) -> String {
    let count = plural(cache.count as usize, "certificate", "certificates");
    match cache.fetched_at {
        Some(at) if cache.fresh => format!("{count}, fetched {}", moment(at, now)),
        Some(at) => format!(
            "{count}, fetched {}, stale: unknown names are not rejected",
            moment(at, now)
        ),
        None => format!("{count}, never fetched"),
    }
}

fn certificate_cache_section(text: &mut String, cache: &NotifierCacheInfo, now: UnixMillis) {
    line(text, "certificates", certificate_cache_text(cache, now));
    if let Some(error) = &cache.last_error {
        detail(text, "last error", error);
    }
}

/// Describes an expiry date: `expires in 20d (2026-01-01T00:00:00Z)`, or
/// `expired 3d ago (...)`.
pub(crate) fn expiry_text(expires_at: UnixMillis, now: UnixMillis) -> String {
    let verb = if expires_at <= now {
        "expired"
    } else {
        "expires"
    };
    format!(
        "{verb} {} ({})",
        relative(expires_at, now),
        crate::time::absolute(expires_at)
    )
}

/// Appends one line per certificate that expires within the warning window.
fn expiring_lines(text: &mut String, certificates: &[NotifierInfo], now: UnixMillis) {
    for certificate in certificates.iter().filter(|c| c.expiring) {
        if let Some(at) = certificate.expires_at {
            let value = format!(
                "{} ({}) {}",
                certificate.name,
                certificate.provider,
                expiry_text(at, now)
            );
            detail(text, "EXPIRING", value);
        }
    }
}

fn unmanaged_section(text: &mut String, unmanaged: &[ServerBinding]) {
    if unmanaged.is_empty() {
        line(text, "unmanaged", "none");
        return;
    }
    let summary = format!(
        "{} of this user on other devices, left alone",
        plural(unmanaged.len(), "binding", "bindings")
    );
    line(text, "unmanaged", summary);
    let mut table = Table::new(&["USER", "DEVICE", "CERTIFICATE", "TOKEN"]);
    for binding in unmanaged {
        table.push(vec![
            binding.user_id.clone(),
            binding.device_id.clone(),
            binding.notifier_name.clone(),
            binding.device_token.clone(),
        ]);
    }
    text.push_str(&table.render("  "));
}

fn history_section(text: &mut String, history: &[HistoryEntry], now: UnixMillis) {
    if history.is_empty() {
        line(text, "history", "none");
        return;
    }
    line(text, "history", "newest first");
    let mut table = Table::new(&["WHEN", "EVENT", "USER", "CERTIFICATE", "DETAIL"]);
    for entry in history {
        table.push(vec![
            moment(entry.at, now),
            entry.event.clone(),
            entry.user_id.clone().unwrap_or_else(|| "-".to_owned()),
            entry
                .notifier_name
                .clone()
                .unwrap_or_else(|| "-".to_owned()),
            entry.detail.clone(),
        ]);
    }
    text.push_str(&table.render("  "));
}

/// Renders one binding, the response to `bind` and `unbind`.
pub(crate) fn binding(binding: &BindingView, now: UnixMillis) -> String {
    let mut text = String::new();
    let name = match binding.user_id.as_str() {
        "" => format!("(not logged in) / {}", binding.notifier_name),
        user => format!("{user} / {}", binding.notifier_name),
    };
    line(&mut text, "binding", name);
    line(&mut text, "state", state_name(binding.state));
    line(&mut text, "desired", desired_token_text(binding));
    let confirmed = match binding.confirmed_at {
        Some(at) => format!("{}, {}", confirmed_token_text(binding), moment(at, now)),
        None => confirmed_token_text(binding).to_owned(),
    };
    line(&mut text, "confirmed", confirmed);
    line(&mut text, "attempts", binding.attempts);
    if let Some(error) = &binding.last_error {
        line(&mut text, "last error", error);
    }
    if let Some(at) = binding.next_retry_at {
        line(&mut text, "next retry", moment(at, now));
    }
    line(&mut text, "updated", moment(binding.updated_at, now));
    if let Some(environment) = apns_text(binding) {
        line(&mut text, "apns", environment);
    }
    if let Some(warning) = &binding.warning {
        line(&mut text, "warning", warning);
    }
    text
}

/// Renders the one-line reason why a `--wait` result is not synced, such as
/// `u1 / fcm-main is parked after 3 attempts: HTTP 400; next retry in 4s`.
pub(crate) fn not_synced_reason(binding: &BindingView, now: UnixMillis) -> String {
    let mut reason = format!(
        "{} / {} is {}",
        binding.user_id,
        binding.notifier_name,
        state_name(binding.state)
    );
    if binding.attempts > 0 {
        let _ = write!(
            reason,
            " after {}",
            plural(binding.attempts as usize, "attempt", "attempts")
        );
    }
    if let Some(error) = &binding.last_error {
        let _ = write!(reason, ": {error}");
    }
    match binding.next_retry_at {
        Some(at) => {
            let _ = write!(reason, "; next retry {}", moment(at, now));
        }
        None if binding.state == SyncState::Parked => {
            reason.push_str("; not retried until the binding changes");
        }
        None => {}
    }
    reason
}

fn bindings_table(bindings: &[BindingView]) -> String {
    let mut table = Table::new(&["USER", "CERTIFICATE", "STATE", "DESIRED"]);
    for binding in bindings {
        table.push(vec![
            binding.user_id.clone(),
            binding.notifier_name.clone(),
            state_name(binding.state),
            desired_token_text(binding).to_owned(),
        ]);
    }
    table.render("  ")
}

/// Renders the response to `login`.
pub(crate) fn login(report: &LoginReport, now: UnixMillis) -> String {
    let mut text = String::new();
    let login = &report.login;
    line(&mut text, "logged in", &login.user_id);
    line(&mut text, "since", moment(login.logged_in_at, now));
    if login.bearer_token {
        line(&mut text, "auth", "bearer token handed over");
    }
    if let Some(previous) = &report.previous_user {
        let value = format!("{previous}; its bindings of this device are being removed");
        line(&mut text, "previous", value);
    }
    if report.queued.is_empty() {
        line(&mut text, "queued", "none");
    } else {
        let summary = plural(report.queued.len(), "binding", "bindings");
        line(&mut text, "queued", format!("{summary} for this user"));
        text.push_str(&bindings_table(&report.queued));
    }
    text
}

/// Renders the response to `logout`. `keep_token` is the `--keep-token` flag.
pub(crate) fn logout(report: &LogoutReport, keep_token: bool) -> String {
    let mut text = String::new();
    line(&mut text, "logged out", &report.user_id);
    if keep_token {
        let value = "kept on the server, so offline pushes keep arriving on this device";
        line(&mut text, "bindings", value);
    } else if report.unbinding.is_empty() {
        line(&mut text, "bindings", "none to remove");
    } else {
        let summary = plural(report.unbinding.len(), "binding", "bindings");
        line(
            &mut text,
            "unbinding",
            format!("{summary} queued for removal"),
        );
        text.push_str(&bindings_table(&report.unbinding));
    }
    text
}

/// Renders the response to `certs list`: the cache's age, then one row per
/// certificate with its vendor, environment, package and expiry.
pub(crate) fn certificates(list: &NotifierList, now: UnixMillis) -> String {
    let mut text = String::new();
    certificate_cache_section(&mut text, &list.cache, now);
    expiring_lines(&mut text, &list.notifiers, now);
    if list.notifiers.is_empty() {
        return text;
    }
    text.push_str(&certificate_table(&list.notifiers, now));
    text
}

/// Renders certificates as a table.
pub(crate) fn certificate_table(notifiers: &[NotifierInfo], now: UnixMillis) -> String {
    let mut table = Table::new(&[
        "NAME",
        "VENDOR",
        "ENVIRONMENT",
        "PACKAGE",
        "DISABLED",
        "EXPIRES",
        "MODIFIED",
        "UUID",
    ]);
    let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    for notifier in notifiers {
        let modified = match notifier.modified {
            Some(at) => relative(at, now),
            None => "-".to_owned(),
        };
        let expires = match notifier.expires_at {
            Some(at) if notifier.expiring => format!("{} !", relative(at, now)),
            Some(at) => relative(at, now),
            None => "-".to_owned(),
        };
        let vendor = Vendor::from_provider(&notifier.provider)
            .map_or_else(|| notifier.provider.clone(), |v| v.name().to_owned());
        table.push(vec![
            notifier.name.clone(),
            vendor,
            or_dash(&notifier.environment),
            or_dash(&notifier.package_name),
            if notifier.disabled { "yes" } else { "no" }.to_owned(),
            expires,
            modified,
            notifier.uuid.clone(),
        ]);
    }
    table.render("  ")
}

/// Renders the response to `sync`.
pub(crate) fn sync(report: &SyncReport) -> String {
    let mut text = String::new();
    if report.completed {
        let value = format!(
            "completed: {} confirmed, {} retrying, {} parked, {} still queued",
            report.confirmed, report.retrying, report.parked, report.pending
        );
        line(&mut text, "sync pass", value);
    } else {
        let calls = plural(report.pending as usize, "call", "calls");
        line(&mut text, "sync pass", format!("started; {calls} queued"));
    }
    if let Some(error) = &report.error {
        line(&mut text, "error", error);
    }
    text
}

/// Renders configuration entries as a KEY, VALUE, SOURCE table.
pub(crate) fn config_entries(entries: &[ConfigEntry]) -> String {
    let mut table = Table::new(&["KEY", "VALUE", "SOURCE"]);
    for entry in entries {
        table.push(vec![
            entry.key.clone(),
            entry
                .value
                .clone()
                .unwrap_or_else(|| "(not set)".to_owned()),
            entry.source.clone(),
        ]);
    }
    table.render("")
}

#[cfg(test)]
mod tests {
    use pushbind_client::protocol::LoginInfo;
    use pushbind_client::{ApnsEnvironment, NotifierInfo};

    use super::*;

    const NOW: UnixMillis = 1_750_000_000_000;
    const MINUTE: UnixMillis = 60_000;

    fn binding(user_id: &str, notifier_name: &str, state: SyncState) -> BindingView {
        BindingView {
            user_id: user_id.into(),
            notifier_name: notifier_name.into(),
            desired_token: Some("fp-a1b2".into()),
            confirmed_token: None,
            state,
            attempts: 0,
            last_error: None,
            next_retry_at: None,
            confirmed_at: None,
            updated_at: NOW - 3 * MINUTE,
            apns_environment: None,
            notifier_environment: None,
            warning: None,
        }
    }

    fn parked_binding() -> BindingView {
        BindingView {
            attempts: 1,
            last_error: Some("HTTP 400: device token rejected".into()),
            ..binding("u1", "prod-apns", SyncState::Parked)
        }
    }

    fn retrying_binding() -> BindingView {
        BindingView {
            attempts: 3,
            last_error: Some("HTTP 503 from the server".into()),
            next_retry_at: Some(NOW + 4000),
            apns_environment: Some(ApnsEnvironment::Production),
            notifier_environment: Some("DEVELOPMENT".into()),
            warning: Some("certificate is not in the app's certificate list".into()),
            ..binding("u1", "fcm-main", SyncState::Retrying)
        }
    }

    fn report() -> StatusReport {
        StatusReport {
            daemon_version: "0.1.0".into(),
            device_id: "dev-7f3a".into(),
            server: ServerInfo {
                url: "http://127.0.0.1:8080".into(),
                app: "org#app".into(),
                auth: "client_credentials".into(),
                problem: Some("client secret rejected; fix client_secret".into()),
                last_reconcile_at: Some(NOW - 2 * 60 * MINUTE),
            },
            login: None,
            bindings: vec![
                binding("u1", "huawei", SyncState::Synced),
                parked_binding(),
                retrying_binding(),
            ],
            tokens: vec![TokenView {
                notifier_name: "fcm-main".into(),
                device_token: "fp-c3d4".into(),
                apns_environment: None,
                updated_at: NOW - MINUTE,
            }],
            outbox: OutboxSummary {
                pending: 1,
                parked: 1,
                next_attempt_at: Some(NOW + 4000),
            },
            notifiers: NotifierCacheInfo {
                count: 2,
                fetched_at: Some(NOW - 5 * MINUTE),
                fresh: true,
                last_error: None,
            },
            certificates: Vec::new(),
            unmanaged: vec![ServerBinding {
                user_id: "u9".into(),
                device_id: "laptop-2".into(),
                notifier_name: "old-cert".into(),
                device_token: "fp-9999".into(),
            }],
            history: vec![HistoryEntry {
                at: NOW - MINUTE,
                event: "parked".into(),
                user_id: Some("u1".into()),
                notifier_name: Some("prod-apns".into()),
                detail: "HTTP 400".into(),
            }],
        }
    }

    /// Finds the line that starts with `label` after trimming, and panics
    /// with the whole text when there is none.
    fn line_starting<'a>(text: &'a str, label: &str) -> &'a str {
        text.lines()
            .map(str::trim_start)
            .find(|line| line.starts_with(label))
            .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{text}"))
    }

    #[test]
    fn status_shows_not_logged_in() {
        let text = status(&report(), NOW);
        assert_eq!(line_starting(&text, "login"), "login         not logged in");
    }

    #[test]
    fn status_shows_logged_in_user() {
        let report = StatusReport {
            login: Some(LoginInfo {
                user_id: "u1".into(),
                logged_in_at: NOW - 3 * MINUTE,
                bearer_token: true,
            }),
            ..report()
        };
        let text = status(&report, NOW);
        let login = line_starting(&text, "login");
        assert!(login.contains("u1, since 3m ago"), "{login}");
        assert!(login.contains("with a bearer token"), "{login}");
    }

    #[test]
    fn status_shows_server_problem() {
        let text = status(&report(), NOW);
        let problem = line_starting(&text, "problem");
        assert!(problem.contains("client secret rejected"), "{problem}");
        let server = line_starting(&text, "server");
        assert!(server.contains("http://127.0.0.1:8080"), "{server}");
        assert!(server.contains("org#app"), "{server}");
        let reconciled = line_starting(&text, "reconciled");
        assert!(reconciled.contains("2h ago"), "{reconciled}");
    }

    #[test]
    fn status_shows_parked_binding() {
        let text = status(&report(), NOW);
        let row = line_starting(&text, "u1    prod-apns");
        assert!(row.contains("parked"), "{row}");
        assert!(row.contains("(none)"), "{row}");
        let heading = text
            .find("  u1 / prod-apns\n")
            .expect("details of prod-apns");
        let details = &text[heading..];
        let error = line_starting(details, "last error");
        assert!(error.contains("HTTP 400: device token rejected"), "{error}");
    }

    #[test]
    fn status_shows_retry_and_warning() {
        let text = status(&report(), NOW);
        let heading = text.find("  u1 / fcm-main\n").expect("details of fcm-main");
        let details = &text[heading..];
        let retry = line_starting(details, "next retry");
        assert!(retry.contains("in 4s"), "{retry}");
        assert!(retry.contains("2025-06-15T15:06:44Z"), "{retry}");
        let apns = line_starting(details, "apns");
        assert!(
            apns.contains("app PRODUCTION, certificate DEVELOPMENT"),
            "{apns}"
        );
        let warning = line_starting(details, "warning");
        assert!(
            warning.contains("not in the app's certificate list"),
            "{warning}"
        );
    }

    #[test]
    fn status_synced_binding_has_no_details() {
        let text = status(&report(), NOW);
        assert!(!text.contains("u1 / huawei"), "{text}");
        assert!(line_starting(&text, "bindings").contains("3, 2 not synced"));
    }

    #[test]
    fn status_shows_other_sections() {
        let text = status(&report(), NOW);
        let outbox = line_starting(&text, "outbox");
        assert!(
            outbox.contains("1 pending, 1 parked, next attempt in 4s"),
            "{outbox}"
        );
        let certificates = line_starting(&text, "certificates");
        assert!(
            certificates.contains("2 certificates, fetched 5m ago"),
            "{certificates}"
        );
        let unmanaged = line_starting(&text, "unmanaged");
        assert!(
            unmanaged.contains("1 binding of this user on other devices"),
            "{unmanaged}"
        );
        assert!(line_starting(&text, "u9").contains("fp-9999"));
        assert!(line_starting(&text, "tokens").ends_with('1'));
        let token = line_starting(&text, "fcm-main     fp-c3d4");
        assert!(token.contains("1m ago"), "{token}");
        assert!(line_starting(&text, "1m ago").contains("parked"));
        assert!(line_starting(&text, "device").contains("dev-7f3a"));
    }

    #[test]
    fn status_empty_sections_say_none() {
        let empty = StatusReport {
            bindings: Vec::new(),
            tokens: Vec::new(),
            outbox: OutboxSummary::default(),
            unmanaged: Vec::new(),
            history: Vec::new(),
            notifiers: NotifierCacheInfo {
                count: 0,
                fetched_at: None,
                fresh: false,
                last_error: Some("HTTP 401".into()),
            },
            ..report()
        };
        let text = status(&empty, NOW);
        assert_eq!(line_starting(&text, "bindings"), "bindings      none");
        assert_eq!(line_starting(&text, "outbox"), "outbox        empty");
        assert_eq!(line_starting(&text, "history"), "history       none");
        let certificates = line_starting(&text, "certificates");
        assert!(certificates.contains("never fetched"), "{certificates}");
        assert!(line_starting(&text, "last error").contains("HTTP 401"));
    }

    #[test]
    fn binding_view_lines() {
        let text = binding_text_for(&retrying_binding());
        assert_eq!(line_starting(&text, "state"), "state         retrying");
        assert_eq!(line_starting(&text, "attempts"), "attempts      3");
        assert!(line_starting(&text, "next retry").contains("in 4s"));
        assert!(line_starting(&text, "last error").contains("HTTP 503"));
    }

    fn binding_text_for(view: &BindingView) -> String {
        super::binding(view, NOW)
    }

    #[test]
    fn not_synced_reason_parked() {
        let reason = not_synced_reason(&parked_binding(), NOW);
        assert_eq!(
            reason,
            "u1 / prod-apns is parked after 1 attempt: HTTP 400: device token rejected; \
             not retried until the binding changes"
        );
    }

    #[test]
    fn not_synced_reason_retrying() {
        let reason = not_synced_reason(&retrying_binding(), NOW);
        assert!(
            reason.starts_with("u1 / fcm-main is retrying after 3 attempts"),
            "{reason}"
        );
        assert!(reason.contains("next retry in 4s"), "{reason}");
    }

    #[test]
    fn state_names_match_wire() {
        assert_eq!(state_name(SyncState::RemovedByServer), "removed_by_server");
        assert_eq!(state_name(SyncState::Synced), "synced");
    }

    #[test]
    fn logout_keep_token_says_kept() {
        let report = LogoutReport {
            user_id: "u1".into(),
            unbinding: Vec::new(),
        };
        assert!(logout(&report, true).contains("kept on the server"));
        assert!(logout(&report, false).contains("none to remove"));
        let report = LogoutReport {
            unbinding: vec![binding("u1", "fcm-main", SyncState::Pending)],
            ..report
        };
        let text = logout(&report, false);
        assert!(line_starting(&text, "unbinding").contains("1 binding queued"));
        assert!(line_starting(&text, "u1").contains("pending"));
    }

    fn expiring_apns() -> NotifierInfo {
        NotifierInfo {
            name: "prod-apns".into(),
            uuid: "0c6e".into(),
            provider: "APNS".into(),
            environment: Some("PRODUCTION".into()),
            package_name: None,
            disabled: false,
            modified: Some(NOW - MINUTE),
            expires_at: Some(NOW + 20 * 24 * 60 * MINUTE),
            expiring: true,
        }
    }

    #[test]
    fn status_lists_certificates() {
        let report = StatusReport {
            certificates: vec![expiring_apns()],
            ..report()
        };
        let text = status(&report, NOW);
        let row = line_starting(&text, "prod-apns");
        assert!(row.contains("apns"), "{row}");
        assert!(row.contains("PRODUCTION"), "{row}");
        assert!(row.contains("in 20d !"), "{row}");
        let flag = line_starting(&text, "EXPIRING");
        assert!(flag.contains("prod-apns (APNS) expires in 20d"), "{flag}");
    }

    #[test]
    fn certificates_table() {
        let list = NotifierList {
            notifiers: vec![expiring_apns()],
            cache: NotifierCacheInfo {
                count: 1,
                fetched_at: Some(NOW - MINUTE),
                fresh: false,
                last_error: None,
            },
        };
        let text = certificates(&list, NOW);
        assert!(line_starting(&text, "certificates").contains("stale"));
        let row = line_starting(&text, "prod-apns");
        assert!(row.contains("apns"), "{row}");
        assert!(row.contains("PRODUCTION"), "{row}");
        assert!(row.contains("in 20d !"), "{row}");
        assert!(row.ends_with("0c6e"), "{row}");
        let flag = line_starting(&text, "EXPIRING");
        assert!(flag.contains("prod-apns (APNS) expires in 20d"), "{flag}");
    }

    #[test]
    fn sync_completed_and_started() {
        let done = SyncReport {
            completed: true,
            confirmed: 2,
            parked: 1,
            error: Some("server unavailable".into()),
            ..SyncReport::default()
        };
        let text = sync(&done);
        assert!(
            text.contains("completed: 2 confirmed, 0 retrying, 1 parked"),
            "{text}"
        );
        assert!(line_starting(&text, "error").contains("server unavailable"));
        let started = SyncReport {
            pending: 3,
            ..SyncReport::default()
        };
        assert!(sync(&started).contains("started; 3 calls queued"));
    }

    #[test]
    fn config_entries_mark_unset() {
        let entries = vec![
            ConfigEntry {
                key: "client_secret".into(),
                value: Some("********".into()),
                source: "env PUSHBIND_CLIENT_SECRET".into(),
            },
            ConfigEntry {
                key: "app_id".into(),
                value: None,
                source: "default".into(),
            },
        ];
        let text = config_entries(&entries);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "KEY            VALUE      SOURCE");
        assert_eq!(
            lines[1],
            "client_secret  ********   env PUSHBIND_CLIENT_SECRET"
        );
        assert_eq!(lines[2], "app_id         (not set)  default");
    }
}
