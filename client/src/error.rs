//! Errors of the client, classified so that apps can react to each kind.

use std::io;
use std::path::PathBuf;

use crate::codec::CodecError;
use crate::protocol::ErrorCode;
use crate::validate::InvalidArgument;

/// A failed call to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing listens on the socket: the daemon is not running, or it
    /// crashed and left its socket file behind.
    #[error(
        "pushbindd is not running: cannot connect to {}: {source}; start it with \
         `systemctl --user start pushbindd` (or run `pushbindd`), or point \
         PUSHBIND_SOCKET at the socket it uses",
        socket.display()
    )]
    NotRunning {
        socket: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The socket or its directory belongs to another user.
    #[error(
        "permission denied on {}: the socket or its directory belongs to another user; \
         run the app as the user who runs pushbindd",
        socket.display()
    )]
    PermissionDenied {
        socket: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The daemon speaks another version of the local API.
    #[error(
        "local API version mismatch: this client speaks version {client}, pushbindd \
         ({daemon_agent}) speaks version {daemon}; install pushbind and the app's \
         pushbind-client from the same release"
    )]
    ProtocolMismatch {
        client: u32,
        daemon: u32,
        daemon_agent: String,
    },
    /// A value the app passed breaks a limit; nothing was sent.
    #[error(transparent)]
    InvalidArgument(#[from] InvalidArgument),
    /// The daemon replied to the request with an error.
    #[error("{message}")]
    Daemon { code: ErrorCode, message: String },
    /// The connection failed after it was set up, or a frame was malformed.
    #[error("connection to pushbindd failed: {0}")]
    Connection(#[from] CodecError),
    /// No reply arrived in time.
    #[error("pushbindd did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The daemon replied with a message that does not fit the request.
    #[error("unexpected response from pushbindd: expected {expected}, got {got}")]
    UnexpectedResponse { expected: &'static str, got: String },
}

impl Error {
    /// Classifies a failed connect to `socket`.
    pub(crate) fn from_connect(socket: PathBuf, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::PermissionDenied => Self::PermissionDenied { socket, source },
            _ => Self::NotRunning { socket, source },
        }
    }

    /// Returns the daemon's error code, when the daemon replied with an error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Daemon { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Result of client calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
