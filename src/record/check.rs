//! `--check-links`' rules, pure: which statuses count as OK ([`Accept`], `--accept`), what a record says about the
//! link it is for ([`verdict`]), and the broken-links report the run ends with ([`LinkReport`]).
//!
//! The scheduler (`crate::crawl`) decides which links are checked and keeps who links what; the shell prints the
//! report and picks the exit code from it. Must not do I/O.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::record::{ErrorKind, Record};

/// `--accept`'s default: the 2xx statuses.
pub(crate) const DEFAULT_ACCEPT: &str = "200..299";
/// (page, link) entries the report keeps; more are counted, not listed, so a site of broken links cannot fill
/// memory with them.
pub(crate) const MAX_REPORTED: usize = 10_000;
/// What the report lists listed URLs under (they are held by the input, not a page).
pub(crate) const LISTED: &str = "(listed in the input)";

/// The statuses that count as OK: `--accept 200..299,403` (inclusive ranges and single statuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept(Vec<(u16, u16)>);

impl Accept {
    /// Parses `A..B` ranges and single statuses, comma-separated, each within 100..=999.
    ///
    /// # Errors
    /// A message naming the part that is not a status or a range.
    pub fn parse(list: &str) -> Result<Accept, String> {
        let status = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|n| (100..=999).contains(n))
                .ok_or_else(|| format!("{:?} is not an HTTP status (100 to 999)", s.trim()))
        };
        let mut ranges = Vec::new();
        for part in list.split(',').filter(|p| !p.trim().is_empty()) {
            let range = match part.split_once("..") {
                Some((a, b)) => (status(a)?, status(b.trim_start_matches('='))?),
                None => (status(part)?, status(part)?),
            };
            if range.0 > range.1 {
                return Err(format!("{:?}: the range is empty", part.trim()));
            }
            ranges.push(range);
        }
        if ranges.is_empty() {
            return Err("no status given".into());
        }
        Ok(Accept(ranges))
    }

    /// Whether `status` counts as OK.
    #[must_use]
    pub fn accepts(&self, status: u16) -> bool {
        self.0.iter().any(|(a, b)| (*a..=*b).contains(&status))
    }
}

impl Default for Accept {
    fn default() -> Accept {
        Accept(vec![(200, 299)])
    }
}

/// Why a link is in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// A final status `--accept` does not accept.
    Status(u16),
    /// No (whole) response: the error's kind.
    Error(ErrorKind),
    /// The target page has no `id` or `<a name>` for the link's `#fragment`.
    MissingFragment,
    /// Not checked: robots.txt or the address guard kept crawlfish from asking (not broken, not counted).
    NotChecked(ErrorKind),
}

impl Why {
    /// Whether the link counts as broken (for the exit code): anything but [`Why::NotChecked`].
    #[must_use]
    pub fn is_broken(self) -> bool {
        !matches!(self, Why::NotChecked(_))
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Status(s) => write!(f, "{s}"),
            Why::Error(kind) => write!(f, "{kind}"),
            Why::MissingFragment => f.write_str("missing fragment"),
            Why::NotChecked(kind) => write!(f, "not checked: {kind}"),
        }
    }
}

/// What a record says about its URL as a link: `None` when it is OK.
#[must_use]
pub(crate) fn verdict(r: &Record, accept: &Accept) -> Option<Why> {
    if let Some(e) = &r.error {
        return Some(match e.kind {
            ErrorKind::RobotsDisallowed | ErrorKind::BlockedAddress => Why::NotChecked(e.kind),
            kind => Why::Error(kind),
        });
    }
    match r.status {
        Some(s) if accept.accepts(s) => None,
        Some(s) => Some(Why::Status(s)),
        // A record has a status or an error; this is only reached by a record built without either.
        None => Some(Why::Error(ErrorKind::Other)),
    }
}

/// One link in the report: the link as the page had it (with its `#fragment` for a missing one) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLink {
    /// The link, with the `#fragment` when that is what is missing.
    pub link: String,
    /// Why it is in the report.
    pub why: Why,
}

/// The broken (and unchecked) links of a `--check-links` run, grouped by the page that holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkReport {
    /// Page URL (or [`LISTED`]) → its bad links, in the order they were found; at most [`MAX_REPORTED`] in all.
    pub pages: BTreeMap<String, Vec<BadLink>>,
    /// (page, link) pairs that are broken, listed or not: the exit code is 1 when this is not 0.
    pub broken: u64,
    /// (page, link) pairs not checked (robots.txt, the address guard).
    pub not_checked: u64,
    /// Pairs counted but not listed (past [`MAX_REPORTED`]).
    pub unlisted: u64,
    /// `#fragment` links that could not be checked (memory caps reached: see `crate::crawl`).
    pub fragments_unchecked: u64,
    /// Entries in `pages`, kept so that adding one is not a walk over them all.
    #[serde(skip)]
    listed: usize,
}

impl LinkReport {
    /// Adds `link` on `page`, unless the same pair is already there.
    pub fn add(&mut self, page: &str, link: &str, why: Why) {
        if let Some(links) = self.pages.get(page) {
            if links.iter().any(|b| b.link == link) {
                return;
            }
        }
        if why.is_broken() {
            self.broken += 1;
        } else {
            self.not_checked += 1;
        }
        if self.listed >= MAX_REPORTED {
            self.unlisted += 1;
            return;
        }
        self.listed += 1;
        self.pages
            .entry(page.to_owned())
            .or_default()
            .push(BadLink {
                link: link.to_owned(),
                why,
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_parses_ranges_and_statuses() {
        let a = Accept::parse("200..299, 403").unwrap();
        assert!(a.accepts(200) && a.accepts(299) && a.accepts(403));
        assert!(!a.accepts(300) && !a.accepts(404) && !a.accepts(199));
        assert_eq!(Accept::parse(DEFAULT_ACCEPT).unwrap(), Accept::default());
        assert!(Accept::parse("200..=204").unwrap().accepts(204));
        for bad in ["", "2xx", "299..200", "99", "1000", "200..", ","] {
            assert!(Accept::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn verdicts() {
        let accept = Accept::default();
        let mut r = Record::failed("http://a.test/", 1, None, ErrorKind::Connect, "x".into());
        assert_eq!(verdict(&r, &accept), Some(Why::Error(ErrorKind::Connect)));
        r.error.as_mut().unwrap().kind = ErrorKind::RobotsDisallowed;
        let why = verdict(&r, &accept).unwrap();
        assert!(!why.is_broken());
        r.error = None;
        r.status = Some(204);
        assert_eq!(verdict(&r, &accept), None);
        r.status = Some(404);
        assert_eq!(verdict(&r, &accept), Some(Why::Status(404)));
        assert_eq!(verdict(&r, &Accept::parse("404").unwrap()), None);
    }

    #[test]
    fn the_report_dedups_pairs_and_counts_past_its_cap() {
        let mut rep = LinkReport::default();
        rep.add("p", "l", Why::Status(404));
        rep.add("p", "l", Why::Status(404));
        rep.add("p", "r", Why::NotChecked(ErrorKind::RobotsDisallowed));
        assert_eq!(
            (rep.broken, rep.not_checked, rep.pages["p"].len()),
            (1, 1, 2)
        );
        for i in 0..MAX_REPORTED {
            rep.add("q", &i.to_string(), Why::MissingFragment);
        }
        assert_eq!(rep.unlisted, 2);
        assert_eq!(rep.broken, 1 + MAX_REPORTED as u64);
    }
}
