//! The test hook that stands in for a power cut. With
//! `WANCERT_TEST_ABORT_AT` in the environment the process aborts
//! (`std::process::abort`: no destructor, no cleanup, no flush) at a chosen
//! point, so that tests can check what a cut there leaves behind:
//!
//! - `WANCERT_TEST_ABORT_AT=<name>`: at the named point (`after-order`,
//!   `after-validation`: see `issue`).
//! - `WANCERT_TEST_ABORT_AT=step:N`: right after the Nth step. A step is one
//!   thing done at an edge: an HTTP or DNS exchange, a TLS check, a process
//!   run, half of a file's bytes written, a file written and synced, renamed
//!   or removed. Counting at the edges (not in the logic) makes every
//!   network exchange and every file write a kill point without naming
//!   them one by one; `tests/crash.rs` walks N = 1, 2, ... until a run ends
//!   before the Nth step.
//!
//! Without the variable each call is one load of a cached `None`. The
//! counter is 32 bits wide: 32-bit MIPS has no 64-bit atomics.

use std::fmt::Display;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable of the hook.
pub const ENV: &str = "WANCERT_TEST_ABORT_AT";

enum Target {
    Named(String),
    Step(u32),
}

/// The variable, read once.
fn target() -> Option<&'static Target> {
    static TARGET: OnceLock<Option<Target>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let v = std::env::var(ENV).ok()?;
            Some(match v.strip_prefix("step:").and_then(|n| n.parse().ok()) {
                Some(n) => Target::Step(n),
                None => Target::Named(v),
            })
        })
        .as_ref()
}

/// Steps taken so far.
static STEPS: AtomicU32 = AtomicU32::new(0);

/// Abort here if the hook names `name`.
pub fn point(name: &str) {
    if let Some(Target::Named(n)) = target()
        && n == name
    {
        abort(format_args!("{name}"));
    }
}

/// One step at an edge: `what` was just done to `on` (a URL without its
/// query, a path, a program: never a secret). Aborts when it is the Nth.
pub fn step(what: &str, on: &dyn Display) {
    if let Some(Target::Step(n)) = target() {
        let count = STEPS.fetch_add(1, Ordering::Relaxed) + 1;
        if count == *n {
            abort(format_args!("step:{n}: {what} {on}"));
        }
    }
}

fn abort(at: std::fmt::Arguments<'_>) -> ! {
    log::error!("{ENV}={at}: aborting here, as a power cut would");
    std::process::abort();
}
