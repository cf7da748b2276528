//! DNS messages from the network (src/dns/wire.rs) and their TSIG records
//! (src/dns/tsig.rs): answers from authoritative servers, resolvers and DoH.
//!
//! Beyond "no panic": a decoded message encodes to bytes that decode to the
//! same message (names decompressed), and TSIG verification of arbitrary
//! bytes fails cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wancert::dns::{tsig, wire};

/// One key for every input: building it per input halves the speed.
static KEY: std::sync::LazyLock<tsig::Key> = std::sync::LazyLock::new(|| {
    tsig::Key::new("key.example.", tsig::Algorithm::HmacSha256, "c2VjcmV0")
        .expect("a valid test key")
});

fuzz_target!(|data: &[u8]| {
    let key = &*KEY;
    // Signing must not panic whatever the bytes (only the header is read).
    let _ = tsig::sign(key, data, 1_700_000_000);

    let Ok(msg) = wire::Message::decode(data) else {
        return;
    };
    let _ = tsig::verify(key, &[0u8; 32], data, &msg, 1_700_000_000);
    let question = wire::query(msg.id, &wire::Name::root(), 16, false);
    let _ = wire::is_answer_to(&question, &msg);
    for q in &msg.questions {
        let _ = msg.txt_values(&q.name);
    }

    let mut unsigned = msg.clone();
    unsigned.signature = None;
    let Ok(bytes) = unsigned.encode() else {
        return;
    };
    let back = wire::Message::decode(&bytes)
        .unwrap_or_else(|e| panic!("our own encoding does not decode: {e}"));
    assert_eq!(back, unsigned);

    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(name) = wire::Name::parse(text) {
            assert!(name.wire().len() <= 255);
        }
    }
});
