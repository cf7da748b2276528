//! The ACME client: drives RFC 8555 over the `Http` and `Clock` seams.
