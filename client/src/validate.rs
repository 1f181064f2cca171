//! Limits on the values apps send, applied by the client before a request
//! leaves the app and again by the daemon before anything is stored.
//!
//! The IM server's public documents give no limits. These are the ones its
//! stand-in server enforces, chosen so that no value the daemon accepts is
//! rejected by the server as malformed.

use std::fmt;

/// Maximum length of an IM user id, in bytes.
pub const MAX_USER_ID_LEN: usize = 64;
/// Maximum length of a certificate name, in bytes.
pub const MAX_NOTIFIER_NAME_LEN: usize = 128;
/// Maximum length of a device token, in bytes.
pub const MAX_DEVICE_TOKEN_LEN: usize = 4096;
/// Maximum length of a bearer token, in bytes.
pub const MAX_BEARER_TOKEN_LEN: usize = 8192;

/// A value that breaks one of the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidArgument {
    /// The request field, such as `notifier_name`.
    pub field: &'static str,
    /// What is wrong and what a valid value looks like.
    pub reason: String,
}

impl fmt::Display for InvalidArgument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for InvalidArgument {}

fn invalid(field: &'static str, reason: String) -> InvalidArgument {
    InvalidArgument { field, reason }
}

fn check_text(field: &'static str, value: &str, max_len: usize) -> Result<(), InvalidArgument> {
    if value.is_empty() {
        return Err(invalid(field, "must not be empty".into()));
    }
    if value.len() > max_len {
        return Err(invalid(
            field,
            format!("is {} bytes long, the maximum is {max_len}", value.len()),
        ));
    }
    if let Some(position) = value.chars().position(char::is_control) {
        return Err(invalid(
            field,
            format!("contains a control character at position {position}; remove it"),
        ));
    }
    Ok(())
}

/// Checks an IM user id: 1 to 64 bytes of `[A-Za-z0-9_.-]`.
pub fn user_id(value: &str) -> Result<(), InvalidArgument> {
    check_text("user_id", value, MAX_USER_ID_LEN)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if let Some(bad) = value.chars().find(|&c| !allowed(c)) {
        return Err(invalid(
            "user_id",
            format!("{value:?} contains {bad:?}; use only letters, digits, '_', '.' and '-'"),
        ));
    }
    // "." and ".." would name another resource once placed in a URL path.
    if value.chars().all(|c| c == '.') {
        return Err(invalid(
            "user_id",
            format!("{value:?} is not a user id; it needs a letter, digit, '_' or '-'"),
        ));
    }
    Ok(())
}

/// Checks a certificate name: 1 to 128 bytes, no control characters.
pub fn notifier_name(value: &str) -> Result<(), InvalidArgument> {
    check_text("notifier_name", value, MAX_NOTIFIER_NAME_LEN)
}

/// Checks a device token: 1 to 4096 bytes, no control characters, and no
/// white space at either end, which no vendor's token has.
pub fn device_token(value: &str) -> Result<(), InvalidArgument> {
    check_text("device_token", value, MAX_DEVICE_TOKEN_LEN)?;
    if value.trim() != value {
        return Err(invalid(
            "device_token",
            "starts or ends with white space; pass the token exactly as the vendor issued it"
                .into(),
        ));
    }
    Ok(())
}

/// Checks a bearer token: 1 to 8192 bytes, no control characters or spaces,
/// since it goes into an HTTP header.
pub fn bearer_token(value: &str) -> Result<(), InvalidArgument> {
    check_text("bearer_token", value, MAX_BEARER_TOKEN_LEN)?;
    if value.contains(' ') {
        return Err(invalid(
            "bearer_token",
            "contains a space; pass the token alone, without the word Bearer".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_limits() {
        assert!(user_id("u1").is_ok());
        assert!(user_id("a.b-c_D9").is_ok());
        assert!(user_id(&"u".repeat(64)).is_ok());
        assert_eq!(user_id("").unwrap_err().field, "user_id");
        assert!(user_id(&"u".repeat(65)).is_err());
        assert!(user_id("user@example").is_err());
        assert!(user_id("a b").is_err());
        assert!(user_id("u\n").is_err());
        assert!(user_id(".").is_err());
        assert!(user_id("..").is_err());
        assert!(user_id("a..b").is_ok());
    }

    #[test]
    fn notifier_name_limits() {
        assert!(notifier_name("prod-apns").is_ok());
        assert!(notifier_name("1234567890").is_ok());
        assert!(notifier_name(&"n".repeat(128)).is_ok());
        assert!(notifier_name(&"n".repeat(129)).is_err());
        assert!(notifier_name("").is_err());
        assert!(notifier_name("a\u{7}b").is_err());
    }

    #[test]
    fn device_token_limits() {
        assert!(device_token(&"t".repeat(4096)).is_ok());
        let err = device_token(&"t".repeat(4097)).unwrap_err();
        assert_eq!(err.field, "device_token");
        assert!(err.reason.contains("4097"));
        assert!(device_token("tok\0en").is_err());
        assert!(device_token(" ").is_err());
        assert!(device_token("abc ").is_err());
    }

    #[test]
    fn bearer_token_rejects_scheme_prefix() {
        assert!(bearer_token("YWMt-abc").is_ok());
        assert!(bearer_token("Bearer YWMt-abc").is_err());
    }
}
