//! Where the limiter gets the time: the operating system's clock, the
//! time-stamp counter (`fast-clock`), or a clock the caller sets.

use std::sync::atomic::{AtomicI64, Ordering};

use super::Millis;

/// Where the limiter gets the time.
pub trait Clock: Send + Sync {
    /// Now, in milliseconds since the Unix epoch.
    fn now_millis(&self) -> Millis;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> Millis {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // 64-bit arithmetic: `as_millis` works in 128 bits, a measurable
        // part of an admission.
        Millis::try_from(d.as_secs())
            .unwrap_or(Millis::MAX / 1000)
            .saturating_mul(1000)
            .saturating_add(Millis::from(d.subsec_millis()))
    }
}

#[cfg(feature = "fast-clock")]
/// The wall clock, read cheaply: the time-stamp counter (through `quanta`,
/// calibrated against the OS clock) anchored to [`SystemTime`] and anchored
/// again every second, so a step of the wall clock is followed within a
/// second. About 10 ns a reading where the OS clock takes 30; the default
/// clock of [`RateLimiter::new`](super::RateLimiter::new).
///
/// [`SystemTime`]: std::time::SystemTime
#[derive(Debug)]
pub struct FastClock {
    clock: quanta::Clock,
    /// The counter's reading at creation: monotonic time starts there.
    base: u64,
    /// Wall time minus monotonic time, in milliseconds.
    offset: AtomicI64,
    /// Monotonic time of the next anchoring.
    next_anchor: AtomicI64,
}

#[cfg(feature = "fast-clock")]
impl Default for FastClock {
    fn default() -> FastClock {
        FastClock::new()
    }
}

#[cfg(feature = "fast-clock")]
impl FastClock {
    /// A clock anchored now.
    pub fn new() -> FastClock {
        let clock = quanta::Clock::new();
        let base = clock.raw();
        let c = FastClock {
            clock,
            base,
            offset: AtomicI64::new(0),
            next_anchor: AtomicI64::new(0),
        };
        c.anchor(0);
        c
    }

    fn monotonic_millis(&self, raw: u64) -> Millis {
        let nanos = self.clock.delta_as_nanos(self.base, raw);
        Millis::try_from(nanos / 1_000_000).unwrap_or(Millis::MAX)
    }

    fn anchor(&self, mono: Millis) {
        let wall = SystemClock.now_millis();
        self.offset
            .store(wall.saturating_sub(mono), Ordering::Relaxed);
        self.next_anchor
            .store(mono.saturating_add(1000), Ordering::Relaxed);
    }
}

#[cfg(feature = "fast-clock")]
impl Clock for FastClock {
    fn now_millis(&self) -> Millis {
        let mono = self.monotonic_millis(self.clock.raw());
        if mono >= self.next_anchor.load(Ordering::Relaxed) {
            self.anchor(mono);
        }
        mono.saturating_add(self.offset.load(Ordering::Relaxed))
    }
}

/// A clock set by hand (tests, replaying request files).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock at `t`.
    pub fn new(t: Millis) -> ManualClock {
        ManualClock(AtomicI64::new(t))
    }

    /// Sets the time.
    pub fn set(&self, t: Millis) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// The clock [`MemoryStore::new`] and [`RateLimiter::new`] use: the
/// operating system's. With the `fast-clock` feature, `FastClock` reads
/// the time-stamp counter instead, for a store built with
/// [`MemoryStore::with_clock`]; enabling the feature changes nothing else.
///
/// [`MemoryStore::new`]: super::MemoryStore::new
/// [`MemoryStore::with_clock`]: super::MemoryStore::with_clock
/// [`RateLimiter::new`]: super::RateLimiter::new
pub type DefaultClock = SystemClock;
