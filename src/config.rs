//! The daemon's configuration: a TOML file in the user's config directory,
//! overridden by `PUSHBIND_*` environment variables, overridden by flags.
//! Every value remembers where it came from, for `pushbind config`.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pushbind_client::protocol::ConfigEntry;
use url::Url;

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "PUSHBIND_CONFIG";

/// Maximum duration any setting accepts.
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Shown in place of a secret that is set.
pub const MASK: &str = "********";

/// A configuration key: its name in the file, its parser's kind, and its
/// default.
struct Key {
    name: &'static str,
    default: Option<&'static str>,
    secret: bool,
    help: &'static str,
}

const KEYS: &[Key] = &[
    key(
        "server_url",
        None,
        "IM server base URL, https:// (http:// only on loopback)",
    ),
    key(
        "app_key",
        None,
        "app key `org_name#app_name` (Easemob path form)",
    ),
    key(
        "app_id",
        None,
        "App ID (Shengwang path form); set this or app_key",
    ),
    key(
        "auth",
        Some("client_credentials"),
        "`client_credentials` or `bearer_token` (token handed over by the app at login)",
    ),
    key("client_id", None, "client ID from the console"),
    Key {
        name: "client_secret",
        default: None,
        secret: true,
        help: "client secret from the console",
    },
    key("client_secret_file", None, "file holding the client secret"),
    key("data_dir", None, "directory of the daemon's database"),
    key(
        "reconcile_interval",
        Some("6h"),
        "how often bindings are compared with the server's",
    ),
    key(
        "notifier_refresh_interval",
        Some("1h"),
        "how often the certificate list is fetched",
    ),
    key(
        "notifier_max_age",
        Some("24h"),
        "age after which the certificate list is not trusted to reject unknown names",
    ),
    key(
        "retry_initial",
        Some("1s"),
        "first retry delay after a transient failure",
    ),
    key(
        "retry_max",
        Some("5m"),
        "maximum retry delay; with fleet_size set, server failures are retried at the fleet's pace instead",
    ),
    key(
        "request_timeout",
        Some("15s"),
        "timeout of one HTTP request to the server",
    ),
    key(
        "cert_expiry_warning",
        Some("30d"),
        "time before a certificate's expiry from which status flags it and subscribed apps get an event",
    ),
    key(
        "history_limit",
        Some("200"),
        "number of history entries kept",
    ),
    key(
        "fleet_size",
        None,
        "about how many daemons of the app run pushbind, one per user on each machine, set alike on every device; when set, retries after server failures are paced so the whole fleet stays within the app's rate limit",
    ),
    key(
        "app_rate_limit",
        Some("100"),
        "calls per second the IM server admits for the app, shared by all its devices",
    ),
];

const fn key(name: &'static str, default: Option<&'static str>, help: &'static str) -> Key {
    Key {
        name,
        default,
        secret: false,
        help,
    }
}

/// A configuration error: the key or file, what is wrong, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {} is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("unknown key `{key}` in {origin}; known keys: {known}")]
    UnknownKey {
        key: String,
        origin: String,
        known: String,
    },
    #[error("invalid {key} {value:?} (from {source_name}): {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        source_name: String,
        reason: String,
    },
    #[error(
        "{} holds {key} but other users can read it (mode {mode:04o}); run `chmod 600 {}`",
        path.display(), path.display()
    )]
    ReadableSecret {
        path: PathBuf,
        key: &'static str,
        mode: u32,
    },
    #[error(
        "{key} cannot be set with a flag, because other users can read command lines; use {fix}"
    )]
    SecretFlag { key: &'static str, fix: String },
}

/// The origin of a value: default, file, environment or flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Env(name) => write!(f, "env {name}"),
            Self::Flag => f.write_str("flag --set"),
        }
    }
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// The app's address on the server, in one of two path forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppRef {
    /// `org_name#app_name`: base path `/{org}/{app}`.
    Key { org: String, app: String },
    /// App ID: base path `/app-id/{id}`.
    Id(String),
}

impl fmt::Display for AppRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key { org, app } => write!(f, "{org}#{app}"),
            Self::Id(id) => write!(f, "app-id/{id}"),
        }
    }
}

/// The daemon's way of authenticating to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// App token from the console's client ID and secret.
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    /// A bearer token the app hands over at login.
    BearerToken,
}

