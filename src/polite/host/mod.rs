//! Per-host politeness: the rate limiter (governor, none at `-r 0`), robots.txt fetched once per host
//! (single-flight) with its Crawl-delay, and the host-wide backoff that a 429 or 503 sets for every request to
//! that host. The scheduler's frontier enforces `--per-host`; this file decides *when* a request may go.
//!
//! The limiter is GCRA with burst 2, and one cell is spent when the host is created. The burst of 2 absorbs
//! wake-up lateness (a timer that fires 3 ms late does not push every later request back: with burst 1 a
//! 100-request host at `-r 20` took 5.6 s instead of 5.0 s); spending one cell up front keeps a fresh host from
//! getting two requests at once, which, with the first one slowed by its TCP handshake, let a one-second window
//! at the server hold R+2 (measured by `tests/cli/polite/rate.rs` and the W3 benchmark).
//!
//! [`Hosts`] is the table of the hosts' state, shared by all tasks (a redirect hop may land on any host). It is
//! bounded: when it has grown by [`SWEEP_GROWTH`] hosts (or a quarter) since the last sweep, it sweeps. A host no task holds (only the
//! table has its `Arc`) loses its connection pool there, so its idle sockets close; it is *released* when, in
//! addition, no backoff is pending and its limiters have refilled: `2/R` (the burst of 2) and Crawl-delay since
//! its last request. A fresh state then allows no more than the old one would have (one request at once, the next
//! `1/R` later, where the refilled old limiter allowed two), so R+1 in any one-second window still holds. Its
//! robots.txt result goes to a cache bounded in bytes ([`crate::polite::robots_cache`]), so a host that comes back is not
//! asked again while the cache still holds it.
//!
//! Knows nothing of pages or records; of HTTP it only holds the host's client (its connection pool), built by
//! the caller: [`crate::polite`] fetches robots.txt and hands the result in.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::OnceCell;
use tokio::time::Instant;
use url::Url;

use crate::polite::robots_cache::ByteCache;
use crate::record::ErrorKind;
use crate::url::address::Class;

/// The table sweeps once this many hosts, or a quarter of its size after the last sweep if more, were added:
/// amortised O(1) a new host, and at most that many hosts keep idle sockets beyond those in use.
pub(crate) const SWEEP_GROWTH: usize = 64;
/// Budget of the cache of released hosts' robots.txt results (estimated bytes).
pub(crate) const ROBOTS_CACHE_BYTES: usize = 16 << 20;
/// Estimated bytes of a cached robots.txt result beyond its rules: the state, the key, the cache's bookkeeping.
const ROBOTS_ENTRY_BYTES: usize = 512;
/// The shortest limiter period governor can hold (1 ns).
const MIN_PERIOD_SECS: f64 = 1e-9;
/// The longest limiter period `-r` may ask for: 100 years. governor keeps time in `u64` nanoseconds (584 years:
/// a longer period panics) and adds periods to its clock (with burst 2 up to two ahead of now), so this leaves
/// room for three and the run's own time. Crawl-delay (capped at 60 s) and Retry-After (capped by
/// `--max-retry-after`, itself at most 100 years) never come near it.
pub(crate) const MAX_PERIOD: Duration = Duration::from_secs(100 * 31_557_600);
/// Limiter periods are this much longer than 1/R: timers and the network shift request arrivals by a millisecond
/// or so, and without slack a window measured at the server could catch R+2 at its edges (seen at `-r 1` and
/// `-r 2` after a backoff pause: 3 requests in 0.9999 s). 0.5 % costs W3 (`-r 20`) about 25 ms in 5 s.
const PERIOD_SLACK: f64 = 1.005;
/// First host-wide pause after a 429/503 that named no Retry-After.
const FIRST_SLOWDOWN: Duration = Duration::from_secs(1);

/// What robots.txt says about a host for this run.
#[derive(Debug)]
pub(crate) enum Robots {
    /// 4xx, an unparsable file, or a redirect chain too long: everything is allowed.
    AllowAll,
    /// The rules for us ([`crate::robots`]: they cost about the file's size).
    Rules(Box<crate::robots::Rules>),
    /// 429 or 5xx after every re-ask (RFC 9309 §2.3.1.4): the host is treated as fully disallowed; the reason goes into
    /// the records.
    DisallowAll(String),
    /// robots.txt could not be fetched at all: the host is unreachable, its URLs get this kind and message.
    Unreachable(ErrorKind, String),
}

