//! Certificates and keys read back from flash and from the CA
//! (src/pem.rs, src/der.rs, src/b64.rs): a chain the CA sent, a file a user
//! replaced by hand, a write cut short by a power loss.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wancert::{b64, der, pem};

fuzz_target!(|data: &[u8]| {
    let _ = der::parse_cert(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for block in pem::decode_all(text, "CERTIFICATE") {
        let _ = der::parse_cert(&block);
    }
    let _ = pem::first_label(text);
    if let Some(secs) = der::parse_rfc3339(text) {
        let _ = der::rfc3339(secs);
    }
    if let Some(bytes) = b64::decode(text) {
        assert_eq!(b64::decode(&b64::std(&bytes)).as_deref(), Some(&bytes[..]));
        assert_eq!(b64::decode(&b64::url(&bytes)).as_deref(), Some(&bytes[..]));
    }
});