impl Auth {
    pub fn name(&self) -> &'static str {
        match self {
            Self::ClientCredentials { .. } => "client_credentials",
            Self::BearerToken => "bearer_token",
        }
    }
}

/// Everything the daemon needs to reach the app on the server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub url: Url,
    pub app: AppRef,
    pub auth: Auth,
}

/// Factor on the time a fleet needs at the app's rate limit, so that calls
/// bunching by chance in one second stay under the limit. In the fleet
/// benchmark (`docs/fleet.md`), 1.1 let up to 4 % of calls receive 429 and
/// 1.15 kept them under 1 %.
const FLEET_HEADROOM: f64 = 1.15;

/// Maximum period of paced retries, the same as the maximum `Retry-After` honoured.
const MAX_FLEET_WINDOW: Duration = crate::sync::backoff::MAX_RETRY_AFTER;

/// Returns the time a fleet of `size` devices needs to send one call each
/// within `limit` calls per second, with [`FLEET_HEADROOM`] to spare.
pub fn fleet_window(size: u32, limit: u32) -> Duration {
    Duration::from_secs_f64(f64::from(size) * FLEET_HEADROOM / f64::from(limit.max(1)))
}

/// Timing of the sync worker.
#[derive(Clone, Debug)]
pub struct SyncSettings {
    pub reconcile_interval: Duration,
    pub notifier_refresh_interval: Duration,
    pub notifier_max_age: Duration,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub request_timeout: Duration,
    pub history_limit: u32,
    /// Period of retries after server failures when the fleet's size is
    /// known (see [`crate::sync::backoff::paced_delay`]).
    pub fleet_window: Option<Duration>,
}

/// The effective configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// `Err` names the keys that are missing; the daemon then serves the local
    /// API and keeps requests, but does not sync.
    pub server: Result<ServerConfig, String>,
    pub sync: SyncSettings,
    pub data_dir: PathBuf,
    /// Time before a certificate's known expiry from which it is flagged.
    pub cert_expiry_warning: Duration,
    /// Every key, its value (secrets masked) and its source.
    pub entries: Vec<ConfigEntry>,
}

/// Inputs to [`load`]: the file named by a flag, and `--set KEY=VALUE` flags.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub set: Vec<(String, String)>,
}

/// Returns the default config file: `config.toml` in the user's config directory
/// (`~/.config/pushbind` on Linux).
pub fn default_config_file() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.config_dir().join("config.toml"))
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "pushbind")
}

/// Environment variables with the `PUSHBIND_` prefix that are not
/// configuration keys.
const OTHER_VARIABLES: &[&str] = &[
    CONFIG_ENV,
    pushbind_client::paths::SOCKET_ENV,
    "PUSHBIND_MACHINE_ID_FILE",
];

/// Loads the configuration from the file, the process environment and
/// `overrides`.
pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
    let variables: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    load_with_env(overrides, &variables)
}

