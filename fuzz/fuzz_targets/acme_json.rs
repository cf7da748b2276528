//! ACME objects from the CA (src/acme/types.rs), RFC 8555 §7.1, and the
//! renewal information of RFC 9773 (src/acme/ari.rs). The CA is trusted to
//! be honest, not to be well-formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wancert::acme::{ari, types};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<types::Directory>(data);
    let _ = serde_json::from_slice::<types::Account>(data);
    let _ = serde_json::from_slice::<types::Order>(data);
    if let Ok(a) = serde_json::from_slice::<types::Authorization>(data) {
        let _ = format!("{a:?}");
    }
    let _ = serde_json::from_slice::<types::Challenge>(data);
    if let Ok(p) = serde_json::from_slice::<types::Problem>(data) {
        let _ = p.to_string();
        let _ = p.short();
    }
    if let Ok(info) = serde_json::from_slice::<types::RenewalInfo>(data) {
        if let Some(w) = ari::Window::of(&info) {
            assert!(w.start < w.end);
            for random in [0, 1, u64::MAX] {
                let t = w.choose(random);
                assert!(w.start <= t && t < w.end);
            }
        }
    }
});
