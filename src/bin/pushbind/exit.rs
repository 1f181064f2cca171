//! Exit statuses of `pushbind` and the classification of errors into them.

use std::process::ExitCode;

use pushbind::config::ConfigError;
use pushbind_client::{Error, ErrorCode};

/// Exit statuses, listed for users in [`EXIT_STATUS_HELP`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ExitStatus {
    Success = 0,
    Failure = 1,
    /// Reported by clap itself for a command line it cannot parse.
    Usage = 2,
    NotRunning = 3,
    PermissionDenied = 4,
    VersionMismatch = 5,
    Invalid = 6,
    ServerFailure = 7,
    TimedOut = 8,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status as u8)
    }
}

/// The exit status table in `pushbind --help`.
pub(crate) const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  other failure, such as a lost connection or an internal daemon error
  2  usage error: the command line could not be parsed
  3  pushbindd is not running, or it is shutting down
  4  permission denied on the socket
  5  local API version mismatch between pushbind and pushbindd
  6  invalid argument or configuration (invalid_argument, bad_request,
     unknown_notifier, environment_mismatch, not_logged_in)
  7  server-side failure (server_rejected, server_unavailable, not_configured),
     or a --wait result that is not synced
  8  timed out waiting for pushbindd";

/// A command-line value that the CLI rejected before sending anything, such
/// as an unreadable `--token-file`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InvalidInput(pub String);

/// Maps a failed call to the daemon to its exit status.
pub(crate) fn client_exit_status(err: &Error) -> ExitStatus {
    match err {
        Error::NotRunning { .. } => ExitStatus::NotRunning,
        Error::PermissionDenied { .. } => ExitStatus::PermissionDenied,
        Error::ProtocolMismatch { .. } => ExitStatus::VersionMismatch,
        Error::InvalidArgument(_) => ExitStatus::Invalid,
        Error::Daemon { code, .. } => daemon_exit_status(*code),
        Error::Timeout(_) => ExitStatus::TimedOut,
        Error::Connection(_) | Error::UnexpectedResponse { .. } => ExitStatus::Failure,
    }
}

/// Maps an error code from the daemon to its exit status.
pub(crate) fn daemon_exit_status(code: ErrorCode) -> ExitStatus {
    match code {
        ErrorCode::BadRequest
        | ErrorCode::InvalidArgument
        | ErrorCode::UnknownNotifier
        | ErrorCode::EnvironmentMismatch
        | ErrorCode::NotLoggedIn => ExitStatus::Invalid,
        ErrorCode::ServerRejected | ErrorCode::ServerUnavailable | ErrorCode::NotConfigured => {
            ExitStatus::ServerFailure
        }
        ErrorCode::ShuttingDown => ExitStatus::NotRunning,
        ErrorCode::Internal | ErrorCode::Unknown => ExitStatus::Failure,
    }
}

/// Maps any error of a command to its exit status, using the first error in
/// the chain that the CLI can classify.
pub(crate) fn exit_status(err: &anyhow::Error) -> ExitStatus {
    for cause in err.chain() {
        if let Some(client_error) = cause.downcast_ref::<Error>() {
            return client_exit_status(client_error);
        }
        if cause.is::<InvalidInput>() || cause.is::<ConfigError>() {
            return ExitStatus::Invalid;
        }
    }
    ExitStatus::Failure
}

/// The `code` field of a `--json` error: the daemon's error code when the
/// daemon responded with one, otherwise a name for the kind of failure.
pub(crate) fn error_code_name(err: &anyhow::Error) -> String {
    for cause in err.chain() {
        if let Some(client_error) = cause.downcast_ref::<Error>() {
            return client_error_code_name(client_error);
        }
        if cause.is::<InvalidInput>() {
            return "invalid_argument".to_owned();
        }
        if cause.is::<ConfigError>() {
            return "invalid_configuration".to_owned();
        }
    }
    "failed".to_owned()
}

fn client_error_code_name(err: &Error) -> String {
    let name = match err {
        Error::NotRunning { .. } => "not_running",
        Error::PermissionDenied { .. } => "permission_denied",
        Error::ProtocolMismatch { .. } => "protocol_mismatch",
        Error::InvalidArgument(_) => "invalid_argument",
        Error::Daemon { code, .. } => return daemon_code_name(*code),
        Error::Connection(_) => "connection_failed",
        Error::Timeout(_) => "timed_out",
        Error::UnexpectedResponse { .. } => "unexpected_response",
    };
    name.to_owned()
}

