//! TSIG (RFC 8945): sign and verify DNS messages with a shared HMAC key.