/// Loads the configuration with `variables` as the environment.
pub fn load_with_env(
    overrides: &Overrides,
    variables: &[(String, String)],
) -> Result<Config, ConfigError> {
    let env = |name: &str| {
        variables
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let mut raw = RawConfig::default();
    let file = config_file(overrides, &env);
    if let Some((path, required, _)) = &file {
        raw.read_file(path, *required)?;
    }
    raw.config_file = file.map(|(path, _, source)| (path, source));
    raw.read_env(variables)?;
    raw.read_flags(&overrides.set)?;
    raw.build()
}

/// The config file to read, whether it must exist, and where its name came
/// from.
fn config_file(
    overrides: &Overrides,
    env: &impl Fn(&str) -> Option<String>,
) -> Option<(PathBuf, bool, String)> {
    if let Some(path) = &overrides.config_file {
        return Some((absolute(path), true, "flag --config".to_owned()));
    }
    if let Some(path) = env(CONFIG_ENV).filter(|value| !value.is_empty()) {
        return Some((
            absolute(Path::new(&path)),
            true,
            format!("env {CONFIG_ENV}"),
        ));
    }
    default_config_file().map(|path| (path, false, "default".to_owned()))
}

/// `path` made absolute against the current directory, for messages that
/// must still be right when read elsewhere.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Raw string values by key, each with its source.
#[derive(Default)]
struct RawConfig {
    values: BTreeMap<&'static str, (String, Source)>,
    /// The config file's mode, when it was read.
    file_mode: Option<(PathBuf, u32)>,
    /// The config file looked for, and where its name came from.
    config_file: Option<(PathBuf, String)>,
}

fn find_key(name: &str, origin: impl FnOnce() -> String) -> Result<&'static Key, ConfigError> {
    KEYS.iter()
        .find(|key| key.name == name)
        .ok_or_else(|| ConfigError::UnknownKey {
            key: name.to_owned(),
            origin: origin(),
            known: KEYS
                .iter()
                .map(|key| key.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

impl RawConfig {
    fn read_file(&mut self, path: &Path, required: bool) -> Result<(), ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if !required && err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let read_error = |source| ConfigError::Read {
            path: path.to_owned(),
            source,
        };
        let mode = std::fs::metadata(path)
            .map_err(read_error)?
            .permissions()
            .mode();
        self.file_mode = Some((path.to_owned(), mode));
        let table: toml::Table = text
            .parse()
            .map_err(|err: toml::de::Error| syntax_error(path, &text, &err))?;
        for (name, value) in table {
            let key = find_key(&name, || path.display().to_string())?;
            let text = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(number) => number.to_string(),
                other => {
                    return Err(ConfigError::Invalid {
                        key: key.name,
                        value: if key.secret {
                            MASK.to_owned()
                        } else {
                            other.to_string()
                        },
                        source_name: Source::File(path.to_owned()).to_string(),
                        reason: "expected a string or an integer".into(),
                    });
                }
            };
            self.values
                .insert(key.name, (text, Source::File(path.to_owned())));
        }
        Ok(())
    }

    fn read_env(&mut self, variables: &[(String, String)]) -> Result<(), ConfigError> {
        for (name, value) in variables {
            let Some(suffix) = name.strip_prefix("PUSHBIND_") else {
                continue;
            };
            if OTHER_VARIABLES.contains(&name.as_str()) || value.is_empty() {
                continue;
            }
            let key = find_key(&suffix.to_ascii_lowercase(), || {
                format!("environment variable {name}")
            })?;
            self.values
                .insert(key.name, (value.clone(), Source::Env(name.clone())));
        }
        Ok(())
    }

    fn read_flags(&mut self, set: &[(String, String)]) -> Result<(), ConfigError> {
        for (name, value) in set {
            let key = find_key(name, || "--set".to_owned())?;
            if key.secret {
                return Err(ConfigError::SecretFlag {
                    key: key.name,
                    fix: format!(
                        "client_secret_file, {} or the config file",
                        env_name(key.name)
                    ),
                });
            }
            self.values.insert(key.name, (value.clone(), Source::Flag));
        }
        Ok(())
    }

    fn get(&self, name: &'static str) -> Option<&(String, Source)> {
        self.values.get(name)
    }

    fn invalid(&self, key: &'static str, reason: impl Into<String>) -> ConfigError {
        let (value, source) = match self.values.get(key) {
            Some((value, source)) => (value.clone(), source.clone()),
            None => (String::new(), Source::Default),
        };
        let secret = find_key(key, String::new).is_ok_and(|key| key.secret);
        ConfigError::Invalid {
            key,
            value: if secret { MASK.to_owned() } else { value },
            source_name: source.to_string(),
            reason: reason.into(),
        }
    }

    fn duration(&self, key: &'static str) -> Result<Duration, ConfigError> {
        let text = self.text_or_default(key);
        let duration = humantime::parse_duration(&text).map_err(|err| {
            self.invalid(
                key,
                format!("{err}; write a duration such as 30s, 5m or 6h"),
            )
        })?;
        if duration.is_zero() {
            return Err(self.invalid(key, "must be longer than zero"));
        }
        if duration > MAX_DURATION {
            return Err(self.invalid(key, "must be at most 365 days"));
        }
        Ok(duration)
    }

    fn text_or_default(&self, key: &'static str) -> String {
        match self.get(key) {
            Some((value, _)) => value.clone(),
            None => find_key(key, String::new)
                .ok()
                .and_then(|k| k.default)
                .unwrap_or_default()
                .to_owned(),
        }
    }

    fn build(self) -> Result<Config, ConfigError> {
        let sync = SyncSettings {
            reconcile_interval: self.duration("reconcile_interval")?,
            notifier_refresh_interval: self.duration("notifier_refresh_interval")?,
            notifier_max_age: self.duration("notifier_max_age")?,
            retry_initial: self.duration("retry_initial")?,
            retry_max: self.duration("retry_max")?,
            request_timeout: self.duration("request_timeout")?,
            history_limit: self.history_limit()?,
            fleet_window: self.fleet_window()?,
        };
        if sync.retry_max < sync.retry_initial {
            return Err(self.invalid("retry_max", "must not be shorter than retry_initial"));
        }
        Ok(Config {
            server: self.server()?,
            sync,
            data_dir: self.data_dir()?,
            cert_expiry_warning: self.duration("cert_expiry_warning")?,
            entries: self.entries(),
        })
    }

    fn history_limit(&self) -> Result<u32, ConfigError> {
        let text = self.text_or_default("history_limit");
        match text.parse::<u32>() {
            Ok(limit) if (1..=100_000).contains(&limit) => Ok(limit),
            _ => Err(self.invalid("history_limit", "expected a whole number from 1 to 100000")),
        }
    }

    /// Returns the period of paced retries, from `fleet_size` and
    /// `app_rate_limit`, or `None` when `fleet_size` is not set.
    fn fleet_window(&self) -> Result<Option<Duration>, ConfigError> {
        let whole_number = |key: &'static str, text: &str, max: u32| match text.parse::<u32>() {
            Ok(value) if (1..=max).contains(&value) => Ok(value),
            _ => Err(self.invalid(key, format!("expected a whole number from 1 to {max}"))),
        };
        let limit = whole_number(
            "app_rate_limit",
            &self.text_or_default("app_rate_limit"),
            1_000_000,
        )?;
        let Some((size, _)) = self.get("fleet_size") else {
            return Ok(None);
        };
        let size = whole_number("fleet_size", size, 1_000_000_000)?;
        let window = fleet_window(size, limit);
        if window > MAX_FLEET_WINDOW {
            return Err(self.invalid(
                "fleet_size",
                format!(
                    "with app_rate_limit {limit}, retries would come every {} s, more than a \
                     day; lower fleet_size or raise app_rate_limit",
                    window.as_secs()
                ),
            ));
        }
        Ok(Some(window))
    }

    fn data_dir(&self) -> Result<PathBuf, ConfigError> {
        match self.get("data_dir") {
            Some((value, _)) => self.absolute_path("data_dir", value),
            None => Ok(default_data_dir()),
        }
    }

    /// Parses a path value, which must be absolute because the daemon's
    /// working directory is not the user's.
    fn absolute_path(&self, key: &'static str, value: &str) -> Result<PathBuf, ConfigError> {
        let path = PathBuf::from(value);
        if !path.is_absolute() {
            return Err(self.invalid(key, "must be an absolute path"));
        }
        Ok(path)
    }
}

/// Returns the database directory when `data_dir` is not set: the user's local
/// data directory (`~/.local/share/pushbind` on Linux).
fn default_data_dir() -> PathBuf {
    project_dirs()
        .map(|dirs| dirs.data_local_dir().to_owned())
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!(
                "pushbind-data-{}",
                pushbind_client::paths::current_uid()
            ))
        })
}

