//! `--warc FILE`: the WARC/1.1 format (ISO 28500), written by hand rather than with the `warc` crate: that crate
//! wants a whole record in hand to compress and hides the byte offset of each gzip member, and `warc_offset`
//! needs exactly that offset. The format itself is small: a header block of `Name: value` lines, a block, two
//! CRLFs.
//!
//! What a capture holds: the request as sent, *reconstructed* (reqwest does not expose its final request head):
//! the request line, `Host`, `User-Agent`, `Accept`, the headers crawlfish adds (`-H`, Basic credentials,
//! `If-None-Match`, `If-Modified-Since`) and the `Accept-Encoding` reqwest adds. Every `-H` value is archived
//! redacted (any header may carry an API key), unless `--warc-headers verbatim` ([`WarcOptions::verbatim_headers`]); the Basic
//! credentials of a URL's userinfo are always redacted. The response is stored as reqwest
//! hands it over: the status line (with the canonical reason phrase), the headers (lower-case names), the body
//! with transfer-encoding *and* content-encoding decoded (reqwest decompresses gzip/br/deflate and drops
//! `Content-Encoding` and `Content-Length` itself). So the stored record stays consistent, `Transfer-Encoding`,
//! `Content-Encoding` and `Content-Length` are dropped and a `Content-Length` of the stored body is written; the
//! payload digest is over that stored body.
//!
//! Builds bytes only: [`crate::warc::writer`] compresses them and writes them off the runtime threads, and
//! [`crate::warc::check`] verifies an existing file before it is appended to.
//!
//! Must not decide which exchanges are archived (the polite path captures every one) nor read the command line
//! (it gets it redacted in [`WarcOptions::command`]).

mod check;
pub(crate) mod gzip;
pub(crate) mod writer;

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::SystemTime;

use reqwest::header::{HeaderMap, HeaderName, ACCEPT, ACCEPT_ENCODING, COOKIE, USER_AGENT};
use reqwest::Version;
use url::{Position, Url};

use crate::net::fetch::{Credentials, Validators};

/// The `Accept-Encoding` reqwest (tower-http's decompression layer) adds with the gzip, deflate and br features.
const REQWEST_ACCEPT_ENCODING: &str = "gzip,deflate,br";
/// The `Accept` reqwest sends by default.
const REQWEST_ACCEPT: &str = "*/*";
/// Headers whose values are never archived.
const REDACTED: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];
/// What a redacted value is replaced with.
pub(crate) const REDACTION: &str = "(redacted by crawlfish)";
/// Response headers that no longer describe the stored body (it is stored decoded, and possibly cut).
const DROPPED: [&str; 3] = ["transfer-encoding", "content-encoding", "content-length"];

/// Why a stored body is not the whole body (`WARC-Truncated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// `--max-body` (or the robots.txt / redirect cap) cut it.
    Length,
    /// The body broke off or its deadline passed.
    Disconnect,
    /// It was not read at all (a response that is retried).
    Unspecified,
}

impl Cut {
    fn as_str(self) -> &'static str {
        match self {
            Cut::Length => "length",
            Cut::Disconnect => "disconnect",
            Cut::Unspecified => "unspecified",
        }
    }
}

/// One HTTP exchange, as far as it is known when the response head arrives; the body is added by [`Head::with`].
#[derive(Debug)]
pub(crate) struct Head {
    target: String,
    date: String,
    ip: Option<IpAddr>,
    request: Vec<u8>,
    response: Vec<u8>,
}

/// A whole exchange, ready to be turned into a request and a response record. It borrows the body: the
/// response keeps it for the JSON record, and the archive reads it straight into the compressor (no copy).
#[derive(Debug)]
pub(crate) struct Capture<'a> {
    head: Head,
    body: &'a [u8],
    cut: Option<Cut>,
    /// Archived as a `revisit` of an earlier capture, without its payload.
    revisit: Option<Revisit>,
}

/// Why an exchange is a `revisit` record (WARC/1.1 §6.7), and what it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Revisit {
    /// `server-not-modified` (a 304 to a conditional request) or `identical-payload-digest` (`--warc-dedup`).
    pub profile: Profile,
    /// `WARC-Refers-To-Target-URI` when the earlier capture is unknown: the URL the validators came from.
    pub target: String,
    /// The earlier capture, when the earlier run's archive holds it.
    pub earlier: Option<crate::output::since::Earlier>,
}

impl Revisit {
    /// Archived without an HTTP head: a 304 naming an earlier capture whose payload digest is known, so a
    /// reader resolves this date to that capture's status, headers and body (see [`Capture::records`]).
    fn bare(&self) -> bool {
        self.profile == Profile::ServerNotModified
            && self
                .earlier
                .as_ref()
                .is_some_and(|e| e.payload_digest.is_some())
    }
}

