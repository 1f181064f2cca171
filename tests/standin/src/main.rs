//! `pushbind-standin`: runs the stand-in IM server with one app seeded from
//! the command line, until SIGINT or SIGTERM.
//!
//! Once listening, it prints the bound address (such as `127.0.0.1:41234`)
//! as one line on standard output, after writing it to `--addr-file` if
//! given. Logs go to standard error; `RUST_LOG` sets the filter (default
//! `info`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use clap::{ArgGroup, Parser};
use pushbind_standin::{AppSeed, NotifierSeed, Options, Standin};
use tracing_subscriber::EnvFilter;

/// Vendor codes that `--notifier` accepts as the provider.
const PROVIDERS: [&str; 8] = [
    "APNS",
    "ANDROID",
    "HUAWEIPUSH",
    "HONOR",
    "OPPOPUSH",
    "VIVOPUSH",
    "XIAOMIPUSH",
    "MEIZUPUSH",
];

/// Stand-in IM server for pushbind's tests and quick start. Serves the push
/// REST API for one app on a loopback address, with all state in memory.
#[derive(Debug, Parser)]
#[command(name = "pushbind-standin", version)]
#[command(group(
    ArgGroup::new("secret")
        .required(true)
        .args(["client_secret_file", "client_secret_env"])
))]
struct Args {
    /// Address and port to listen on; must be loopback (127.0.0.0/8 or
    /// [::1]). Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,

    /// The app's key, in the form ORG#APP.
    #[arg(long)]
    app_key: String,

    /// The app's ID, for the /app-id/{app_id} path form.
    #[arg(long)]
    app_id: String,

    /// Client ID that the token route accepts.
    #[arg(long)]
    client_id: String,

    /// File containing the client secret; one trailing newline is removed.
    #[arg(long, value_name = "PATH")]
    client_secret_file: Option<PathBuf>,

    /// Environment variable containing the client secret.
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,

    /// A user to create; repeat for more users.
    #[arg(long = "user", value_name = "USER_ID")]
    users: Vec<String>,

    /// A notifier to create, as NAME:PROVIDER[:ENVIRONMENT]. PROVIDER is
    /// APNS, ANDROID (FCM), HUAWEIPUSH, HONOR, OPPOPUSH, VIVOPUSH, XIAOMIPUSH
    /// or MEIZUPUSH; ENVIRONMENT is DEVELOPMENT (the default) or PRODUCTION.
    /// Repeatable.
    #[arg(long = "notifier", value_name = "SPEC", value_parser = parse_notifier)]
    notifiers: Vec<NotifierSeed>,

    /// File to write the bound address to, followed by a newline, once
    /// listening. It is written to a temporary file and renamed into place.
    #[arg(long, value_name = "PATH")]
    addr_file: Option<PathBuf>,

    /// Calls per second per app on the binding and notifier routes; 0 turns
    /// the limit off.
    #[arg(long, value_name = "N", default_value_t = 100)]
    rate_limit: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging();
    run(args).await
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn run(args: Args) -> anyhow::Result<()> {
    let standin = seed_standin(&args)?;
    let running = standin
        .start(&args.listen)
        .await
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let addr = running.addr().to_string();
    if let Some(path) = &args.addr_file {
        write_atomically(path, &format!("{addr}\n"))?;
    }
    println!("{addr}");

    wait_for_signal().await?;
    tracing::info!("stop signal received");
    running.stop().await;
    Ok(())
}

/// Creates the stand-in with the app, users and notifiers from the flags.
fn seed_standin(args: &Args) -> anyhow::Result<Standin> {
    let (org, name) = parse_app_key(&args.app_key)?;
    let options = Options {
        rate_limit_per_second: (args.rate_limit > 0).then_some(args.rate_limit),
        ..Options::default()
    };
    let standin = Standin::new(options);
    let seed = AppSeed {
        org,
        name,
        app_id: args.app_id.clone(),
        client_id: args.client_id.clone(),
        client_secret: read_secret(args)?,
    };
    let app_key = seed.key();
    standin.add_app(seed);
    for user in &args.users {
        standin.add_user(&app_key, user);
    }
    for notifier in &args.notifiers {
        standin.add_notifier(&app_key, notifier.clone());
    }
    tracing::info!(%app_key, users = args.users.len(), notifiers = args.notifiers.len(), "app seeded");
    Ok(standin)
}

fn parse_app_key(app_key: &str) -> anyhow::Result<(String, String)> {
    let parts = app_key.split_once('#');
    let Some((org, name)) = parts.filter(|(org, name)| !org.is_empty() && !name.is_empty()) else {
        bail!("invalid --app-key {app_key:?}: expected ORG#APP, such as acme#chat");
    };
    ensure!(
        !name.contains('#'),
        "invalid --app-key {app_key:?}: expected exactly one '#'"
    );
    Ok((org.to_owned(), name.to_owned()))
}

/// Reads the client secret from the file or the environment variable.
fn read_secret(args: &Args) -> anyhow::Result<String> {
    let secret = match (&args.client_secret_file, &args.client_secret_env) {
        (Some(path), _) => read_secret_file(path)?,
        (None, Some(var)) => std::env::var(var)
            .with_context(|| format!("failed to read the client secret from ${var}"))?,
        (None, None) => bail!("missing --client-secret-file or --client-secret-env"),
    };
    ensure!(!secret.is_empty(), "the client secret is empty");
    Ok(secret)
}

fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the client secret from {}", path.display()))?;
    let secret = text.strip_suffix('\n').unwrap_or(&text);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    Ok(secret.to_owned())
}

