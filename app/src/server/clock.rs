//! The clock every stored time is read from: Unix milliseconds, which both databases and the
//! `Any` driver store alike, and which development can move on to see links expire.

use std::sync::atomic::{AtomicI64, Ordering};

/// How far the clock has been moved on (`POST /dev/clock`, development sign-in only): lets a
/// test see an invitation expire without waiting two weeks.
static CLOCK_OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Milliseconds since the Unix epoch, plus any development offset: how every timestamp is
/// stored (portable across both databases and the `Any` driver).
pub fn now_millis() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
        + CLOCK_OFFSET_MS.load(Ordering::Relaxed)
}

/// Moves the clock on by `ms` (development only; see `CLOCK_OFFSET_MS`).
pub fn advance_clock(ms: i64) {
    CLOCK_OFFSET_MS.fetch_add(ms, Ordering::Relaxed);
}

/// Puts the clock back to the real time.
pub fn reset_clock() {
    CLOCK_OFFSET_MS.store(0, Ordering::Relaxed);
}
