//! ACME objects from the CA (src/acme/types.rs), RFC 8555 §7.1, and the
//! renewal information of RFC 9773 (src/acme/ari.rs). The CA is trusted to
//! be honest, not to be well-formed. The objects are read from a JSON value
//! by hand (`from_json`, see src/json.rs), as the client reads them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wancert::acme::{ari, types};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = types::Directory::from_json(&v);
    let _ = types::Account::from_json(&v);
    let _ = types::Order::from_json(&v);
    if let Ok(a) = types::Authorization::from_json(&v) {
        let _ = format!("{a:?}");
    }
    let _ = types::Challenge::from_json(&v);
    let p = types::Problem::from_json(&v);
    let _ = p.to_string();
    let _ = p.short();
    if let Ok(info) = types::RenewalInfo::from_json(&v) {
        if let Some(w) = ari::Window::of(&info) {
            assert!(w.start < w.end);
            for random in [0, 1, u64::MAX] {
                let t = w.choose(random);
                assert!(w.start <= t && t < w.end);
            }
        }
    }
});
