//! The clock seam. Everything that waits or compares times takes a `&dyn Clock`,
//! so a test of "poll until valid, give up at the deadline" runs in microseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub trait Clock {
    /// Time since the Unix epoch.
    fn now(&self) -> Duration;
    fn sleep(&self, d: Duration);
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
}

/// A clock for tests: `sleep` advances time instantly.
#[derive(Default)]
pub struct FakeClock {
    now: std::cell::Cell<Duration>,
}

impl FakeClock {
    pub fn at(secs: u64) -> Self {
        FakeClock {
            now: std::cell::Cell::new(Duration::from_secs(secs)),
        }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        self.now.get()
    }
    fn sleep(&self, d: Duration) {
        self.now.set(self.now.get() + d)
    }
}
