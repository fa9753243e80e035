//! The crawl's seen-set, exact and compact: every URL key ([`crate::url::key`]) ever queued, held as sorted runs
//! of bare 8-byte keys behind a small hash set of the newest ones.
//!
//! Why not one `HashSet<u64>`: at 10 M keys hashbrown holds 16 M buckets of 9 bytes (151 MB), and the resize that
//! gets it there holds the old table too (226 MB), past W6's whole 200 MB budget. Sorted runs hold 8 bytes a key
//! and never double: the keys are split by their top byte into 256 sorted buckets, and the recent set is merged
//! into them in place, one bucket at a time (the transient copy is 1/256 of the set). Lookups are a hash probe
//! and a binary search in a bucket (~16 steps at 10 M keys). Small crawls (under [`RECENT_MIN`] URLs) never leave
//! the hash set, so they cost what they did before.
//!
//! Exact on keys: nothing is forgotten or approximated (no Bloom filter); the 64-bit key itself is the one
//! approximation, shared with `--resume` and `--since`.

use crate::url::key::SeenSet;

/// The recent set is merged into the runs once it holds this many keys, or 1/16 of the runs if more (so merges
/// stay logarithmic in number: a merge moves the whole run set, ~8 bytes a key).
const RECENT_MIN: usize = 1 << 16;
/// The recent set never grows past this many keys (~16 MB of hash table).
const RECENT_MAX: usize = 1 << 20;
/// Runs are split by the key's top byte.
const BUCKETS: usize = 256;

/// An exact set of URL keys: a recent hash set in front of 256 sorted runs.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    recent: SeenSet,
    runs: Vec<Vec<u64>>,
    in_runs: usize,
    /// The runs' capacity in bytes, kept at each merge (so [`Seen::bytes`] is cheap enough to ask at every insert).
    run_bytes: usize,
}

impl Seen {
    /// Adds a key; false if it was there already.
    pub(crate) fn insert(&mut self, k: u64) -> bool {
        if self.in_runs(k) || !self.recent.insert(k) {
            return false;
        }
        if self.recent.len() >= (self.in_runs / 16).clamp(RECENT_MIN, RECENT_MAX) {
            self.merge();
        }
        true
    }

    /// Whether a key is in the set.
    #[must_use]
    pub(crate) fn contains(&self, k: u64) -> bool {
        self.recent.contains(&k) || self.in_runs(k)
    }

    /// Keys held.
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.recent.len() + self.in_runs
    }

    /// Bytes held, about (for `-v` and the budget's report).
    #[must_use]
    pub(crate) fn bytes(&self) -> usize {
        self.recent.capacity() * 9 + self.run_bytes
    }

    /// Takes every key, sorted, in up to 256 ascending chunks (the recent set merged in first), leaving the set
    /// empty: the disk tier writes the chunks out and frees them one at a time, so no second copy of the set is
    /// ever whole.
    pub(crate) fn take_sorted(&mut self) -> Vec<Vec<u64>> {
        if !self.recent.is_empty() {
            self.merge();
        }
        let runs = std::mem::take(&mut self.runs);
        *self = Seen::default();
        runs
    }

    fn in_runs(&self, k: u64) -> bool {
        self.in_runs > 0 && self.runs[bucket(k)].binary_search(&k).is_ok()
    }

    /// Moves the recent keys into the sorted runs, merging each bucket in place from its end.
    fn merge(&mut self) {
        if self.runs.is_empty() {
            self.runs = vec![Vec::new(); BUCKETS];
        }
        let mut fresh: Vec<u64> = self.recent.drain().collect();
        fresh.sort_unstable();
        self.in_runs += fresh.len();
        let mut start = 0;
        while start < fresh.len() {
            let b = bucket(fresh[start]);
            let end = start + fresh[start..].partition_point(|&k| bucket(k) == b);
            merge_into(&mut self.runs[b], &fresh[start..end]);
            start = end;
        }
        self.run_bytes = self.runs.iter().map(|r| r.capacity() * 8).sum();
        // The table keeps its capacity for the next round: no reallocation while it refills.
    }
}

impl FromIterator<u64> for Seen {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Seen {
        let mut seen = Seen::default();
        for k in iter {
            seen.insert(k);
        }
        seen
    }
}

impl From<SeenSet> for Seen {
    fn from(set: SeenSet) -> Seen {
        set.into_iter().collect()
    }
}

fn bucket(k: u64) -> usize {
    (k >> 56) as usize
}

/// Merges sorted, disjoint `fresh` into sorted `run` in place: grown exactly (no doubling slack), then filled from
/// the back so nothing is copied twice.
fn merge_into(run: &mut Vec<u64>, fresh: &[u64]) {
    let old = run.len();
    run.reserve_exact(fresh.len());
    run.resize(old + fresh.len(), 0);
    let (mut i, mut j, mut w) = (old, fresh.len(), run.len());
    while j > 0 {
        w -= 1;
        if i > 0 && run[i - 1] > fresh[j - 1] {
            run[w] = run[i - 1];
            i -= 1;
        } else {
            run[w] = fresh[j - 1];
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
        /// Exact against a HashSet across merges: keys from a small range repeat, so many inserts hit keys that
        /// sit in the runs, the recent set, or both sides of a merge.
        #[test]
        fn matches_a_hash_set(keys in proptest::collection::vec(any::<u32>(), 0..150_000), bits in 8u32..=32) {
            let mut seen = Seen::default();
            let mut model = HashSet::new();
            for (n, k) in keys.iter().enumerate() {
                // `bits` narrow: keys repeat; the multiply spreads them over every bucket.
                let k = (u64::from(*k) & ((1u64 << bits) - 1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                prop_assert_eq!(seen.insert(k), model.insert(k), "insert #{} of {}", n, k);
            }
            prop_assert_eq!(seen.len(), model.len());
            for k in &model {
                prop_assert!(seen.contains(*k));
            }
            prop_assert!(!seen.contains(u64::MAX - 7) || model.contains(&(u64::MAX - 7)));
        }
    }

    #[test]
    fn holds_about_eight_bytes_a_key_past_the_recent_set() {
        let n = 2_000_000u64;
        let seen: Seen = (0..n)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        assert_eq!(seen.len(), n as usize);
        let per_key = seen.bytes() as f64 / n as f64;
        assert!(per_key < 12.0, "{per_key} bytes a key");
        assert!(seen.contains(5u64.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        assert!(!seen.contains(1));
    }
}
