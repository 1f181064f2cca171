//! Event subscriptions: a connection turned into a stream of [`Event`]s.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use interprocess::local_socket::tokio::Stream;

use crate::call::decode_event;
use crate::codec::read_frame_async;
use crate::error::Result;
use crate::protocol::Event;

type PendingRead = Pin<Box<dyn Future<Output = (Stream, Option<Result<Event>>)> + Send>>;

/// The events of one subscription, from [`crate::Client::subscribe`]. It
/// ends when the daemon closes the connection, and after an error.
///
/// ```no_run
/// # async fn run() -> pushbind_client::Result<()> {
/// let client = pushbind_client::Client::connect().await?;
/// let mut events = client.subscribe().await?;
/// while let Some(event) = events.next().await {
///     println!("{:?}", event?);
/// }
/// # Ok(())
/// # }
/// ```
pub struct Events {
    stream: Option<Stream>,
    pending: Option<PendingRead>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("open", &(self.stream.is_some() || self.pending.is_some()))
            .finish()
    }
}

impl Events {
    pub(crate) fn new(stream: Stream) -> Self {
        Self {
            stream: Some(stream),
            pending: None,
        }
    }

    /// Waits for the next event; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        std::future::poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut *self), cx)).await
    }
}

async fn read_event(mut stream: Stream) -> (Stream, Option<Result<Event>>) {
    let result = match read_frame_async(&mut stream).await {
        Ok(None) => None,
        Ok(Some(payload)) => Some(decode_event(&payload)),
        Err(err) => Some(Err(err.into())),
    };
    (stream, result)
}

impl futures_core::Stream for Events {
    type Item = Result<Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.pending.is_none() {
            let Some(stream) = this.stream.take() else {
                return Poll::Ready(None);
            };
            this.pending = Some(Box::pin(read_event(stream)));
        }
        let pending = this.pending.as_mut().expect("a read is pending");
        let Poll::Ready((stream, result)) = pending.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        this.pending = None;
        if matches!(result, Some(Ok(_))) {
            this.stream = Some(stream);
        }
        Poll::Ready(result)
    }
}
