//! A small logger: stderr on a terminal, syslog otherwise.
