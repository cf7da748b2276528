//! DNS: wire format and TSIG (pure), and the UDP/TCP transport (edge).

pub mod net;
pub mod tsig;
pub mod wire;
