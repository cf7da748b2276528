//! DNS message wire format (RFC 1035), in the Codec/Reader style.
