//! ACME (RFC 8555). `types` and `jws` are pure; `client` drives the protocol
//! through the `Http` and `Clock` seams.

pub mod client;
pub mod jws;
pub mod types;
