//! The local API between `pushbindd` and the apps on this machine.
//!
//! # Transport
//!
//! A stream socket that is a filesystem path in a per-user directory (see
//! [`crate::paths`]). Only the user who runs the daemon can connect: the
//! directory is mode 0700, the socket file is mode 0600, and the daemon
//! compares each peer's uid with its own and closes connections from other
//! users. Every peer that passes that check is trusted as the user.
//!
//! # Frames
//!
//! Every message is one frame: a 4-byte big-endian payload length, then one
//! CBOR value of that length (see [`crate::codec`]). The maximum payload is
//! 64 KiB. A receiver rejects a larger length before allocating anything,
//! decodes with a nesting limit of 32 and rejects trailing bytes.
//!
//! # Handshake
//!
//! The client sends a [`Handshake`] first and the daemon replies with its own.
//! The connection goes on only if both carry the same [`PROTOCOL_VERSION`];
//! otherwise the daemon closes it after its reply, and the client reports
//! both versions. The version changes whenever a message changes in a way an
//! older peer cannot decode; it is independent of the crate version. The
//! [`Handshake`] layout itself never changes. A field added without a
//! version change carries `#[serde(default)]`, so that frames from peers
//! without it still decode.
//!
//! # Requests
//!
//! After the handshake the client sends [`Request`]s, one at a time, and the
//! daemon answers each with one [`Response`]. A request that cannot be decoded
//! (an unknown variant, a wrong shape, trailing bytes) gets
//! [`Response::Error`] with [`ErrorCode::BadRequest`] and the connection stays
//! open. An oversize or truncated frame closes the connection, because the
//! stream can no longer be split into frames. A peer that stops in the middle
//! of a frame is dropped after [`FRAME_TIMEOUT`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

mod upload;

pub use upload::{
    ApnsCredentials, ApnsKey, FcmCredentials, FcmPriority, FcmPushType, HonorCredentials,
    HuaweiCredentials, MAX_CREDENTIAL_FILE_LEN, MeizuCredentials, NotifierUpload, OppoCredentials,
    SecretBytes, SecretText, Vendor, VendorCredentials, VivoCredentials, XiaomiCredentials,
};

/// Version of the local API. Exchanged in the [`Handshake`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Time a peer may take to send the rest of a frame once its first byte has
/// arrived, and to send its handshake after connecting.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// The first frame in each direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handshake {
    /// The sender's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The sending program and its version, for logs, such as
    /// `pushbind-client 0.1.0`.
    pub agent: String,
}

impl Handshake {
    /// Builds this side's handshake for the program named `agent`.
    pub fn new(agent: impl Into<String>) -> Self {
        Self {
            protocol: PROTOCOL_VERSION,
            agent: agent.into(),
        }
    }
}

/// APNs environment of a device token, as the app's build reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApnsEnvironment {
    Development,
    Production,
}

impl ApnsEnvironment {
    /// Returns the name the IM server uses for this environment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "DEVELOPMENT",
            Self::Production => "PRODUCTION",
        }
    }
}

