//! The `--fields` / `--no-links` selection ([`Fields`]), which the writer applies when it serialises a record, and the record's published JSON Schema ([`RECORD_SCHEMA`], `schema/record.schema.json`).
//!
//! A run without `--fields` or `--no-links` never comes here: the writer serialises [`Record`] directly, so the
//! default path costs nothing. Must not do I/O.

use anyhow::{bail, Result};
use serde::ser::SerializeMap;

use crate::record::Record;

/// The JSON Schema (draft 2020-12) of a record, as `crawlfish --schema` prints it.
pub const RECORD_SCHEMA: &str = include_str!("../../schema/record.schema.json");

/// The fields `--resume` reads back from its file ([`crate::output::resume`]), and `--since`/`--state` from theirs.
pub(crate) const RESUME_NEEDS: [&str; 6] =
    ["url", "final_url", "status", "depth", "attempts", "error"];
/// What `--since` and `--state` read on top: the validators, the digest, and what a 304 carries over.
const SINCE_NEEDS: [&str; 8] = [
    "meta_nofollow",
    "etag",
    "last_modified",
    "digest",
    "title",
    "links",
    "extract",
    "change",
];

impl Record {
    /// The record's fields in contract order (`extract` only with `--select`, `change` only with `--since`,
    /// `headers` only with `--headers`, `warc_offset` only with `--warc`, `checked` and `missing_fragments` only with `--check-links`,
    /// `rendered`/`render_ms` only with `--render`, `screenshot` only with `--screenshot`, `saved` only with
    /// `--save`, `content` only with `--content`). README's
    /// schema is checked against it.
    pub const FIELDS: [&'static str; 38] = [
        "url",
        "final_url",
        "status",
        "depth",
        "parent",
        "content_type",
        "bytes",
        "truncated",
        "title",
        "links",
        "fetched_at",
        "elapsed_ms",
        "attempts",
        "error",
        "extract",
        "redirects",
        "etag",
        "last_modified",
        "digest",
        "change",
        "ip",
        "http_version",
        "headers",
        "warc_offset",
        "meta_nofollow",
        "checked",
        "missing_fragments",
        "rendered",
        "render_ms",
        "screenshot",
        "canonical",
        "robots",
        "lang",
        "description",
        "hreflang",
        "duplicate_of",
        "saved",
        "content",
    ];
}

/// The record fields to print, as a bit per index of [`Record::FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields(u64);

