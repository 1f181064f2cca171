//! Serving a [`Standin`] on a loopback address.

use std::io;
use std::net::SocketAddr;
use std::ops::Deref;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Standin;
use crate::api;
use crate::conn::{KillSwitch, KillableListener};

/// A stand-in serving HTTP on a spawned task.
///
/// Dropping it without [`RunningStandin::stop`] starts the same graceful
/// shutdown without waiting for it. It dereferences to the [`Standin`], so
/// the state methods can be called on it directly.
#[derive(Debug)]
pub struct RunningStandin {
    standin: Standin,
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl Standin {
    /// Binds `addr` and serves on a spawned task; returns once the listener
    /// is bound, so the server accepts connections from then on. Port 0
    /// picks a free port.
    ///
    /// # Errors
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] when `addr` is not an IP
    /// address with a port, or not a loopback address (127.0.0.0/8 or
    /// `::1`), and with the bind error when binding fails.
    pub async fn start(self, addr: &str) -> io::Result<RunningStandin> {
        let addr = parse_loopback(addr)?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let service = api::router(self.clone()).into_make_service_with_connect_info::<KillSwitch>();
        let (shutdown, shutdown_requested) = oneshot::channel::<()>();
        let server =
            axum::serve(KillableListener(listener), service).with_graceful_shutdown(async move {
                // A dropped sender also ends the server.
                let _ = shutdown_requested.await;
            });
        let task = tokio::spawn(async move { server.await });
        tracing::info!(%addr, "stand-in listening");
        Ok(RunningStandin {
            standin: self,
            addr,
            shutdown,
            task,
        })
    }
}

/// Parses a listen address and rejects one that is not on loopback.
fn parse_loopback(addr: &str) -> io::Result<SocketAddr> {
    let parsed: SocketAddr = addr.parse().map_err(|_| {
        let message =
            format!("listen address {addr:?} is not an IP address and port such as 127.0.0.1:0");
        io::Error::new(io::ErrorKind::InvalidInput, message)
    })?;
    if !parsed.ip().is_loopback() {
        let message =
            format!("listen address {addr} is not a loopback address; use 127.0.0.1 or [::1]");
        return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    }
    Ok(parsed)
}

impl RunningStandin {
    /// Returns the bound address, with the real port when 0 was requested.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the server URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Returns the state shared with the server.
    pub fn standin(&self) -> &Standin {
        &self.standin
    }

    /// Stops accepting connections, closes idle ones, and waits until every
    /// call in progress has its response (a delayed call finishes its delay).
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        match self.task.await {
            Ok(Ok(())) => tracing::info!(addr = %self.addr, "stand-in stopped"),
            Ok(Err(error)) => tracing::error!(addr = %self.addr, %error, "stand-in failed"),
            Err(error) => tracing::error!(addr = %self.addr, %error, "stand-in task failed"),
        }
    }
}

impl Deref for RunningStandin {
    type Target = Standin;

    fn deref(&self) -> &Standin {
        &self.standin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_accepted() {
        for addr in ["127.0.0.1:0", "127.1.2.3:8080", "[::1]:0"] {
            assert!(parse_loopback(addr).is_ok(), "{addr} was rejected");
        }
    }

    #[test]
    fn other_addresses_rejected() {
        for addr in [
            "0.0.0.0:0",
            "[::]:0",
            "192.0.2.1:80",
            "localhost:0",
            "127.0.0.1",
        ] {
            let error = parse_loopback(addr).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{addr}");
        }
    }
}