/// A request from an app to the daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// The daemon's state: login, bindings, outbox and recent history.
    Status,
    /// Logs `user_id` in on this device. Tokens bound while logged out, or
    /// for the previous user, are bound for this user.
    Login {
        user_id: String,
        /// A ready bearer token from the app's own backend, for deployments
        /// that keep no client secret on the device.
        bearer_token: Option<String>,
    },
    /// Logs the current user out.
    Logout {
        /// Removes this device's bindings from the server first (the SDKs'
        /// default); `false` keeps offline pushes arriving.
        unbind_token: bool,
    },
    /// Binds `device_token` under the certificate `notifier_name`.
    BindDeviceToken {
        notifier_name: String,
        device_token: String,
        /// The APNs environment the app was built for, checked against the
        /// certificate's when both are known.
        apns_environment: Option<ApnsEnvironment>,
        /// Replies only once the server confirmed, or the first attempt
        /// failed.
        wait: bool,
    },
    /// Removes the binding under `notifier_name`.
    UnbindDeviceToken { notifier_name: String, wait: bool },
    /// The app's push certificates from the daemon's cache.
    ListNotifiers {
        /// Fetches the list from the server first.
        refresh: bool,
    },
    /// Checks a push certificate, uploads it to the server (`POST
    /// notifiers`) and refreshes the cache. The secrets in it are sent to the
    /// server once and never stored.
    UploadNotifier(Box<NotifierUpload>),
    /// Deletes the certificate `name` from the server (`DELETE
    /// notifiers/{uuid}`) and refreshes the cache. `vendor` picks one when
    /// several vendors' certificates share the name.
    DeleteNotifier {
        name: String,
        vendor: Option<Vendor>,
    },
    /// The cached certificates named `name`, with the bindings that use
    /// them.
    ShowNotifier { name: String },
    /// Runs a sync pass now, retrying items that are waiting for back-off.
    SyncNow {
        /// Replies only once the pass is over.
        wait: bool,
    },
    /// The daemon's effective configuration, secrets masked.
    Config,
    /// Turns the connection into a stream of [`Event`]s: the daemon replies
    /// [`Response::Subscribed`], then sends [`Response::Event`] frames until
    /// either side closes the connection. No further requests are read.
    Subscribe,
}

impl Request {
    /// Name of the request type, for logs. Never includes field values.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Login { .. } => "login",
            Self::Logout { .. } => "logout",
            Self::BindDeviceToken { .. } => "bind_device_token",
            Self::UnbindDeviceToken { .. } => "unbind_device_token",
            Self::ListNotifiers { .. } => "list_notifiers",
            Self::UploadNotifier(_) => "upload_notifier",
            Self::DeleteNotifier { .. } => "delete_notifier",
            Self::ShowNotifier { .. } => "show_notifier",
            Self::SyncNow { .. } => "sync_now",
            Self::Config => "config",
            Self::Subscribe => "subscribe",
        }
    }
}

/// The daemon's reply to one [`Request`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Status(Box<StatusReport>),
    LoggedIn(LoginReport),
    LoggedOut(LogoutReport),
    Binding(BindingView),
    Notifiers(NotifierList),
    /// Response to [`Request::UploadNotifier`] and [`Request::DeleteNotifier`]:
    /// the certificate as the server returned it.
    NotifierChanged(NotifierInfo),
    NotifierDetails(NotifierDetails),
    Synced(SyncReport),
    Config(ConfigReport),
    Subscribed,
    Event(Event),
    Error(ErrorReply),
}

/// Something that happened to this device's bindings, sent to subscribers.
///
/// Each subscriber has a queue of [`EVENT_QUEUE_LEN`] events. A subscriber
/// that falls further behind loses the oldest events and next receives
/// [`Event::Missed`] with their number, so a slow app never holds up the
/// daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The server confirmed the binding's new state.
    BindingConfirmed {
        user_id: String,
        notifier_name: String,
        /// Fingerprint of the token the server holds; `None` after a
        /// removal.
        device_token: Option<String>,
    },
    /// A server call for the binding failed.
    BindingFailed {
        user_id: String,
        notifier_name: String,
        reason: String,
        /// Whether the daemon retries the call by itself; `false` means it
        /// is parked until the app binds again.
        will_retry: bool,
    },
    /// The server removed the binding by itself, usually because the push
    /// vendor rejected the token. A [`Event::TokenNeeded`] follows.
    BindingRemovedByServer {
        user_id: String,
        notifier_name: String,
    },
    /// The app should supply something new: a fresh device token for the
    /// certificate, or, without one, a new bearer token at login.
    TokenNeeded {
        notifier_name: Option<String>,
        reason: String,
    },
    /// The app's certificate list on the server changed.
    NotifiersChanged { names: Vec<String> },
    /// A certificate uploaded through this daemon expires within the
    /// configured warning window, or has expired. Sent once per certificate
    /// each time it enters the window.
    CertificateExpiring {
        notifier_name: String,
        provider: String,
        expires_at: UnixMillis,
    },
    /// This many events were dropped because the subscriber read too slowly.
    Missed { count: u64 },
    /// An event this client version does not know. The client crate yields
    /// it for any event frame it cannot decode.
    #[serde(other)]
    Unknown,
}

