//! Base64 and base64url (RFC 4648), unpadded url-safe for JOSE.
