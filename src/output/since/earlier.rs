//! The earlier run's capture of a URL, for a `revisit` record (WARC/1.1 §6.7): read back from the earlier run's
//! archive at the `warc_offset` its record names, so the revisit names that capture exactly (its record id,
//! date, target and payload digest). Only `--state DIR` with `--warc DIR` knows that archive (the finished run's
//! `STAMP.warc.gz` beside its `STAMP.jsonl`); with `--since FILE` there is none, and nothing is read.
//!
//! A child of [`super`]: it reads FILE's line the way [`super::Since::carry`] does, then one gzip member.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::{read_line_at, Since, NOT_MODIFIED};
use crate::url::key::key;
use crate::url::without_userinfo;

/// The WARC header of a record is read from at most this many bytes of its member (headers are short; a
/// damaged member must not make us inflate a whole body).
const MAX_HEAD_BYTES: u64 = 64 * 1024;

/// The earlier capture a revisit refers to: a response record of the earlier run's archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Earlier {
    /// `WARC-Record-ID`, `<urn:uuid:…>`.
    pub id: String,
    /// `WARC-Date`.
    pub date: String,
    /// `WARC-Target-URI`.
    pub target: String,
    /// `WARC-Payload-Digest` (`sha1:…`).
    pub payload_digest: Option<String>,
}

/// What the earlier record's line says about its capture.
#[derive(Debug, Deserialize)]
struct Line {
    url: String,
    #[serde(default)]
    final_url: Option<String>,
    #[serde(default)]
    warc_offset: Option<u64>,
}

impl Since {
    /// The earlier run's archive (`--state DIR` with `--warc DIR`): revisits name its captures.
    #[must_use]
    pub(crate) fn with_archive(mut self, archive: Option<std::path::PathBuf>) -> Since {
        self.archive = archive;
        self
    }

    /// Whether the earlier record of `url` was a whole 2xx whose body had `digest` (`--warc-dedup`'s first test,
    /// before any file is read).
    #[must_use]
    pub(crate) fn same_body(&self, url: &str, digest: u128) -> bool {
        self.archive.is_some()
            && self.index.get(key(url)).is_some_and(|s| {
                s.flags == 0
                    && s.digest == digest as u64
                    && s.status()
                        .is_some_and(|st| (200..300).contains(&st) || st == NOT_MODIFIED)
            })
    }

    /// The earlier capture of `url`: its record's response in the earlier archive, when the record was of this
    /// very URL (no redirect) and was archived. Read off the runtime's threads.
    pub(crate) async fn earlier(self: &Arc<Self>, url: &str) -> Option<Earlier> {
        self.archive.as_ref()?;
        let offset = self.index.get(key(url))?.offset;
        let me = self.clone();
        let wanted = url.to_owned();
        tokio::task::spawn_blocking(move || {
            let line = read_line_at(me.file.as_ref()?, offset)?;
            let l: Line = serde_json::from_slice(&line).ok()?;
            let own = |u: &str| without_userinfo(u) == wanted;
            if !own(&l.url) || l.final_url.as_deref().is_some_and(|f| !own(f)) {
                return None;
            }
            let found = capture_at(me.archive.as_deref()?, l.warc_offset?)?;
            (without_userinfo(&found.target) == wanted).then_some(found)
        })
        .await
        .ok()
        .flatten()
    }
}

/// The capture whose record starts the gzip member at `offset`: a response, or a revisit (then the capture
/// it refers to, so a chain of unchanged runs always names the first).
fn capture_at(archive: &Path, offset: u64) -> Option<Earlier> {
    let mut file = std::fs::File::open(archive).ok()?;
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut head = Vec::new();
    let mut member = flate2::bufread::GzDecoder::new(BufReader::new(file)).take(MAX_HEAD_BYTES);
    let mut buf = [0u8; 4096];
    // Bounded by MAX_HEAD_BYTES: `take` ends the reads there.
    let end = loop {
        let n = member.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = memchr::memmem::find(&head, b"\r\n\r\n") {
            break end;
        }
    };
    let head = std::str::from_utf8(&head[..end]).ok()?;
    let field = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    match field("WARC-Type")?.as_str() {
        "response" => Some(Earlier {
            id: field("WARC-Record-ID")?,
            date: field("WARC-Date")?,
            target: field("WARC-Target-URI")?,
            payload_digest: field("WARC-Payload-Digest"),
        }),
        "revisit" => Some(Earlier {
            id: field("WARC-Refers-To")?,
            date: field("WARC-Refers-To-Date")?,
            target: field("WARC-Refers-To-Target-URI")?,
            payload_digest: field("WARC-Payload-Digest"),
        }),
        _ => None,
    }
}
