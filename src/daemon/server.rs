//! The local API server: accepts connections, checks each peer's uid, runs
//! the handshake and serves requests one at a time per connection.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::traits::StreamCommon;
use interprocess::local_socket::traits::tokio::Listener as _;
use pushbind_client::codec::{
    CodecError, decode_payload, encode_frame, read_frame_async, read_frame_rest_async,
    read_frame_start_async, write_frame_async,
};
use pushbind_client::paths::current_uid;
use pushbind_client::protocol::{
    ErrorCode, ErrorReply, Event, FRAME_TIMEOUT, Handshake, PROTOCOL_VERSION, Request, Response,
};
use tokio::io::AsyncReadExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Daemon, handlers};

/// Connections served at once. A new connection beyond this closes the
/// connection that has been idle longest, so idle clients cannot lock out
/// others. When every connection is busy, the new one is closed.
const MAX_CONNECTIONS: usize = 64;

/// The idle connections, each with the time it became idle and the signal
/// that closes it.
#[derive(Default)]
struct IdleConnections {
    next_id: AtomicU64,
    idle: Mutex<HashMap<u64, (Instant, Arc<Notify>)>>,
}

impl IdleConnections {
    fn register(&self) -> (u64, Arc<Notify>) {
        (
            self.next_id.fetch_add(1, Ordering::Relaxed),
            Arc::new(Notify::new()),
        )
    }

    fn set_idle(&self, id: u64, close: &Arc<Notify>) {
        let mut idle = self.idle.lock().expect("idle connections lock");
        idle.insert(id, (Instant::now(), close.clone()));
    }

    fn remove(&self, id: u64) {
        self.idle.lock().expect("idle connections lock").remove(&id);
    }

