//! Push certificate uploads: one typed model per vendor.
//!
//! Secrets travel from the app to the daemon once, inside
//! [`crate::protocol::Request::UploadNotifier`], and from the daemon to the IM
//! server once. They are wrapped in [`SecretText`] and [`SecretBytes`],
//! whose `Debug` output shows no content, so that a logged request cannot
//! leak them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ApnsEnvironment;

/// Maximum size of a credential file (`.p12`, `.p8` or service-account
/// JSON), in bytes. Real files are a few kilobytes; the limit keeps an upload
/// well inside one local API frame.
pub const MAX_CREDENTIAL_FILE_LEN: usize = 32 * 1024;

/// A push vendor, with the provider code the IM server uses for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vendor {
    Apns,
    Fcm,
    Huawei,
    Honor,
    Oppo,
    Vivo,
    Xiaomi,
    Meizu,
}

impl Vendor {
    /// Every vendor, in the order the IM console lists them.
    pub const ALL: [Vendor; 8] = [
        Self::Apns,
        Self::Fcm,
        Self::Huawei,
        Self::Honor,
        Self::Oppo,
        Self::Vivo,
        Self::Xiaomi,
        Self::Meizu,
    ];

    /// Returns the IM server's provider code, such as `HUAWEIPUSH`.
    pub fn provider(self) -> &'static str {
        match self {
            Self::Apns => "APNS",
            Self::Fcm => "ANDROID",
            Self::Huawei => "HUAWEIPUSH",
            Self::Honor => "HONOR",
            Self::Oppo => "OPPOPUSH",
            Self::Vivo => "VIVOPUSH",
            Self::Xiaomi => "XIAOMIPUSH",
            Self::Meizu => "MEIZUPUSH",
        }
    }

    /// Finds the vendor of a provider code.
    pub fn from_provider(provider: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.provider() == provider)
    }

    /// Returns the lower-case name used on the command line, such as `fcm`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Apns => "apns",
            Self::Fcm => "fcm",
            Self::Huawei => "huawei",
            Self::Honor => "honor",
            Self::Oppo => "oppo",
            Self::Vivo => "vivo",
            Self::Xiaomi => "xiaomi",
            Self::Meizu => "meizu",
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Text that is a secret, such as an app secret or a private key in PEM.
/// `Debug` prints a mask.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret, for the checks and the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(********)")
    }
}

/// The bytes of a secret file, such as a `.p12` certificate. Sent as one
/// CBOR byte string; `Debug` prints only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Self(value.into())
    }

    /// Returns the bytes, for the checks and the one place that sends them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;

        impl<'de> serde::de::Visitor<'de> for BytesVisitor {
            type Value = SecretBytes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }

            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<SecretBytes, E> {
                Ok(SecretBytes(bytes.to_vec()))
            }

            fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<SecretBytes, E> {
                Ok(SecretBytes(bytes))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<SecretBytes, A::Error> {
                let mut bytes = Vec::new();
                while let Some(byte) = seq.next_element::<u8>()? {
                    bytes.push(byte);
                }
                Ok(SecretBytes(bytes))
            }
        }

        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

/// A push certificate to upload to the IM server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifierUpload {
    /// The certificate name that devices bind with. For most vendors it is
    /// an id from the vendor's console; see each vendor's type.
    pub name: String,
    pub credentials: VendorCredentials,
}

/// The credentials and settings of one vendor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorCredentials {
    Apns(ApnsCredentials),
    Fcm(FcmCredentials),
    Huawei(HuaweiCredentials),
    Honor(HonorCredentials),
    Oppo(OppoCredentials),
    Vivo(VivoCredentials),
    Xiaomi(XiaomiCredentials),
    Meizu(MeizuCredentials),
}

impl VendorCredentials {
    /// Returns the vendor these credentials are for.
    pub fn vendor(&self) -> Vendor {
        match self {
            Self::Apns(_) => Vendor::Apns,
            Self::Fcm(_) => Vendor::Fcm,
            Self::Huawei(_) => Vendor::Huawei,
            Self::Honor(_) => Vendor::Honor,
            Self::Oppo(_) => Vendor::Oppo,
            Self::Vivo(_) => Vendor::Vivo,
            Self::Xiaomi(_) => Vendor::Xiaomi,
            Self::Meizu(_) => Vendor::Meizu,
        }
    }
}

