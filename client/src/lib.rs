//! Client for `pushbindd`, the per-user daemon that keeps this device's
//! offline-push binding correct on the IM server.
//!
//! An app calls [`Client::bind_device_token`] whenever the push vendor hands
//! it a token, and [`Client::logout`] when the user logs out, just as it would
//! call `bindDeviceToken` and `logout` in the IM SDKs. The daemon stores the
//! request before it answers, then keeps the server in step: across restarts,
//! outages and rate limits.
//!
//! ```no_run
//! # async fn run() -> pushbind_client::Result<()> {
//! let mut client = pushbind_client::Client::connect().await?;
//! client.login("u1", None).await?;
//! let binding = client.bind_device_token("fcm-main", "vendor-token").await?;
//! println!("{:?}", binding.state);
//! # Ok(())
//! # }
//! ```
//!
//! Apps without a tokio runtime use [`blocking::Client`]. The wire format is
//! specified in [`protocol`].

pub mod blocking;
mod call;
pub mod codec;
mod error;
mod events;
pub mod paths;
pub mod protocol;
pub mod validate;

use std::path::Path;
use std::time::Duration;

use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ToFsName};

pub use error::{Error, Result};
pub use events::Events;
pub use protocol::{
    ApnsEnvironment, BindingView, ConfigReport, ErrorCode, Event, LoginReport, LogoutReport,
    NotifierDetails, NotifierInfo, NotifierList, NotifierUpload, StatusReport, SyncReport,
    SyncState, Vendor, VendorCredentials,
};

use call::Call;
use codec::{decode_payload, encode_frame, read_frame_async, write_frame_async};
use protocol::{FRAME_TIMEOUT, Handshake, Response};

/// Time a call waits for the daemon's answer unless set otherwise. Requests
/// that wait for the server are answered by the daemon within 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of [`Client::bind_device_token_with`].
#[derive(Clone, Debug, Default)]
pub struct BindOptions {
    /// The APNs environment the app was built for; the daemon rejects a
    /// certificate of the other environment.
    pub apns_environment: Option<ApnsEnvironment>,
    /// Answer only once the server confirmed the binding or the first
    /// attempt failed.
    pub wait: bool,
}

/// A connection to the daemon. Calls are answered one at a time.
#[derive(Debug)]
pub struct Client {
    stream: Stream,
    timeout: Duration,
}

impl Client {
    /// Connects to the daemon at the default socket path (see
    /// [`paths::socket_path`]).
    pub async fn connect() -> Result<Self> {
        Self::connect_to(&paths::socket_path(None)).await
    }

    /// Connects to the daemon listening on `socket`.
    pub async fn connect_to(socket: &Path) -> Result<Self> {
        let name = socket
            .to_fs_name::<GenericFilePath>()
            .map_err(|err| Error::from_connect(socket.to_owned(), err))?;
        let stream = Stream::connect(name)
            .await
            .map_err(|err| Error::from_connect(socket.to_owned(), err))?;
        let mut client = Self {
            stream,
            timeout: DEFAULT_TIMEOUT,
        };
        client.handshake().await?;
        Ok(client)
    }

