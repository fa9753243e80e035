//! `--since FILE` (and `--state`'s `latest.jsonl`): what an earlier run found, as far as this run needs it. It
//! owns the index of FILE, the validators a request may carry ([`Since::conditional`]), the record fields a 304
//! carries over ([`Since::carry`]) and the one rule that decides `change` ([`Since::change`]).
//!
//! FILE passes the same checks as a `--resume` file ([`crate::output::resume`]: crawlfish's own output, a line cap), but is
//! only read, never cut. Memory is bounded by what the comparison needs ([`index`]): per URL 32 bytes (a hash key,
//! where its line starts in FILE, its status, 64 bits of its digest) and, when a request may carry them, its
//! validators and the key of its final URL (~21 bytes for a typical pair): under 70 bytes a URL, measured in
//! `bench/README.md`. Titles, links and extracts stay in FILE: a 304 reads its one line back from there, so
//! crawl mode goes on through unchanged pages without holding every page's links.
//!
//! Must not make requests, write records or decide exit codes.

mod earlier;
mod index;

pub(crate) use earlier::Earlier;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::net::fetch::Validators;
use crate::output::resume::{present, scan_lines, Scan, MAX_RECORD_LINE};
use crate::record::{Change, Extract, Hreflang, Record};
use crate::url::key::key;
use crate::url::without_userinfo;
use index::{Date, Index, Slot, Stored, FAILED, NO_DIGEST, OTHER_DIGEST};

/// Validators longer than this are not kept (nor sent): real ones are tens of bytes, and memory is per URL.
const MAX_VALIDATOR_BYTES: usize = 512;

/// A line of FILE, as far as the index needs it. The fields without `serde(default)` must be present (as for
/// `--resume`); `etag`, `last_modified` and `digest` may be missing (records of older crawlfish versions).
#[derive(Deserialize)]
struct Line {
    url: String,
    #[serde(rename = "depth")]
    _depth: u32,
    #[serde(deserialize_with = "present")]
    status: Option<u16>,
    #[serde(deserialize_with = "present")]
    final_url: Option<String>,
    #[serde(rename = "attempts")]
    _attempts: u32,
    #[serde(deserialize_with = "present")]
    error: Option<IgnoredAny>,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    last_modified: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    truncated: bool,
    /// Only its names (in order) are kept: a 304 may carry it only when they are this run's `--select` names.
    #[serde(default, deserialize_with = "ordered_extract")]
    extract: Option<Extract>,
}

/// The digest of a record as the index keeps it: its flag and the low 64 bits of xxh3-128 ([`Slot::digest`]).
fn digest_of(s: Option<&str>) -> (u8, u64) {
    match s {
        None => (NO_DIGEST, 0),
        Some(s) => crate::digest::parse(s).map_or((OTHER_DIGEST, 0), |d| (0, d as u64)),
    }
}

/// The validators a request for one URL carries, and the key of the URL they belong to (the final URL of the
/// earlier run: a redirect hop to another URL never carries them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conditional<'a> {
    pub target: u64,
    etag: Option<&'a str>,
    /// Held by value: a canonical date is kept as seconds and formatted back here.
    date: Date<'a>,
}

impl Conditional<'_> {
    /// The validators, as the request carries them.
    #[must_use]
    pub(crate) fn validators(&self) -> Validators<'_> {
        Validators {
            etag: self.etag,
            last_modified: match &self.date {
                Date::None => None,
                Date::Raw(d) => Some(d),
                Date::Fixed(d) => std::str::from_utf8(d).ok(),
            },
        }
    }
}

/// What a 304 carries over from FILE.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Carried {
    url: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(default, deserialize_with = "ordered_extract")]
    pub extract: Option<Extract>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
    /// Missing in records of older versions: then unknown, and taken as "may follow".
    #[serde(default)]
    pub meta_nofollow: bool,
    /// The indexing fields (null or empty in records of older versions, or left out by `--fields`).
    #[serde(default)]
    pub canonical: Option<String>,
    #[serde(default)]
    pub robots: Vec<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub hreflang: Vec<Hreflang>,
}

/// The earlier run: FILE (kept open to read a 304's line back) and its index.
#[derive(Debug, Default)]
pub(crate) struct Since {
    file: Option<File>,
    index: Index,
    /// The earlier run's archive, when known ([`earlier`]).
    archive: Option<std::path::PathBuf>,
}

impl Since {
    /// No earlier run (`--state`'s first run): every URL is `new`.
    #[must_use]
    pub(crate) fn empty() -> Since {
        Since::default()
    }

    #[cfg(test)]
    /// Reads FILE for `flag` after checking it is crawlfish's own output (a torn last line is left out).
    ///
    /// # Errors
    /// FILE is missing, not a regular file, not crawlfish's output, or unreadable: a usage error naming it.
    pub(crate) fn open(path: &Path, flag: &str) -> Result<Since> {
        Since::open_for(path, flag, &[])
    }

