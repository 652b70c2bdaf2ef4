//! Tracing set-up: `RUST_LOG` filter (default `info`), human-readable on a
//! terminal, JSON with `LOG_FORMAT=json` (one object per line, with the
//! current span's fields, e.g. `token`).
//!
//! Logs go to stderr so stdout stays clean for command output (exports,
//! lists). Progress bars share stderr: every log line is written with the
//! bars suspended, so neither tears the other.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use indicatif::{MultiProgress, ProgressDrawTarget};
use tracing_subscriber::EnvFilter;

static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// The process's progress bars: drawn on stderr when it is a terminal,
/// hidden otherwise (then progress is logged instead, see `progress`).
pub(crate) fn bars() -> &'static MultiProgress {
    BARS.get_or_init(|| {
        let target = if stderr_is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        MultiProgress::with_draw_target(target)
    })
}

/// Whether progress can be drawn as bars.
pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Whether logs are JSON (`LOG_FORMAT=json`).
pub(crate) fn json_logs() -> bool {
    std::env::var("LOG_FORMAT").is_ok_and(|v| v.trim().eq_ignore_ascii_case("json"))
}

/// stderr with the progress bars cleared while a line is written.
struct BarSafeStderr;

impl Write for BarSafeStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over one whole event per call.
        bars().suspend(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Installs the global subscriber.
pub(crate) fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let format = std::env::var("LOG_FORMAT").unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| BarSafeStderr);
    if json_logs() {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.with_ansi(stderr_is_terminal()).init();
        let format = format.trim();
        if !format.is_empty() && !format.eq_ignore_ascii_case("text") {
            tracing::warn!(
                "LOG_FORMAT `{format}` is not known: use `json`, or leave it unset for text"
            );
        }
    }
}
