//! `pushbind`: inspect and drive `pushbindd`, the daemon that keeps this
//! device's offline-push binding correct on the IM server.

// The crate root is src/bin/pushbind.rs, so its modules would be looked up in
// src/bin/, next to pushbindd's. They live in src/bin/pushbind/ instead.
#[path = "pushbind/certs.rs"]
mod certs;
#[path = "pushbind/commands.rs"]
mod commands;
#[path = "pushbind/exit.rs"]
mod exit;
#[path = "pushbind/output.rs"]
mod output;
#[path = "pushbind/render.rs"]
mod render;
#[path = "pushbind/time.rs"]
mod time;
#[path = "pushbind/token.rs"]
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pushbind_client::ApnsEnvironment;

use crate::exit::{EXIT_STATUS_HELP, ExitStatus, exit_status};
use crate::output::Output;
use crate::token::TokenSource;

/// Inspect and drive pushbindd, the daemon that keeps this device's
/// offline-push binding correct on the IM server.
#[derive(Debug, Parser)]
#[command(name = "pushbind", version, after_help = EXIT_STATUS_HELP)]
struct Cli {
    /// Socket of pushbindd [default: $PUSHBIND_SOCKET, else the per-user
    /// socket]
    ///
    /// Without this option the socket is $PUSHBIND_SOCKET, else
    /// pushbindd.sock in $XDG_RUNTIME_DIR/pushbind, or in the directory
    /// pushbind-UID under the temporary directory when XDG_RUNTIME_DIR is
    /// unset.
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,

    /// Print the daemon's response as pretty JSON on stdout
    ///
    /// Errors are printed on stdout too, as {"error": {"code": ...,
    /// "message": ...}}, and still set the exit status. A --wait result
    /// that is not synced prints the response and exits with status 7.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the daemon's state, bindings and recent history
    ///
    /// Shows the device id, the server and why sync is stopped, the login,
    /// and every binding with its sync state. Then the tokens the app
    /// supplied, the outbox, the certificate cache, bindings on the server
    /// that the daemon did not make, and recent history.
    Status,

    /// Log a user in on this device
    ///
    /// Tokens supplied earlier are bound for this user, and the bindings of
    /// a previous user of this device are removed from the server.
    Login {
        /// IM user id: 1 to 64 letters, digits, '_', '.' or '-', not only dots
        user_id: String,

        #[command(flatten)]
        bearer_token: BearerTokenArgs,
    },

    /// Log the current user out
    ///
    /// By default this device's bindings are removed from the server, as
    /// the IM SDKs do, and the daemon retries until the server confirms.
    Logout {
        /// Keep the bindings on the server, so that offline pushes keep
        /// arriving on this device
        #[arg(long)]
        keep_token: bool,
    },

    /// Bind a device token under a push certificate
    Bind {
        /// Name of the push certificate (notifier) in the IM console
        #[arg(long, value_name = "NAME")]
        notifier: String,

        #[command(flatten)]
        token: DeviceTokenArgs,

        /// APNs environment the app was built for; the daemon rejects a
        /// certificate of the other environment
        #[arg(long, value_name = "ENV", ignore_case = true)]
        apns_env: Option<ApnsEnvArg>,

        /// Wait until the server confirmed or the first attempt failed, and
        /// exit with status 7 unless the binding is synced
        #[arg(long)]
        wait: bool,
    },

    /// Remove this device's binding under a push certificate from the
    /// server
    Unbind {
        /// Name of the push certificate (notifier) in the IM console
        #[arg(long, value_name = "NAME")]
        notifier: String,

        /// Wait until the server confirmed or the first attempt failed, and
        /// exit with status 7 unless the binding is synced
        #[arg(long)]
        wait: bool,
    },

    /// Manage the app's push certificates: list (the default), show,
    /// upload, delete, refresh
    #[command(args_conflicts_with_subcommands = true)]
    Certs {
        /// With no subcommand: fetch the list from the server first
        #[arg(long)]
        refresh: bool,

        #[command(subcommand)]
        command: Option<certs::CertsCommand>,
    },

    /// Run a sync pass now
    ///
    /// The pass includes calls that are waiting for their retry back-off.
    Sync {
        /// Wait for the pass to end, and exit with status 7 if a call is
        /// parked or still queued, or the server could not be reached
        #[arg(long)]
        wait: bool,
    },

    /// Show the effective configuration, secrets masked
    ///
    /// Lists each key with its value and source. When pushbindd is not
    /// running, shows the configuration it would load from this
    /// environment.
    #[command(after_long_help = commands::config_keys_help())]
    Config,

    /// Follow events: bindings confirmed, failed or removed by the server,
    /// tokens needed, certificate list changes
    ///
    /// Prints one line per event until interrupted, or one JSON object per
    /// line with --json.
    Events,
}

/// Device token sources of `bind`. Exactly one is required.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct DeviceTokenArgs {
    /// Device token from the push vendor
    ///
    /// Other local users can read command lines, so prefer --token-file or
    /// --token-stdin.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,

    /// Read the device token from this file; trailing line breaks are
    /// removed
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,

    /// Read the device token from standard input; trailing line breaks are
    /// removed
    #[arg(long)]
    token_stdin: bool,
}

