//! Checks of single fields shared by several vendors.

use pushbind_client::protocol::SecretText;
use pushbind_client::validate;

use super::CertError;

/// Maximum length of ids, package names and other settings, in bytes.
const MAX_SETTING_LEN: usize = 255;

/// Checks a certificate name: the limits of a bind's `notifier_name`
/// (1 to 128 bytes, no control characters), no white space at either end
/// and no invisible format character, which devices rarely send back
/// exactly.
pub fn certificate_name(name: &str) -> Result<(), CertError> {
    validate::notifier_name(name).map_err(|err| CertError::new("name", err.reason))?;
    if name.trim() != name {
        return Err(CertError::new(
            "name",
            format!("{name:?} starts or ends with white space; remove it"),
        ));
    }
    if let Some((position, c)) = name.chars().enumerate().find(|(_, c)| is_invisible(*c)) {
        return Err(CertError::new(
            "name",
            format!(
                "{name:?} contains the invisible character U+{:04X} at position {position}, \
                 which devices would have to send back exactly; remove it",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// Returns whether `c` is a Unicode format character that shows as nothing
/// or reorders the text around it: a zero-width space or joiner, a
/// direction mark, override or isolate, a word joiner, a soft hyphen or a
/// byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Checks a setting that is not secret: 1 to 255 bytes with no white space
/// or control characters. `hint` says where the value is found.
pub fn setting(field: &'static str, value: &str, hint: &str) -> Result<(), CertError> {
    if value.is_empty() {
        return Err(CertError::new(field, format!("must not be empty; {hint}")));
    }
    if value.len() > MAX_SETTING_LEN {
        let message = format!(
            "is {} bytes long, the maximum is {MAX_SETTING_LEN}; {hint}",
            value.len()
        );
        return Err(CertError::new(field, message));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CertError::new(
            field,
            format!("{value:?} contains white space or a control character; {hint}"),
        ));
    }
    Ok(())
}

/// Checks an optional setting with [`setting`].
pub fn optional_setting(
    field: &'static str,
    value: Option<&str>,
    hint: &str,
) -> Result<(), CertError> {
    value.map_or(Ok(()), |value| setting(field, value, hint))
}

/// Checks a numeric id of 1 to `max_digits` ASCII digits.
pub fn digits(
    field: &'static str,
    value: &str,
    max_digits: usize,
    hint: &str,
) -> Result<(), CertError> {
    let valid =
        !value.is_empty() && value.len() <= max_digits && value.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(CertError::new(
            field,
            format!("{value:?} must be 1 to {max_digits} digits, {hint}"),
        ));
    }
    Ok(())
}

/// Checks a secret: present, at most 1024 bytes, printable ASCII only. The
/// vendors' consoles show their secrets in ASCII letters, digits and
/// symbols, so anything else is a copying mistake, such as a byte-order
/// mark that an editor added. The message never repeats the value.
pub fn secret(field: &'static str, value: &SecretText, hint: &str) -> Result<(), CertError> {
    let value = value.expose();
    if value.is_empty() {
        return Err(CertError::new(field, format!("is missing; {hint}")));
    }
    if value.len() > 1024 {
        let message = format!("is {} bytes long, the maximum is 1024; {hint}", value.len());
        return Err(CertError::new(field, message));
    }
    if let Some(position) = value
        .chars()
        .position(|c| c.is_whitespace() || c.is_control())
    {
        let message = format!(
            "contains white space or a control character at position {position}; copy it \
             again without line breaks or spaces ({hint})"
        );
        return Err(CertError::new(field, message));
    }
    if let Some(position) = value.chars().position(|c| !c.is_ascii_graphic()) {
        let message = format!(
            "contains a character that is not printable ASCII at position {position}, such as \
             a byte-order mark or a zero-width space; copy it again as plain text ({hint})"
        );
        return Err(CertError::new(field, message));
    }
    Ok(())
}

/// Checks a secret that the vendor's console shows as `len` hexadecimal
/// digits.
pub fn hex_secret(
    field: &'static str,
    value: &SecretText,
    len: usize,
    hint: &str,
) -> Result<(), CertError> {
    secret(field, value, hint)?;
    let text = value.expose();
    if text.len() != len || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let message = format!(
            "must be {len} hexadecimal digits (0-9, a-f) but has {} characters{}; {hint}",
            text.len(),
            if text.bytes().all(|b| b.is_ascii_hexdigit()) {
                ""
            } else {
                ", some of them not hexadecimal"
            }
        );
        return Err(CertError::new(field, message));
    }
    Ok(())
}

/// Checks an Android package name: two or more dot-separated segments,
/// each a letter followed by letters, digits or `_`, 255 bytes at most.
pub fn package_name(value: &str) -> Result<(), CertError> {
    let hint = "use the applicationId from the app's build.gradle, such as com.example.chat";
    setting("package_name", value, hint)?;
    let segments: Vec<&str> = value.split('.').collect();
    let segment_valid = |segment: &str| {
        let mut chars = segment.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if segments.len() < 2 || !segments.iter().all(|s| segment_valid(s)) {
        return Err(CertError::new(
            "package_name",
            format!(
                "{value:?} is not an Android package name: it needs two or more parts \
                 separated by '.', each starting with a letter and holding only letters, digits \
                 and '_'; {hint}"
            ),
        ));
    }
    Ok(())
}

/// Checks an Apple bundle ID: letters, digits, `-` and `.`, with at least
/// one `.` and no empty part.
pub fn bundle_id(value: &str) -> Result<(), CertError> {
    let hint = "use the Bundle Identifier from the Xcode target, such as com.example.chat";
    setting("bundle_id", value, hint)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    let parts_valid = value.split('.').count() >= 2 && value.split('.').all(|p| !p.is_empty());
    if !value.chars().all(allowed) || !parts_valid {
        return Err(CertError::new(
            "bundle_id",
            format!(
                "{value:?} is not a bundle ID: use letters, digits, '-' and '.', in two or more \
                 parts separated by '.'; {hint}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_name_limits() {
        assert!(certificate_name("prod-apns").is_ok());
        assert_eq!(certificate_name("").unwrap_err().field, "name");
        assert!(certificate_name(&"n".repeat(129)).is_err());
        assert!(certificate_name("a\u{1b}b").is_err());
        let err = certificate_name(" apns").unwrap_err();
        assert!(err.message.contains("white space"), "{}", err.message);
        assert!(certificate_name("推送证书").is_ok());
        for invisible in ["zero\u{200B}width", "a\u{202E}b", "\u{FEFF}apns"] {
            let err = certificate_name(invisible).unwrap_err();
            assert!(err.message.contains("invisible"), "{}", err.message);
        }
    }

    #[test]
    fn package_names() {
        assert!(package_name("com.example.chat").is_ok());
        assert!(package_name("com.example_1.Chat2").is_ok());
        for bad in [
            "chat",
            "com..example",
            "com.1example",
            "com.exam-ple",
            "com.example.",
        ] {
            let err = package_name(bad).unwrap_err();
            assert_eq!(err.field, "package_name", "{bad}");
            assert!(err.message.contains(bad), "{}", err.message);
        }
    }

    #[test]
    fn bundle_ids() {
        assert!(bundle_id("com.example.chat-beta").is_ok());
        assert!(bundle_id("chat").is_err());
        assert!(bundle_id("com.example_chat").is_err());
        assert!(bundle_id("com..chat").is_err());
    }

    #[test]
    fn secret_errors_hide_value() {
        let err = secret("app_secret", &SecretText::new("abc def"), "hint").unwrap_err();
        assert!(!err.message.contains("abc"), "{}", err.message);
        let err = secret("app_secret", &SecretText::new("\u{FEFF}abc"), "hint").unwrap_err();
        assert!(err.message.contains("position 0"), "{}", err.message);
        assert!(secret("app_secret", &SecretText::new("Yx3+/Jz1=="), "hint").is_ok());
        let err = hex_secret("master_secret", &SecretText::new("xyz"), 32, "hint").unwrap_err();
        assert!(err.message.contains("32 hexadecimal"), "{}", err.message);
        assert!(!err.message.contains("xyz"), "{}", err.message);
        assert!(hex_secret("s", &SecretText::new("a1".repeat(16)), 32, "h").is_ok());
    }

    #[test]
    fn digit_ids() {
        assert!(digits("app_id", "105123456", 20, "hint").is_ok());
        assert!(digits("app_id", "10512345a", 20, "hint").is_err());
        assert!(digits("app_id", "", 20, "hint").is_err());
        assert!(digits("app_id", &"1".repeat(21), 20, "hint").is_err());
    }
}