/// `WARC-Profile` of a revisit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    ServerNotModified,
    IdenticalPayloadDigest,
}

impl Profile {
    fn uri(self) -> &'static str {
        match self {
            Profile::ServerNotModified => {
                "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
            }
            Profile::IdenticalPayloadDigest => {
                "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
            }
        }
    }
}

/// The two records of one exchange. The response record is in three parts, its WARC and HTTP head, the body
/// (borrowed) and the record's closing CRLF CRLF, so that the body is compressed where it lies.
#[derive(Debug)]
pub(crate) struct Records<'a> {
    pub request: Vec<u8>,
    pub response_head: Vec<u8>,
    pub body: &'a [u8],
}

impl Records<'_> {
    /// The response record's bytes, in order.
    #[must_use]
    pub(crate) fn response(&self) -> [&[u8]; 3] {
        [&self.response_head, self.body, RECORD_END]
    }
}

/// What ends every record (after the block).
const RECORD_END: &[u8] = b"\r\n\r\n";

impl Head {
    /// The request (reconstructed: see the module notes) and the response head of one exchange.
    #[must_use]
    pub(crate) fn of(
        resp: &reqwest::Response,
        (url, method): (&Url, &str),
        user_agent: &str,
        (creds, validators): (Option<Credentials<'_>>, Option<Validators<'_>>),
        cookie: bool,
        verbatim: bool,
    ) -> Head {
        let version = version_str(resp.version());
        // hyper sends every HTTP/1 request as HTTP/1.1, whatever version the server answers with.
        let sent = match resp.version() {
            Version::HTTP_2 | Version::HTTP_3 => version,
            _ => "HTTP/1.1",
        };
        let mut target = url.clone();
        let _ = target.set_username("");
        let _ = target.set_password(None);
        let mut req = format!(
            "{method} {} {sent}\r\n",
            &target[Position::BeforePath..Position::AfterQuery]
        );
        let host = match (target.host_str(), target.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => String::new(),
        };
        line(&mut req, "host", host.as_bytes());
        let extra = creds.map(|c| c.headers);
        let overridden = |name: &HeaderName| extra.is_some_and(|h| h.contains_key(name));
        if !overridden(&USER_AGENT) {
            line(&mut req, "user-agent", user_agent.as_bytes());
        }
        if !overridden(&ACCEPT) {
            line(&mut req, "accept", REQWEST_ACCEPT.as_bytes());
        }
        match (extra, verbatim) {
            (Some(extra), true) => {
                for (name, value) in extra {
                    let _ = write!(
                        req,
                        "{name}: {}\r\n",
                        String::from_utf8_lossy(value.as_bytes())
                    );
                }
            }
            (Some(extra), false) => {
                for name in extra.keys() {
                    for _ in extra.get_all(name) {
                        line(&mut req, name.as_str(), REDACTION.as_bytes());
                    }
                }
            }
            (None, _) => {}
        }
        if creds.is_some_and(|c| c.basic.is_some()) {
            line(&mut req, "authorization", b"Basic (redacted by crawlfish)");
        }
        if cookie && !overridden(&COOKIE) {
            // The jar's cookies are session tokens as often as not: redacted even with `--warc-headers verbatim`.
            line(&mut req, "cookie", REDACTION.as_bytes());
        }
        if let Some(v) = validators {
            if let Some(e) = v.etag {
                line(&mut req, "if-none-match", e.as_bytes());
            }
            if let Some(d) = v.last_modified {
                line(&mut req, "if-modified-since", d.as_bytes());
            }
        }
        if !overridden(&ACCEPT_ENCODING) {
            line(
                &mut req,
                "accept-encoding",
                REQWEST_ACCEPT_ENCODING.as_bytes(),
            );
        }
        req.push_str("\r\n");
        let status = resp.status();
        let mut head = format!(
            "{version} {} {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        push_headers(&mut head, resp.headers(), &DROPPED);
        Head {
            target: target.into(),
            date: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            ip: resp.remote_addr().map(|a| a.ip()),
            request: req.into_bytes(),
            response: head.into_bytes(),
        }
    }

    /// The exchange with its body as stored (`cut` says why it is not whole).
    #[must_use]
    pub(crate) fn with(self, body: &[u8], cut: Option<Cut>) -> Capture<'_> {
        Capture {
            head: self,
            body,
            cut,
            revisit: None,
        }
    }
}

