//! Logging for `xptp run`, with ptp4l's knobs: `logging_level` / `-l N` (syslog levels 0–7),
//! `verbose` / `-m` (print to stdout) and `use_syslog` / `-q`. xptp has no syslog writer:
//! without `-m` lines go to stderr, which systemd's journal collects; `-q` is accepted.
//! `RUST_LOG` overrides the level.

use std::io;

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

/// Maps a syslog level (ptp4l's `logging_level`) to the most verbose tracing level shown:
/// 0–3 (emerg…err) → ERROR, 4 (warning) → WARN, 5–6 (notice, info) → INFO, 7 (debug) →
/// DEBUG.
pub fn tracing_level(logging_level: u8) -> tracing::Level {
    match logging_level {
        0..=3 => tracing::Level::ERROR,
        4 => tracing::Level::WARN,
        5 | 6 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    }
}

/// Installs the global subscriber. Returns false when one was already installed (tests).
pub fn init(log: &LogConfig) -> bool {
    let level = tracing_level(log.logging_level);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(level.as_str().to_ascii_lowercase()));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false);
    if log.verbose {
        b.with_writer(io::stdout).try_init().is_ok()
    } else {
        b.with_writer(io::stderr).try_init().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_levels_map_like_ptp4l() {
        use tracing::Level;
        let got: Vec<Level> = (0..=7).map(tracing_level).collect();
        assert_eq!(
            got,
            [
                Level::ERROR,
                Level::ERROR,
                Level::ERROR,
                Level::ERROR,
                Level::WARN,
                Level::INFO,
                Level::INFO,
                Level::DEBUG
            ]
        );
    }
}
