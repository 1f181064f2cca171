//! Writing results and errors: aligned text for people, pretty JSON with
//! `--json`.

use std::io::{self, Write};

use serde::Serialize;

use crate::exit::error_code_name;

/// The output mode chosen with `--json`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `value` as pretty JSON in `--json` mode, and the text that
    /// `render` returns otherwise.
    pub fn print<T: Serialize>(
        &self,
        value: &T,
        render: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            let mut text = serde_json::to_string_pretty(value)?;
            text.push('\n');
            write_stdout(&text)
        } else {
            write_stdout(&render(value))
        }
    }

    /// Prints a failed command: `pushbind: MESSAGE` on stderr, or with
    /// `--json` an object `{"error": {"code", "message"}}` on stdout.
    pub fn print_error(&self, err: &anyhow::Error) {
        let message = error_message(err);
        if self.json {
            let value = serde_json::json!({
                "error": { "code": error_code_name(err), "message": message }
            });
            let text = format!("{value:#}\n");
            if write_stdout(&text).is_ok() {
                return;
            }
        }
        eprintln!("pushbind: {message}");
    }
}

/// Prints a message for people on stderr, in both output modes.
pub(crate) fn print_note(message: &str) {
    eprintln!("pushbind: {message}");
}

/// Joins the messages of the error chain with `: `, leaving out a cause whose
/// message is already part of the joined text. Client and configuration
/// errors include their source's message in their own.
pub(crate) fn error_message(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// Writes `text` to stdout. A closed pipe, as with `pushbind status | head`,
/// is not an error.
pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(err).context("writing to stdout failed"))
        }
        _ => Ok(()),
    }
}

/// Rows of text cells, printed with each column padded to its widest cell.
#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|cell| (*cell).to_owned()).collect()],
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Renders the rows, each line starting with `indent` and ending in a
    /// line break. Columns are separated by two spaces.
    pub fn render(&self, indent: &str) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut text = String::new();
        for row in &self.rows {
            let mut line = indent.to_owned();
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(cell);
                let padding = width - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', padding + 2));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use pushbind_client::{Error, ErrorCode};

    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut table = Table::new(&["KEY", "VALUE"]);
        table.push(vec!["server_url".into(), "https://im.example".into()]);
        table.push(vec!["auth".into(), "".into()]);
        let text = table.render("  ");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "  KEY         VALUE");
        assert_eq!(lines[1], "  server_url  https://im.example");
        assert_eq!(lines[2], "  auth");
    }

    #[test]
    fn error_message_skips_repeated_source() {
        let source = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
        let err = anyhow::Error::new(Error::NotRunning {
            socket: "/tmp/s".into(),
            source,
        });
        let message = error_message(&err);
        assert_eq!(
            message.matches("connection refused").count(),
            1,
            "{message}"
        );
    }

    #[test]
    fn error_message_keeps_context() {
        let err = anyhow::Error::new(Error::Daemon {
            code: ErrorCode::NotLoggedIn,
            message: "log in first".into(),
        })
        .context("bind failed");
        assert_eq!(error_message(&err), "bind failed: log in first");
    }
}
