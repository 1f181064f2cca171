//! `pushbindd`: the per-user daemon that keeps this device's offline-push
//! binding correct on the IM server.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pushbind::config::{self, Overrides};
use pushbind::daemon::{self, DaemonError, DaemonOptions};
use tracing_subscriber::EnvFilter;

/// Exit status for a configuration error (EX_CONFIG in sysexits.h), which a
/// service manager should not answer with a restart.
const EXIT_CONFIG: u8 = 78;

/// Exit status after a second stop signal, as a shell reports SIGINT.
const EXIT_SECOND_SIGNAL: i32 = 130;

/// Exit status after an internal failure (EX_SOFTWARE).
const EXIT_SOFTWARE: u8 = 70;

/// Exit status when another daemon holds the lock (EX_TEMPFAIL).
const EXIT_ALREADY_RUNNING: u8 = 75;

#[derive(Parser, Debug)]
#[command(version, about, long_about = None, after_help = after_help())]
struct Args {
    /// Config file [default: config.toml in the user's config directory]
    #[arg(long, env = config::CONFIG_ENV, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Socket path [default: pushbindd.sock in $XDG_RUNTIME_DIR/pushbind]
    #[arg(long, env = pushbind_client::paths::SOCKET_ENV, value_name = "PATH")]
    socket: Option<PathBuf>,

    /// Set a configuration key, overriding the file and the environment;
    /// repeatable. Secrets cannot be set this way.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    set: Vec<(String, String)>,

    /// File holding the machine id that the device id is derived from
    #[arg(long, env = "PUSHBIND_MACHINE_ID_FILE", value_name = "FILE", default_value = pushbind::device::MACHINE_ID_FILE)]
    machine_id_file: PathBuf,

    /// Log more: -v for debug, -vv for trace. RUST_LOG overrides this.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn after_help() -> String {
    format!(
        "Configuration keys (in the file, as PUSHBIND_<KEY> variables, or with --set):\n{}\n\n\
         Exit status: 0 after a clean stop (SIGTERM or SIGINT), {EXIT_CONFIG} for an invalid \
         configuration, socket directory or database, {EXIT_ALREADY_RUNNING} when another \
         pushbindd holds the socket or the data directory, {EXIT_SOFTWARE} when the sync worker \
         failed, {EXIT_SECOND_SIGNAL} after a second stop signal, 1 otherwise.",
        config::key_help()
    )
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    Ok((key.trim().to_owned(), value.to_owned()))
}

/// `path` made absolute, so that a relative `--socket` names a directory
/// the daemon can check.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "pushbind=debug,pushbindd=debug,info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Completes on the first SIGTERM or SIGINT. A second one ends the process
/// at once: everything acknowledged is committed already, and queued calls
/// are sent after the restart.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    let mut interrupt = signal(SignalKind::interrupt()).expect("SIGINT handler installs");
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("received SIGINT"),
        _ = terminate.recv() => tracing::info!("received SIGTERM"),
    }
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("pushbindd: second stop signal, exiting at once");
        std::process::exit(EXIT_SECOND_SIGNAL);
    });
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.verbose);
    let overrides = Overrides {
        config_file: args.config,
        set: args.set,
    };
    let config = match config::load(&overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("pushbindd: invalid configuration: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let options = DaemonOptions {
        config,
        socket: absolute(pushbind_client::paths::socket_path(args.socket.as_deref())),
        inherited_listener: None,
        machine_id_file: args.machine_id_file,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("pushbindd: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(daemon::run(options, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pushbindd: {err}");
            ExitCode::from(match err {
                DaemonError::Config(_) => EXIT_CONFIG,
                DaemonError::AlreadyRunning { .. } => EXIT_ALREADY_RUNNING,
                DaemonError::RuntimeDir { .. } => EXIT_CONFIG,
                DaemonError::WorkerFailed(_) => EXIT_SOFTWARE,
                DaemonError::Store(store) if store.is_lasting() => EXIT_CONFIG,
                _ => 1,
            })
        }
    }
}
