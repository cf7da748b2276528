//! The clock seam. Everything that waits or compares times takes a `&dyn Clock`,
//! so a test of "poll until valid, give up at the deadline" runs in microseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub trait Clock {
    /// Time since the Unix epoch.
    fn now(&self) -> Duration;
    fn sleep(&self, d: Duration);
}

/// The test hook that sets the clock of the whole binary: with
/// `WANCERT_TEST_NOW=<seconds since the epoch>` in the environment, the
/// system clock starts at that moment and runs on in real time, so that a
/// test can boot wancert "in 1970" as a router without NTP does. Read here
/// only, at the clock edge.
pub const TEST_NOW_ENV: &str = "WANCERT_TEST_NOW";

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        static TEST_START: std::sync::OnceLock<Option<(u64, std::time::Instant)>> =
            std::sync::OnceLock::new();
        let test = TEST_START.get_or_init(|| {
            let secs = std::env::var(TEST_NOW_ENV).ok()?.parse().ok()?;
            Some((secs, std::time::Instant::now()))
        });
        if let Some((secs, since)) = test {
            return Duration::from_secs(*secs) + since.elapsed();
        }
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