impl Robots {
    /// `Err((kind, message))` when `url` must not be requested.
    ///
    /// # Errors
    /// The kind and message the URL's record gets.
    pub(crate) fn check(&self, url: &Url) -> Result<(), (ErrorKind, String)> {
        match self {
            Robots::AllowAll => Ok(()),
            Robots::Rules(r) if r.allowed(&robots_path(url)) => Ok(()),
            Robots::Rules(..) => Err((
                ErrorKind::RobotsDisallowed,
                "disallowed by robots.txt".into(),
            )),
            Robots::DisallowAll(why) => Err((ErrorKind::RobotsDisallowed, why.clone())),
            Robots::Unreachable(kind, msg) => Err((*kind, msg.clone())),
        }
    }

    #[must_use]
    pub(crate) fn sitemaps(&self) -> &[String] {
        match self {
            Robots::Rules(r) => &r.sitemaps,
            _ => &[],
        }
    }

    /// Estimated heap bytes of this result.
    fn cost(&self) -> usize {
        ROBOTS_ENTRY_BYTES
            + match self {
                Robots::Rules(r) => r.heap_bytes(),
                Robots::DisallowAll(s) | Robots::Unreachable(_, s) => s.len(),
                Robots::AllowAll => 0,
            }
    }
}

/// A host's robots.txt result for the run, shared with the cache when the host is released (the Crawl-delay
/// limiter goes along, so it keeps its state).
pub(crate) struct RobotsState {
    robots: Robots,
    /// Set when Crawl-delay is slower than `-r`.
    delay: Option<DefaultDirectRateLimiter>,
}

#[derive(Debug, Default)]
struct Backoff {
    until: Option<Instant>,
    delay: Duration,
    /// When the last request (or robots.txt fetch) was let through.
    last: Option<Instant>,
}

/// One host's politeness state, shared by the tasks fetching from it.
pub(crate) struct Host {
    origin: Url,
    rate: Option<f64>,
    limiter: Option<DefaultDirectRateLimiter>,
    robots: OnceCell<Arc<RobotsState>>,
    backoff: Mutex<Backoff>,
    max_backoff: Duration,
    /// This host's own connection pools, one per ceiling of the address guard (a connection checked for one
    /// listed URL's class is never reused by a stricter one): dropped (closing their idle sockets) when no task
    /// holds the host. Most runs use one.
    pools: [std::sync::OnceLock<reqwest::Client>; Class::ALL.len()],
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("origin", &self.origin.as_str())
            .finish_non_exhaustive()
    }
}

/// A limiter letting `per_second` requests a second through with bursts of `burst`: in any one-second window a
/// host sees at most `per_second + burst - 1` requests.
/// A period beyond [`MAX_PERIOD`] (refused by `-r`'s check; a library caller may ask) is held at it, not a panic.
fn limiter(per_second: f64, burst: u32) -> Option<DefaultDirectRateLimiter> {
    let period = Duration::try_from_secs_f64(PERIOD_SLACK / per_second)
        .unwrap_or(MAX_PERIOD)
        .min(MAX_PERIOD);
    let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::new(burst)?);
    Some(RateLimiter::direct(quota))
}

/// The path and query of `url` in RFC 9309's comparison form (see [`crate::robots::path_form`]).
/// Borrowed from the URL unless it has a percent-escape to rewrite (no allocation per request otherwise).
fn robots_path(url: &Url) -> std::borrow::Cow<'_, str> {
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    match crate::robots::path_form(path.as_bytes()) {
        std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(path),
        std::borrow::Cow::Owned(v) => {
            std::borrow::Cow::Owned(String::from_utf8_lossy(&v).into_owned())
        }
    }
}

/// The smallest `-r` whose limiter period (with its slack) is at most [`MAX_PERIOD`]: about `3.2e-10`.
pub(crate) fn min_rate() -> f64 {
    PERIOD_SLACK / MAX_PERIOD.as_secs_f64()
}

/// Whether `-r R` can be enforced: the limiter's period `1/R` must be between 1 ns and [`MAX_PERIOD`] (so
/// neither `5e-11`, which would overflow governor's clock, nor `1e12` mean "unlimited").
#[must_use]
pub(crate) fn rate_is_representable(per_second: f64) -> bool {
    // try_from_secs_f64 rounds: 1/1.5e9 s would become a 1 ns period, 50 % slower than asked. Check the real value.
    per_second.is_finite()
        && per_second >= min_rate()
        && 1.0 / per_second >= MIN_PERIOD_SECS
        && limiter(per_second, 2).is_some()
}

impl Host {
    #[cfg(test)]
    /// `origin` is any URL of the host (only its origin is used).
    #[must_use]
    pub(crate) fn new(origin: &Url, rate: Option<f64>, max_backoff: Duration) -> Host {
        Host::with_robots(origin, rate, max_backoff, None)
    }

