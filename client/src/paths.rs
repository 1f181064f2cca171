//! The location of the daemon's socket. The daemon and every client resolve it
//! with [`socket_path`], so both agree without configuration.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the socket path.
pub const SOCKET_ENV: &str = "PUSHBIND_SOCKET";

/// File name of the socket inside the runtime directory.
pub const SOCKET_FILE_NAME: &str = "pushbindd.sock";

/// Returns the real user id of this process.
pub fn current_uid() -> u32 {
    // SAFETY: getuid takes no arguments, touches no memory and always succeeds.
    unsafe { libc::getuid() }
}

/// Returns the per-user directory for the socket and the daemon's lock file:
/// `$XDG_RUNTIME_DIR/pushbind` where that variable is set, otherwise
/// `pushbind-UID` in the system's temporary directory (per user on macOS).
pub fn runtime_dir() -> PathBuf {
    let xdg = directories::BaseDirs::new().and_then(|dirs| dirs.runtime_dir().map(Path::to_owned));
    match xdg {
        Some(dir) => dir.join("pushbind"),
        None => std::env::temp_dir().join(format!("pushbind-{}", current_uid())),
    }
}

/// Resolves the socket path: `flag` when given, else [`SOCKET_ENV`], else
/// [`SOCKET_FILE_NAME`] in [`runtime_dir`].
pub fn socket_path(flag: Option<&Path>) -> PathBuf {
    socket_path_from(flag, std::env::var_os(SOCKET_ENV))
}

fn socket_path_from(flag: Option<&Path>, env: Option<OsString>) -> PathBuf {
    if let Some(path) = flag {
        return path.to_owned();
    }
    match env {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => runtime_dir().join(SOCKET_FILE_NAME),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_wins_over_environment() {
        let path = socket_path_from(Some(Path::new("/a/s")), Some("/b/s".into()));
        assert_eq!(path, Path::new("/a/s"));
    }

    #[test]
    fn environment_wins_over_default() {
        assert_eq!(
            socket_path_from(None, Some("/b/s".into())),
            Path::new("/b/s")
        );
    }

    #[test]
    fn empty_environment_means_default() {
        let path = socket_path_from(None, Some("".into()));
        assert_eq!(path, runtime_dir().join(SOCKET_FILE_NAME));
    }

    #[test]
    fn default_is_in_a_per_user_directory() {
        let dir = runtime_dir();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name == "pushbind" || name == format!("pushbind-{}", current_uid()));
    }
}
