//! The one PEM block of a private key, as a `.p8` file and an FCM
//! service account's `private_key` contain it.

use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;

const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const END: &str = "-----END PRIVATE KEY-----";

/// Why a text is not one private key's PEM block.
#[derive(Debug)]
pub struct PemError {
    /// What is wrong, to follow the field's name, such as "is an encrypted
    /// PKCS#8 key". It never contains the key.
    pub problem: String,
    /// The fix, where a command makes the file usable; otherwise the caller
    /// names where to get a new file.
    pub fix: Option<&'static str>,
}

impl PemError {
    fn new(problem: impl Into<String>) -> Self {
        Self {
            problem: problem.into(),
            fix: None,
        }
    }

    /// Formats the problem and its fix, with `default_fix` where no command
    /// helps.
    pub fn message(&self, default_fix: &str) -> String {
        format!("{}; {}", self.problem, self.fix.unwrap_or(default_fix))
    }
}

/// Decodes `text` when it is exactly one unencrypted PKCS#8 PEM block,
/// with nothing but white space around it. The whole text is sent to the
/// server, so another block (a certificate, a second key) or stray text
/// would reach it unchecked.
pub fn single_private_key(text: &str) -> Result<PrivatePkcs8KeyDer<'static>, PemError> {
    let trimmed = text.trim();
    if trimmed.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(PemError {
            problem: "is an encrypted PKCS#8 key".to_owned(),
            fix: Some("decrypt it with `openssl pkcs8 -in FILE -out KEY.p8` and pass KEY.p8"),
        });
    }
    if trimmed.contains("-----BEGIN EC PRIVATE KEY-----")
        || trimmed.contains("-----BEGIN RSA PRIVATE KEY-----")
    {
        return Err(PemError {
            problem: "is in the traditional OpenSSL key format, not PKCS#8".to_owned(),
            fix: Some(
                "convert it with `openssl pkcs8 -topk8 -nocrypt -in FILE -out KEY.p8` and pass \
                 KEY.p8",
            ),
        });
    }
    let blocks = trimmed.matches("-----BEGIN ").count();
    if blocks > 1 {
        return Err(PemError::new(format!(
            "contains {blocks} PEM blocks, but must contain only the \"BEGIN PRIVATE KEY\" block"
        )));
    }
    if !(trimmed.starts_with(BEGIN) && trimmed.ends_with(END)) {
        let problem = if blocks == 1 && trimmed.contains(BEGIN) && trimmed.contains(END) {
            "has text outside its \"BEGIN PRIVATE KEY\" block"
        } else {
            "is not a PEM \"BEGIN PRIVATE KEY\" block"
        };
        return Err(PemError::new(problem));
    }
    PrivatePkcs8KeyDer::from_pem_slice(trimmed.as_bytes())
        .map_err(|_| PemError::new("is not a valid PEM \"BEGIN PRIVATE KEY\" block"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::test_credentials::ec_p8_pem;

    #[test]
    fn one_block_accepted() {
        let pem = ec_p8_pem();
        assert!(single_private_key(&pem).is_ok());
        assert!(single_private_key(&format!("\n{pem}\n\n")).is_ok());
    }

    #[test]
    fn extra_content_rejected() {
        let pem = ec_p8_pem();
        let cases = [
            (format!("{pem}{pem}"), "contains 2 PEM blocks"),
            (format!("{pem}\ntrailing words\n"), "text outside"),
            (format!("comment\n{pem}"), "text outside"),
            ("garbage".to_owned(), "not a PEM"),
            (
                pem.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
                "encrypted",
            ),
            (pem.replace("PRIVATE KEY", "EC PRIVATE KEY"), "traditional"),
        ];
        for (text, expected) in cases {
            let problem = single_private_key(&text).unwrap_err().problem;
            assert!(problem.contains(expected), "{expected}: {problem}");
        }
    }
}