    fn with_robots(
        origin: &Url,
        rate: Option<f64>,
        max_backoff: Duration,
        robots: Option<Arc<RobotsState>>,
    ) -> Host {
        let mut origin = origin.clone();
        origin.set_path("/");
        origin.set_query(None);
        Host {
            origin,
            rate,
            limiter: rate.and_then(|r| limiter(r, 2)).inspect(|l| {
                // Spend the burst's spare cell now: see the module docs.
                let _ = l.check();
            }),
            robots: OnceCell::new_with(robots),
            backoff: Mutex::new(Backoff::default()),
            max_backoff,
            pools: Default::default(),
        }
    }

    /// This host's client for requests under `ceiling`, built by `make` on first use.
    pub(crate) fn client(
        &self,
        ceiling: Class,
        make: impl FnOnce() -> reqwest::Client,
    ) -> &reqwest::Client {
        self.pools[ceiling.index()].get_or_init(make)
    }

    /// Whether a fresh state could replace this one now without letting more through: no backoff pending or
    /// remembered, and every limiter refilled since the last request.
    fn releasable(&self, now: Instant) -> bool {
        let quiet = self.rate.map_or(Duration::ZERO, |r| {
            Duration::try_from_secs_f64(2.0 * PERIOD_SLACK / r).unwrap_or(Duration::MAX)
        });
        let delay = self
            .robots
            .get()
            .and_then(|s| match &s.robots {
                Robots::Rules(r) => r.delay,
                _ => None,
            })
            .and_then(|d| Duration::try_from_secs_f32(d).ok())
            .unwrap_or_default();
        let b = self.lock_backoff();
        b.until.is_none_or(|u| u <= now)
            && b.delay.is_zero()
            && b.last
                .is_none_or(|t| now.saturating_duration_since(t) >= quiet.max(delay))
    }

    fn mark_used(&self) {
        self.lock_backoff().last = Some(Instant::now());
    }

    /// Waits until a request to this host may go: host-wide backoff, then `-r`, then Crawl-delay.
    pub(crate) async fn ready(&self) {
        loop {
            self.wait_backoff().await;
            if let Some(l) = &self.limiter {
                l.until_ready().await;
            }
            if let Some(l) = self.robots.get().and_then(|s| s.delay.as_ref()) {
                l.until_ready().await;
            }
            // A 429/503 that arrived while this request waited on the limiter pauses it too ("every queued
            // request to the host waits"); the cell it took only makes it later, never earlier.
            if !self.backing_off() {
                self.mark_used();
                return;
            }
        }
    }

    fn backing_off(&self) -> bool {
        self.lock_backoff()
            .until
            .is_some_and(|t| t > Instant::now())
    }

    async fn wait_backoff(&self) {
        loop {
            let until = self.lock_backoff().until;
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
    }

    /// A 429 or 503: every request to this host waits `at_least` (Retry-After), or twice the last pause.
    pub(crate) fn slow_down(&self, at_least: Duration) {
        let mut b = self.lock_backoff();
        let doubled = if b.delay.is_zero() {
            FIRST_SLOWDOWN
        } else {
            b.delay.saturating_mul(2)
        };
        b.delay = doubled.max(at_least).min(self.max_backoff);
        let until = Instant::now() + b.delay;
        b.until = Some(b.until.map_or(until, |u| u.max(until)));
    }

    /// A success: the host-wide pause halves, and ends once it is short.
    pub(crate) fn relax(&self) {
        let mut b = self.lock_backoff();
        b.delay /= 2;
        if b.delay < Duration::from_millis(50) {
            b.delay = Duration::ZERO;
        }
    }

    #[cfg(test)]
    /// The pause a 429/503 currently imposes on this host (for tests and logs).
    #[must_use]
    pub(crate) fn current_backoff(&self) -> Duration {
        self.lock_backoff().delay
    }

    fn lock_backoff(&self) -> std::sync::MutexGuard<'_, Backoff> {
        // A poisoned lock only means another task panicked mid-update; the state is two plain values.
        self.backoff
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The origin (`scheme://host:port/`) this state belongs to.
    #[must_use]
    pub(crate) fn origin(&self) -> &Url {
        &self.origin
    }

    /// Waits for the host-wide backoff and the `-r` limiter only (robots.txt itself is not held to Crawl-delay).
    pub(crate) async fn ready_for_robots(&self) {
        loop {
            self.wait_backoff().await;
            if let Some(l) = &self.limiter {
                l.until_ready().await;
            }
            if !self.backing_off() {
                self.mark_used();
                return;
            }
        }
    }

    /// robots.txt for this host: the first caller runs `fetch`; concurrent callers wait for that one fetch. A
    /// fetch the address guard refused (`blocked_address`, under the caller's listed URL's class) is not kept
    /// for the host: it is that caller's answer (`Err`), and the next caller, maybe of a listed URL whose class
    /// allows the address, fetches again.
    pub(crate) async fn robots<F: Future<Output = Robots>>(
        &self,
        fetch: impl FnOnce() -> F,
    ) -> Result<&Robots, Robots> {
        let state = self
            .robots
            .get_or_try_init(|| async {
                let robots = fetch().await;
                if matches!(robots, Robots::Unreachable(ErrorKind::BlockedAddress, _)) {
                    return Err(robots);
                }
                let delay = match &robots {
                    Robots::Rules(r) => r.delay.and_then(|d| self.crawl_delay_limiter(d)),
                    _ => None,
                };
                Ok(Arc::new(RobotsState { robots, delay }))
            })
            .await?;
        Ok(&state.robots)
    }

    fn crawl_delay_limiter(&self, delay_secs: f32) -> Option<DefaultDirectRateLimiter> {
        let per_second = 1.0 / f64::from(delay_secs);
        if !per_second.is_finite() || self.rate.is_some_and(|r| r <= per_second) {
            return None;
        }
        // robots.txt was just requested: the first page waits a full delay after it, as every later one does.
        limiter(per_second, 1).inspect(|l| {
            let _ = l.check();
        })
    }
}

/// The hosts' politeness state, created on first use and released when idle (see the module docs).
#[derive(Debug)]
pub(crate) struct Hosts {
    table: Mutex<Table>,
    rate: Option<f64>,
    max_backoff: Duration,
}

#[derive(Debug)]
struct Table {
    map: HashMap<Arc<str>, Arc<Host>>,
    robots: ByteCache<Arc<RobotsState>>,
    sweep_at: usize,
}

impl std::fmt::Debug for RobotsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotsState")
            .field("robots", &self.robots)
            .finish_non_exhaustive()
    }
}

