//! wancert: HTTPS certificates over ACME DNS-01, and DDNS, for OpenWrt routers
//! and the services behind their port forwards.
//!
//! The crate is split into a pure core (parsing, protocols, signing, decisions:
//! no I/O, no clock, no randomness) and a few edge modules, one per outside
//! world. `ARCHITECTURE.md` has the map.
// `deny`, not `forbid`: `store::space` is the one FFI call (statvfs, on
// the error path of a full disk), allowed there with its reason.
#![deny(unsafe_code)]

// Pure core.
pub mod acme;
pub mod b64;
pub mod config;
pub mod der;
pub mod dns;
pub mod firewall;
pub mod json;
pub mod pem;
pub mod renewal;
pub mod uci;

// Edges: one seam per outside world.
pub mod clock;
pub mod crashpoint;
pub mod http;
pub mod keys;
pub mod netif;
pub mod proc;
pub mod store;
pub mod verify;

// Plug-ins: one file per provider or deployer, each in a registry.
pub mod deploy;
pub mod notify;
pub mod providers;

// Orchestration and the command line.
pub mod cli;
pub mod ddns;
pub mod error;
pub mod events;
pub mod issue;
pub mod logger;
pub mod manage;
pub mod propagation;
pub mod run;
pub mod status;

pub use error::{Error, Result};