/// Number of events queued for one subscriber.
pub const EVENT_QUEUE_LEN: usize = 256;

/// Stable error codes of [`ErrorReply`]. Codes are never renamed or reused,
/// and a client older than a code decodes it as [`ErrorCode::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request could not be decoded.
    BadRequest,
    /// A value is out of range or malformed; the message names it.
    InvalidArgument,
    /// The certificate name is not in the app's certificate list.
    UnknownNotifier,
    /// The app's APNs environment differs from the certificate's.
    EnvironmentMismatch,
    /// The request needs a logged-in user.
    NotLoggedIn,
    /// The server rejected the request for good; the message has its reason.
    ServerRejected,
    /// The server could not be reached or failed with a transient error.
    ServerUnavailable,
    /// The daemon has no server configuration, or it is wrong.
    NotConfigured,
    /// The daemon is shutting down.
    ShuttingDown,
    /// A fault inside the daemon, such as a database error.
    Internal,
    /// A code this client version does not know.
    #[serde(other)]
    Unknown,
}

/// A failed request: a stable code for programs and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorReply {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Time as milliseconds since the Unix epoch.
pub type UnixMillis = i64;

/// Answer to [`Request::Status`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The daemon's crate version.
    pub daemon_version: String,
    /// This device's id on the IM server.
    pub device_id: String,
    /// Server URL and app, or why the daemon cannot sync.
    pub server: ServerInfo,
    pub login: Option<LoginInfo>,
    /// Bindings the daemon manages, for the current and previous users.
    pub bindings: Vec<BindingView>,
    /// Tokens the app supplied, bound for the logged-in user.
    pub tokens: Vec<TokenView>,
    pub outbox: OutboxSummary,
    pub notifiers: NotifierCacheInfo,
    /// The cached certificates, with the expiry of those uploaded through
    /// this daemon.
    #[serde(default)]
    pub certificates: Vec<NotifierInfo>,
    /// Bindings of the logged-in user on other devices, as of the last
    /// comparison with the server. The daemon leaves them alone.
    pub unmanaged: Vec<ServerBinding>,
    /// The most recent changes and sync results, newest first.
    pub history: Vec<HistoryEntry>,
}

/// The server the daemon syncs with, and any problem that stops it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub url: String,
    /// `org#app` or `app-id/ID`.
    pub app: String,
    /// `client_credentials` or `bearer_token`.
    pub auth: String,
    /// The reason sync is stopped, such as a rejected client secret or an
    /// expired bearer token, with the fix.
    pub problem: Option<String>,
    /// When the daemon last compared its bindings with the server's.
    pub last_reconcile_at: Option<UnixMillis>,
}

/// The logged-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginInfo {
    pub user_id: String,
    pub logged_in_at: UnixMillis,
    /// Whether the app handed over a bearer token at login.
    pub bearer_token: bool,
}

/// One (user, certificate) binding of this device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingView {
    pub user_id: String,
    pub notifier_name: String,
    /// Fingerprint of the token the server should have, or `None` when the
    /// binding should be removed. Tokens themselves are never shown.
    pub desired_token: Option<String>,
    /// Fingerprint of the token the server last confirmed, or `None` when
    /// the server confirmed it has none.
    pub confirmed_token: Option<String>,
    pub state: SyncState,
    /// Failed attempts of the pending server call.
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_retry_at: Option<UnixMillis>,
    pub confirmed_at: Option<UnixMillis>,
    pub updated_at: UnixMillis,
    pub apns_environment: Option<ApnsEnvironment>,
    /// The environment of the APNs certificate of this name, from the
    /// cache; `None` for other vendors.
    pub notifier_environment: Option<String>,
    /// A warning about this binding, such as a certificate that is not in the
    /// app's certificate list.
    pub warning: Option<String>,
}

