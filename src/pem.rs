//! PEM (RFC 7468): encode DER blocks and read them back.
