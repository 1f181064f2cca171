//! Reading device tokens and bearer tokens from the sources the CLI accepts.

use std::io::{self, BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};

use pushbind_client::validate::{self, InvalidArgument};

use crate::exit::InvalidInput;

/// Maximum number of bytes read from a token file or standard input. Larger
/// than any token limit, so that an oversize token gets the usual length
/// error, but it keeps a path such as `/dev/zero` from filling memory.
const MAX_SOURCE_LEN: u64 = 64 * 1024;

/// Source of a token on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenSource {
    /// The command-line value itself.
    Argument(String),
    File(PathBuf),
    Stdin,
}

/// The kind of token, which decides its limits and its name in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Device,
    Bearer,
}

impl TokenKind {
    fn validate(self, token: &str) -> Result<(), InvalidArgument> {
        match self {
            Self::Device => validate::device_token(token),
            Self::Bearer => validate::bearer_token(token),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Device => "device token",
            Self::Bearer => "bearer token",
        }
    }
}

/// Reads and checks a token. Trailing line breaks are removed from file and
/// standard input contents. Errors name the source and are [`InvalidInput`].
pub(crate) fn read_token(source: &TokenSource, kind: TokenKind) -> anyhow::Result<String> {
    match source {
        TokenSource::Argument(value) => {
            kind.validate(value)
                .map_err(|err| invalid(err.to_string()))?;
            Ok(value.clone())
        }
        TokenSource::File(path) => read_token_file(path, kind),
        TokenSource::Stdin => read_token_stdin(kind),
    }
}

fn read_token_file(path: &Path, kind: TokenKind) -> anyhow::Result<String> {
    let file = std::fs::File::open(path).map_err(|err| {
        invalid(format!(
            "cannot read the {} file {}: {err}",
            kind.name(),
            path.display()
        ))
    })?;
    let origin = format!("the {} file {}", kind.name(), path.display());
    token_from_reader(file, &origin, kind)
}

fn read_token_stdin(kind: TokenKind) -> anyhow::Result<String> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        // A person at a terminal ends the token with Enter, not end-of-file.
        eprintln!("Paste the {} and press Enter:", kind.name());
        let mut line = String::new();
        stdin
            .lock()
            .take(MAX_SOURCE_LEN + 1)
            .read_line(&mut line)
            .map_err(|err| invalid(format!("cannot read standard input: {err}")))?;
        return token_from_reader(line.as_bytes(), "standard input", kind);
    }
    token_from_reader(stdin.lock(), "standard input", kind)
}

/// Reads a whole token from `reader`. `origin` names the source in errors,
/// such as `the device token file /tmp/t`.
pub(crate) fn token_from_reader(
    reader: impl Read,
    origin: &str,
    kind: TokenKind,
) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_SOURCE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| invalid(format!("cannot read {origin}: {err}")))?;
    if bytes.len() as u64 > MAX_SOURCE_LEN {
        return Err(invalid(format!(
            "{origin} is larger than {MAX_SOURCE_LEN} bytes; it should contain only the {}",
            kind.name()
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| invalid(format!("{origin} is not valid UTF-8 text")))?;
    let token = text.trim_end_matches(['\n', '\r']);
    if token.is_empty() {
        return Err(invalid(format!(
            "{origin} is empty; it should contain the {}",
            kind.name()
        )));
    }
    kind.validate(token)
        .map_err(|err| invalid(format!("{err} (read from {origin})")))?;
    Ok(token.to_owned())
}

fn invalid(message: String) -> anyhow::Error {
    InvalidInput(message).into()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::exit::{ExitStatus, exit_status};

    fn write_file(dir: &Path, contents: &[u8]) -> PathBuf {
        let path = dir.join("token");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(contents)
            .unwrap();
        path
    }

    #[test]
    fn file_trailing_newline_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), b"a1b2c3\n");
        let source = TokenSource::File(path);
        assert_eq!(read_token(&source, TokenKind::Device).unwrap(), "a1b2c3");
    }

    #[test]
    fn file_crlf_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), b"YWMt-abc\r\n");
        let source = TokenSource::File(path);
        assert_eq!(read_token(&source, TokenKind::Bearer).unwrap(), "YWMt-abc");
    }

    #[test]
    fn empty_file_rejected_naming_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), b"\n");
        let err = read_token(&TokenSource::File(path.clone()), TokenKind::Device).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("is empty"), "{message}");
        assert_eq!(exit_status(&err), ExitStatus::Invalid);
    }

    #[test]
    fn missing_file_rejected_naming_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent");
        let err = read_token(&TokenSource::File(path.clone()), TokenKind::Bearer).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("bearer token file"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert_eq!(exit_status(&err), ExitStatus::Invalid);
    }

    #[test]
    fn multi_line_file_rejected_naming_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), b"first\nsecond\n");
        let err = read_token(&TokenSource::File(path.clone()), TokenKind::Device).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("control character"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
    }

    #[test]
    fn oversize_source_rejected() {
        let contents = vec![b't'; MAX_SOURCE_LEN as usize + 1];
        let err = token_from_reader(contents.as_slice(), "standard input", TokenKind::Device)
            .unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn non_utf8_source_rejected() {
        let err =
            token_from_reader(&[0xff, 0xfe][..], "standard input", TokenKind::Device).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn bearer_with_scheme_rejected() {
        let err = token_from_reader(&b"Bearer YWMt\n"[..], "standard input", TokenKind::Bearer)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("without the word Bearer"), "{message}");
        assert!(message.contains("standard input"), "{message}");
    }

    #[test]
    fn argument_is_validated() {
        let source = TokenSource::Argument(String::new());
        let err = read_token(&source, TokenKind::Device).unwrap_err();
        assert!(err.to_string().contains("device_token"), "{err}");
        assert_eq!(exit_status(&err), ExitStatus::Invalid);
        let source = TokenSource::Argument("a1b2".into());
        assert_eq!(read_token(&source, TokenKind::Device).unwrap(), "a1b2");
    }
}
