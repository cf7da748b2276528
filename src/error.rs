//! The one error type. Every variant renders as a single line that says what
//! failed, where, and what to do about it.

use std::fmt;

use crate::acme::types::Problem;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// The configuration is wrong: `file:line`, the message names the option
    /// and the fix.
    Config {
        file: String,
        line: usize,
        msg: String,
    },
    /// The ACME server answered with an RFC 7807 problem document.
    Acme {
        during: String,
        status: u16,
        problem: Problem,
    },
    /// A request could not be made or got no usable answer (connect, TLS,
    /// timeout, a non-ACME error status).
    Http { url: String, msg: String },
    /// A DNS exchange or a DNS provider failed.
    Dns(String),
    /// A file operation failed.
    Io {
        op: &'static str,
        path: String,
        err: std::io::Error,
        /// Bytes free and in all on the file system, when the write edge
        /// looked (only after it ran out of space: `store::space`).
        space: Option<(u64, u64)>,
    },
    /// A bounded wait ran out.
    Timeout(String),
    /// A provider or the CA said no for a reason retrying soon cannot fix
    /// (bad credentials, unknown host, a block, a service in maintenance, a
    /// rate limit).
    /// `retry_after`: not before this long; `None`: not until the
    /// configuration changes or the user forces it.
    Refused {
        msg: String,
        retry_after: Option<std::time::Duration>,
    },
    /// Anything else, already worded for the user.
    Other(String),
}

impl Error {
    pub fn io(op: &'static str, path: impl AsRef<std::path::Path>, err: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.as_ref().display().to_string(),
            err,
            space: None,
        }
    }

    pub fn other(msg: impl Into<String>) -> Self {
        Error::Other(msg.into())
    }

    /// How long the other side asked us to wait before trying again, when
    /// it said (a CA's or a provider's Retry-After).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Refused { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Prefix the message with what was being done, keeping the variant.
    pub fn context(self, what: &str) -> Self {
        match self {
            Error::Dns(m) => Error::Dns(format!("{what}: {m}")),
            Error::Timeout(m) => Error::Timeout(format!("{what}: {m}")),
            Error::Other(m) => Error::Other(format!("{what}: {m}")),
            Error::Http { url, msg } => Error::Http {
                url,
                msg: format!("{what}: {msg}"),
            },
            e => e,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { file, line, msg } if *line > 0 => write!(f, "{file}:{line}: {msg}"),
            Error::Config { file, msg, .. } => write!(f, "{file}: {msg}"),
            Error::Acme {
                during,
                status,
                problem,
            } => {
                write!(f, "ACME server refused {during} (HTTP {status}): {problem}")
            }
            Error::Http { url, msg } => write!(f, "request to {url} failed: {msg}"),
            Error::Dns(m) => write!(f, "DNS: {m}"),
            Error::Io {
                op,
                path,
                err,
                space,
            } => {
                write!(f, "cannot {op} {path}: {err}")?;
                // By kind, not number: MIPS numbers some errors differently.
                use std::io::ErrorKind as K;
                match (err.kind(), space) {
                    (K::StorageFull | K::QuotaExceeded | K::FileTooLarge, Some((free, total))) => {
                        write!(
                            f,
                            " (the file system is full: {free} of {total} bytes free: free some space; the old files are kept)"
                        )
                    }
                    (K::StorageFull | K::QuotaExceeded | K::FileTooLarge, None) => {
                        write!(f, " (the file system is full: free some space)")
                    }
                    (K::ReadOnlyFilesystem, _) => write!(
                        f,
                        " (the file system is read-only: remount it read-write; the old files are kept)"
                    ),
                    (K::PermissionDenied, _) => {
                        write!(f, " (permission denied: run as root or fix the owner)")
                    }
                    _ => Ok(()),
                }
            }
            Error::Timeout(m) => write!(f, "timed out: {m}"),
            Error::Refused { msg, .. } => f.write_str(msg),
            Error::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