    /// `Since::open` (test-only) for a run whose `--select` names are `select`: an earlier record is asked about (and a 304
    /// answered from it) only when it was extracted with the same names, in the same order, and its body was
    /// not cut at `--max-body` (a 304 must not make a partial page look whole).
    ///
    /// # Errors
    /// The file is missing, unreadable, or not crawlfish's output.
    pub(crate) fn open_for(path: &Path, flag: &str, select: &[&str]) -> Result<Since> {
        let want = names_key(select.iter().copied());
        let name = path.display();
        let file = crate::output::resume::open_regular(path, flag)?;
        let mut index = Index::for_file(file.metadata().map_or(0, |m| m.len()));
        let scan = scan_lines(&file, |line, offset| {
            let l: Line = serde_json::from_slice(line).map_err(|e| e.to_string())?;
            add(&mut index, &l, offset, want);
            Ok(())
        })
        .with_context(|| format!("{flag}: cannot read {name}"))?;
        if let Scan::Foreign(why) = scan {
            bail!(
                "{flag}: {name} is not crawlfish's output ({why}); give the output file of an earlier crawlfish run"
            );
        }
        index.finish();
        Ok(Since {
            file: Some(file),
            index,
            archive: None,
        })
    }

    /// The validators for a request for `url`: only when the earlier record was a 2xx or a 304 that had some.
    #[must_use]
    pub(crate) fn conditional(&self, url: &str) -> Option<Conditional<'_>> {
        let v = self.index.validators(self.index.get(key(url))?)?;
        Some(Conditional {
            target: v.target,
            etag: v.etag,
            date: v.date,
        })
    }

    /// What a 304 for `url` carries over: its earlier line, read back from FILE (off the runtime's threads: a
    /// line may be megabytes of links). `None` when FILE has no such record or it cannot be read back.
    pub(crate) async fn carry(self: &Arc<Self>, url: &str) -> Option<Carried> {
        let offset = self.index.get(key(url))?.offset;
        let me = self.clone();
        let wanted = url.to_owned();
        let read = tokio::task::spawn_blocking(move || {
            let line = read_line_at(me.file.as_ref()?, offset)?;
            let carried: Carried = serde_json::from_slice(&line).ok()?;
            (without_userinfo(&carried.url) == wanted).then_some(carried)
        });
        let carried = read.await.ok().flatten();
        if carried.is_none() {
            tracing::warn!(
                url,
                "--since: the earlier record could not be read back; nothing carried over"
            );
        }
        carried
    }

    /// `change` for a record of this run: `new` when FILE has no record for its URL; `unchanged` for a 304, or
    /// the same status (a 2xx now after a 304 then counts as the same) and the same digest; else `changed` (an
    /// error now or then included).
    #[must_use]
    pub(crate) fn change(&self, r: &Record) -> Change {
        let Some(e) = self.index.get(key(&r.url)) else {
            return Change::New;
        };
        if r.error.is_some() || e.flags & FAILED != 0 {
            return Change::Changed;
        }
        if r.status == Some(NOT_MODIFIED) && e.has_validators() {
            // The answer to our conditional request (an unsolicited 304 is compared like any status).
            return Change::Unchanged;
        }
        let same_status = r.status == e.status()
            || (e.status() == Some(NOT_MODIFIED)
                && r.status.is_some_and(|s| (200..300).contains(&s)));
        let kept = (e.flags & (NO_DIGEST | OTHER_DIGEST), e.digest);
        let (flag, digest) = digest_of(r.digest.as_deref());
        // An earlier digest of another algorithm never equals one this version makes.
        if same_status && flag & OTHER_DIGEST == 0 && kept == (flag, digest) {
            Change::Unchanged
        } else {
            Change::Changed
        }
    }
}

/// The status of an answer to a conditional request that says "what you have is current".
pub(crate) const NOT_MODIFIED: u16 = 304;

/// A key for a list of `--select` names, in order (no `--select`: the empty list).
fn names_key<'a>(names: impl Iterator<Item = &'a str>) -> u64 {
    let mut joined = String::new();
    for n in names {
        joined.push_str(n);
        joined.push('\0');
    }
    key(&joined)
}

/// Adds one line of FILE to the index (keyed without userinfo: files of versions that kept it still match).
fn add(index: &mut Index, l: &Line, offset: u64, want_select: u64) {
    fn keep(v: Option<&String>) -> Option<&str> {
        v.filter(|v| v.len() <= MAX_VALIDATOR_BYTES)
            .map(String::as_str)
    }
    let had = names_key(
        l.extract
            .iter()
            .flat_map(|x| x.0.iter().map(|(n, _)| n.as_str())),
    );
    let ok = l.error.is_none()
        && !l.truncated
        && had == want_select
        && l.status
            .is_some_and(|s| (200..300).contains(&s) || s == NOT_MODIFIED);
    let k = key(&without_userinfo(&l.url));
    let (etag, last_modified) = (keep(l.etag.as_ref()), keep(l.last_modified.as_ref()));
    let stored = (ok && (etag.is_some() || last_modified.is_some())).then(|| Stored {
        target: l
            .final_url
            .as_deref()
            .map_or(k, |f| key(&without_userinfo(f))),
        etag,
        date: last_modified.map_or(Date::None, Date::Raw),
    });
    let (flag, digest) = digest_of(l.digest.as_deref());
    let failed = if l.error.is_some() { FAILED } else { 0 };
    index.push(
        Slot::new(k, offset, l.status, flag | failed, digest),
        stored,
    );
}