impl RawConfig {
    /// Builds the server settings, `Ok(Err(..))` when some are missing.
    fn server(&self) -> Result<Result<ServerConfig, String>, ConfigError> {
        let url = self
            .get("server_url")
            .map(|(value, _)| self.parse_url(value))
            .transpose()?;
        let app = self.app()?;
        let auth = self.auth()?;
        let mut missing = Vec::new();
        if url.is_none() {
            missing.push("server_url");
        }
        if app.is_none() {
            missing.push("app_key or app_id");
        }
        if auth.is_none() {
            missing.push("client_id and client_secret (or auth = \"bearer_token\")");
        }
        match (url, app, auth) {
            (Some(url), Some(app), Some(auth)) => Ok(Ok(ServerConfig { url, app, auth })),
            _ => Ok(Err(format!("not configured: set {}", missing.join(", ")))),
        }
    }

    fn parse_url(&self, value: &str) -> Result<Url, ConfigError> {
        let url = Url::parse(value).map_err(|err| {
            self.invalid(
                "server_url",
                format!("{err}; write a URL such as https://a1.easemob.com"),
            )
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            let mut shown = url.clone();
            let _ = shown.set_username("");
            let _ = shown.set_password(None);
            return Err(ConfigError::Invalid {
                key: "server_url",
                value: shown.to_string(),
                source_name: self.get("server_url").map(|(_, s)| s.to_string()).unwrap_or_default(),
                reason: "must not contain a user name or password (removed here); set client_id and client_secret instead".into(),
            });
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(self.invalid("server_url", "must be an absolute http(s) URL with a host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(self.invalid("server_url", "must not have a query or fragment"));
        }
        match url.scheme() {
            "https" => Ok(url),
            "http" if is_loopback(&url) => Ok(url),
            "http" => Err(self.invalid(
                "server_url",
                "plain http is allowed only for loopback addresses; use https://",
            )),
            other => Err(self.invalid(
                "server_url",
                format!("unsupported scheme {other}; use https://"),
            )),
        }
    }

    fn app(&self) -> Result<Option<AppRef>, ConfigError> {
        match (self.get("app_key"), self.get("app_id")) {
            (Some(_), Some(_)) => {
                Err(self.invalid("app_id", "set either app_key or app_id, not both"))
            }
            (Some((key, _)), None) => self.parse_app_key(key).map(Some),
            (None, Some((id, _))) => {
                if !is_path_segment(id) {
                    return Err(self.invalid("app_id", "use only letters, digits, '-' and '_'"));
                }
                Ok(Some(AppRef::Id(id.clone())))
            }
            (None, None) => Ok(None),
        }
    }

    fn parse_app_key(&self, key: &str) -> Result<AppRef, ConfigError> {
        match key.split_once('#') {
            Some((org, app)) if is_path_segment(org) && is_path_segment(app) => Ok(AppRef::Key {
                org: org.to_owned(),
                app: app.to_owned(),
            }),
            _ => Err(self.invalid(
                "app_key",
                "expected org_name#app_name, each of letters, digits, '-' and '_'",
            )),
        }
    }

    fn auth(&self) -> Result<Option<Auth>, ConfigError> {
        match self.text_or_default("auth").as_str() {
            "client_credentials" => {}
            "bearer_token" => return Ok(Some(Auth::BearerToken)),
            _ => return Err(self.invalid("auth", "expected client_credentials or bearer_token")),
        }
        let secret = self.client_secret()?;
        match (self.get("client_id"), secret) {
            (Some((client_id, _)), Some(client_secret)) => Ok(Some(Auth::ClientCredentials {
                client_id: client_id.clone(),
                client_secret,
            })),
            _ => Ok(None),
        }
    }

    fn client_secret(&self) -> Result<Option<Secret>, ConfigError> {
        if let Some((value, source)) = self.get("client_secret") {
            if let (Source::File(path), Some((_, mode))) = (source, &self.file_mode) {
                check_private(path, "client_secret", *mode)?;
            }
            return Ok(Some(Secret::new(value.trim())));
        }
        let Some((path, _)) = self.get("client_secret_file") else {
            return Ok(None);
        };
        let path = self.absolute_path("client_secret_file", path)?;
        let unreadable = |err: std::io::Error| {
            self.invalid("client_secret_file", format!("cannot read it: {err}"))
        };
        let meta = std::fs::metadata(&path).map_err(unreadable)?;
        if !meta.is_file() {
            return Err(self.invalid("client_secret_file", "is not a regular file"));
        }
        check_private(&path, "the client secret", meta.permissions().mode())?;
        let secret = std::fs::read_to_string(&path).map_err(unreadable)?;
        if secret.trim().is_empty() {
            return Err(self.invalid("client_secret_file", "the file is empty"));
        }
        Ok(Some(Secret::new(secret.trim())))
    }

    /// Lists every key with its value and source, after a `config_file` entry
    /// naming the file looked for.
    fn entries(&self) -> Vec<ConfigEntry> {
        let file = match &self.config_file {
            Some((path, _)) if self.file_mode.is_none() => {
                format!("{} (not found)", path.display())
            }
            Some((path, _)) => path.display().to_string(),
            None => "none: no home directory".to_owned(),
        };
        let file_source = self
            .config_file
            .as_ref()
            .map_or("default".to_owned(), |(_, s)| s.clone());
        let config_file = ConfigEntry {
            key: "config_file".to_owned(),
            value: Some(file),
            source: file_source,
        };
        let keys = KEYS.iter().map(|key| {
            let (value, source) = match self.get(key.name) {
                Some((value, source)) => (Some(value.clone()), source.clone()),
                None if key.name == "data_dir" => (
                    Some(default_data_dir().display().to_string()),
                    Source::Default,
                ),
                None => (key.default.map(str::to_owned), Source::Default),
            };
            ConfigEntry {
                key: key.name.to_owned(),
                value: if key.secret {
                    value.map(|_| MASK.to_owned())
                } else {
                    value
                },
                source: source.to_string(),
            }
        });
        std::iter::once(config_file).chain(keys).collect()
    }
}

/// Builds a TOML syntax error with its line number but without the line,
/// which may hold a secret.
fn syntax_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let line = err
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let message = match line {
        Some(line) => format!("line {line}: {}", err.message()),
        None => err.message().to_owned(),
    };
    ConfigError::Syntax {
        path: path.to_owned(),
        message,
    }
}

fn check_private(path: &Path, what: &'static str, mode: u32) -> Result<(), ConfigError> {
    if mode & 0o077 != 0 {
        return Err(ConfigError::ReadableSecret {
            path: path.to_owned(),
            key: what,
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

/// `PUSHBIND_` and the key in upper case.
pub fn env_name(key: &str) -> String {
    format!("PUSHBIND_{}", key.to_ascii_uppercase())
}

/// Returns one line per key for help text: name, default and meaning.
pub fn key_help() -> String {
    KEYS.iter()
        .map(|key| match key.default {
            Some(default) => format!("  {} (default {default}): {}", key.name, key.help),
            None => format!("  {}: {}", key.name, key.help),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_path_segment(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Returns whether `url` names a loopback address, where plain http is acceptable.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn load_from(
        file: Option<&Path>,
        env: &[(&str, &str)],
        set: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let overrides = Overrides {
            config_file: file.map(Path::to_owned),
            set: set
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        load_with_env(&overrides, &env)
    }

    fn write_config(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    const FULL: &str = "server_url = \"http://127.0.0.1:9\"\napp_key = \"org#app\"\nclient_id = \"id\"\nclient_secret = \"s3cret\"\n";

    fn entry<'a>(config: &'a Config, key: &str) -> &'a ConfigEntry {
        config
            .entries
            .iter()
            .find(|entry| entry.key == key)
            .unwrap()
    }

    #[test]
    fn file_values_and_sources() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), FULL, 0o600);
        let config = load_from(Some(&path), &[], &[]).unwrap();
        let server = config.server.clone().unwrap();
        assert_eq!(
            server.app,
            AppRef::Key {
                org: "org".into(),
                app: "app".into()
            }
        );
        assert_eq!(server.auth.name(), "client_credentials");
        assert_eq!(entry(&config, "client_secret").value.as_deref(), Some(MASK));
        assert_eq!(
            entry(&config, "app_key").source,
            format!("file {}", path.display())
        );
        assert_eq!(entry(&config, "retry_max").source, "default");
    }

    #[test]
    fn environment_overrides_file_and_flag_overrides_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), FULL, 0o600);
        let env = [("PUSHBIND_RETRY_MAX", "10m"), ("PUSHBIND_APP_KEY", "o2#a2")];
        let config = load_from(Some(&path), &env, &[("retry_max", "20m")]).unwrap();
        assert_eq!(config.sync.retry_max, Duration::from_secs(1200));
        assert_eq!(entry(&config, "retry_max").source, "flag --set");
        assert_eq!(entry(&config, "app_key").source, "env PUSHBIND_APP_KEY");
        assert_eq!(
            config.server.unwrap().app,
            AppRef::Key {
                org: "o2".into(),
                app: "a2".into()
            }
        );
    }

    #[test]
    fn readable_file_with_secret_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), FULL, 0o644);
        let err = load_from(Some(&path), &[], &[]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::ReadableSecret { mode: 0o644, .. }
        ));
        assert!(
            err.to_string()
                .contains(&format!("chmod 600 {}", path.display()))
        );
    }

    #[test]
    fn readable_file_without_secret_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), "server_url = \"https://im.example\"\n", 0o644);
        let config = load_from(Some(&path), &[], &[]).unwrap();
        assert!(config.server.unwrap_err().contains("app_key or app_id"));
    }

    #[test]
    fn secret_flag_rejected() {
        let err = load_from(None, &[], &[("client_secret", "x")]).unwrap_err();
        assert!(matches!(err, ConfigError::SecretFlag { .. }));
    }

    #[test]
    fn unknown_key_lists_known_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), "sever_url = \"https://x\"\n", 0o600);
        let err = load_from(Some(&path), &[], &[]).unwrap_err().to_string();
        assert!(err.contains("sever_url"));
        assert!(err.contains("server_url"));
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let err =
            load_from(None, &[("PUSHBIND_SERVER_URL", "http://im.example")], &[]).unwrap_err();
        assert!(err.to_string().contains("loopback"));
        for url in [
            "http://127.0.0.1:1",
            "http://[::1]:1",
            "http://localhost:1",
            "https://im.example",
        ] {
            assert!(
                load_from(None, &[("PUSHBIND_SERVER_URL", url)], &[]).is_ok(),
                "{url}"
            );
        }
    }

    #[test]
    fn fleet_window_from_size_and_limit() {
        let config = load_from(None, &[], &[]).unwrap();
        assert_eq!(config.sync.fleet_window, None);
        let config = load_from(None, &[], &[("fleet_size", "1000")]).unwrap();
        assert_eq!(
            config.sync.fleet_window,
            Some(Duration::from_millis(11_500))
        );
        let config = load_from(
            None,
            &[("PUSHBIND_APP_RATE_LIMIT", "50")],
            &[("fleet_size", "1000")],
        )
        .unwrap();
        assert_eq!(config.sync.fleet_window, Some(Duration::from_secs(23)));
    }

    #[test]
    fn fleet_window_longer_than_a_day_is_invalid() {
        let err = load_from(
            None,
            &[],
            &[("fleet_size", "1000000000"), ("app_rate_limit", "1")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("fleet_size"), "{err}");
        assert!(err.contains("app_rate_limit 1"), "{err}");
        assert!(err.contains("more than a day"), "{err}");
        let config = load_from(None, &[], &[("fleet_size", "5000000")]).unwrap();
        assert!(config.sync.fleet_window.unwrap() <= MAX_FLEET_WINDOW);
    }

    #[test]
    fn bad_fleet_values_name_key_and_range() {
        for (key, value) in [
            ("fleet_size", "0"),
            ("fleet_size", "many"),
            ("app_rate_limit", "0"),
            ("app_rate_limit", "-5"),
            ("app_rate_limit", "2.5"),
        ] {
            let err = load_from(None, &[], &[(key, value)])
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
            assert!(err.contains(&format!("\"{value}\"")), "{err}");
            assert!(err.contains("whole number from 1"), "{err}");
        }
    }

    #[test]
    fn bad_values_name_key_and_value() {
        let err = load_from(None, &[("PUSHBIND_RETRY_INITIAL", "soon")], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("retry_initial"));
        assert!(err.contains("\"soon\""));
        assert!(err.contains("PUSHBIND_RETRY_INITIAL"));
        let err = load_from(None, &[("PUSHBIND_APP_KEY", "no-hash")], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("org_name#app_name"));
        assert!(
            load_from(
                None,
                &[("PUSHBIND_APP_KEY", "o#a"), ("PUSHBIND_APP_ID", "x")],
                &[]
            )
            .is_err()
        );
        assert!(load_from(None, &[("PUSHBIND_AUTH", "password")], &[]).is_err());
    }

    #[test]
    fn cert_expiry_warning_default_and_override() {
        let config = load_from(None, &[], &[]).unwrap();
        assert_eq!(config.cert_expiry_warning, Duration::from_secs(30 * 86_400));
        let config = load_from(None, &[], &[("cert_expiry_warning", "10d")]).unwrap();
        assert_eq!(config.cert_expiry_warning, Duration::from_secs(10 * 86_400));
        let entry = config
            .entries
            .iter()
            .find(|entry| entry.key == "cert_expiry_warning")
            .unwrap();
        assert_eq!(entry.source, "flag --set");
        let err = load_from(None, &[("PUSHBIND_CERT_EXPIRY_WARNING", "0s")], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cert_expiry_warning"), "{err}");
        assert!(err.contains("longer than zero"), "{err}");
        assert!(load_from(None, &[], &[("cert_expiry_warning", "400d")]).is_err());
    }

    #[test]
    fn bearer_mode_needs_no_secret() {
        let env = [
            ("PUSHBIND_SERVER_URL", "https://im.example"),
            ("PUSHBIND_APP_ID", "abc123"),
            ("PUSHBIND_AUTH", "bearer_token"),
        ];
        let server = load_from(None, &env, &[]).unwrap().server.unwrap();
        assert_eq!(server.auth, Auth::BearerToken);
        assert_eq!(server.app.to_string(), "app-id/abc123");
    }

    #[test]
    fn secret_file_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o640)).unwrap();
        let env = [
            ("PUSHBIND_SERVER_URL", "https://im.example"),
            ("PUSHBIND_APP_ID", "abc"),
            ("PUSHBIND_CLIENT_ID", "id"),
            ("PUSHBIND_CLIENT_SECRET_FILE", secret.to_str().unwrap()),
        ];
        assert!(matches!(
            load_from(None, &env, &[]).unwrap_err(),
            ConfigError::ReadableSecret { .. }
        ));
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let server = load_from(None, &env, &[]).unwrap().server.unwrap();
        let Auth::ClientCredentials { client_secret, .. } = server.auth else {
            panic!("expected client credentials")
        };
        assert_eq!(client_secret.expose(), "s3cret");
        assert_eq!(format!("{client_secret:?}"), MASK);
    }

    #[test]
    fn misspelled_environment_variable_rejected() {
        let err = load_from(None, &[("PUSHBIND_RECONCILE_INTERVALL", "1m")], &[]).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("PUSHBIND_RECONCILE_INTERVALL"),
            "{message}"
        );
        assert!(message.contains("reconcile_interval"), "{message}");
        let other = [
            ("PUSHBIND_SOCKET", "/x"),
            ("PUSHBIND_MACHINE_ID_FILE", "/y"),
        ];
        assert!(load_from(None, &other, &[]).is_ok());
    }

    #[test]
    fn relative_paths_rejected() {
        let err = load_from(None, &[("PUSHBIND_DATA_DIR", "data")], &[]).unwrap_err();
        assert!(err.to_string().contains("absolute"), "{err}");
        let err = load_from(None, &[("PUSHBIND_CLIENT_SECRET_FILE", "secret")], &[]).unwrap_err();
        assert!(err.to_string().contains("client_secret_file"), "{err}");
    }

    #[test]
    fn missing_secret_file_names_key() {
        let env = [("PUSHBIND_CLIENT_SECRET_FILE", "/nonexistent/secret")];
        let err = load_from(None, &env, &[]).unwrap_err().to_string();
        assert!(err.contains("client_secret_file"), "{err}");
        assert!(err.contains("/nonexistent/secret"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let env = [("PUSHBIND_CLIENT_SECRET_FILE", dir.path().to_str().unwrap())];
        let err = load_from(None, &env, &[]).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn entries_name_config_file_and_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), FULL, 0o600);
        let config = load_from(Some(&path), &[], &[]).unwrap();
        let file = entry(&config, "config_file");
        assert_eq!(file.value.as_deref(), Some(path.to_str().unwrap()));
        assert_eq!(file.source, "flag --config");
        assert!(entry(&config, "data_dir").value.is_some());
    }

    #[test]
    fn errors_never_show_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(
            dir.path(),
            "client_id = \"id\"\nclient_secret = topsecret-unquoted\n",
            0o600,
        );
        let err = load_from(Some(&path), &[], &[]).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
        let path = write_config(dir.path(), "client_secret = [\"topsecret\"]\n", 0o600);
        let err = load_from(Some(&path), &[], &[]).unwrap_err().to_string();
        assert!(!err.contains("topsecret"), "{err}");
        let url = [("PUSHBIND_SERVER_URL", "https://svc:hunter2@im.example")];
        let err = load_from(None, &url, &[]).unwrap_err().to_string();
        assert!(err.contains("password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let err = load_from(Some(Path::new("/nonexistent/pushbind.toml")), &[], &[]).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
    }
}