impl<'a> Capture<'a> {
    /// Bytes of the exchange (to decide where to compress it).
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.head.request.len() + self.head.response.len() + self.body.len()
    }

    /// This exchange archived as a revisit (`None`: as a response).
    #[must_use]
    pub(crate) fn revisit(mut self, revisit: Option<Revisit>) -> Capture<'a> {
        self.revisit = revisit;
        self
    }

    /// The head, the body, why it is cut and whether it is a revisit (to rebuild the capture around an owned
    /// copy of the body).
    #[must_use]
    pub(crate) fn into_parts(self) -> (Head, &'a [u8], Option<Cut>, Option<Revisit>) {
        (self.head, self.body, self.cut, self.revisit)
    }
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// One header line; a value that is not text is kept byte for byte (lossy, as the rest of the head is text).
fn line(out: &mut String, name: &str, value: &[u8]) {
    let value = if REDACTED.contains(&name) {
        std::borrow::Cow::Borrowed(REDACTION)
    } else {
        String::from_utf8_lossy(value)
    };
    let _ = write!(out, "{name}: {value}\r\n");
}

fn push_headers(out: &mut String, headers: &HeaderMap, skip: &[&str]) {
    for (name, value) in headers {
        if !skip.contains(&name.as_str()) {
            line(out, name.as_str(), value.as_bytes());
        }
    }
}

