//! Input limits of the binding routes. The server's public documentation
//! states no limits, so these are the stand-in's own choice.

use crate::Binding;

/// Maximum `user_id` length in bytes.
const MAX_USER_ID: usize = 64;
/// Maximum `device_id` length in bytes.
const MAX_DEVICE_ID: usize = 64;
/// Maximum `notifier_name` length in bytes.
const MAX_NOTIFIER_NAME: usize = 128;
/// Maximum `device_token` length in bytes.
const MAX_DEVICE_TOKEN: usize = 4096;

/// Checks a user ID: 1 to 64 bytes of `[A-Za-z0-9_.-]`. Returns the
/// description for a 400 `illegal_argument` on failure.
pub(crate) fn check_user_id(user_id: &str) -> Result<(), String> {
    check_field("user_id", user_id, MAX_USER_ID)?;
    if user_id.is_empty() {
        return Err("user_id must not be empty".to_owned());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !user_id.chars().all(allowed) {
        return Err("user_id may contain only A-Z, a-z, 0-9, '_', '.' and '-'".to_owned());
    }
    Ok(())
}

/// Checks the fields of a bind or unbind request. `device_id` must not be
/// empty, while an empty `notifier_name` or `device_token` requests an
/// unbind.
pub(crate) fn check_binding(binding: &Binding) -> Result<(), String> {
    check_field("device_id", &binding.device_id, MAX_DEVICE_ID)?;
    check_field("notifier_name", &binding.notifier_name, MAX_NOTIFIER_NAME)?;
    check_field("device_token", &binding.device_token, MAX_DEVICE_TOKEN)?;
    if binding.device_id.is_empty() {
        return Err("device_id must not be empty".to_owned());
    }
    Ok(())
}

/// Checks a value's length and rejects control characters.
fn check_field(field: &str, value: &str, max_bytes: usize) -> Result<(), String> {
    if value.len() > max_bytes {
        let length = value.len();
        return Err(format!(
            "{field} is {length} bytes long; the maximum is {max_bytes}"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(device_id: &str, notifier_name: &str, device_token: &str) -> Binding {
        Binding {
            device_id: device_id.to_owned(),
            notifier_name: notifier_name.to_owned(),
            device_token: device_token.to_owned(),
        }
    }

    #[test]
    fn user_id_limits() {
        assert!(check_user_id("alice_1.b-c").is_ok());
        assert!(check_user_id(&"u".repeat(64)).is_ok());
        assert!(check_user_id(&"u".repeat(65)).is_err());
        assert!(check_user_id("").is_err());
        assert!(check_user_id("a b").is_err());
        assert!(check_user_id("a/b").is_err());
        assert!(check_user_id("é").is_err());
    }

    #[test]
    fn binding_limits_at_boundary() {
        let at_max = binding(&"d".repeat(64), &"n".repeat(128), &"t".repeat(4096));
        assert!(check_binding(&at_max).is_ok());
        let cases = [
            binding(&"d".repeat(65), "n", "t"),
            binding("d", &"n".repeat(129), "t"),
            binding("d", "n", &"t".repeat(4097)),
            binding("", "n", "t"),
        ];
        for case in cases {
            assert!(check_binding(&case).is_err(), "{case:?} was accepted");
        }
    }

    #[test]
    fn binding_control_characters_rejected() {
        for bad in ["a\nb", "a\u{0}b", "a\u{7f}b", "a\u{85}b"] {
            assert!(check_binding(&binding(bad, "n", "t")).is_err());
            assert!(check_binding(&binding("d", bad, "t")).is_err());
            assert!(check_binding(&binding("d", "n", bad)).is_err());
        }
    }

    #[test]
    fn error_names_field() {
        let error = check_binding(&binding("d", "n", &"t".repeat(5000))).unwrap_err();
        assert!(error.contains("device_token"), "{error}");
        assert!(error.contains("4096"), "{error}");
    }
}
