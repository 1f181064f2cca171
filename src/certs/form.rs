//! The multipart form of `POST notifiers`: text parts `provider`, `name`,
//! `environment`, `packageName` and the vendor's fields, and a file part
//! `file` for vendors that use a file.

use std::fmt;

use pushbind_client::protocol::{SecretBytes, SecretText, Vendor};

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
