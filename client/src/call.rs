//! Requests paired with the response they expect, shared by the async and the
//! blocking client so that each API method is written once.

use crate::codec::CodecError;
use crate::error::{Error, Result};
use crate::protocol::{
    BindingView, ConfigReport, Event, Handshake, LoginReport, LogoutReport, NotifierDetails,
    NotifierInfo, NotifierList, NotifierUpload, PROTOCOL_VERSION, Request, Response, StatusReport,
    SyncReport, Vendor,
};
use crate::validate;

/// A request and the function that takes its value out of a [`Response`].
pub(crate) struct Call<T> {
    pub request: Request,
    expected: &'static str,
    extract: fn(Response) -> Result<T, Box<Response>>,
}

impl<T> Call<T> {
    /// Explains a response that cannot be decoded, which happens when the
    /// daemon and the client come from releases that differ without a
    /// protocol version change. Other errors pass through.
    pub fn undecodable(&self, err: Error) -> Error {
        match err {
            Error::Connection(CodecError::Invalid(reason)) => Error::UnexpectedResponse {
                expected: self.expected,
                got: format!(
                    "a response this client cannot decode ({reason}); install pushbind and the \
                     app's pushbind-client from the same release"
                ),
            },
            other => other,
        }
    }

    /// Turns the daemon's answer into the expected value or an error.
    pub fn finish(&self, response: Response) -> Result<T> {
        match (self.extract)(response) {
            Ok(value) => Ok(value),
            Err(response) => match *response {
                Response::Error(reply) => Err(Error::Daemon {
                    code: reply.code,
                    message: reply.message,
                }),
                other => Err(Error::UnexpectedResponse {
                    expected: self.expected,
                    got: format!("{other:?}").chars().take(200).collect(),
                }),
            },
        }
    }
}

macro_rules! extractor {
    ($variant:ident) => {
        |response| match response {
            Response::$variant(value) => Ok(value),
            other => Err(Box::new(other)),
        }
    };
}

pub fn status() -> Call<StatusReport> {
    Call {
        request: Request::Status,
        expected: "status",
        extract: |response| match response {
            Response::Status(report) => Ok(*report),
            other => Err(Box::new(other)),
        },
    }
}

pub fn login(user_id: &str, bearer_token: Option<&str>) -> Result<Call<LoginReport>> {
    validate::user_id(user_id)?;
    if let Some(token) = bearer_token {
        validate::bearer_token(token)?;
    }
    Ok(Call {
        request: Request::Login {
            user_id: user_id.to_owned(),
            bearer_token: bearer_token.map(str::to_owned),
        },
        expected: "logged_in",
        extract: extractor!(LoggedIn),
    })
}

pub fn logout(unbind_token: bool) -> Call<LogoutReport> {
    Call {
        request: Request::Logout { unbind_token },
        expected: "logged_out",
        extract: extractor!(LoggedOut),
    }
}

pub fn bind(
    notifier_name: &str,
    device_token: &str,
    options: &crate::BindOptions,
) -> Result<Call<BindingView>> {
    validate::notifier_name(notifier_name)?;
    validate::device_token(device_token)?;
    Ok(Call {
        request: Request::BindDeviceToken {
            notifier_name: notifier_name.to_owned(),
            device_token: device_token.to_owned(),
            apns_environment: options.apns_environment,
            wait: options.wait,
        },
        expected: "binding",
        extract: extractor!(Binding),
    })
}

pub fn unbind(notifier_name: &str, wait: bool) -> Result<Call<BindingView>> {
    validate::notifier_name(notifier_name)?;
    Ok(Call {
        request: Request::UnbindDeviceToken {
            notifier_name: notifier_name.to_owned(),
            wait,
        },
        expected: "binding",
        extract: extractor!(Binding),
    })
}

pub fn notifiers(refresh: bool) -> Call<NotifierList> {
    Call {
        request: Request::ListNotifiers { refresh },
        expected: "notifiers",
        extract: extractor!(Notifiers),
    }
}

pub fn upload_notifier(upload: &NotifierUpload) -> Result<Call<NotifierInfo>> {
    validate::notifier_name(&upload.name)?;
    Ok(Call {
        request: Request::UploadNotifier(Box::new(upload.clone())),
        expected: "notifier_changed",
        extract: extractor!(NotifierChanged),
    })
}

pub fn delete_notifier(name: &str, vendor: Option<Vendor>) -> Result<Call<NotifierInfo>> {
    validate::notifier_name(name)?;
    Ok(Call {
        request: Request::DeleteNotifier {
            name: name.to_owned(),
            vendor,
        },
        expected: "notifier_changed",
        extract: extractor!(NotifierChanged),
    })
}

pub fn show_notifier(name: &str) -> Result<Call<NotifierDetails>> {
    validate::notifier_name(name)?;
    Ok(Call {
        request: Request::ShowNotifier {
            name: name.to_owned(),
        },
        expected: "notifier_details",
        extract: extractor!(NotifierDetails),
    })
}

pub fn sync_now(wait: bool) -> Call<SyncReport> {
    Call {
        request: Request::SyncNow { wait },
        expected: "synced",
        extract: extractor!(Synced),
    }
}

pub fn config() -> Call<ConfigReport> {
    Call {
        request: Request::Config,
        expected: "config",
        extract: extractor!(Config),
    }
}

/// Turns an event frame into an event. A frame this client cannot decode
/// is an event of a newer daemon: [`Event::Unknown`].
pub fn decode_event(payload: &[u8]) -> Result<Event> {
    match crate::codec::decode_payload::<Response>(payload) {
        Ok(Response::Event(event)) => Ok(event),
        Ok(Response::Error(reply)) => Err(Error::Daemon {
            code: reply.code,
            message: reply.message,
        }),
        Ok(other) => Err(Error::UnexpectedResponse {
            expected: "event",
            got: format!("{other:?}").chars().take(200).collect(),
        }),
        Err(_) => Ok(Event::Unknown),
    }
}

/// Checks the daemon's reply to [`Request::Subscribe`].
pub fn check_subscribed(response: Response) -> Result<()> {
    match response {
        Response::Subscribed => Ok(()),
        Response::Error(reply) => Err(Error::Daemon {
            code: reply.code,
            message: reply.message,
        }),
        other => Err(Error::UnexpectedResponse {
            expected: "subscribed",
            got: format!("{other:?}").chars().take(200).collect(),
        }),
    }
}

/// Builds the client's handshake.
pub fn handshake() -> Handshake {
    Handshake::new(concat!("pushbind-client ", env!("CARGO_PKG_VERSION")))
}

/// Checks the daemon's handshake against ours.
pub fn check_handshake(theirs: Handshake) -> Result<()> {
    if theirs.protocol == PROTOCOL_VERSION {
        return Ok(());
    }
    Err(Error::ProtocolMismatch {
        client: PROTOCOL_VERSION,
        daemon: theirs.protocol,
        daemon_agent: theirs.agent,
    })
}
