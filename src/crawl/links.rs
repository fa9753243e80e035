//! `--check-links`' bookkeeping, owned by the scheduler: which pages link each URL whose record is not written
//! yet (so a broken link is reported under every page that holds it, while the URL is fetched once), which
//! `#fragments` pages ask of a page, the anchors of pages already written (for fragments asked later), and the
//! report ([`LinkReport`]).
//!
//! Fragments: a fragment asked before its target's record is written lands in that record's
//! `missing_fragments` and in the report; one asked later (by a page at the same depth or deeper, fetched after
//! the target) is checked against the target's kept anchors and lands in the report only (its record is out).
//!
//! Memory is bounded by the constants below, not by the site: past a cap, what does not fit is counted in the
//! report, never kept. Plain data, no I/O, no async.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use crate::html::scan::anchors::Anchors;
use crate::record::check::{verdict, Accept, LinkReport, Why, LISTED};
use crate::record::Record;
use crate::url::key::{key, KeyHasher};

/// URLs whose linking pages are kept until their record is written (about 64 bytes each); past it a URL's report
/// names only its record's `parent`.
pub(crate) const MAX_TRACKED: usize = 1_000_000;
/// Pages kept per linked URL; more are counted in the report, not listed.
pub(crate) const MAX_REFERRERS: usize = 32;
/// `#fragment` requests waiting for their target's record, all targets together (one request: a fragment and the
/// page asking, ~40 bytes); past it a request is counted as unchecked.
pub(crate) const MAX_ASKED: usize = 100_000;
/// Anchor names kept (8-byte hashes) of written pages, for fragments asked later; past it later requests of pages
/// not kept are counted as unchecked.
pub(crate) const MAX_ANCHORS: usize = 1_000_000;
/// Broken URLs remembered after their record, so pages that link them later are reported too.
pub(crate) const MAX_BROKEN: usize = 100_000;

type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// Pages that link a URL not written yet.
#[derive(Debug, Default)]
struct Linked {
    pages: Vec<Arc<str>>,
    /// Pages past [`MAX_REFERRERS`].
    more: u64,
}

/// The link checker's state for one run.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    accept: Accept,
    waiting: KeyMap<Linked>,
    /// Fragments asked of pages not written yet: (fragment, asking page).
    asked: KeyMap<Vec<(Box<str>, Arc<str>)>>,
    asked_count: usize,
    /// Anchor name hashes of written pages, sorted.
    anchors: KeyMap<Box<[u64]>>,
    anchors_count: usize,
    /// Some page's anchors were not kept (cap): a fragment asked of an unknown page may be one of them.
    anchors_full: bool,
    /// Broken URLs already written, and why.
    broken: KeyMap<Why>,
    report: LinkReport,
}

impl Checker {
    pub(crate) fn new(accept: Accept) -> Checker {
        Checker {
            accept,
            ..Checker::default()
        }
    }

    /// A URL was queued (listed, sitemap or link): its linking pages are kept from now on, within the cap.
    pub(crate) fn track(&mut self, k: u64) {
        if self.waiting.len() < MAX_TRACKED {
            self.waiting.entry(k).or_default();
        }
    }

    /// A parsed page's part, before its record is written: every link it holds is noted under the page, its
    /// own anchors answer the fragments asked of it so far, and its fragment links are checked or kept waiting.
    pub(crate) fn page(&mut self, record: &mut Record, check: bool, anchors: Option<Anchors>) {
        record.checked = Some(check);
        let page: Arc<str> = Arc::from(record.url.as_str());
        for link in &record.links {
            self.linked(key(link), link, &page);
        }
        let Some(anchors) = anchors else {
            return;
        };
        let k = key(&record.url);
        let mut names: Vec<u64> = anchors.names.iter().map(|n| key(n)).collect();
        names.sort_unstable();
        let mut missing = Vec::new();
        for (fragment, asking) in self.asked.remove(&k).unwrap_or_default() {
            self.asked_count -= 1;
            if !has(&names, &fragment) {
                self.report.add(
                    &asking,
                    &format!("{}#{fragment}", record.url),
                    Why::MissingFragment,
                );
                if !missing.iter().any(|m: &String| **m == *fragment) {
                    missing.push(fragment.into_string());
                }
            }
        }
        for (target, fragment) in anchors.fragment_links {
            let t = key(&target);
            if t == k {
                if !has(&names, &fragment) {
                    let link = format!("{target}#{fragment}");
                    self.report.add(&page, &link, Why::MissingFragment);
                    if !missing.contains(&fragment) {
                        missing.push(fragment);
                    }
                }
            } else {
                self.ask(t, &target, fragment, &page);
            }
        }
        record.missing_fragments = Some(missing);
        self.keep_anchors(k, names);
    }

    /// A record is about to be written: its verdict is reported under every page that linked it so far.
    pub(crate) fn written(&mut self, record: &Record) {
        let k = key(&record.url);
        // A page not parsed (not HTML, failed, only checked) has no anchors: fragments asked of it are unchecked
        // by design (documented), not counted as caps.
        if let Some(asked) = self.asked.remove(&k) {
            self.asked_count -= asked.len();
        }
        let linked = self.waiting.remove(&k);
        let Some(why) = verdict(record, &self.accept) else {
            return;
        };
        match linked {
            Some(l) if !l.pages.is_empty() || l.more > 0 => {
                for page in &l.pages {
                    self.report.add(page, &record.url, why);
                }
                self.count_more(l.more, why);
            }
            _ => {
                let holder = record.parent.as_deref().unwrap_or(LISTED);
                self.report.add(holder, &record.url, why);
            }
        }
        if self.broken.len() < MAX_BROKEN {
            self.broken.insert(k, why);
        }
    }

