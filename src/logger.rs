//! A small logger: stderr on a terminal, syslog otherwise.
//!
//! On stderr a record reads `wancert: msg` (info), `wancert: warning: msg`,
//! `wancert: error: msg`. To syslog it is one datagram to `/dev/log`,
//! `<PRI>wancert[PID]: msg`: RFC 3164 without the timestamp, which busybox
//! syslogd and OpenWrt's logd add themselves.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};

const SYSLOG_SOCKET: &str = "/dev/log";

/// Facility `daemon` (3), in the high bits of the priority as RFC 3164 has it.
const DAEMON: u8 = 3 << 3;

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Install the logger: records up to `level`, to syslog when `to_syslog` and
/// `/dev/log` exists, else to stderr. Calling it again only changes the level.
pub fn init(level: LevelFilter, to_syslog: bool) {
    let socket = to_syslog.then(|| Path::new(SYSLOG_SOCKET));
    let _ = log::set_logger(LOGGER.get_or_init(|| Logger::new(level, socket)));
    log::set_max_level(level);
}

/// Whether stderr is a terminal (a person is watching, rather than procd).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Writes records to a syslog socket or to stderr.
pub struct Logger {
    level: LevelFilter,
    /// An unconnected socket and the path to send to: sending by path each
    /// time reaches a syslogd that restarted since.
    syslog: Option<(UnixDatagram, PathBuf)>,
}

impl Logger {
    /// A logger for records up to `level`, to the syslog socket at `socket`,
    /// or to stderr when that is `None` or no socket is there.
    pub fn new(level: LevelFilter, socket: Option<&Path>) -> Self {
        let syslog = socket
            .filter(|p| p.exists())
            .and_then(|p| Some((UnixDatagram::unbound().ok()?, p.to_path_buf())));
        Logger { level, syslog }
    }
}

impl Log for Logger {
    fn enabled(&self, m: &Metadata) -> bool {
        // Debug records of rustls and ureq would drown ours: only trace shows them.
        m.level() <= self.level
            && (m.level() <= Level::Info
                || self.level == LevelFilter::Trace
                || m.target().starts_with("wancert"))
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        if let Some((sock, path)) = &self.syslog {
            let line = syslog_line(r.level(), std::process::id(), r.args());
            if sock.send_to(line.as_bytes(), path).is_ok() {
                return;
            }
            // No syslogd listening: the message still must reach someone.
        }
        let _ = std::io::stderr().write_all(stderr_line(r.level(), r.args()).as_bytes());
    }

    fn flush(&self) {}
}

/// The stderr line for a record, newline included.
pub fn stderr_line(level: Level, msg: &fmt::Arguments) -> String {
    let word = match level {
        Level::Error => "error: ",
        Level::Warn => "warning: ",
        Level::Info => "",
        Level::Debug => "debug: ",
        Level::Trace => "trace: ",
    };
    format!("wancert: {word}{msg}\n")
}

/// The syslog datagram for a record: `<PRI>wancert[PID]: msg`.
pub fn syslog_line(level: Level, pid: u32, msg: &fmt::Arguments) -> String {
    let severity = match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    };
    format!("<{}>wancert[{pid}]: {msg}", DAEMON | severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_lines() {
        assert_eq!(
            stderr_line(Level::Info, &format_args!("renewed {}", "nas")),
            "wancert: renewed nas\n"
        );
        assert_eq!(
            stderr_line(Level::Warn, &format_args!("w")),
            "wancert: warning: w\n"
        );
        assert_eq!(
            stderr_line(Level::Error, &format_args!("e")),
            "wancert: error: e\n"
        );
        assert_eq!(
            stderr_line(Level::Debug, &format_args!("d")),
            "wancert: debug: d\n"
        );
        assert_eq!(
            stderr_line(Level::Trace, &format_args!("t")),
            "wancert: trace: t\n"
        );
    }

    #[test]
    fn syslog_lines() {
        assert_eq!(
            syslog_line(Level::Error, 42, &format_args!("e")),
            "<27>wancert[42]: e"
        );
        assert_eq!(
            syslog_line(Level::Warn, 42, &format_args!("w")),
            "<28>wancert[42]: w"
        );
        assert_eq!(
            syslog_line(Level::Info, 7, &format_args!("i {}", 1)),
            "<30>wancert[7]: i 1"
        );
        assert_eq!(
            syslog_line(Level::Debug, 7, &format_args!("d")),
            "<31>wancert[7]: d"
        );
        assert_eq!(
            syslog_line(Level::Trace, 7, &format_args!("t")),
            "<31>wancert[7]: t"
        );
    }

    fn meta(level: Level, target: &str) -> Metadata<'_> {
        Metadata::builder().level(level).target(target).build()
    }

    #[test]
    fn filters() {
        let l = Logger::new(LevelFilter::Info, None);
        assert!(l.enabled(&meta(Level::Warn, "rustls")));
        assert!(!l.enabled(&meta(Level::Debug, "wancert::run")));
        let l = Logger::new(LevelFilter::Debug, None);
        assert!(l.enabled(&meta(Level::Debug, "wancert::run")));
        assert!(!l.enabled(&meta(Level::Debug, "rustls::client")));
        assert!(!l.enabled(&meta(Level::Trace, "wancert::run")));
        let l = Logger::new(LevelFilter::Trace, None);
        assert!(l.enabled(&meta(Level::Trace, "ureq")));
    }

    #[test]
    fn sends_to_the_syslog_socket() {
        let path = std::env::temp_dir().join(format!("wancert-log-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();

        let l = Logger::new(LevelFilter::Info, Some(&path));
        assert!(l.syslog.is_some());
        let r = |level, msg| {
            l.log(
                &Record::builder()
                    .level(level)
                    .target("wancert::run")
                    .args(msg)
                    .build(),
            )
        };
        r(Level::Debug, format_args!("filtered out"));
        r(Level::Warn, format_args!("renewal of {} failed", "nas"));
        let mut buf = [0; 256];
        let n = server.recv(&mut buf).unwrap();
        let want = format!("<28>wancert[{}]: renewal of nas failed", std::process::id());
        assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), want);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn falls_back_to_stderr_without_a_socket() {
        let l = Logger::new(
            LevelFilter::Info,
            Some(Path::new("/nonexistent/wancert/log")),
        );
        assert!(l.syslog.is_none());
    }
}
