//! Wait until every server the CA may ask answers the challenge TXT values.

use std::time::Duration;

use crate::clock::Clock;
use crate::{Error, Result};

/// Where to look and how long to wait.
pub struct Check<'a> {
    /// `host:port` servers to ask; empty means discover the zone's
    /// authoritative servers.
    pub servers: &'a [String],
    pub timeout: Duration,
    pub interval: Duration,
}

/// Block until every server answers every one of `values` for TXT `fqdn`, or
/// the timeout passes. Logs a progress line while waiting.
pub fn wait_for_txt(
    _check: &Check<'_>,
    fqdn: &str,
    _values: &[&str],
    _clock: &dyn Clock,
) -> Result<()> {
    Err(Error::Dns(format!(
        "propagation check for {fqdn} is not implemented"
    )))
}
