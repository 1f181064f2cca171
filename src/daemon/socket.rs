//! The socket's directory, the single-instance lock and the listener.
//!
//! The directory is created with mode 0700 and then checked, because it may
//! already exist: it must be a real directory (not a symlink), owned by this
//! user, with no group or other permission bits. The lock is an advisory
//! `flock` on a file next to the socket, held for the daemon's lifetime. The
//! kernel releases it when the process dies, so a crashed daemon never
//! blocks the next one. The socket file is replaced only while the lock is
//! held, and it is created with mode 0600 before `bind`, so no umask can
//! open it to other users.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use pushbind_client::paths::current_uid;

use super::DaemonError;

/// Creates `dir` (mode 0700) if needed and checks that only this user can
/// use it.
pub fn prepare_dir(dir: &Path) -> Result<(), DaemonError> {
    let unsafe_dir = |reason: String| DaemonError::RuntimeDir {
        path: dir.to_owned(),
        reason,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|err| unsafe_dir(format!("cannot create it: {err}")))?;
    let meta = std::fs::symlink_metadata(dir).map_err(|err| unsafe_dir(err.to_string()))?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir(
            "it is a symlink; point PUSHBIND_SOCKET at a real directory".into(),
        ));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("it is not a directory".into()));
    }
    let uid = current_uid();
    if meta.uid() != uid {
        return Err(unsafe_dir(format!(
            "it is owned by uid {}, not by this user (uid {uid}); use a directory of your own",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(unsafe_dir(format!(
            "other users have access (mode {mode:04o}); run `chmod 700 {}`",
            dir.display()
        )));
    }
    Ok(())
}

/// Returns the lock file for `socket`: its name with `.lock` appended.
pub fn lock_path(socket: &Path) -> PathBuf {
    let mut name = socket.file_name().unwrap_or_default().to_owned();
    name.push(".lock");
    socket.with_file_name(name)
}

/// The single-instance lock; released when dropped or when the process
/// ends.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Takes the lock for `socket`, or fails naming the daemon that holds it.
pub fn lock(socket: &Path) -> Result<InstanceLock, DaemonError> {
    lock_file(&lock_path(socket), &format!("socket {}", socket.display()))
}

/// Takes the lock that gives one daemon the database in `data_dir`.
pub fn lock_data_dir(data_dir: &Path) -> Result<InstanceLock, DaemonError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(|source| DaemonError::Lock {
            path: data_dir.to_owned(),
            source,
        })?;
    let resource = format!("data directory {}", data_dir.display());
    lock_file(&data_dir.join("pushbindd.lock"), &resource)
}

/// Takes an exclusive `flock` on `path` and writes this process's id into
/// it. `resource` names what the lock guards, for the error.
fn lock_file(path: &Path, resource: &str) -> Result<InstanceLock, DaemonError> {
    let path = path.to_owned();
    let lock_error = |source| DaemonError::Lock {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(lock_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(DaemonError::AlreadyRunning {
                resource: resource.to_owned(),
                pid: pid.trim().to_owned(),
            });
        }
        Err(TryLockError::Error(err)) => return Err(lock_error(err)),
    }
    file.set_len(0).map_err(lock_error)?;
    writeln!(file, "{}", std::process::id()).map_err(lock_error)?;
    Ok(InstanceLock { _file: file })
}

/// Removes a socket file left by a daemon that died. Call only while holding
/// the lock, which proves no other daemon uses the file.
pub fn remove_stale(socket: &Path) -> Result<(), DaemonError> {
    let meta = match std::fs::symlink_metadata(socket) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(socket_error(socket, source)),
    };
    if !meta.file_type().is_socket() {
        return Err(DaemonError::Socket {
            path: socket.to_owned(),
            source: std::io::Error::other("the path exists and is not a socket; move it away"),
        });
    }
    tracing::info!(socket = %socket.display(), "removing stale socket left by a previous daemon");
    std::fs::remove_file(socket).map_err(|source| socket_error(socket, source))
}

fn socket_error(path: &Path, source: std::io::Error) -> DaemonError {
    DaemonError::Socket {
        path: path.to_owned(),
        source,
    }
}

/// Binds a new listener on `socket` with mode 0600. The socket file is
/// removed when the listener is dropped.
pub fn bind(socket: &Path) -> Result<Listener, DaemonError> {
    let name = socket
        .to_fs_name::<GenericFilePath>()
        .map_err(|source| socket_error(socket, source))?;
    ListenerOptions::new()
        .name(name)
        .mode(0o600)
        .reclaim_name(true)
        .create_tokio()
        .map_err(|source| socket_error(socket, source))
}

/// Adopts a listening socket inherited from a service manager.
pub fn adopt(fd: OwnedFd, socket: &Path) -> Result<Listener, DaemonError> {
    let listener = interprocess::os::unix::uds_local_socket::tokio::Listener::try_from(fd)
        .map_err(|source| socket_error(socket, source))?;
    Ok(Listener::from(listener))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn creates_private_directory() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("run");
        prepare_dir(&runtime).unwrap();
        let mode = std::fs::metadata(&runtime).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn rejects_open_directory_with_fix() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("run");
        std::fs::create_dir(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = prepare_dir(&runtime).unwrap_err().to_string();
        assert!(err.contains("0755"), "{err}");
        assert!(err.contains("chmod 700"), "{err}");
    }

    #[test]
    fn rejects_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = prepare_dir(&link).unwrap_err().to_string();
        assert!(err.contains("symlink"), "{err}");
    }

    #[test]
    fn second_lock_fails_with_pid() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("pushbindd.sock");
        let _held = lock(&socket).unwrap();
        let err = lock(&socket).unwrap_err();
        let DaemonError::AlreadyRunning { pid, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(pid, &std::process::id().to_string());
    }

    #[test]
    fn data_dir_lock_names_directory() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let _held = lock_data_dir(&data).unwrap();
        let err = lock_data_dir(&data).unwrap_err().to_string();
        assert!(err.contains("data directory"), "{err}");
    }

    #[test]
    fn lock_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("pushbindd.sock");
        drop(lock(&socket).unwrap());
        assert!(lock(&socket).is_ok());
    }

    #[test]
    fn stale_socket_removed_but_regular_file_kept() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("s.sock");
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        remove_stale(&socket).unwrap();
        assert!(!socket.exists());
        std::fs::write(&socket, "data").unwrap();
        assert!(remove_stale(&socket).is_err());
        assert!(socket.exists());
    }
}