/// The state of a binding relative to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// The server confirmed the desired state.
    Synced,
    /// A server call is queued.
    Pending,
    /// A server call failed with a transient error and will be retried.
    Retrying,
    /// The server rejected the call for good; it is retried only when the
    /// binding changes.
    Parked,
    /// The server removed the binding by itself, usually because the vendor
    /// rejected the token. The app should supply a fresh token.
    RemovedByServer,
    /// No user is logged in; the token is bound at the next login.
    WaitingForLogin,
    /// A state this client version does not know.
    #[serde(other)]
    Unknown,
}

impl SyncState {
    /// Returns whether the daemon still has work to do for the binding.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Pending | Self::Retrying)
    }
}

/// A token the app supplied for a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub notifier_name: String,
    /// Fingerprint of the token.
    pub device_token: String,
    pub apns_environment: Option<ApnsEnvironment>,
    pub updated_at: UnixMillis,
}

/// Counts of queued server calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxSummary {
    pub pending: u32,
    pub parked: u32,
    pub next_attempt_at: Option<UnixMillis>,
}

/// The state of the certificate cache.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifierCacheInfo {
    pub count: u32,
    /// When the list was last fetched, `None` if never.
    pub fetched_at: Option<UnixMillis>,
    /// Whether the list is recent enough to reject unknown names.
    pub fresh: bool,
    pub last_error: Option<String>,
}

/// A binding as the server lists it, with the token as a fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerBinding {
    pub user_id: String,
    /// The device the binding belongs to.
    #[serde(default)]
    pub device_id: String,
    pub notifier_name: String,
    pub device_token: String,
}

/// One change or sync result in the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: UnixMillis,
    /// The kind of entry, such as `bind`, `confirmed` or `parked`.
    pub event: String,
    pub user_id: Option<String>,
    pub notifier_name: Option<String>,
    pub detail: String,
}

/// Answer to [`Request::Login`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginReport {
    pub login: LoginInfo,
    /// The previous user, whose bindings of this device are being removed.
    pub previous_user: Option<String>,
    /// Bindings queued for this user from tokens the app supplied earlier.
    pub queued: Vec<BindingView>,
}

/// Answer to [`Request::Logout`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutReport {
    pub user_id: String,
    /// Bindings queued for removal from the server; empty when the tokens
    /// were kept.
    pub unbinding: Vec<BindingView>,
}

/// One push certificate from the cache.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifierInfo {
    pub name: String,
    pub uuid: String,
    /// `APNS`, `ANDROID` (FCM), `HUAWEIPUSH`, `HONOR`, `OPPOPUSH`,
    /// `VIVOPUSH`, `XIAOMIPUSH` or `MEIZUPUSH`.
    pub provider: String,
    pub environment: Option<String>,
    pub package_name: Option<String>,
    pub disabled: bool,
    pub modified: Option<UnixMillis>,
    /// When the certificate stops working, where known: the `notAfter` date
    /// of an APNs `.p12` uploaded through this daemon. The server does not
    /// report expiry.
    #[serde(default)]
    pub expires_at: Option<UnixMillis>,
    /// Whether `expires_at` falls within the configured warning window or
    /// has passed.
    #[serde(default)]
    pub expiring: bool,
}

/// Response to [`Request::ShowNotifier`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifierDetails {
    /// The cached certificates of that name, one per vendor.
    pub notifiers: Vec<NotifierInfo>,
    /// This device's bindings under that name.
    pub bindings: Vec<BindingView>,
    pub cache: NotifierCacheInfo,
}