    /// Closes the connection idle longest; returns `false` when none is idle.
    fn close_oldest(&self) -> bool {
        let mut idle = self.idle.lock().expect("idle connections lock");
        let oldest = idle
            .iter()
            .min_by_key(|(_, (since, _))| *since)
            .map(|(id, _)| *id);
        match oldest.and_then(|id| idle.remove(&id)) {
            Some((_, close)) => {
                close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Pause after a failed `accept`, such as one out of file descriptors, so a
/// persistent failure does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Accepts connections until `shutdown` completes. Returns the connection
/// tasks still running.
pub(super) async fn serve(
    listener: Listener,
    daemon: Arc<Daemon>,
    shutdown: impl Future<Output = ()>,
    stop: watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut connections = JoinSet::new();
    let idle = Arc::new(IdleConnections::default());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(stream) => {
                    if connections.len() >= MAX_CONNECTIONS && !idle.close_oldest() {
                        tracing::warn!(limit = MAX_CONNECTIONS, "too many busy connections; closing a new one");
                        continue;
                    }
                    let daemon = daemon.clone();
                    let stop = stop.clone();
                    let idle = idle.clone();
                    connections.spawn(async move {
                        let (id, close) = idle.register();
                        serve_connection(stream, daemon, stop, &idle, id, &close).await;
                        idle.remove(id);
                    });
                }
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections
}

/// Waits up to `timeout` for open connections to finish, then drops them.
pub(super) async fn drain(mut connections: JoinSet<()>, timeout: Duration) {
    let all_done = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(timeout, all_done).await.is_err() {
        tracing::warn!("closing connections that did not finish in time");
    }
}

async fn serve_connection(
    mut stream: Stream,
    daemon: Arc<Daemon>,
    mut stop: watch::Receiver<bool>,
    idle: &IdleConnections,
    id: u64,
    close: &Arc<Notify>,
) {
    if !peer_is_owner(&stream) {
        return;
    }
    // A connection waiting for its handshake counts as idle, so that silent
    // connections cannot lock out others either.
    idle.set_idle(id, close);
    let handshake = tokio::select! {
        _ = close.notified() => {
            tracing::info!("closing a connection still without a handshake to serve a new one");
            return;
        }
        handshake = handshake(&mut stream) => handshake,
    };
    let agent = match handshake {
        Ok(agent) => agent,
        Err(reason) => {
            tracing::warn!(%reason, "closing connection after a failed handshake");
            return;
        }
    };
    tracing::debug!(%agent, "client connected");
    loop {
        idle.set_idle(id, close);
        let first = tokio::select! {
            _ = stop.changed() => return,
            _ = close.notified() => {
                tracing::info!(%agent, "closing the connection idle longest to serve a new one");
                return;
            }
            first = read_frame_start_async(&mut stream) => first,
        };
        idle.remove(id);
        let first = match first {
            Ok(Some(first)) => first,
            Ok(None) => return,
            Err(err) => return log_closed(&agent, &err),
        };
        let payload = match tokio::time::timeout(
            FRAME_TIMEOUT,
            read_frame_rest_async(&mut stream, first),
        )
        .await
        {
            Ok(Ok(payload)) => payload,
            Ok(Err(err)) => return log_closed(&agent, &err),
            Err(_) => {
                tracing::warn!(%agent, "closing connection: frame not completed within {FRAME_TIMEOUT:?}");
                return;
            }
        };
        let request = match decode_payload::<Request>(&payload) {
            Ok(Request::Subscribe) => {
                return stream_events(&mut stream, &daemon, &mut stop, &agent).await;
            }
            other => other,
        };
        let response = answer(&daemon, &agent, request).await;
        if let Err(err) = send(&mut stream, &response).await {
            return log_closed(&agent, &err);
        }
    }
}

/// Time a subscriber may take to accept one event before its connection is
/// closed. Events that arrive meanwhile wait in its queue, or are counted
/// as missed once the queue is full.
const EVENT_SEND_TIMEOUT: Duration = Duration::from_secs(300);

/// Kernel send buffer of a subscription's socket, in bytes. Kept small so
/// that events wait in the daemon's bounded queue, where a subscriber that
/// falls behind learns how many it missed, rather than unseen in the kernel.
const EVENT_SOCKET_BUFFER: libc::c_int = 16 * 1024;

fn limit_send_buffer(stream: &Stream) {
    use std::os::fd::{AsFd, AsRawFd};
    let Stream::UdSocket(inner) = stream;
    let size = EVENT_SOCKET_BUFFER;
    // SAFETY: the descriptor belongs to `stream`, which outlives the call,
    // and the option value is a c_int of the length passed.
    let result = unsafe {
        libc::setsockopt(
            inner.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result != 0 {
        let err = std::io::Error::last_os_error();
        tracing::debug!(error = %err, "cannot shrink a subscription's send buffer");
    }
}

/// Serves a subscription: sends every event until the client closes the
/// connection or the daemon stops. Any byte from the client ends it, since
/// no requests follow a subscription.
async fn stream_events(
    stream: &mut Stream,
    daemon: &Daemon,
    stop: &mut watch::Receiver<bool>,
    agent: &str,
) {
    let mut events = daemon.sync.subscribe();
    limit_send_buffer(stream);
    if let Err(err) = send(stream, &Response::Subscribed).await {
        return log_closed(agent, &err);
    }
    tracing::debug!(%agent, "subscribed to events");
    let mut probe = [0u8; 1];
    loop {
        let event = tokio::select! {
            _ = stop.changed() => return,
            _ = stream.read(&mut probe) => return,
            received = events.recv() => match received {
                Ok(event) => event,
                Err(RecvError::Lagged(count)) => Event::Missed { count },
                Err(RecvError::Closed) => return,
            },
        };
        let frame = match encode_frame(&Response::Event(event)) {
            Ok(frame) => frame,
            Err(err) => {
                tracing::error!(error = %err, "event cannot be encoded");
                continue;
            }
        };
        match tokio::time::timeout(EVENT_SEND_TIMEOUT, write_frame_async(stream, &frame)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return log_closed(agent, &err),
            Err(_) => {
                tracing::warn!(%agent, "closing a subscription that stopped reading events");
                return;
            }
        }
    }
}

fn peer_is_owner(stream: &Stream) -> bool {
    let uid = current_uid();
    match stream.peer_creds() {
        Ok(creds) if creds.euid() == Some(uid) => true,
        Ok(creds) => {
            tracing::warn!(
                peer_uid = ?creds.euid(),
                peer_pid = ?creds.pid(),
                "rejected a connection from another user"
            );
            false
        }
        Err(err) => {
            tracing::warn!(error = %err, "rejected a connection whose peer credentials cannot be read");
            false
        }
    }
}

/// Exchanges handshakes. Returns the client's agent string, or why the
/// connection must close.
async fn handshake(stream: &mut Stream) -> Result<String, String> {
    let payload = tokio::time::timeout(FRAME_TIMEOUT, read_frame_async(stream))
        .await
        .map_err(|_| format!("no handshake within {FRAME_TIMEOUT:?}"))?
        .map_err(|err| err.to_string())?
        .ok_or("closed before the handshake")?;
    let theirs: Handshake =
        decode_payload(&payload).map_err(|err| format!("invalid handshake: {err}"))?;
    let ours = Handshake::new(concat!("pushbindd ", env!("CARGO_PKG_VERSION")));
    send(stream, &ours).await.map_err(|err| err.to_string())?;
    if theirs.protocol != PROTOCOL_VERSION {
        return Err(format!(
            "client {:?} speaks local API version {}, this daemon speaks {PROTOCOL_VERSION}",
            theirs.agent, theirs.protocol
        ));
    }
    Ok(theirs.agent.chars().take(64).collect())
}

async fn answer(daemon: &Daemon, agent: &str, request: Result<Request, CodecError>) -> Response {
    match request {
        Ok(request) => {
            tracing::debug!(%agent, request = request.kind(), "request");
            handlers::handle(daemon, request).await
        }
        Err(err) => {
            tracing::warn!(%agent, error = %err, "rejected a request that cannot be decoded");
            Response::Error(ErrorReply::new(
                ErrorCode::BadRequest,
                format!("request cannot be decoded ({err}); is the client newer than pushbindd?"),
            ))
        }
    }
}

async fn send<T: serde::Serialize>(stream: &mut Stream, message: &T) -> Result<(), CodecError> {
    let frame = match encode_frame(message) {
        Ok(frame) => frame,
        Err(err) => {
            tracing::error!(error = %err, "response cannot be encoded");
            let reply = ErrorReply::new(
                ErrorCode::Internal,
                format!("response cannot be encoded: {err}"),
            );
            encode_frame(&Response::Error(reply))?
        }
    };
    tokio::time::timeout(FRAME_TIMEOUT, write_frame_async(stream, &frame))
        .await
        .map_err(|_| CodecError::Io(std::io::ErrorKind::TimedOut.into()))?
}

fn log_closed(agent: &str, err: &CodecError) {
    match err {
        CodecError::TooLarge { .. } | CodecError::Truncated => {
            tracing::warn!(%agent, error = %err, "closing connection after a malformed frame")
        }
        _ => tracing::debug!(%agent, error = %err, "connection closed"),
    }
}
