//! APNs: a `.p12` certificate with its passphrase, or a `.p8` token key with
//! its Key ID and Team ID.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use p12_keystore::Pkcs12Archive;
use pushbind_client::protocol::{
    ApnsCredentials, ApnsEnvironment, ApnsKey, SecretBytes, SecretText, UnixMillis,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::ber::BerObjectContent;
use x509_parser::der_parser::der::parse_der;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::FromDer;

use super::fields::bundle_id;
use super::pem::single_private_key;
use super::{CertError, CertFacts, UploadForm};

/// Apple's certificate extension listing the push topics (bundle IDs) a
/// certificate serves.
const TOPICS_OID: &[u64] = &[1, 2, 840, 113_635, 100, 6, 3, 6];
/// Apple's extensions marking a push certificate for the development and
/// the production environment.
const DEVELOPMENT_OID: &[u64] = &[1, 2, 840, 113_635, 100, 6, 3, 1];
const PRODUCTION_OID: &[u64] = &[1, 2, 840, 113_635, 100, 6, 3, 2];
/// The subject's `UID` attribute, which Apple sets to the bundle ID.
const UID_OID: &[u64] = &[0, 9, 2342, 19_200_300, 100, 1, 1];
const RSA_OID: &str = "1.2.840.113549.1.1.1";
const EC_OID: &str = "1.2.840.10045.2.1";

const ACCOUNT: &str = "the Apple developer account under Certificates, Identifiers & Profiles";

pub fn check(
    apns: &ApnsCredentials,
    form: &mut UploadForm,
    now: UnixMillis,
) -> Result<CertFacts, CertError> {
    bundle_id(&apns.bundle_id)?;
    form.text("environment", apns.environment.as_str());
    form.text("packageName", &apns.bundle_id);
    match &apns.key {
        ApnsKey::Certificate { p12, passphrase } => {
            let facts = check_p12(p12, passphrase, apns, now)?;
            form.secret("passphrase", passphrase);
            form.file("certificate.p12", p12.clone());
            Ok(facts)
        }
        ApnsKey::Token {
            p8,
            key_id,
            team_id,
        } => {
            check_apple_id("key_id", key_id, "shown next to the key under Keys")?;
            check_apple_id("team_id", team_id, "shown under Membership")?;
            check_p8(p8)?;
            form.text("keyId", key_id);
            form.text("teamId", team_id);
            form.file("key.p8", SecretBytes::new(p8.expose().as_bytes()));
            Ok(CertFacts::default())
        }
    }
}

/// Checks a Key ID or Team ID: 10 characters of `A-Z` and `0-9`.
fn check_apple_id(field: &'static str, value: &str, place: &str) -> Result<(), CertError> {
    let valid = value.len() == 10
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !valid {
        return Err(CertError::new(
            field,
            format!(
                "`{value}` must be 10 characters of A–Z and 0–9, as {place} in the Apple \
                 developer account"
            ),
        ));
    }
    Ok(())
}

/// Checks that `p8` is one PEM PKCS#8 EC P-256 private key and nothing else.
fn check_p8(p8: &SecretText) -> Result<(), CertError> {
    let der = single_private_key(p8.expose()).map_err(|err| {
        let fix = format!("pass the AuthKey_KEYID.p8 file downloaded from {ACCOUNT} under Keys");
        CertError::new("p8", err.message(&fix))
    })?;
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der.secret_pkcs8_der()).map_err(
        |err| {
            CertError::new(
                "p8",
                format!(
                    "is not an EC P-256 private key ({err}); APNs token keys are P-256, so \
                     download the key again from {ACCOUNT} under Keys"
                ),
            )
        },
    )?;
    Ok(())
}

