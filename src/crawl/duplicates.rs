//! The duplicate rule of crawl mode: a page whose body digest equals an earlier page's in this run is reported
//! with `duplicate_of` (the earlier URL) and its links are not followed, so a site that serves one page under
//! many URLs (session ids, calendars, mirrors) is not crawled once per URL.
//!
//! Memory is fixed: an open-addressing table of [`SLOTS`] slots, allocated on first use, remembers at most
//! [`REMEMBERED`] distinct bodies (16-byte digest and the URL first seen with it). When it is full, new bodies are
//! no longer remembered (those already in it still are): a duplicate of such a body is then followed like any
//! page, never wrongly called a duplicate. One owner (the scheduler), no locks.

use std::sync::Arc;

use crate::crawl::CrawlOptions;
use crate::record::Record;
use crate::url::key::key;

/// Slots in the table: a power of two; 48 bytes each, 3 MiB in all (plus the URLs remembered).
pub(crate) const SLOTS: usize = 1 << 16;
/// Distinct bodies remembered at most: 3/4 of [`SLOTS`], so a probe stays short.
pub(crate) const REMEMBERED: usize = SLOTS / 4 * 3;
// `--resume` collects at least as many distinct bodies from FILE as the table remembers.
const _: () = assert!(REMEMBERED <= crate::output::resume::FIRST_BODIES);

/// Digests seen in this run, with the URL of the page that had each first.
#[derive(Debug, Default)]
pub(crate) struct Duplicates {
    slots: Vec<Option<(u128, Arc<str>)>>,
    len: usize,
}

impl Duplicates {
    /// The URL this page duplicates, if any: with `--canonical-dedup`, its canonical URL when that is another URL
    /// already reported or queued (`seen`, asked of the frontier's seen-set); in crawl mode (unless
    /// `--follow-duplicates`; not for a page `--render` rendered), the first page of this run with the same body
    /// digest.
    pub(crate) fn of(
        &mut self,
        cfg: &CrawlOptions,
        record: &Record,
        url: &Arc<str>,
        seen: impl Fn(u64) -> bool,
    ) -> Option<String> {
        if let Some(canonical) = record.canonical.as_deref().filter(|_| cfg.canonical_dedup) {
            // Compared as its links would be: canonicalised by --strip-query/--sort-query.
            let canonical = cfg.query.apply(canonical);
            let other = canonical != record.url.as_str()
                && record.final_url.as_deref() != Some(&*canonical);
            if other && seen(key(&canonical)) {
                return Some(canonical.into_owned());
            }
        }
        // A rendered page's digest is its static body's: the app shell every route of a single-page app shares,
        // so the rule would cut such a site off at its first page (what the browser built differs).
        if cfg.depth == 0 || cfg.follow_duplicates || record.rendered == Some(true) {
            return None;
        }
        let digest = crate::digest::parse(record.digest.as_deref()?)?;
        self.check(digest, url).map(|first| first.to_string())
    }

    /// Puts back the pages of a resumed FILE that were first with their body (in FILE's order, so the table is
    /// the one the interrupted run had when it wrote them), when the rule applies to this run.
    pub(crate) fn resumed(
        &mut self,
        cfg: &CrawlOptions,
        bodies: impl Iterator<Item = (u128, String)>,
    ) {
        if cfg.depth == 0 || cfg.follow_duplicates {
            return;
        }
        for (digest, url) in bodies {
            self.check(digest, &Arc::from(url));
        }
    }

    /// The URL of an earlier page with this digest, or `None` after remembering `url` for it (when there is room).
    pub(crate) fn check(&mut self, digest: u128, url: &Arc<str>) -> Option<Arc<str>> {
        if self.slots.is_empty() {
            self.slots = vec![None; SLOTS];
        }
        // The digest is a good hash already: its low bits pick the slot.
        let mut i = (digest as usize) & (SLOTS - 1);
        loop {
            match &self.slots[i] {
                Some((d, first)) if *d == digest => return Some(first.clone()),
                Some(_) => i = (i + 1) & (SLOTS - 1),
                None => {
                    if self.len < REMEMBERED {
                        self.slots[i] = Some((digest, url.clone()));
                        self.len += 1;
                    }
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_first_url_and_stops_when_full() {
        let mut d = Duplicates::default();
        let a: Arc<str> = "http://h/a".into();
        let b: Arc<str> = "http://h/b".into();
        assert_eq!(d.check(7, &a), None);
        assert_eq!(d.check(7, &b).as_deref(), Some("http://h/a"));
        // Colliding slots (same low bits) are told apart by the whole digest.
        assert_eq!(d.check(7 + (1 << 64), &b), None);
        assert_eq!(d.check(7 + (1 << 64), &a).as_deref(), Some("http://h/b"));
        for n in 0..(REMEMBERED as u128 * 2) {
            d.check(1_000_000 + n, &a);
        }
        assert_eq!(d.len, REMEMBERED);
        assert_eq!(d.slots.len(), SLOTS);
        // Full: a new body is not remembered, an old one still is.
        assert_eq!(d.check(u128::MAX, &a), None);
        assert_eq!(d.check(u128::MAX, &b), None);
        assert_eq!(d.check(7, &b).as_deref(), Some("http://h/a"));
    }
}
