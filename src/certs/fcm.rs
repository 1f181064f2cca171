//! FCM (HTTP v1): the certificate name is the Sender ID and the credential
//! is a service-account JSON file with an RSA private key.

use aws_lc_rs::rsa::KeyPair;
use pushbind_client::protocol::{FcmCredentials, SecretBytes};
use serde_json::Value;

use super::fields::digits;
use super::pem::single_private_key;
use super::{CertError, CertFacts, UploadForm};

const CONSOLE: &str = "the Firebase console, Project settings > Service accounts > \
                       Generate new private key";

pub fn check(
    name: &str,
    fcm: &FcmCredentials,
    form: &mut UploadForm,
) -> Result<CertFacts, CertError> {
    digits(
        "name",
        name,
        20,
        "the Sender ID (project number) from the Firebase console, Project settings > Cloud \
         Messaging",
    )?;
    let json = fcm.service_account.expose();
    let account: Value = serde_json::from_str(json).map_err(|err| {
        // serde_json's message gives only the line and column, never the text.
        CertError::new(
            "service_account",
            format!("is not JSON ({err}); download the file again from {CONSOLE}"),
        )
    })?;
    let Value::Object(account) = account else {
        return Err(CertError::new(
            "service_account",
            format!("is not a JSON object; download the file again from {CONSOLE}"),
        ));
    };
    let text = |key: &'static str| -> Result<&str, CertError> {
        account
            .get(key)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                CertError::new(
                    "service_account",
                    format!(
                        "has no {key}; this is not a service-account key file. Download one \
                         from {CONSOLE}"
                    ),
                )
            })
    };
    let kind = text("type")?;
    if kind != "service_account" {
        return Err(CertError::new(
            "service_account",
            format!(
                "has type {kind:?}, expected \"service_account\"; a google-services.json or an \
                 OAuth client file will not work. Download the key from {CONSOLE}"
            ),
        ));
    }
    text("project_id")?;
    let key_id = text("private_key_id")?;
    if !key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CertError::new(
            "service_account",
            format!("private_key_id {key_id:?} is not hexadecimal; download the file again"),
        ));
    }
    check_private_key(text("private_key")?)?;
    let email = text("client_email")?;
    if !email.contains('@') {
        return Err(CertError::new(
            "service_account",
            format!("client_email {email:?} is not an e-mail address; download the file again"),
        ));
    }
    if let Some(push_type) = fcm.push_type {
        form.text("pushType", push_type.as_str());
    }
    if let Some(priority) = fcm.priority {
        form.text("priority", priority.as_str());
    }
    form.text("environment", "PRODUCTION");
    form.file("service-account.json", SecretBytes::new(json.as_bytes()));
    Ok(CertFacts::default())
}

/// Checks that `pem` is one PKCS#8 RSA private key, as Google issues them,
/// and nothing else.
fn check_private_key(pem: &str) -> Result<(), CertError> {
    let der = single_private_key(pem).map_err(|err| {
        let fix = format!("the file may have been edited, so download it again from {CONSOLE}");
        CertError::new(
            "service_account",
            format!("private_key {}", err.message(&fix)),
        )
    })?;
    KeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(|err| {
        CertError::new(
            "service_account",
            format!(
                "private_key is not a usable RSA key ({err}); download a new key from {CONSOLE}"
            ),
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use pushbind_client::protocol::{FcmPushType, SecretText};

    use super::*;
    use crate::certs::test_credentials::service_account_json;
    use pushbind_client::protocol::Vendor;

    fn credentials(json: &str) -> FcmCredentials {
        FcmCredentials {
            service_account: SecretText::new(json),
            push_type: Some(FcmPushType::Data),
            priority: None,
        }
    }

    fn run(name: &str, json: &str) -> Result<UploadForm, CertError> {
        let mut form = UploadForm::new(Vendor::Fcm, name);
        check(name, &credentials(json), &mut form).map(|_| form)
    }

    #[test]
    fn valid_service_account_accepted() {
        let form = run("123456789012", &service_account_json()).unwrap();
        assert_eq!(form.text_value("pushType"), Some("DATA"));
        assert!(form.parts.iter().any(|p| p.name == "file"));
    }

    #[test]
    fn sender_id_must_be_digits() {
        let err = run("fcm-main", &service_account_json()).unwrap_err();
        assert_eq!(err.field, "name");
        assert!(err.message.contains("Sender ID"), "{}", err.message);
    }

    #[test]
    fn each_broken_field_named() {
        let good: Value = serde_json::from_str(&service_account_json()).unwrap();
        let cases: [(&str, Value, &str); 6] = [
            ("type", Value::from("authorized_user"), "service_account"),
            ("project_id", Value::Null, "project_id"),
            ("private_key_id", Value::from("xyz!"), "hexadecimal"),
            ("private_key", Value::from("not a key"), "PEM"),
            ("client_email", Value::from("nobody"), "e-mail"),
            ("client_email", Value::Null, "client_email"),
        ];
        for (key, value, expected) in cases {
            let mut json = good.clone();
            if value.is_null() {
                json.as_object_mut().unwrap().remove(key);
            } else {
                json[key] = value;
            }
            let err = run("123", &json.to_string()).unwrap_err();
            assert_eq!(err.field, "service_account", "{key}");
            assert!(err.message.contains(expected), "{key}: {}", err.message);
        }
    }

    #[test]
    fn ec_private_key_rejected() {
        let mut json: Value = serde_json::from_str(&service_account_json()).unwrap();
        json["private_key"] = Value::from(crate::certs::test_credentials::ec_p8_pem());
        let err = run("123", &json.to_string()).unwrap_err();
        assert!(err.message.contains("RSA"), "{}", err.message);
    }

    #[test]
    fn not_json_rejected_without_echoing() {
        let err = run("123", "secret-stuff {").unwrap_err();
        assert!(err.message.contains("not JSON"), "{}", err.message);
        assert!(!err.message.contains("secret-stuff"), "{}", err.message);
    }
}