/// Opens the `.p12`, finds the certificate and its key, and checks the
/// dates, the bundle ID and the environment.
fn check_p12(
    p12: &SecretBytes,
    passphrase: &SecretText,
    apns: &ApnsCredentials,
    now: UnixMillis,
) -> Result<CertFacts, CertError> {
    let archive = open_p12(p12, passphrase)?;
    let Some(key) = archive.keys.first() else {
        return Err(CertError::new(
            "p12",
            "holds no private key; export the certificate together with its private key from \
             Keychain Access (select both, then Export 2 items)",
        ));
    };
    let leaf = archive
        .certs
        .iter()
        .find(|cert| {
            let key_id = key.local_key_id.as_ref().map(|id| id.0.as_slice());
            key_id.is_some() && cert.local_key_id.as_deref() == key_id
        })
        .or_else(|| archive.certs.first());
    let Some(leaf) = leaf else {
        return Err(CertError::new(
            "p12",
            "holds no certificate; export the push certificate, not only its key, from \
             Keychain Access",
        ));
    };
    let (_, cert) = X509Certificate::from_der(leaf.cert.as_der())
        .map_err(|err| CertError::new("p12", format!("its certificate cannot be read: {err}")))?;
    check_key_matches(&cert, key.key.oid().to_string().as_str(), key.key.as_der())?;
    let facts = check_dates(&cert, now)?;
    check_topics(&cert, &apns.bundle_id)?;
    check_environment(&cert, apns.environment)?;
    Ok(facts)
}

fn open_p12(p12: &SecretBytes, passphrase: &SecretText) -> Result<Pkcs12Archive, CertError> {
    use p12_keystore::error::Error;
    Pkcs12Archive::from_pkcs12(p12.expose(), passphrase.expose()).map_err(|err| match err {
        Error::MacError(_) => CertError::new(
            "passphrase",
            "does not open the .p12 file; use the password chosen when the certificate was \
             exported from Keychain Access",
        ),
        Error::DerError(_) | Error::InvalidVersion | Error::UnsupportedContentType => {
            CertError::new(
                "p12",
                format!(
                    "is not a PKCS#12 (.p12) file ({err}); export the push certificate from \
                     Keychain Access in the Personal Information Exchange (.p12) format"
                ),
            )
        }
        // A decryption failure past the MAC check also means a wrong
        // passphrase, for files without a MAC.
        Error::UnpadError | Error::InvalidPrivateKey => CertError::new(
            "passphrase",
            "does not decrypt the .p12 file; use the password chosen when it was exported",
        ),
        other => CertError::new(
            "p12",
            format!("cannot be opened ({other}); export it again from Keychain Access"),
        ),
    })
}

/// Checks that the private key belongs to the certificate, for RSA and EC
/// P-256 keys; other key types are not compared.
fn check_key_matches(
    cert: &X509Certificate,
    key_oid: &str,
    key_der: &[u8],
) -> Result<(), CertError> {
    let public = match key_oid {
        RSA_OID => aws_lc_rs::rsa::KeyPair::from_pkcs8(key_der)
            .ok()
            .map(|pair| pair.public_key().as_ref().to_vec()),
        EC_OID => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, key_der)
            .ok()
            .map(|pair| pair.public_key().as_ref().to_vec()),
        _ => return Ok(()),
    };
    let Some(public) = public else {
        return Err(CertError::new(
            "p12",
            "its private key cannot be read; export the certificate and key again",
        ));
    };
    if public.as_slice() != cert.public_key().subject_public_key.data.as_ref() {
        return Err(CertError::new(
            "p12",
            "its private key does not belong to its certificate; export the push certificate \
             together with the key it was created with",
        ));
    }
    Ok(())
}

fn check_dates(cert: &X509Certificate, now: UnixMillis) -> Result<CertFacts, CertError> {
    let validity = cert.validity();
    let not_after = validity.not_after.timestamp().saturating_mul(1000);
    let not_before = validity.not_before.timestamp().saturating_mul(1000);
    if not_after <= now {
        return Err(CertError::new(
            "p12",
            format!(
                "the certificate expired on {}; create a new APNs certificate in {ACCOUNT} and \
                 export it again",
                validity.not_after
            ),
        ));
    }
    if not_before > now {
        return Err(CertError::new(
            "p12",
            format!(
                "the certificate is valid only from {}; check this machine's clock, or wait",
                validity.not_before
            ),
        ));
    }
    Ok(CertFacts {
        expires_at: Some(not_after),
        subject: Some(cert.subject().to_string()),
    })
}

