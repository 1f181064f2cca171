//! pushbind keeps this device's offline-push binding correct on the IM
//! server. This library holds the daemon (`pushbindd`), which the `pushbind`
//! CLI and the tests drive through [`daemon::run`].

pub mod certs;
pub mod config;
pub mod daemon;
pub mod device;
pub mod fingerprint;
pub mod store;
pub mod sync;
