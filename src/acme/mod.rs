//! ACME (RFC 8555) and its extensions: renewal information (RFC 9773),
//! profiles (draft-ietf-acme-profiles), dns-persist-01
//! (draft-ietf-acme-dns-persist).

pub mod ari;
pub mod client;
pub mod jws;
pub mod persist;
pub mod types;