    /// The report, at the run's end.
    pub(crate) fn finish(self) -> LinkReport {
        self.report
    }

    fn linked(&mut self, k: u64, link: &str, page: &Arc<str>) {
        if let Some(l) = self.waiting.get_mut(&k) {
            if l.pages.len() < MAX_REFERRERS {
                if !l.pages.contains(page) {
                    l.pages.push(page.clone());
                }
            } else {
                l.more += 1;
            }
        } else if let Some(why) = self.broken.get(&k).copied() {
            self.report.add(page, link, why);
        }
    }

    /// A fragment asked of another page: checked now when its anchors are kept, else kept until its record.
    fn ask(&mut self, t: u64, target: &str, fragment: String, page: &Arc<str>) {
        if let Some(names) = self.anchors.get(&t) {
            if !has(names, &fragment) {
                let link = format!("{target}#{fragment}");
                self.report.add(page, &link, Why::MissingFragment);
            }
        } else if self.waiting.contains_key(&t) {
            if self.asked_count < MAX_ASKED {
                self.asked_count += 1;
                let asked = self.asked.entry(t).or_default();
                asked.push((fragment.into_boxed_str(), page.clone()));
            } else {
                self.report.fragments_unchecked += 1;
            }
        } else if self.anchors_full {
            self.report.fragments_unchecked += 1;
        }
    }

    fn keep_anchors(&mut self, k: u64, names: Vec<u64>) {
        if self.anchors_count + names.len() <= MAX_ANCHORS {
            self.anchors_count += names.len();
            self.anchors.insert(k, names.into_boxed_slice());
        } else {
            self.anchors_full = true;
        }
    }

    fn count_more(&mut self, more: u64, why: Why) {
        if why.is_broken() {
            self.report.broken += more;
        } else {
            self.report.not_checked += more;
        }
        self.report.unlisted += more;
    }
}

/// Whether `fragment` names one of the sorted anchor hashes: as written, or percent-decoded (as a browser tries
/// both); `top` always does (the top of the document).
fn has(names: &[u64], fragment: &str) -> bool {
    if fragment.eq_ignore_ascii_case("top") || names.binary_search(&key(fragment)).is_ok() {
        return true;
    }
    let decoded = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy();
    decoded != fragment && names.binary_search(&key(&decoded)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ErrorKind;

    fn page(url: &str, links: &[&str]) -> Record {
        let mut r = Record::failed(url, 0, None, ErrorKind::Other, String::new());
        r.error = None;
        r.status = Some(200);
        r.links = links.iter().map(|l| (*l).to_owned()).collect();
        r
    }

    fn anchors(names: &[&str], frags: &[(&str, &str)]) -> Anchors {
        Anchors {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            fragment_links: frags
                .iter()
                .map(|(l, f)| ((*l).to_owned(), (*f).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_broken_link_is_reported_under_every_page_that_holds_it() {
        let mut c = Checker::new(Accept::default());
        let (a, b, gone) = ("http://h.test/a", "http://h.test/b", "http://x.test/gone");
        c.track(key(a));
        c.track(key(gone));
        let mut pa = page(a, &[gone]);
        c.page(&mut pa, false, None);
        c.written(&pa);
        let mut g = page(gone, &[]);
        g.status = Some(404);
        c.page(&mut g, true, None);
        c.written(&g);
        // b links it after its record was written.
        let mut pb = page(b, &[gone]);
        c.page(&mut pb, false, None);
        let rep = c.finish();
        assert_eq!(rep.broken, 2);
        assert_eq!(rep.pages[a][0].why, Why::Status(404));
        assert_eq!(rep.pages[b][0].link, gone);
        assert_eq!((pa.checked, g.checked), (Some(false), Some(true)));
    }

    #[test]
    fn fragments_asked_before_and_after_the_target_is_written() {
        let mut c = Checker::new(Accept::default());
        let (a, t, late) = ("http://h.test/a", "http://h.test/t", "http://h.test/late");
        c.track(key(t));
        let mut pa = page(a, &[t]);
        c.page(
            &mut pa,
            false,
            Some(anchors(
                &["me"],
                &[(t, "ok"), (t, "gone"), (a, "me"), (a, "nope")],
            )),
        );
        assert_eq!(pa.missing_fragments, Some(vec!["nope".to_owned()]));
        let mut pt = page(t, &[]);
        c.page(&mut pt, false, Some(anchors(&["ok", "caf\u{e9}"], &[])));
        assert_eq!(pt.missing_fragments, Some(vec!["gone".to_owned()]));
        c.written(&pt);
        let mut pl = page(late, &[t]);
        c.page(
            &mut pl,
            false,
            Some(anchors(&[], &[(t, "caf%C3%A9"), (t, "top"), (t, "lost")])),
        );
        let rep = c.finish();
        let links =
            |p: &str| -> Vec<String> { rep.pages[p].iter().map(|b| b.link.clone()).collect() };
        assert_eq!(links(a), [format!("{a}#nope"), format!("{t}#gone")]);
        assert_eq!(links(late), [format!("{t}#lost")]);
        assert_eq!(rep.broken, 3);
    }

    #[test]
    fn asks_past_the_cap_are_counted_not_kept() {
        let mut c = Checker::new(Accept::default());
        c.track(key("http://h.test/t"));
        c.asked_count = MAX_ASKED;
        c.ask(
            key("http://h.test/t"),
            "http://h.test/t",
            "f".into(),
            &Arc::from("p"),
        );
        assert_eq!(c.report.fragments_unchecked, 1);
        assert!(c.asked.is_empty());
    }
}