/// APNs: a `.p12` certificate or a `.p8` token key. The name is chosen by
/// the developer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApnsCredentials {
    pub environment: ApnsEnvironment,
    /// The app's bundle ID, such as `com.example.chat`.
    pub bundle_id: String,
    pub key: ApnsKey,
}

/// The two kinds of APNs credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApnsKey {
    /// A `.p12` file with the push certificate and its private key.
    Certificate {
        p12: SecretBytes,
        passphrase: SecretText,
    },
    /// A `.p8` token signing key (PEM), with the 10-character Key ID and
    /// Team ID from the Apple developer account.
    Token {
        p8: SecretText,
        key_id: String,
        team_id: String,
    },
}

/// FCM, HTTP v1 API. The name is the Sender ID (the Firebase project
/// number).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FcmCredentials {
    /// The service-account JSON file downloaded from the Firebase console.
    pub service_account: SecretText,
    pub push_type: Option<FcmPushType>,
    pub priority: Option<FcmPriority>,
}

/// The kind of FCM message the IM server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FcmPushType {
    Data,
    Notification,
    Both,
}

impl FcmPushType {
    /// Returns the value the IM server expects, such as `DATA`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Data => "DATA",
            Self::Notification => "NOTIFICATION",
            Self::Both => "BOTH",
        }
    }
}

/// The priority of FCM messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FcmPriority {
    High,
    Normal,
}

impl FcmPriority {
    /// Returns the value the IM server expects, such as `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Normal => "normal",
        }
    }
}

/// Huawei Push Kit. The name is the app's Client ID, which is the App ID
/// for AppGallery apps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuaweiCredentials {
    pub client_secret: SecretText,
    pub package_name: String,
    pub project_id: Option<String>,
    /// Message category for Huawei's self-classification, such as `IM`.
    pub category: Option<String>,
    pub click_action: Option<String>,
}

/// Honor Push. The name is the Honor App ID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HonorCredentials {
    pub client_id: String,
    pub client_secret: SecretText,
    pub package_name: Option<String>,
    /// The launcher activity whose icon shows the badge.
    pub badge_class: Option<String>,
    pub action: Option<String>,
}

/// OPPO Push. The name is the OPPO App Key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OppoCredentials {
    pub master_secret: SecretText,
    pub package_name: String,
    pub channel_id: Option<String>,
}

/// vivo Push. The name is the vivo App ID, or `appId#appKey` for SDKs that
/// bind with that form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VivoCredentials {
    /// The vivo App Key. It is not a secret: devices may bind with
    /// `appId#appKey`.
    pub app_key: String,
    pub app_secret: SecretText,
    pub package_name: String,
    pub category: Option<String>,
    pub push_type: Option<String>,
}

/// Xiaomi Push. The name is the Xiaomi App ID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XiaomiCredentials {
    pub app_secret: SecretText,
    pub package_name: String,
    pub channel_id: Option<String>,
}

/// Meizu Push. The name is the Meizu App ID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeizuCredentials {
    pub app_secret: SecretText,
    pub package_name: String,
    pub click_activity: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_absent_from_debug() {
        let upload = NotifierUpload {
            name: "apns-prod".into(),
            credentials: VendorCredentials::Apns(ApnsCredentials {
                environment: ApnsEnvironment::Production,
                bundle_id: "com.example.chat".into(),
                key: ApnsKey::Certificate {
                    p12: SecretBytes::new(b"p12-bytes".to_vec()),
                    passphrase: SecretText::new("hunter2"),
                },
            }),
        };
        let text = format!("{upload:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("112, 49, 50"), "{text}");
        assert!(text.contains("9 bytes"), "{text}");
    }

    #[test]
    fn provider_codes_round_trip() {
        for vendor in Vendor::ALL {
            assert_eq!(Vendor::from_provider(vendor.provider()), Some(vendor));
        }
        assert_eq!(Vendor::from_provider("apns"), None);
    }
}
