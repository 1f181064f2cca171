//! Test credentials generated at test time: self-signed APNs-style
//! certificates in `.p12` files, EC and RSA keys in PEM, and FCM
//! service-account JSON. Nothing here is a real credential.
//!
//! The unit tests include this file as a module, and the integration tests
//! include it by path, so it uses only public crates.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256,
    PKCS_RSA_SHA256,
};

/// One day in milliseconds.
pub const DAY: i64 = 86_400_000;

/// The bundle ID the generated certificates serve.
pub const BUNDLE_ID: &str = "com.example.chat";

/// The passphrase of the generated `.p12` files.
pub const PASSPHRASE: &str = "pass";

/// Returns the current time in milliseconds since the Unix epoch.
pub fn now() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(elapsed.as_millis()).unwrap()
}

/// What the generated `.p12` holds.
#[derive(Clone, Debug)]
pub struct P12Options {
    /// Days from now to the certificate's `notAfter`; negative for an
    /// expired certificate.
    pub days_valid: i64,
    /// Whether the private key is in the file.
    pub with_key: bool,
    /// Whether the key in the file is another key than the certificate's.
    pub foreign_key: bool,
    /// Whether the certificate names its bundle ID (subject UID, common name
    /// and topics extension), as Apple's do.
    pub topics: bool,
    /// Whether the certificate carries only Apple's development marker.
    pub development_only: bool,
    pub bundle_id: String,
    pub passphrase: String,
}

impl Default for P12Options {
    fn default() -> Self {
        Self {
            days_valid: 365,
            with_key: true,
            foreign_key: false,
            topics: true,
            development_only: false,
            bundle_id: BUNDLE_ID.to_owned(),
            passphrase: PASSPHRASE.to_owned(),
        }
    }
}

/// Encodes one DER element.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    }
    out.extend_from_slice(content);
    out
}

/// Apple's topics extension: the bundle ID followed by its kinds.
fn topics_extension(bundle: &str) -> Vec<u8> {
    let mut items = der(0x0c, bundle.as_bytes());
    items.extend(der(0x30, &der(0x0c, b"app")));
    der(0x30, &items)
}

fn time(millis: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(millis / 1000).unwrap()
}

/// Generates a self-signed certificate and its EC P-256 key, as DER.
pub fn certificate(options: &P12Options) -> (Vec<u8>, Vec<u8>) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut name = DistinguishedName::new();
    if options.topics {
        let bundle = &options.bundle_id;
        name.push(DnType::CommonName, format!("Apple Push Services: {bundle}"));
        name.push(
            DnType::CustomDnType(vec![0, 9, 2342, 19_200_300, 100, 1, 1]),
            bundle.as_str(),
        );
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &[1, 2, 840, 113_635, 100, 6, 3, 6],
                topics_extension(bundle),
            ));
    } else {
        name.push(DnType::CommonName, "pushbind test certificate");
    }
    params.distinguished_name = name;
    let not_after = now() + options.days_valid * DAY;
    params.not_after = time(not_after);
    params.not_before = time((now() - DAY).min(not_after - 365 * DAY));
    let null = vec![0x05, 0x00];
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            &[1, 2, 840, 113_635, 100, 6, 3, 1],
            null.clone(),
        ));
    if !options.development_only {
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &[1, 2, 840, 113_635, 100, 6, 3, 2],
                null,
            ));
    }
    let cert = params.self_signed(&key).unwrap();
    (cert.der().to_vec(), key.serialize_der())
}

/// Generates a `.p12` file as `options` describes.
pub fn p12(options: &P12Options) -> Vec<u8> {
    let (cert_der, mut key_der) = certificate(options);
    if options.foreign_key {
        key_der = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .unwrap()
            .serialize_der();
    }
    let cert = Certificate::from_der(&cert_der).unwrap();
    let mut store = KeyStore::new();
    let entry = if options.with_key {
        let key = PrivateKey::from_der(&key_der).unwrap();
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(vec![1u8; 20], key, [cert]))
    } else {
        KeyStoreEntry::Certificate(cert)
    };
    store.add_entry("push", entry);
    store.writer(&options.passphrase).write().unwrap()
}

/// Generates an EC P-256 private key in PEM PKCS#8, as a `.p8` file holds.
pub fn ec_p8_pem() -> String {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .serialize_pem()
}

/// Returns an RSA 2048 private key in PEM PKCS#8, generated once per test
/// process because RSA key generation is slow.
pub fn rsa_p8_pem() -> String {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        KeyPair::generate_for(&PKCS_RSA_SHA256)
            .unwrap()
            .serialize_pem()
    })
    .clone()
}

/// Builds an FCM service-account JSON file around a generated RSA key.
pub fn service_account_json() -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "pushbind-test",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": rsa_p8_pem(),
        "client_email": "push@pushbind-test.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
    })
    .to_string()
}
