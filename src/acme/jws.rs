//! JSON Web Signature for ACME requests (RFC 8555 §6.2, RFC 7515, RFC 7638).
