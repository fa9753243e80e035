//! `--max-inflight-bytes`: one byte budget for the response bodies of the whole run. `--max-body` caps one body;
//! without an overall cap, `-c` bodies at `--max-body` each may all be in memory at once (64 endless pages at
//! the 10 MiB default reached 780 MB). The body reader takes budget chunk by chunk ([`Held::take`]) and the
//! response keeps it until the record is built (parse and archive included), so bodies past the cap wait for
//! others to end.
//!
//! Never a deadlock: when the budget is spent, every body waiting for more holds some of it, and none could end.
//! So one body at a time, the *lead*, may read on past the cap (still only up to `--max-body`): it ends and
//! gives its bytes back, and the next waiting body becomes the lead. Bytes in flight are therefore at most the
//! cap plus one body's `--max-body`, and a body bigger than the cap still completes.
//!
//! Must not decide what is fetched; it only paces the reading of bodies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// `--max-inflight-bytes`'s default: 256 MiB, 25 bodies at the `--max-body` default.
pub(crate) const DEFAULT_MAX_INFLIGHT_BYTES: u64 = 256 << 20;

/// The run's budget (one, shared by every client).
#[derive(Debug)]
pub(crate) struct Budget {
    /// One permit a byte.
    bytes: Semaphore,
    /// One permit: the body that may go past the cap.
    lead: Arc<Semaphore>,
    cap: usize,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl Budget {
    #[must_use]
    pub(crate) fn new(cap: u64) -> Arc<Budget> {
        let cap = usize::try_from(cap)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Arc::new(Budget {
            bytes: Semaphore::new(cap),
            lead: Arc::new(Semaphore::new(1)),
            cap,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    /// A body's share, empty until it takes some.
    #[must_use]
    pub(crate) fn hold(self: &Arc<Self>) -> Held {
        Held {
            budget: self.clone(),
            bytes: 0,
            over: 0,
            lead: None,
        }
    }

    /// The most body bytes that were in flight at once, the lead's included.
    #[must_use]
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// The cap.
    #[must_use]
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    fn count(&self, n: usize) {
        let now = self.in_flight.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

/// What one body holds of the budget; given back when dropped.
#[derive(Debug)]
pub(crate) struct Held {
    budget: Arc<Budget>,
    /// Bytes taken from the budget.
    bytes: usize,
    /// Bytes read past the cap as the lead.
    over: usize,
    lead: Option<OwnedSemaphorePermit>,
}

impl Held {
    /// Takes `n` more bytes: from the budget, waiting for it; or, when the budget is spent and no other body
    /// leads, as the lead (see the module notes).
    pub(crate) async fn take(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let budget = self.budget.clone();
        let want = u32::try_from(n).ok().filter(|_| n <= budget.cap);
        if let Some(want) = want {
            if let Ok(p) = budget.bytes.try_acquire_many(want) {
                return self.took(p, n);
            }
            if self.lead.is_none() {
                tokio::select! {
                    biased;
                    // Never closed: an error reads on (as the lead would) rather than stall.
                    p = budget.bytes.acquire_many(want) => if let Ok(p) = p {
                        return self.took(p, n);
                    },
                    lead = budget.lead.clone().acquire_owned() => self.lead = lead.ok(),
                }
            }
        } else if self.lead.is_none() {
            // More than the whole budget at once: only the lead may hold it.
            self.lead = budget.lead.clone().acquire_owned().await.ok();
        }
        self.over += n;
        budget.count(n);
    }

    fn took(&mut self, permit: tokio::sync::SemaphorePermit<'_>, n: usize) {
        permit.forget(); // given back by `Drop`, all at once
        self.bytes += n;
        self.budget.count(n);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.bytes.add_permits(self.bytes);
        self.budget
            .in_flight
            .fetch_sub(self.bytes + self.over, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_past_the_cap_wait_and_one_lead_goes_on() {
        let budget = Budget::new(100);
        let mut a = budget.hold();
        let mut b = budget.hold();
        a.take(60).await;
        b.take(40).await;
        // Spent: `a` asks for more and becomes the lead (no deadlock), `b` must then wait.
        a.take(500).await;
        assert_eq!(a.over, 500);
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), b.take(10)).await;
        assert!(waiting.is_err(), "a second body went past the cap");
        drop(a);
        b.take(10).await;
        assert_eq!((b.bytes, b.over), (50, 0));
        assert_eq!(budget.peak(), 600);
        drop(b);
        assert_eq!(budget.in_flight.load(Ordering::Relaxed), 0);
        assert_eq!(budget.bytes.available_permits(), 100);
    }
}