impl Fields {
    /// `--fields LIST` (comma-separated names) and `--no-links`; `None` when every field is printed.
    ///
    /// # Errors
    /// A name that is not a record field (the message names it and lists the fields).
    pub fn parse(list: Option<&str>, no_links: bool) -> Result<Option<Fields>> {
        let mut fields = match list {
            None => Fields::all(),
            Some(list) => {
                let mut fields = Fields(0);
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let Some(i) = Record::FIELDS.iter().position(|f| *f == name) else {
                        bail!(
                            "--fields: unknown field {name:?} (fields: {})",
                            Record::FIELDS.join(",")
                        );
                    };
                    fields.0 |= 1 << i;
                }
                if fields.0 == 0 {
                    bail!("--fields: no field named");
                }
                fields
            }
        };
        if no_links {
            fields.remove("links");
        }
        Ok((fields != Fields::all()).then_some(fields))
    }

    fn all() -> Fields {
        Fields((1 << Record::FIELDS.len()) - 1)
    }

    fn bit(name: &str) -> u64 {
        Record::FIELDS
            .iter()
            .position(|f| *f == name)
            .map_or(0, |i| 1 << i)
    }

    fn remove(&mut self, name: &str) {
        self.0 &= !Fields::bit(name);
    }

    /// Adds back what reading this output again needs: `--resume` (and `meta_nofollow` when crawling deeper, and
    /// `warc_offset` with `--warc`, which says whether the response is archived), and with `--since`/`--state` what
    /// the next comparison reads. Returns `self` unchanged when nothing is read back.
    #[must_use]
    pub fn forced(mut self, resume: bool, since: bool, depth: u32, warc: bool) -> Fields {
        if resume || since {
            for f in RESUME_NEEDS {
                self.0 |= Fields::bit(f);
            }
            // A crawl's `-o FILE` is resumed from its links journal (`output::journal`), not from `links`; a
            // FILE written before journals is the exception, decided when it is opened ([`Fields::with_links`]).
            // `--since`/`--state` read `links` back: a 304 carries the earlier record's links over.
            if depth > 0 {
                self.0 |= Fields::bit("meta_nofollow");
            }
            if depth > 0 && since {
                self.0 |= Fields::bit("links");
            }
            if warc {
                self.0 |= Fields::bit("warc_offset");
            }
        }
        if since {
            for f in SINCE_NEEDS {
                self.0 |= Fields::bit(f);
            }
        }
        self
    }

    /// With `links` (and `meta_nofollow`): a resumed FILE without a links journal is resumed from its records'
    /// links, so the records this run adds must carry them too.
    #[must_use]
    pub fn with_links(mut self) -> Fields {
        self.0 |= Fields::bit("links") | Fields::bit("meta_nofollow");
        self
    }

    #[must_use]
    pub fn has(self, name: &str) -> bool {
        self.0 & Fields::bit(name) != 0
    }

    /// Writes `record` as one JSON object holding only these fields, in record order.
    ///
    /// # Errors
    /// The record cannot be serialised.
    pub fn write(self, out: &mut Vec<u8>, record: &Record) -> serde_json::Result<()> {
        let serde_json::Value::Object(mut all) = serde_json::to_value(record)? else {
            return Ok(());
        };
        let mut map = serde_json::Serializer::new(out);
        let mut obj = serde::Serializer::serialize_map(&mut map, None)?;
        for (i, name) in Record::FIELDS.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if let Some(value) = all.remove(*name) {
                    obj.serialize_entry(name, &value)?;
                }
            }
        }
        obj.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ErrorKind, Headers};
    use reqwest::header::HeaderMap;

    #[test]
    fn repeated_headers_become_arrays() {
        let mut map = HeaderMap::new();
        map.append("set-cookie", "a=1".parse().unwrap());
        map.append("content-type", "text/html".parse().unwrap());
        map.append("set-cookie", "b=2".parse().unwrap());
        map.append(
            "x-bytes",
            reqwest::header::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
        );
        let json = serde_json::to_string(&Headers::of(&map)).unwrap();
        assert_eq!(
            json,
            r#"{"set-cookie":["a=1","b=2"],"content-type":"text/html","x-bytes":"caf\ufffd"}"#
                .replace("\\ufffd", "\u{fffd}")
        );
    }

    #[test]
    fn selection_keeps_record_order_and_names_unknown_fields() {
        let r = Record::failed("http://a.test/", 0, None, ErrorKind::Dns, "x".into());
        let f = Fields::parse(Some("status, url"), false).unwrap().unwrap();
        let mut out = Vec::new();
        f.write(&mut out, &r).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"url":"http://a.test/","status":null}"#
        );
        let e = Fields::parse(Some("url,nope"), false).unwrap_err();
        assert!(e.to_string().contains("\"nope\""), "{e}");
        assert_eq!(Fields::parse(None, false).unwrap(), None);
        let no_links = Fields::parse(None, true).unwrap().unwrap();
        assert!(!no_links.has("links") && no_links.has("title"));
        let forced = f.forced(true, false, 1, false);
        // A crawl's FILE is resumed from its links journal: `links` only for --since/--state (and a FILE
        // without a journal, by `with_links`).
        assert!(forced.has("attempts") && !forced.has("links") && !forced.has("digest"));
        assert!(forced.has("meta_nofollow") && f.forced(false, true, 1, false).has("links"));
        assert!(forced.with_links().has("links"));
        assert!(!forced.has("warc_offset") && f.forced(true, false, 0, true).has("warc_offset"));
        assert!(f.forced(false, true, 0, false).has("digest"));
        assert_eq!(f.forced(false, false, 3, true), f);
    }
}
