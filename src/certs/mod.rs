//! Push certificates: local checks of an upload before it reaches the IM
//! server, and the multipart form the server's `POST notifiers` takes.
//!
//! Each vendor's credentials arrive typed ([`VendorCredentials`]). A check
//! that fails returns a [`CertError`] naming the field, the value where it
//! is not a secret, and the fix. Secret values never appear in an error.

mod apns;
mod fcm;
mod fields;
mod form;
mod pem;
mod vendors;

use std::fmt;

use pushbind_client::protocol::{NotifierUpload, UnixMillis, VendorCredentials};

pub use form::{FormPart, FormValue, UploadForm};

/// A failed check: the field and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertError {
    /// The field, as the CLI and the protocol name it, such as `team_id`.
    pub field: &'static str,
    /// What is wrong and the fix; never contains a secret.
    pub message: String,
}

impl CertError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.message)
    }
}

impl std::error::Error for CertError {}

/// What the checks learned from the credentials, kept after the upload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertFacts {
    /// The certificate's `notAfter`, for an APNs `.p12`.
    pub expires_at: Option<UnixMillis>,
    /// The certificate's subject, for an APNs `.p12`.
    pub subject: Option<String>,
}

/// An upload that passed every check, ready to send.
#[derive(Debug)]
pub struct CheckedUpload {
    pub form: UploadForm,
    pub facts: CertFacts,
}

/// Checks `upload` at time `now` and builds the form to send.
pub fn check(upload: &NotifierUpload, now: UnixMillis) -> Result<CheckedUpload, CertError> {
    fields::certificate_name(&upload.name)?;
    let vendor = upload.credentials.vendor();
    let mut form = UploadForm::new(vendor, &upload.name);
    let facts = match &upload.credentials {
        VendorCredentials::Apns(apns) => apns::check(apns, &mut form, now)?,
        VendorCredentials::Fcm(fcm) => fcm::check(&upload.name, fcm, &mut form)?,
        VendorCredentials::Huawei(huawei) => vendors::huawei(&upload.name, huawei, &mut form)?,
        VendorCredentials::Honor(honor) => vendors::honor(&upload.name, honor, &mut form)?,
        VendorCredentials::Oppo(oppo) => vendors::oppo(&upload.name, oppo, &mut form)?,
        VendorCredentials::Vivo(vivo) => vendors::vivo(&upload.name, vivo, &mut form)?,
        VendorCredentials::Xiaomi(xiaomi) => vendors::xiaomi(&upload.name, xiaomi, &mut form)?,
        VendorCredentials::Meizu(meizu) => vendors::meizu(&upload.name, meizu, &mut form)?,
    };
    Ok(CheckedUpload { form, facts })
}

#[cfg(test)]
pub(crate) mod test_credentials;
