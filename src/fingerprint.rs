//! Short, stable stand-ins for device tokens and other secrets in logs,
//! status and history. A fingerprint cannot be turned back into the token.

use sha2::{Digest, Sha256};

/// The first 8 hex digits of the SHA-256 of `token`, with its length, such
/// as `sha256:1f2e3d4c/64`.
pub fn fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256:{hex}/{}", token.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_hides_token_and_is_stable() {
        let token = "a1b2c3d4e5f6";
        let print = fingerprint(token);
        assert_eq!(print, fingerprint(token));
        assert!(!print.contains(token));
        assert!(print.ends_with("/12"));
        assert_ne!(print, fingerprint("a1b2c3d4e5f7"));
    }
}