impl Hosts {
    #[must_use]
    pub(crate) fn new(rate: Option<f64>, max_backoff: Duration) -> Hosts {
        Hosts::with_robots_budget(rate, max_backoff, ROBOTS_CACHE_BYTES)
    }

    /// [`Hosts::new`] with another robots cache budget (tests).
    #[must_use]
    pub(crate) fn with_robots_budget(
        rate: Option<f64>,
        max_backoff: Duration,
        budget: usize,
    ) -> Hosts {
        Hosts {
            table: Mutex::new(Table {
                map: HashMap::new(),
                robots: ByteCache::new(budget),
                sweep_at: SWEEP_GROWTH,
            }),
            rate,
            max_backoff,
        }
    }

    /// The state of `url`'s host (its origin), created on first use (with its robots.txt result when the cache
    /// still holds it).
    pub(crate) fn get(&self, url: &Url) -> Arc<Host> {
        // Looked up by a slice of the URL (no allocation per request); the key is built only for a new host.
        if let Some(k) = crate::url::host_key_str(url) {
            if let Some(h) = self.lock().map.get(k) {
                return h.clone();
            }
        }
        let key = crate::url::host_key(url);
        let mut t = self.lock();
        if let Some(h) = t.map.get(key.as_str()) {
            return h.clone();
        }
        if t.map.len() >= t.sweep_at {
            t.sweep(Instant::now());
        }
        let robots = t.robots.take(&key);
        let host = Arc::new(Host::with_robots(url, self.rate, self.max_backoff, robots));
        t.map.insert(key.into(), host.clone());
        host
    }

    #[cfg(test)]
    /// Hosts in the table, and robots.txt results in the cache (for tests and logs).
    #[must_use]
    pub(crate) fn counts(&self) -> (usize, usize) {
        let t = self.lock();
        (t.map.len(), t.robots.len())
    }

    #[cfg(test)]
    /// Sweeps now, whatever the table's size (tests).
    pub(crate) fn sweep(&self) {
        self.lock().sweep(Instant::now());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A poisoned lock only means another task panicked mid-update; the table stays consistent.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Table {
    /// Drops the connection pools of hosts no task holds, and releases those of them that may be (module docs).
    /// Amortised O(1) per new host: the next sweep waits for [`SWEEP_GROWTH`] new hosts, or a quarter more.
    fn sweep(&mut self, now: Instant) {
        let robots = &mut self.robots;
        self.map.retain(|key, host| {
            // Only the table holds it, and it is locked: no task can take it while this runs.
            let Some(h) = Arc::get_mut(host) else {
                return true;
            };
            for pool in &mut h.pools {
                pool.take();
            }
            if !h.releasable(now) {
                return true;
            }
            if let Some(state) = h.robots.take() {
                let cost = state.robots.cost() + key.len();
                robots.put(key.clone(), state, cost);
            }
            false
        });
        let len = self.map.len();
        self.sweep_at = len + (len / 4).max(SWEEP_GROWTH);
    }
}

#[cfg(test)]
mod tests;