impl DeviceTokenArgs {
    fn source(self) -> TokenSource {
        match (self.token, self.token_file) {
            (Some(token), _) => TokenSource::Argument(token),
            (None, Some(path)) => TokenSource::File(path),
            (None, None) => TokenSource::Stdin,
        }
    }
}

/// Bearer token sources of `login`, for a daemon that uses bearer tokens.
/// The token is never a command-line value, because other local users can
/// read command lines.
#[derive(Debug, Args)]
#[group(multiple = false)]
struct BearerTokenArgs {
    /// Read a bearer token from the app's backend from this file, for a
    /// daemon configured with auth = "bearer_token"
    #[arg(long, value_name = "PATH")]
    bearer_token_file: Option<PathBuf>,

    /// Read the bearer token from standard input
    #[arg(long)]
    bearer_token_stdin: bool,
}

impl BearerTokenArgs {
    fn source(self) -> Option<TokenSource> {
        match self.bearer_token_file {
            Some(path) => Some(TokenSource::File(path)),
            None if self.bearer_token_stdin => Some(TokenSource::Stdin),
            None => None,
        }
    }
}

/// The values of `--apns-env`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum ApnsEnvArg {
    Development,
    Production,
}

impl From<ApnsEnvArg> for ApnsEnvironment {
    fn from(value: ApnsEnvArg) -> Self {
        match value {
            ApnsEnvArg::Development => Self::Development,
            ApnsEnvArg::Production => Self::Production,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version output go to stdout and are a success, as
            // with clap's own `exit`.
            let _ = err.print();
            let status = if err.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Success
            };
            return status.into();
        }
    };
    let output = Output { json: cli.json };
    match run(cli, output) {
        Ok(status) => status.into(),
        Err(err) => {
            output.print_error(&err);
            exit_status(&err).into()
        }
    }
}

fn run(cli: Cli, output: Output) -> anyhow::Result<ExitStatus> {
    let socket = pushbind_client::paths::socket_path(cli.socket.as_deref());
    match cli.command {
        Command::Status => commands::status(&socket, output),
        Command::Login {
            user_id,
            bearer_token,
        } => commands::login(&socket, output, &user_id, bearer_token.source()),
        Command::Logout { keep_token } => commands::logout(&socket, output, keep_token),
        Command::Bind {
            notifier,
            token,
            apns_env,
            wait,
        } => {
            let apns_environment = apns_env.map(ApnsEnvironment::from);
            let request = commands::BindRequest {
                notifier,
                token: token.source(),
                apns_environment,
                wait,
            };
            commands::bind(&socket, output, request)
        }
        Command::Unbind { notifier, wait } => commands::unbind(&socket, output, &notifier, wait),
        Command::Certs { refresh, command } => certs::run(&socket, output, command, refresh),
        Command::Sync { wait } => commands::sync(&socket, output, wait),
        Command::Config => commands::config(&socket, output),
        Command::Events => commands::events(&socket, output),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bind_requires_one_token_source() {
        let parse = |args: &[&str]| Cli::try_parse_from(args);
        assert!(parse(&["pushbind", "bind", "--notifier", "n"]).is_err());
        let both = [
            "pushbind",
            "bind",
            "--notifier",
            "n",
            "--token",
            "t",
            "--token-stdin",
        ];
        assert!(parse(&both).is_err());
        let cli = parse(&["pushbind", "bind", "--notifier", "n", "--token-file", "/t"]).unwrap();
        let Command::Bind { token, .. } = cli.command else {
            panic!("expected bind");
        };
        assert_eq!(token.source(), TokenSource::File("/t".into()));
    }

    #[test]
    fn login_has_no_bearer_token_value() {
        let args = ["pushbind", "login", "u1", "--bearer-token", "secret"];
        assert!(Cli::try_parse_from(args).is_err());
        let both = [
            "pushbind",
            "login",
            "u1",
            "--bearer-token-file",
            "/t",
            "--bearer-token-stdin",
        ];
        assert!(Cli::try_parse_from(both).is_err());
    }

    #[test]
    fn certs_upload_has_no_secret_values() {
        let base = ["pushbind", "certs", "upload", "huawei", "--name", "1"];
        let with = |extra: &[&str]| {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            Cli::try_parse_from(args)
        };
        assert!(with(&["--file", "-", "--package-name", "com.example.chat"]).is_ok());
        assert!(with(&["--client-secret", "s", "--package-name", "com.example.chat"]).is_err());
        assert!(Cli::try_parse_from(["pushbind", "certs"]).is_ok());
        assert!(Cli::try_parse_from(["pushbind", "certs", "--refresh"]).is_ok());
        assert!(Cli::try_parse_from(["pushbind", "certs", "list", "--refresh"]).is_ok());
    }

    #[test]
    fn global_options_after_subcommand() {
        let cli = Cli::try_parse_from(["pushbind", "status", "--json", "--socket", "/s"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.socket, Some(PathBuf::from("/s")));
    }

    #[test]
    fn usage_error_is_status_two() {
        let err = Cli::try_parse_from(["pushbind", "frobnicate"]).unwrap_err();
        assert!(err.use_stderr());
        assert_eq!(err.exit_code(), ExitStatus::Usage as i32);
    }

    #[test]
    fn help_lists_exit_statuses() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit status:"));
        assert!(help.contains("PUSHBIND_SOCKET"));
    }
}