    /// Sets how long each call waits for the daemon's answer.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    async fn handshake(&mut self) -> Result<()> {
        let frame = encode_frame(&call::handshake())?;
        let exchange = async {
            write_frame_async(&mut self.stream, &frame).await?;
            read_frame_async(&mut self.stream).await
        };
        let payload = tokio::time::timeout(FRAME_TIMEOUT, exchange)
            .await
            .map_err(|_| Error::Timeout(FRAME_TIMEOUT))??
            .ok_or(codec::CodecError::Truncated)?;
        call::check_handshake(decode_payload::<Handshake>(&payload)?)
    }

    async fn call<T>(&mut self, call: Call<T>) -> Result<T> {
        let frame = encode_frame(&call.request)?;
        let exchange = async {
            write_frame_async(&mut self.stream, &frame).await?;
            read_frame_async(&mut self.stream).await
        };
        let payload = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Error::Timeout(self.timeout))??
            .ok_or(codec::CodecError::Truncated)?;
        let response = decode_payload::<Response>(&payload).map_err(Error::from);
        call.finish(response.map_err(|err| call.undecodable(err))?)
    }

    /// Returns the daemon's state: login, bindings, outbox and history.
    pub async fn status(&mut self) -> Result<StatusReport> {
        self.call(call::status()).await
    }

    /// Logs `user_id` in on this device. `bearer_token` is a token from the
    /// app's own backend, for daemons configured without a client secret.
    /// Bindings of a previous user of this device are removed first.
    pub async fn login(
        &mut self,
        user_id: &str,
        bearer_token: Option<&str>,
    ) -> Result<LoginReport> {
        self.call(call::login(user_id, bearer_token)?).await
    }

    /// Logs the current user out. With `unbind_token` (the SDKs' default)
    /// this device's bindings are removed from the server, and the daemon
    /// keeps trying until the server confirms.
    pub async fn logout(&mut self, unbind_token: bool) -> Result<LogoutReport> {
        self.call(call::logout(unbind_token)).await
    }

    /// Binds `device_token` under the push certificate `notifier_name`. The
    /// answer comes once the request is stored; the daemon then sends it to
    /// the server. A token given while logged out is bound at the next login.
    ///
    /// ```no_run
    /// # async fn run(client: &mut pushbind_client::Client) -> pushbind_client::Result<()> {
    /// let binding = client.bind_device_token("prod-apns", "a1b2c3").await?;
    /// assert_eq!(binding.notifier_name, "prod-apns");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bind_device_token(
        &mut self,
        notifier_name: &str,
        device_token: &str,
    ) -> Result<BindingView> {
        self.bind_device_token_with(notifier_name, device_token, &BindOptions::default())
            .await
    }

    /// Binds a device token with [`BindOptions`].
    pub async fn bind_device_token_with(
        &mut self,
        notifier_name: &str,
        device_token: &str,
        options: &BindOptions,
    ) -> Result<BindingView> {
        self.call(call::bind(notifier_name, device_token, options)?)
            .await
    }

    /// Removes this device's binding under `notifier_name` from the server.
    /// With `wait`, answers once the server confirmed or the first attempt
    /// failed.
    pub async fn unbind_device_token(
        &mut self,
        notifier_name: &str,
        wait: bool,
    ) -> Result<BindingView> {
        self.call(call::unbind(notifier_name, wait)?).await
    }

    /// Lists the app's push certificates from the daemon's cache, fetched
    /// from the server first when `refresh` is set.
    pub async fn notifiers(&mut self, refresh: bool) -> Result<NotifierList> {
        self.call(call::notifiers(refresh)).await
    }

    /// Fetches the certificate list from the server into the daemon's cache
    /// and returns it; the same as [`Client::notifiers`] with `refresh`.
    pub async fn refresh_notifiers(&mut self) -> Result<NotifierList> {
        self.call(call::notifiers(true)).await
    }

    /// Uploads a push certificate to the IM server. The daemon checks it
    /// first (for an APNs `.p12`: the passphrase, the key, the dates and the
    /// bundle ID; for FCM: the service account and its private key; for the
    /// other vendors: the ids and secrets), rejects a name the vendor already
    /// uses, then sends it and refreshes its cache. The secrets are sent to
    /// the server once and never stored by the daemon.
    ///
    /// A check that fails is [`Error::Daemon`] with
    /// [`ErrorCode::InvalidArgument`] and a message that names the field and
    /// the fix.
    ///
    /// ```no_run
    /// # async fn run(client: &mut pushbind_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use pushbind_client::protocol::{FcmCredentials, SecretText};
    /// use pushbind_client::{NotifierUpload, VendorCredentials};
    ///
    /// let json = std::fs::read_to_string("service-account.json")?;
    /// let upload = NotifierUpload {
    ///     name: "123456789012".into(),
    ///     credentials: VendorCredentials::Fcm(FcmCredentials {
    ///         service_account: SecretText::new(json),
    ///         push_type: None,
    ///         priority: None,
    ///     }),
    /// };
    /// let created = client.upload_notifier(&upload).await?;
    /// println!("uploaded {} as {}", created.name, created.uuid);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn upload_notifier(&mut self, upload: &NotifierUpload) -> Result<NotifierInfo> {
        self.call(call::upload_notifier(upload)?).await
    }

    /// Deletes the push certificate `name` from the IM server and refreshes
    /// the daemon's cache. When certificates of several vendors share the
    /// name, `vendor` picks one; without it the daemon rejects the request
    /// and lists the vendors.
    pub async fn delete_notifier(
        &mut self,
        name: &str,
        vendor: Option<Vendor>,
    ) -> Result<NotifierInfo> {
        self.call(call::delete_notifier(name, vendor)?).await
    }

    /// Returns the cached certificates named `name` with this device's
    /// bindings under it.
    pub async fn show_notifier(&mut self, name: &str) -> Result<NotifierDetails> {
        self.call(call::show_notifier(name)?).await
    }

    /// Runs a sync pass now, including items waiting for back-off. With
    /// `wait`, answers with the pass's results.
    pub async fn sync_now(&mut self, wait: bool) -> Result<SyncReport> {
        self.call(call::sync_now(wait)).await
    }

    /// Returns the daemon's effective configuration, secrets masked.
    pub async fn config(&mut self) -> Result<ConfigReport> {
        self.call(call::config()).await
    }

    /// Turns this connection into a stream of [`Event`]s: bindings
    /// confirmed, failed or removed by the server, tokens needed and
    /// certificate list changes. Open another connection for requests.
    pub async fn subscribe(mut self) -> Result<Events> {
        let frame = encode_frame(&protocol::Request::Subscribe)?;
        let exchange = async {
            write_frame_async(&mut self.stream, &frame).await?;
            read_frame_async(&mut self.stream).await
        };
        let payload = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Error::Timeout(self.timeout))??
            .ok_or(codec::CodecError::Truncated)?;
        call::check_subscribed(decode_payload::<Response>(&payload)?)?;
        Ok(Events::new(self.stream))
    }
}