/// Parses NAME:PROVIDER[:ENVIRONMENT].
fn parse_notifier(spec: &str) -> Result<NotifierSeed, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (name, provider, environment) = match parts[..] {
        [name, provider] => (name, provider, "DEVELOPMENT"),
        [name, provider, environment] => (name, provider, environment),
        _ => return Err("expected NAME:PROVIDER[:ENVIRONMENT]".to_owned()),
    };
    if name.is_empty() {
        return Err("the notifier name is empty".to_owned());
    }
    let provider = provider.to_ascii_uppercase();
    if !PROVIDERS.contains(&provider.as_str()) {
        return Err(format!(
            "unknown provider {provider:?}; expected one of {}",
            PROVIDERS.join(", ")
        ));
    }
    let environment = environment.to_ascii_uppercase();
    if environment != "DEVELOPMENT" && environment != "PRODUCTION" {
        return Err(format!(
            "unknown environment {environment:?}; expected DEVELOPMENT or PRODUCTION"
        ));
    }
    let mut seed = NotifierSeed::new(name, provider);
    seed.environment = environment;
    Ok(seed)
}

/// Writes `contents` to a temporary file beside `path`, then renames it over
/// `path`, so readers never see a partly written file.
fn write_atomically(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp{}", std::process::id()));
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, contents)
        .with_context(|| format!("failed to write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| {
        format!(
            "failed to rename {} to {}",
            temporary.display(),
            path.display()
        )
    })
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM.
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut terminate = signal(SignalKind::terminate()).context("failed to watch SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("failed to watch SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifier_spec_with_environment() {
        let seed = parse_notifier("cert1:apns:production").unwrap();
        assert_eq!(seed.name, "cert1");
        assert_eq!(seed.provider, "APNS");
        assert_eq!(seed.environment, "PRODUCTION");
    }

    #[test]
    fn notifier_spec_defaults_to_development() {
        let seed = parse_notifier("123456:ANDROID").unwrap();
        assert_eq!(seed.environment, "DEVELOPMENT");
        assert!(!seed.disabled);
    }

    #[test]
    fn notifier_spec_errors() {
        for spec in ["", "name", ":APNS", "n:NOPE", "n:APNS:STAGING", "a:b:c:d"] {
            assert!(parse_notifier(spec).is_err(), "{spec:?} was accepted");
        }
    }

    #[test]
    fn app_key_forms() {
        let (org, name) = parse_app_key("acme#chat").unwrap();
        assert_eq!(org, "acme");
        assert_eq!(name, "chat");
        for bad in ["acme", "#chat", "acme#", "a#b#c"] {
            assert!(parse_app_key(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn atomic_write_replaces_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("addr");
        std::fs::write(&path, "old\n").unwrap();
        write_atomically(&path, "127.0.0.1:1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "127.0.0.1:1\n");
        let entries = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries, 1, "the temporary file was left behind");
    }
}
