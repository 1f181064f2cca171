//! The multipart form of `POST notifiers`: text parts `provider`, `name`,
//! `environment`, `packageName` and the vendor's fields, and a file part
//! `file` for vendors that use a file.

use std::fmt;

use pushbind_client::protocol::{SecretBytes, SecretText, Vendor};

/// Minimum length in bytes of a secret, or of a line of a secret file, that
/// [`UploadForm::redact`] replaces.
pub const MIN_REDACTED_LEN: usize = 6;

/// One part's value.
#[derive(Clone)]
pub enum FormValue {
    Text(String),
    /// A text part holding a secret.
    Secret(SecretText),
    /// A file part, with its file name.
    File {
        file_name: &'static str,
        bytes: SecretBytes,
    },
}

/// One named part of the form.
#[derive(Clone)]
pub struct FormPart {
    pub name: &'static str,
    pub value: FormValue,
}

/// `Debug` lists the part names and shows only the values that are not
/// secrets.
impl fmt::Debug for FormPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            FormValue::Text(text) => write!(f, "{}={text:?}", self.name),
            FormValue::Secret(_) => write!(f, "{}=********", self.name),
            FormValue::File { file_name, bytes } => write!(
                f,
                "{}=<file {file_name}, {} bytes>",
                self.name,
                bytes.expose().len()
            ),
        }
    }
}

/// The parts of one upload, in the order they are sent.
#[derive(Clone, Debug)]
pub struct UploadForm {
    pub vendor: Vendor,
    pub parts: Vec<FormPart>,
}

impl UploadForm {
    /// Starts the form with the `provider` and `name` parts.
    pub fn new(vendor: Vendor, name: &str) -> Self {
        let mut form = Self {
            vendor,
            parts: Vec::new(),
        };
        form.text("provider", vendor.provider());
        form.text("name", name);
        form
    }

    pub fn text(&mut self, name: &'static str, value: impl Into<String>) {
        self.parts.push(FormPart {
            name,
            value: FormValue::Text(value.into()),
        });
    }

    /// Adds a text part when `value` is set.
    pub fn optional(&mut self, name: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(name, value);
        }
    }

    pub fn secret(&mut self, name: &'static str, value: &SecretText) {
        self.parts.push(FormPart {
            name,
            value: FormValue::Secret(value.clone()),
        });
    }

    pub fn file(&mut self, file_name: &'static str, bytes: SecretBytes) {
        self.parts.push(FormPart {
            name: "file",
            value: FormValue::File { file_name, bytes },
        });
    }

    /// Replaces each secret of the form that occurs in `message` with
    /// `********`, for messages from the server, which may quote what it
    /// was sent. A text file is matched line by line, so that a quoted line
    /// of a key is caught too.
    ///
    /// NOTE: values shorter than [`MIN_REDACTED_LEN`] bytes are left alone,
    /// because replacing them would garble ordinary words, so such a
    /// secret quoted by the server still shows.
    pub fn redact(&self, message: &str) -> String {
        let mut fragments: Vec<&str> = Vec::new();
        for part in &self.parts {
            match &part.value {
                FormValue::Text(_) => {}
                FormValue::Secret(secret) => fragments.push(secret.expose()),
                FormValue::File { bytes, .. } => {
                    if let Ok(text) = std::str::from_utf8(bytes.expose()) {
                        fragments.push(text);
                        // JSON files escape their line breaks as `\n`.
                        let lines = text.split('\n').flat_map(|line| line.split("\\n"));
                        fragments.extend(lines.map(str::trim));
                    }
                }
            }
        }
        fragments.retain(|fragment| fragment.len() >= MIN_REDACTED_LEN);
        // Longest first, so that a whole file is replaced before its lines.
        fragments.sort_by_key(|fragment| std::cmp::Reverse(fragment.len()));
        let mut redacted = message.to_owned();
        for fragment in fragments {
            if redacted.contains(fragment) {
                redacted = redacted.replace(fragment, "********");
            }
        }
        redacted
    }

    /// Returns the value of the text part `name`, if there is one.
    pub fn text_value(&self, name: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|part| part.name == name)
            .and_then(|part| match &part.value {
                FormValue::Text(text) => Some(text.as_str()),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_replaces_secrets_and_key_lines() {
        let mut form = UploadForm::new(Vendor::Apns, "apns");
        form.secret("passphrase", &SecretText::new("hunter22"));
        let pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n";
        form.file("key.p8", SecretBytes::new(pem.as_bytes()));
        let message = "bad passphrase hunter22 for key MIGHAgEAMBMGByqGSM49 (pass)";
        let redacted = form.redact(message);
        assert!(!redacted.contains("hunter22"), "{redacted}");
        assert!(!redacted.contains("MIGHAgEAMBMGByqGSM49"), "{redacted}");
        assert!(redacted.contains("(pass)"), "{redacted}");
    }

    #[test]
    fn redact_splits_json_escaped_lines() {
        let mut form = UploadForm::new(Vendor::Fcm, "123");
        let json = r#"{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n"}"#;
        form.file("service-account.json", SecretBytes::new(json.as_bytes()));
        let redacted = form.redact("cannot parse MIIEvQIBADANBgkq");
        assert_eq!(redacted, "cannot parse ********");
    }
}