/// The line of FILE that starts at `offset` (up to its `\n`, at most [`MAX_RECORD_LINE`] bytes).
fn read_line_at(file: &File, offset: u64) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    while line.len() < MAX_RECORD_LINE {
        let n = file.read_at(&mut buf, offset + line.len() as u64).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = memchr::memchr(b'\n', &buf[..n]) {
            line.extend_from_slice(&buf[..=end]);
            return Some(line);
        }
        line.extend_from_slice(&buf[..n]);
    }
    None
}

/// `extract` read back in its written order (a JSON object's keys, in order: `serde_json`'s map would sort them).
fn ordered_extract<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Extract>, D::Error> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Option<Extract>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an extract object or null")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, Vec<String>>()? {
                out.push(entry);
            }
            Ok(Some(Extract(out)))
        }
    }
    d.deserialize_any(Ordered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ErrorKind;

    fn line(url: &str, status: u16, etag: &str, digest: Option<String>) -> String {
        let digest = digest.map_or("null".into(), |d| format!("\"{d}\""));
        format!(
            "{{\"url\":\"{url}\",\"final_url\":\"{url}\",\"status\":{status},\"depth\":0,\"title\":\"T\",\
             \"links\":[\"{url}x\"],\"attempts\":1,\"error\":null,\"extract\":{{\"b\":[\"1\"],\"a\":[]}},\
             \"etag\":{etag},\"last_modified\":null,\"digest\":{digest}}}\n"
        )
    }

    fn record(url: &str, status: Option<u16>, body: &[u8]) -> Record {
        let mut r = Record::failed(url, 0, None, ErrorKind::Other, String::new());
        r.error = None;
        r.status = status;
        r.digest = crate::digest::of(body);
        r
    }

    fn since(text: &str) -> (Arc<Since>, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("crawlfish-since-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.jsonl", key(text)));
        std::fs::write(&path, text).unwrap();
        (
            Arc::new(Since::open_for(&path, "--since", &["b", "a"]).unwrap()),
            path,
        )
    }

    #[tokio::test]
    async fn change_rule_conditionals_and_carry() {
        let body = b"<title>T</title>";
        let text = line("http://a.test/1", 200, "\"v1\"", crate::digest::of(body))
            + &line("http://a.test/2", 404, "\"v2\"", None)
            + "{\"url\":\"http://a.test/3\",\"final_url\":null,\"status\":200,\"depth\":0,\"attempts\":1,\"error\":null}\n"
            + "{\"url\":\"http://a.test/torn";
        let (s, path) = since(&text);
        let c = s.conditional("http://a.test/1").unwrap();
        assert_eq!(c.validators().etag, Some("v1"));
        assert_eq!(c.target, key("http://a.test/1"));
        assert!(
            s.conditional("http://a.test/2").is_none(),
            "a 404's validators are not used"
        );
        assert!(
            s.conditional("http://a.test/3").is_none(),
            "an older record without validators"
        );

        let ch = |r: &Record| s.change(r);
        assert_eq!(
            ch(&record("http://a.test/new", Some(200), body)),
            Change::New
        );
        assert_eq!(
            ch(&record("http://a.test/torn", Some(200), body)),
            Change::New
        );
        assert_eq!(
            ch(&record("http://a.test/1", Some(304), b"")),
            Change::Unchanged
        );
        assert_eq!(
            ch(&record("http://a.test/1", Some(200), body)),
            Change::Unchanged
        );
        assert_eq!(
            ch(&record("http://a.test/1", Some(200), b"other")),
            Change::Changed
        );
        assert_eq!(
            ch(&record("http://a.test/1", Some(500), body)),
            Change::Changed
        );
        assert_eq!(
            ch(&record("http://a.test/2", Some(404), b"")),
            Change::Unchanged
        );
        assert_eq!(
            ch(&record("http://a.test/3", Some(200), b"")),
            Change::Unchanged,
            "missing digest is null"
        );
        let failed = Record::failed("http://a.test/1", 0, None, ErrorKind::Dns, String::new());
        assert_eq!(ch(&failed), Change::Changed);

        let carried = s.carry("http://a.test/1").await.unwrap();
        assert_eq!(carried.title.as_deref(), Some("T"));
        assert_eq!(carried.links, ["http://a.test/1x"]);
        assert_eq!(carried.digest, crate::digest::of(body));
        let extract = carried.extract.unwrap();
        assert_eq!(extract.0[0].0, "b", "extract keeps its order");
        assert!(s.carry("http://a.test/none").await.is_none());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn foreign_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("crawlfish-since-f-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("theirs.jsonl");
        std::fs::write(&path, "{\"id\":1}\n").unwrap();
        let e = Since::open(&path, "--since").unwrap_err();
        assert!(format!("{e:#}").contains("not crawlfish's output"), "{e:#}");
        assert!(Since::open(&dir.join("missing"), "--since").is_err());
        assert!(Since::open(&dir, "--since").is_err(), "a directory");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