/// Checks the bundle ID against the topics the certificate names: its
/// topics extension, its subject `UID`, and the bundle ID after `: ` in its
/// common name. A certificate that names none is not checked.
fn check_topics(cert: &X509Certificate, bundle: &str) -> Result<(), CertError> {
    let topics = certificate_topics(cert);
    if topics.is_empty() || topics.iter().any(|topic| topic == bundle) {
        return Ok(());
    }
    Err(CertError::new(
        "bundle_id",
        format!(
            "`{bundle}` is not served by this certificate, which is for {}; pass the app's own \
             certificate, or fix --bundle-id",
            topics.join(", ")
        ),
    ))
}

fn certificate_topics(cert: &X509Certificate) -> Vec<String> {
    let mut topics = Vec::new();
    let subject = cert.subject();
    if let Ok(uid) = Oid::from(UID_OID) {
        for attribute in subject.iter_by_oid(&uid) {
            if let Ok(value) = attribute.as_str() {
                topics.push(value.to_owned());
            }
        }
    }
    for attribute in subject.iter_common_name() {
        if let Some((_, bundle)) = attribute.as_str().ok().and_then(|cn| cn.split_once(": ")) {
            topics.push(bundle.trim().to_owned());
        }
    }
    if let Some(extension) = extension(cert, TOPICS_OID)
        && let Ok((_, object)) = parse_der(extension)
    {
        collect_strings(&object.content, &mut topics);
    }
    topics.retain(|topic| topic.contains('.'));
    topics.sort();
    topics.dedup();
    topics
}

fn collect_strings(content: &BerObjectContent, out: &mut Vec<String>) {
    match content {
        BerObjectContent::UTF8String(text) => out.push((*text).to_owned()),
        BerObjectContent::Sequence(items) | BerObjectContent::Set(items) => {
            for item in items {
                collect_strings(&item.content, out);
            }
        }
        _ => {}
    }
}

fn extension<'a>(cert: &'a X509Certificate, oid: &[u64]) -> Option<&'a [u8]> {
    let oid = Oid::from(oid).ok()?;
    cert.iter_extensions()
        .find(|extension| extension.oid == oid)
        .map(|extension| extension.value)
}

