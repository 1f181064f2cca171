//! The client for apps without an async runtime: the same calls as
//! [`crate::Client`], on a blocking socket.
//!
//! ```no_run
//! # fn run() -> pushbind_client::Result<()> {
//! let mut client = pushbind_client::blocking::Client::connect()?;
//! client.bind_device_token("fcm-main", "vendor-token")?;
//! client.logout(true)?;
//! # Ok(())
//! # }
//! ```

use std::path::Path;
use std::time::Duration;

use interprocess::local_socket::prelude::*;
use interprocess::local_socket::{GenericFilePath, Stream, ToFsName};

use crate::call::{self, Call};
use crate::codec::{CodecError, decode_payload, encode_frame, read_frame, write_frame};
use crate::error::{Error, Result};
use crate::protocol::{FRAME_TIMEOUT, Handshake, Response};
use crate::{
    BindOptions, BindingView, ConfigReport, DEFAULT_TIMEOUT, LoginReport, LogoutReport,
    NotifierDetails, NotifierInfo, NotifierList, NotifierUpload, StatusReport, SyncReport, Vendor,
    paths,
};

/// A blocking connection to the daemon.
#[derive(Debug)]
pub struct Client {
    stream: Stream,
    timeout: Duration,
}

impl Client {
    /// Connects to the daemon at the default socket path.
    pub fn connect() -> Result<Self> {
        Self::connect_to(&paths::socket_path(None))
    }

    /// Connects to the daemon listening on `socket`.
    pub fn connect_to(socket: &Path) -> Result<Self> {
        let connect_error = |err| Error::from_connect(socket.to_owned(), err);
        let name = socket
            .to_fs_name::<GenericFilePath>()
            .map_err(connect_error)?;
        let stream = Stream::connect(name).map_err(connect_error)?;
        let mut client = Self {
            stream,
            timeout: DEFAULT_TIMEOUT,
        };
        client.set_socket_timeout(FRAME_TIMEOUT)?;
        let theirs: Handshake =
            client.exchange(&encode_frame(&call::handshake())?, FRAME_TIMEOUT)?;
        call::check_handshake(theirs)?;
        Ok(client)
    }

    /// Sets how long each call waits for the daemon's answer.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    fn set_socket_timeout(&self, timeout: Duration) -> Result<()> {
        self.stream
            .set_recv_timeout(Some(timeout))
            .map_err(CodecError::Io)?;
        self.stream
            .set_send_timeout(Some(timeout))
            .map_err(CodecError::Io)?;
        Ok(())
    }

    fn exchange<T: serde::de::DeserializeOwned>(
        &mut self,
        frame: &[u8],
        timeout: Duration,
    ) -> Result<T> {
        self.set_socket_timeout(timeout)?;
        let timed_out = |err: CodecError| match err {
            CodecError::Io(io) if is_timeout(&io) => Error::Timeout(timeout),
            other => Error::Connection(other),
        };
        write_frame(&mut self.stream, frame).map_err(timed_out)?;
        let payload = read_frame(&mut self.stream)
            .map_err(timed_out)?
            .ok_or(CodecError::Truncated)?;
        Ok(decode_payload(&payload)?)
    }

    fn call<T>(&mut self, call: Call<T>) -> Result<T> {
        let response = self.exchange::<Response>(&encode_frame(&call.request)?, self.timeout);
        call.finish(response.map_err(|err| call.undecodable(err))?)
    }

    /// See [`crate::Client::status`].
    pub fn status(&mut self) -> Result<StatusReport> {
        self.call(call::status())
    }

    /// See [`crate::Client::login`].
    pub fn login(&mut self, user_id: &str, bearer_token: Option<&str>) -> Result<LoginReport> {
        self.call(call::login(user_id, bearer_token)?)
    }

    /// See [`crate::Client::logout`].
    pub fn logout(&mut self, unbind_token: bool) -> Result<LogoutReport> {
        self.call(call::logout(unbind_token))
    }

    /// See [`crate::Client::bind_device_token`].
    pub fn bind_device_token(
        &mut self,
        notifier_name: &str,
        device_token: &str,
    ) -> Result<BindingView> {
        self.bind_device_token_with(notifier_name, device_token, &BindOptions::default())
    }

    /// See [`crate::Client::bind_device_token_with`].
    pub fn bind_device_token_with(
        &mut self,
        notifier_name: &str,
        device_token: &str,
        options: &BindOptions,
    ) -> Result<BindingView> {
        self.call(call::bind(notifier_name, device_token, options)?)
    }

    /// See [`crate::Client::unbind_device_token`].
    pub fn unbind_device_token(&mut self, notifier_name: &str, wait: bool) -> Result<BindingView> {
        self.call(call::unbind(notifier_name, wait)?)
    }

    /// See [`crate::Client::notifiers`].
    pub fn notifiers(&mut self, refresh: bool) -> Result<NotifierList> {
        self.call(call::notifiers(refresh))
    }

    /// See [`crate::Client::refresh_notifiers`].
    pub fn refresh_notifiers(&mut self) -> Result<NotifierList> {
        self.call(call::notifiers(true))
    }

    /// See [`crate::Client::upload_notifier`].
    pub fn upload_notifier(&mut self, upload: &NotifierUpload) -> Result<NotifierInfo> {
        self.call(call::upload_notifier(upload)?)
    }

    /// See [`crate::Client::delete_notifier`].
    pub fn delete_notifier(&mut self, name: &str, vendor: Option<Vendor>) -> Result<NotifierInfo> {
        self.call(call::delete_notifier(name, vendor)?)
    }

    /// See [`crate::Client::show_notifier`].
    pub fn show_notifier(&mut self, name: &str) -> Result<NotifierDetails> {
        self.call(call::show_notifier(name)?)
    }

    /// See [`crate::Client::sync_now`].
    pub fn sync_now(&mut self, wait: bool) -> Result<SyncReport> {
        self.call(call::sync_now(wait))
    }

    /// See [`crate::Client::config`].
    pub fn config(&mut self) -> Result<ConfigReport> {
        self.call(call::config())
    }

    /// See [`crate::Client::subscribe`]. The iterator blocks until the next
    /// event arrives.
    pub fn subscribe(mut self) -> Result<Events> {
        let frame = encode_frame(&crate::protocol::Request::Subscribe)?;
        let response = self.exchange::<Response>(&frame, self.timeout)?;
        call::check_subscribed(response)?;
        self.stream.set_recv_timeout(None).map_err(CodecError::Io)?;
        Ok(Events {
            stream: Some(self.stream),
        })
    }
}

/// The events of one subscription, from [`Client::subscribe`]. The iterator
/// ends when the daemon closes the connection, and after an error.
#[derive(Debug)]
pub struct Events {
    stream: Option<Stream>,
}

impl Iterator for Events {
    type Item = Result<crate::protocol::Event>;

    fn next(&mut self) -> Option<Self::Item> {
        let stream = self.stream.as_mut()?;
        let result = match read_frame(stream) {
            Ok(None) => None,
            Ok(Some(payload)) => Some(call::decode_event(&payload)),
            Err(err) => Some(Err(err.into())),
        };
        if !matches!(result, Some(Ok(_))) {
            self.stream = None;
        }
        result
    }
}

fn is_timeout(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
