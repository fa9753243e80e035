//! Recent robots.txt results of hosts whose state was released ([`crate::polite::host`]), bounded in bytes: a host that comes
//! back soon gets its rules (and its Crawl-delay limiter) back instead of being asked for robots.txt again. The
//! oldest entries go first once the estimated bytes pass the budget.
//!
//! Generic over the value so the bound is tested without robots; knows nothing of hosts or HTTP.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A first-in, first-out cache whose entries carry a size estimate; the sum stays at most the budget.
#[derive(Debug)]
pub(crate) struct ByteCache<V> {
    entries: HashMap<Arc<str>, (V, usize, u64)>,
    /// Keys in insertion order with the generation they were inserted at (an older generation is stale).
    order: VecDeque<(Arc<str>, u64)>,
    bytes: usize,
    budget: usize,
    generation: u64,
}

impl<V> ByteCache<V> {
    #[must_use]
    pub(crate) fn new(budget: usize) -> ByteCache<V> {
        ByteCache {
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
            generation: 0,
        }
    }

    /// Keeps `value` (estimated at `bytes`, the key included by the caller) under `key`, evicting the oldest
    /// entries until it fits. A value larger than the whole budget is not kept.
    pub(crate) fn put(&mut self, key: Arc<str>, value: V, bytes: usize) {
        self.take(&key);
        if bytes > self.budget {
            return;
        }
        while self.bytes + bytes > self.budget {
            if !self.evict_oldest() {
                break;
            }
        }
        self.generation += 1;
        self.order.push_back((key.clone(), self.generation));
        self.entries.insert(key, (value, bytes, self.generation));
        self.bytes += bytes;
        // Stale order entries (keys taken or replaced) are dropped once they outnumber live ones.
        if self.order.len() > 2 * self.entries.len() + 16 {
            let entries = &self.entries;
            self.order
                .retain(|(k, g)| entries.get(k).is_some_and(|(_, _, live)| live == g));
        }
    }

    /// Removes and returns the value kept under `key`.
    pub(crate) fn take(&mut self, key: &str) -> Option<V> {
        let (value, bytes, _) = self.entries.remove(key)?;
        self.bytes -= bytes;
        Some(value)
    }

    #[cfg(test)]
    /// Estimated bytes kept.
    #[must_use]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    #[cfg(test)]
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn evict_oldest(&mut self) -> bool {
        while let Some((key, generation)) = self.order.pop_front() {
            let live = self
                .entries
                .get(&key)
                .is_some_and(|(_, _, g)| *g == generation);
            if live {
                self.take(&key);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_stay_within_the_budget_and_the_oldest_go_first() {
        let mut c = ByteCache::new(1_000);
        for i in 0..100 {
            c.put(format!("h{i}").into(), i, 150);
            assert!(c.bytes() <= 1_000, "{} bytes after {i}", c.bytes());
        }
        assert_eq!(c.len(), 6);
        assert_eq!(c.take("h99"), Some(99));
        assert_eq!(c.take("h94"), Some(94));
        assert_eq!(c.take("h93"), None, "evicted");
        assert_eq!(c.bytes(), 4 * 150);
    }

    #[test]
    fn replacing_and_taking_keep_the_count_right() {
        let mut c = ByteCache::new(1_000);
        c.put("a".into(), 1, 400);
        c.put("a".into(), 2, 500);
        assert_eq!(c.bytes(), 500);
        c.put("b".into(), 3, 400);
        c.put("c".into(), 4, 100);
        assert_eq!(c.bytes(), 1_000, "exactly the budget");
        // "d" pushes out "a" (its stale first entry is skipped, not counted twice), and only "a".
        c.put("d".into(), 5, 1);
        assert_eq!(c.take("a"), None);
        assert_eq!(c.take("b"), Some(3));
        assert_eq!(c.bytes(), 101);
        c.put("huge".into(), 6, 1_001);
        assert_eq!(c.take("huge"), None, "larger than the budget: not kept");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn stale_order_entries_do_not_grow_without_bound() {
        let mut c = ByteCache::new(10_000);
        for i in 0..10_000 {
            c.put("same".into(), i, 10);
        }
        assert!(c.order.len() <= 2 * c.len() + 17);
        assert_eq!(c.bytes(), 10);
    }
}