/// Rejects a certificate that Apple issued for the other environment only.
fn check_environment(
    cert: &X509Certificate,
    environment: ApnsEnvironment,
) -> Result<(), CertError> {
    let development = extension(cert, DEVELOPMENT_OID).is_some();
    let production = extension(cert, PRODUCTION_OID).is_some();
    let mismatch = match environment {
        ApnsEnvironment::Production => development && !production,
        ApnsEnvironment::Development => production && !development,
    };
    if mismatch {
        let (other, flag) = match environment {
            ApnsEnvironment::Production => ("development", "development"),
            ApnsEnvironment::Development => ("production", "production"),
        };
        return Err(CertError::new(
            "environment",
            format!(
                "the certificate is for the {other} environment only; pass --environment {flag}, \
                 or create a production (Sandbox & Production) certificate"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use pushbind_client::protocol::Vendor;

    use super::*;
    use crate::certs::test_credentials::{DAY, P12Options, ec_p8_pem, now, p12, rsa_p8_pem};

    fn p12_credentials(bytes: Vec<u8>, passphrase: &str, bundle: &str) -> ApnsCredentials {
        ApnsCredentials {
            environment: ApnsEnvironment::Production,
            bundle_id: bundle.into(),
            key: ApnsKey::Certificate {
                p12: SecretBytes::new(bytes),
                passphrase: SecretText::new(passphrase),
            },
        }
    }

    fn token_credentials(pem: &str, key_id: &str, team_id: &str) -> ApnsCredentials {
        ApnsCredentials {
            environment: ApnsEnvironment::Development,
            bundle_id: "com.example.chat".into(),
            key: ApnsKey::Token {
                p8: SecretText::new(pem),
                key_id: key_id.into(),
                team_id: team_id.into(),
            },
        }
    }

    fn run(credentials: &ApnsCredentials) -> Result<CertFacts, CertError> {
        let mut form = UploadForm::new(Vendor::Apns, "apns");
        check(credentials, &mut form, now())
    }

    #[test]
    fn valid_p12_gives_expiry_and_form() {
        let options = P12Options::default();
        let bytes = p12(&options);
        let credentials = p12_credentials(bytes, "pass", "com.example.chat");
        let mut form = UploadForm::new(Vendor::Apns, "apns");
        let facts = check(&credentials, &mut form, now()).unwrap();
        let expires = facts.expires_at.unwrap();
        assert!((expires - (now() + 365 * DAY)).abs() < 2 * DAY, "{expires}");
        assert_eq!(form.text_value("packageName"), Some("com.example.chat"));
        assert_eq!(form.text_value("environment"), Some("PRODUCTION"));
        let debug = format!("{form:?}");
        assert!(!debug.contains("pass\""), "{debug}");
    }

    #[test]
    fn wrong_passphrase_named() {
        let credentials = p12_credentials(p12(&P12Options::default()), "wrong", "com.example.chat");
        let err = run(&credentials).unwrap_err();
        assert_eq!(err.field, "passphrase");
        assert!(err.message.contains("does not open"), "{}", err.message);
    }

    #[test]
    fn garbage_is_not_a_p12() {
        let credentials = p12_credentials(b"not a p12 file".to_vec(), "pass", "com.example.chat");
        let err = run(&credentials).unwrap_err();
        assert_eq!(err.field, "p12");
        assert!(err.message.contains("PKCS#12"), "{}", err.message);
    }

    #[test]
    fn expired_certificate_rejected() {
        let options = P12Options {
            days_valid: -1,
            ..P12Options::default()
        };
        let credentials = p12_credentials(p12(&options), "pass", "com.example.chat");
        let err = run(&credentials).unwrap_err();
        assert_eq!(err.field, "p12");
        assert!(err.message.contains("expired"), "{}", err.message);
    }

    #[test]
    fn certificate_without_key_rejected() {
        let options = P12Options {
            with_key: false,
            ..P12Options::default()
        };
        let credentials = p12_credentials(p12(&options), "pass", "com.example.chat");
        let err = run(&credentials).unwrap_err();
        assert!(err.message.contains("no private key"), "{}", err.message);
    }

    #[test]
    fn foreign_key_rejected() {
        let options = P12Options {
            foreign_key: true,
            ..P12Options::default()
        };
        let credentials = p12_credentials(p12(&options), "pass", "com.example.chat");
        let err = run(&credentials).unwrap_err();
        assert!(err.message.contains("does not belong"), "{}", err.message);
    }

    #[test]
    fn bundle_id_checked_against_topics() {
        let credentials = p12_credentials(p12(&P12Options::default()), "pass", "com.other.app");
        let err = run(&credentials).unwrap_err();
        assert_eq!(err.field, "bundle_id");
        assert!(err.message.contains("com.example.chat"), "{}", err.message);
        let unnamed = P12Options {
            topics: false,
            ..P12Options::default()
        };
        let credentials = p12_credentials(p12(&unnamed), "pass", "com.other.app");
        assert!(run(&credentials).is_ok(), "no topics, nothing to compare");
    }

    #[test]
    fn development_only_certificate_rejected_for_production() {
        let options = P12Options {
            development_only: true,
            ..P12Options::default()
        };
        let credentials = p12_credentials(p12(&options), "pass", "com.example.chat");
        let err = run(&credentials).unwrap_err();
        assert_eq!(err.field, "environment");
    }

    #[test]
    fn valid_p8_accepted() {
        let facts = run(&token_credentials(&ec_p8_pem(), "ABC123DEFG", "TEAM123456")).unwrap();
        assert_eq!(facts.expires_at, None);
    }

    #[test]
    fn p8_ids_checked() {
        let err = run(&token_credentials(&ec_p8_pem(), "ABC123DEFG", "ab12")).unwrap_err();
        assert_eq!(err.field, "team_id");
        assert!(err.message.contains("`ab12`"), "{}", err.message);
        assert!(err.message.contains("Membership"), "{}", err.message);
        let err = run(&token_credentials(&ec_p8_pem(), "abc123defg", "TEAM123456")).unwrap_err();
        assert_eq!(err.field, "key_id");
    }

    #[test]
    fn p8_must_be_p256_pem() {
        let err = run(&token_credentials("garbage", "ABC123DEFG", "TEAM123456")).unwrap_err();
        assert_eq!(err.field, "p8");
        assert!(err.message.contains("PEM"), "{}", err.message);
        let err = run(&token_credentials(
            &rsa_p8_pem(),
            "ABC123DEFG",
            "TEAM123456",
        ))
        .unwrap_err();
        assert!(err.message.contains("P-256"), "{}", err.message);
    }
}
