//! This device's id on the IM server.
//!
//! Where the machine has an id (`/etc/machine-id` on systemd systems), the
//! device id is derived from it with a keyed hash, so that it survives a
//! wiped database and the same device keeps one binding slot on the server.
//! The machine id itself never leaves the machine. The derivation follows
//! systemd's `sd_id128_get_machine_app_specific()`: HMAC-SHA256 keyed with
//! the machine id over an application id, truncated to 128 bits and marked
//! as a version 4 UUID. The application id includes the user's uid, so
//! that two users of one machine, each with a daemon, are two devices.
//! Elsewhere the id is a random version 4 UUID.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// Default machine id file.
pub const MACHINE_ID_FILE: &str = "/etc/machine-id";

/// The application id hashed with the machine id. Changing it changes every
/// device id.
const APPLICATION_ID: &[u8] = b"pushbind device id v1";

/// Reads the machine id from `path`: 32 hex digits. `None` when the file is
/// missing, empty or malformed (`uninitialized` on first boot).
pub fn read_machine_id(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let id = text.trim();
    let valid = id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());
    valid.then(|| id.to_ascii_lowercase())
}

/// Derives the device id for a machine id and a user.
pub fn derive(machine_id: &str, uid: u32) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(machine_id.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(APPLICATION_ID);
    mac.update(format!(" uid {uid}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Creates a device id: derived from the machine id at `machine_id_file` where it
/// is readable, random otherwise.
pub fn new_device_id(machine_id_file: &Path) -> String {
    match read_machine_id(machine_id_file) {
        Some(machine_id) => derive(&machine_id, pushbind_client::paths::current_uid()),
        None => Uuid::new_v4().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACHINE: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn derived_id_is_stable_uuid_v4_and_hides_machine_id() {
        let id = derive(MACHINE, 1000);
        assert_eq!(id, derive(MACHINE, 1000));
        assert_ne!(
            id,
            derive(MACHINE, 1001),
            "each user is a device of its own"
        );
        let uuid = Uuid::parse_str(&id).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert!(!id.replace('-', "").contains(&MACHINE[..8]));
        assert_ne!(id, derive("fedcba9876543210fedcba9876543210", 1000));
    }

    #[test]
    fn machine_id_file_is_validated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("machine-id");
        std::fs::write(&path, format!("{}\n", MACHINE.to_uppercase())).unwrap();
        assert_eq!(read_machine_id(&path).as_deref(), Some(MACHINE));
        std::fs::write(&path, "uninitialized\n").unwrap();
        assert_eq!(read_machine_id(&path), None);
        assert_eq!(read_machine_id(&dir.path().join("missing")), None);
    }

    #[test]
    fn missing_machine_id_gives_random_ids() {
        let missing = Path::new("/nonexistent/machine-id");
        assert_ne!(new_device_id(missing), new_device_id(missing));
    }
}