/// A new `<urn:uuid:…>` (version 4, random).
#[must_use]
pub(crate) fn record_id() -> String {
    let n = fastrand::u128(..);
    // Version 4, variant 10xx (RFC 9562 §5.4).
    let n = (n & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{n:032x}");
    format!(
        "<urn:uuid:{}-{}-{}-{}-{}>",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `sha1:` and the base32 SHA-1 of `bytes` (the form WARC readers expect).
#[must_use]
pub(crate) fn sha1(bytes: &[&[u8]]) -> String {
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    for b in bytes {
        h.update(b);
    }
    format!("sha1:{}", data_encoding::BASE32.encode(&h.finalize()))
}

/// The start of a record: the WARC header (fields in order, then the block's type and length) and the first
/// `block` parts; the caller appends the rest of the block (`len` bytes in all) and [`RECORD_END`].
fn record_head(
    fields: &[(&str, &str)],
    content_type: &str,
    block: &[&[u8]],
    len: usize,
    room: usize,
) -> Vec<u8> {
    let mut head = String::from("WARC/1.1\r\n");
    for (name, value) in fields {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let _ = write!(
        head,
        "Content-Type: {content_type}\r\nContent-Length: {len}\r\n\r\n"
    );
    let mut out = Vec::with_capacity(head.len() + room);
    out.extend_from_slice(head.as_bytes());
    for b in block {
        out.extend_from_slice(b);
    }
    out
}

/// A whole record: the WARC header, the block, CRLF CRLF.
fn record(fields: &[(&str, &str)], content_type: &str, block: &[&[u8]]) -> Vec<u8> {
    let len: usize = block.iter().map(|b| b.len()).sum();
    let mut out = record_head(fields, content_type, block, len, len + RECORD_END.len());
    out.extend_from_slice(RECORD_END);
    out
}

impl<'a> Capture<'a> {
    /// The request record and the response (or revisit) record of this exchange, each naming the other.
    #[must_use]
    pub(crate) fn records(&self) -> Records<'a> {
        let h = &self.head;
        let (req_id, resp_id) = (record_id(), record_id());
        let ip = h.ip.map(|ip| ip.to_string());
        let length = format!("content-length: {}\r\n\r\n", self.body.len());
        // A revisit's block is the HTTP head alone (WARC/1.1 §6.7): the payload is the earlier capture's.
        let body: &'a [u8] = if self.revisit.is_some() {
            &[]
        } else {
            self.body
        };
        // A 304 whose earlier capture is known is an *empty* revisit (no HTTP head): pywb replays a revisit that
        // holds a 3xx head as that 3xx with an empty body (`resolvingloader.py`, "always replay zero-length
        // payload"), which blanked every unchanged page of a `--state --warc` cron at each later date; an empty
        // revisit takes head and payload from the capture it names, so the page replays with its body.
        let (http_head, length): (&[u8], &str) = if self.revisit.as_ref().is_some_and(Revisit::bare)
        {
            (&[], "")
        } else {
            (&h.response, &length)
        };
        let resp_head: [&[u8]; 2] = [http_head, length.as_bytes()];
        let block_len = http_head.len() + length.len() + body.len();
        // Both digests, as WARC/1.1 §5.8-5.9 ask of every response: the block digest hashes the body a second
        // time (behind the HTTP head), which `bench/warc_cost.rs` measures.
        let block = sha1(&[http_head, length.as_bytes(), body]);
        let payload = match &self.revisit {
            None => Some(sha1(&[body])),
            Some(r) => r.earlier.as_ref().and_then(|e| e.payload_digest.clone()),
        };
        let mut fields = vec![
            (
                "WARC-Type",
                if self.revisit.is_some() {
                    "revisit"
                } else {
                    "response"
                },
            ),
            ("WARC-Record-ID", resp_id.as_str()),
            ("WARC-Date", h.date.as_str()),
            ("WARC-Target-URI", h.target.as_str()),
            ("WARC-Concurrent-To", req_id.as_str()),
        ];
        if let Some(ip) = &ip {
            fields.push(("WARC-IP-Address", ip));
        }
        if let Some(r) = &self.revisit {
            refers(&mut fields, r);
        }
        fields.push(("WARC-Block-Digest", &block));
        if let Some(payload) = &payload {
            fields.push(("WARC-Payload-Digest", payload));
        }
        if let Some(cut) = self.cut {
            fields.push(("WARC-Truncated", cut.as_str()));
        }
        let response_head = record_head(
            &fields,
            "application/http;msgtype=response",
            &resp_head,
            block_len,
            http_head.len() + length.len(),
        );
        let req_block: [&[u8]; 1] = [&h.request];
        let (req_digest, empty) = (sha1(&req_block), sha1(&[]));
        let mut fields = vec![
            ("WARC-Type", "request"),
            ("WARC-Record-ID", req_id.as_str()),
            ("WARC-Date", h.date.as_str()),
            ("WARC-Target-URI", h.target.as_str()),
            ("WARC-Concurrent-To", resp_id.as_str()),
        ];
        if let Some(ip) = &ip {
            fields.push(("WARC-IP-Address", ip));
        }
        fields.push(("WARC-Block-Digest", &req_digest));
        fields.push(("WARC-Payload-Digest", &empty));
        let request = record(&fields, "application/http;msgtype=request", &req_block);
        Records {
            request,
            response_head,
            body,
        }
    }
}

/// A revisit's own fields: its profile and the capture it refers to (WARC/1.1 §5.11, §5.12, §5.13).
fn refers<'r>(fields: &mut Vec<(&'static str, &'r str)>, r: &'r Revisit) {
    fields.push(("WARC-Profile", r.profile.uri()));
    match &r.earlier {
        Some(e) => {
            fields.push(("WARC-Refers-To", &e.id));
            fields.push(("WARC-Refers-To-Target-URI", &e.target));
            fields.push(("WARC-Refers-To-Date", &e.date));
        }
        None => fields.push(("WARC-Refers-To-Target-URI", &r.target)),
    }
}

/// `--warc FILE` and how it is written.
#[derive(Debug, Clone)]
pub struct WarcOptions {
    /// The archive file.
    pub path: std::path::PathBuf,
    /// `--warc-level N`: the gzip level of each record (0 = stored).
    pub level: u32,
    /// The command line as `warcinfo` shows it, secrets already redacted by the command-line layer; empty for a
    /// run started from the library.
    pub command: String,
    /// `--warc-repair`: appending to a FILE damaged in the middle moves the damaged tail aside instead of stopping.
    pub repair: bool,
    /// `--warc-headers verbatim`: `-H` values are archived as sent, `Authorization` and `Cookie` included, so
    /// the archive holds those credentials. Otherwise (the default) every `-H` value is redacted: an archive is
    /// shared more widely than a command line, and any header (`X-Api-Key` …) may be a credential. A URL's
    /// userinfo, sent as Basic credentials, is redacted either way: it is not a `-H`.
    pub verbatim_headers: bool,
    /// `--warc-dedup`: with `--state`, a 2xx whose payload the earlier run archived is archived as a `revisit`
    /// (identical-payload-digest) naming that capture, without the payload.
    pub dedup: bool,
}

/// The `warcinfo` record that opens a file (and each `--resume` of it): the software, the format and the
/// command line, already redacted by the command-line layer (`WarcOptions::command`).
#[must_use]
pub(crate) fn warcinfo(filename: &str, command: &str, user_agent: &str, robots: bool) -> Vec<u8> {
    let block = format!(
        "software: crawlfish/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: \
         http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n\
         http-header-user-agent: {user_agent}\r\nrobots: {}\r\ncommand: {}\r\n",
        env!("CARGO_PKG_VERSION"),
        if robots { "obey" } else { "ignore" },
        command.replace(['\r', '\n'], " ")
    );
    let id = record_id();
    let date = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let digest = sha1(&[block.as_bytes()]);
    let fields = [
        ("WARC-Type", "warcinfo"),
        ("WARC-Record-ID", id.as_str()),
        ("WARC-Date", date.as_str()),
        ("WARC-Filename", filename),
        ("WARC-Block-Digest", digest.as_str()),
    ];
    record(&fields, "application/warc-fields", &[block.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v4_uuids() {
        let id = record_id();
        assert_eq!(id.len(), "<urn:uuid:>".len() + 36);
        assert_eq!(&id[24..25], "4");
        assert!(matches!(&id[29..30], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(id, record_id());
    }

    #[test]
    fn sha1_is_base32() {
        // The SHA-1 of nothing, as every WARC tool writes it.
        assert_eq!(sha1(&[]), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
        assert_eq!(sha1(&[b"ab", b"c"]), sha1(&[b"abc"]));
    }
}