/// Returns the wire name of `code`, such as `unknown_notifier`.
fn daemon_code_name(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{code:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::path::PathBuf;
    use std::time::Duration;

    use anyhow::Context;
    use pushbind_client::codec::CodecError;
    use pushbind_client::validate::InvalidArgument;

    use super::*;

    fn io_error(kind: io::ErrorKind) -> io::Error {
        io::Error::new(kind, "test")
    }

    fn daemon_error(code: ErrorCode) -> Error {
        Error::Daemon {
            code,
            message: "test".into(),
        }
    }

    #[test]
    fn status_numbers_are_fixed() {
        let expected = [
            (ExitStatus::Success, 0),
            (ExitStatus::Failure, 1),
            (ExitStatus::Usage, 2),
            (ExitStatus::NotRunning, 3),
            (ExitStatus::PermissionDenied, 4),
            (ExitStatus::VersionMismatch, 5),
            (ExitStatus::Invalid, 6),
            (ExitStatus::ServerFailure, 7),
            (ExitStatus::TimedOut, 8),
        ];
        for (status, number) in expected {
            assert_eq!(status as u8, number, "{status:?}");
            let line = format!("\n  {number}  ");
            assert!(EXIT_STATUS_HELP.contains(&line), "help lacks {number}");
        }
    }

    #[test]
    fn client_errors_map_to_statuses() {
        let socket = PathBuf::from("/run/user/1000/pushbind/pushbindd.sock");
        let cases = [
            (
                Error::NotRunning {
                    socket: socket.clone(),
                    source: io_error(io::ErrorKind::ConnectionRefused),
                },
                ExitStatus::NotRunning,
            ),
            (
                Error::PermissionDenied {
                    socket,
                    source: io_error(io::ErrorKind::PermissionDenied),
                },
                ExitStatus::PermissionDenied,
            ),
            (
                Error::ProtocolMismatch {
                    client: 1,
                    daemon: 2,
                    daemon_agent: "pushbindd 9.0.0".into(),
                },
                ExitStatus::VersionMismatch,
            ),
            (
                Error::InvalidArgument(InvalidArgument {
                    field: "user_id",
                    reason: "must not be empty".into(),
                }),
                ExitStatus::Invalid,
            ),
            (
                Error::Connection(CodecError::Truncated),
                ExitStatus::Failure,
            ),
            (
                Error::Timeout(Duration::from_secs(60)),
                ExitStatus::TimedOut,
            ),
            (
                Error::UnexpectedResponse {
                    expected: "binding",
                    got: "Config".into(),
                },
                ExitStatus::Failure,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(client_exit_status(&err), status, "{err:?}");
        }
    }

    #[test]
    fn daemon_codes_map_to_statuses() {
        let cases = [
            (ErrorCode::BadRequest, ExitStatus::Invalid),
            (ErrorCode::InvalidArgument, ExitStatus::Invalid),
            (ErrorCode::UnknownNotifier, ExitStatus::Invalid),
            (ErrorCode::EnvironmentMismatch, ExitStatus::Invalid),
            (ErrorCode::NotLoggedIn, ExitStatus::Invalid),
            (ErrorCode::ServerRejected, ExitStatus::ServerFailure),
            (ErrorCode::ServerUnavailable, ExitStatus::ServerFailure),
            (ErrorCode::NotConfigured, ExitStatus::ServerFailure),
            (ErrorCode::ShuttingDown, ExitStatus::NotRunning),
            (ErrorCode::Internal, ExitStatus::Failure),
            (ErrorCode::Unknown, ExitStatus::Failure),
        ];
        for (code, status) in cases {
            assert_eq!(daemon_exit_status(code), status, "{code:?}");
            assert_eq!(client_exit_status(&daemon_error(code)), status, "{code:?}");
        }
    }

    #[test]
    fn status_found_under_context() {
        let err = Err::<(), _>(daemon_error(ErrorCode::UnknownNotifier))
            .context("bind failed")
            .unwrap_err();
        assert_eq!(exit_status(&err), ExitStatus::Invalid);
        assert_eq!(error_code_name(&err), "unknown_notifier");
    }

    #[test]
    fn cli_errors_map_to_invalid() {
        let err = anyhow::Error::new(InvalidInput("token file is empty".into()));
        assert_eq!(exit_status(&err), ExitStatus::Invalid);
        assert_eq!(error_code_name(&err), "invalid_argument");
        let config_error = ConfigError::SecretFlag {
            key: "client_secret",
            fix: "client_secret_file".into(),
        };
        let err = anyhow::Error::new(config_error).context("loading the configuration");
        assert_eq!(exit_status(&err), ExitStatus::Invalid);
        assert_eq!(error_code_name(&err), "invalid_configuration");
    }

    #[test]
    fn unclassified_error_is_failure() {
        let err = anyhow::anyhow!("writing to stdout failed");
        assert_eq!(exit_status(&err), ExitStatus::Failure);
        assert_eq!(error_code_name(&err), "failed");
    }

    #[test]
    fn code_names_for_json() {
        assert_eq!(
            error_code_name(&daemon_error(ErrorCode::NotLoggedIn).into()),
            "not_logged_in"
        );
        assert_eq!(
            error_code_name(&daemon_error(ErrorCode::Unknown).into()),
            "unknown"
        );
        let timeout = Error::Timeout(Duration::from_secs(1));
        assert_eq!(error_code_name(&timeout.into()), "timed_out");
    }
}