/// Answer to [`Request::ListNotifiers`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifierList {
    pub notifiers: Vec<NotifierInfo>,
    pub cache: NotifierCacheInfo,
}

/// Answer to [`Request::SyncNow`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Whether the pass ran to the end before the answer; `false` when the
    /// request did not wait.
    pub completed: bool,
    /// Server calls that succeeded in the pass.
    pub confirmed: u32,
    /// Server calls that failed and will be retried.
    pub retrying: u32,
    /// Server calls parked in the pass.
    pub parked: u32,
    /// Calls still queued after the pass.
    pub pending: u32,
    /// Bindings not in step with the server after the pass, for any reason:
    /// queued, parked, removed by the server, or waiting for login.
    #[serde(default)]
    pub unsynced: u32,
    /// The reason the pass could not reach the server, if it could not.
    pub error: Option<String>,
}

/// Answer to [`Request::Config`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigReport {
    pub entries: Vec<ConfigEntry>,
}

/// One configuration value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigEntry {
    pub key: String,
    /// The value, or `********` for a secret that is set.
    pub value: Option<String>,
    /// `default`, `file PATH`, `env NAME` or `flag --NAME`.
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode_payload, encode_frame};

    fn round_trip<T>(message: &T) -> T
    where
        T: Serialize + serde::de::DeserializeOwned,
    {
        let frame = encode_frame(message).unwrap();
        decode_payload(&frame[crate::codec::HEADER_LEN..]).unwrap()
    }

    #[test]
    fn handshake_encoding_is_fixed() {
        // The handshake layout never changes, so this encoding must keep
        // decoding in every future version.
        let bytes = [
            0xa2, 0x68, b'p', b'r', b'o', b't', b'o', b'c', b'o', b'l', 0x01, 0x65, b'a', b'g',
            b'e', b'n', b't', 0x61, b'x',
        ];
        let handshake: Handshake = decode_payload(&bytes).unwrap();
        assert_eq!(handshake.protocol, 1);
        assert_eq!(handshake.agent, "x");
        let frame = encode_frame(&Handshake::new("x")).unwrap();
        assert_eq!(&frame[crate::codec::HEADER_LEN..], &bytes);
    }

    #[test]
    fn requests_round_trip() {
        let requests = [
            Request::Status,
            Request::Login {
                user_id: "u1".into(),
                bearer_token: Some("bearer".into()),
            },
            Request::Logout { unbind_token: true },
            Request::BindDeviceToken {
                notifier_name: "fcm-main".into(),
                device_token: "T1".into(),
                apns_environment: Some(ApnsEnvironment::Production),
                wait: false,
            },
            Request::UnbindDeviceToken {
                notifier_name: "fcm-main".into(),
                wait: true,
            },
            Request::ListNotifiers { refresh: true },
            Request::UploadNotifier(Box::new(NotifierUpload {
                name: "1234567890".into(),
                credentials: VendorCredentials::Fcm(FcmCredentials {
                    service_account: SecretText::new("{}"),
                    push_type: Some(FcmPushType::Data),
                    priority: None,
                }),
            })),
            Request::UploadNotifier(Box::new(NotifierUpload {
                name: "apns-prod".into(),
                credentials: VendorCredentials::Apns(ApnsCredentials {
                    environment: ApnsEnvironment::Production,
                    bundle_id: "com.example.chat".into(),
                    key: ApnsKey::Certificate {
                        p12: SecretBytes::new(vec![0x30, 0x82, 0xff]),
                        passphrase: SecretText::new("pass"),
                    },
                }),
            })),
            Request::DeleteNotifier {
                name: "fcm-main".into(),
                vendor: Some(Vendor::Fcm),
            },
            Request::ShowNotifier {
                name: "fcm-main".into(),
            },
            Request::SyncNow { wait: true },
            Request::Config,
            Request::Subscribe,
        ];
        for request in requests {
            assert_eq!(round_trip(&request), request);
        }
    }

    #[test]
    fn version_one_status_request_bytes_decode() {
        // `Request::Status` as protocol version 1 encodes it: a text string.
        let bytes = [0x66, b's', b't', b'a', b't', b'u', b's'];
        assert_eq!(decode_payload::<Request>(&bytes).unwrap(), Request::Status);
    }

    #[test]
    fn unknown_request_variant_is_an_error() {
        let frame = encode_frame(&"subscribe_everything").unwrap();
        assert!(decode_payload::<Request>(&frame[crate::codec::HEADER_LEN..]).is_err());
    }

    #[test]
    fn unknown_error_code_decodes_as_unknown() {
        let frame = encode_frame(&"some_future_code").unwrap();
        let code: ErrorCode = decode_payload(&frame[crate::codec::HEADER_LEN..]).unwrap();
        assert_eq!(code, ErrorCode::Unknown);
    }

    #[test]
    fn sync_report_without_unsynced_decodes() {
        #[derive(Serialize)]
        struct OlderSyncReport {
            completed: bool,
            confirmed: u32,
            retrying: u32,
            parked: u32,
            pending: u32,
            error: Option<String>,
        }
        let older = OlderSyncReport {
            completed: true,
            confirmed: 1,
            retrying: 0,
            parked: 0,
            pending: 0,
            error: None,
        };
        let report: SyncReport = round_trip_as(&older);
        assert_eq!(report.confirmed, 1);
        assert_eq!(report.unsynced, 0);
    }

    fn round_trip_as<T: serde::de::DeserializeOwned>(message: &impl Serialize) -> T {
        let frame = encode_frame(message).unwrap();
        decode_payload(&frame[crate::codec::HEADER_LEN..]).unwrap()
    }

    #[test]
    fn notifier_info_without_expiry_decodes() {
        #[derive(Serialize)]
        struct OlderNotifierInfo {
            name: String,
            uuid: String,
            provider: String,
            environment: Option<String>,
            package_name: Option<String>,
            disabled: bool,
            modified: Option<UnixMillis>,
        }
        let older = OlderNotifierInfo {
            name: "fcm".into(),
            uuid: "u".into(),
            provider: "ANDROID".into(),
            environment: None,
            package_name: None,
            disabled: false,
            modified: Some(1),
        };
        let info: NotifierInfo = round_trip_as(&older);
        assert_eq!(info.name, "fcm");
        assert_eq!(info.expires_at, None);
        assert!(!info.expiring);
    }

    #[test]
    fn secret_bytes_encode_as_cbor_byte_string() {
        let frame = encode_frame(&SecretBytes::new(vec![1, 2, 3])).unwrap();
        // Major type 2 (byte string) of length 3.
        assert_eq!(&frame[crate::codec::HEADER_LEN..], &[0x43, 1, 2, 3]);
    }

    #[test]
    fn events_round_trip() {
        let events = [
            Event::BindingConfirmed {
                user_id: "u1".into(),
                notifier_name: "fcm".into(),
                device_token: Some("sha256:00/1".into()),
            },
            Event::BindingFailed {
                user_id: "u1".into(),
                notifier_name: "fcm".into(),
                reason: "HTTP 503".into(),
                will_retry: true,
            },
            Event::TokenNeeded {
                notifier_name: None,
                reason: "bearer token rejected".into(),
            },
            Event::NotifiersChanged {
                names: vec!["fcm".into()],
            },
            Event::CertificateExpiring {
                notifier_name: "apns-prod".into(),
                provider: "APNS".into(),
                expires_at: 1_800_000_000_000,
            },
            Event::Missed { count: 3 },
        ];
        for event in events {
            assert_eq!(
                round_trip(&Response::Event(event.clone())),
                Response::Event(event)
            );
        }
    }

    #[test]
    fn error_response_round_trip() {
        let response = Response::Error(ErrorReply::new(ErrorCode::UnknownNotifier, "no"));
        assert_eq!(round_trip(&response), response);
    }
}
