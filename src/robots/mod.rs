//! robots.txt bytes into rules, and matching a URL against them (RFC 9309): [`parse_for`] picks the groups for our
//! robots token ([`product_token`], else `*`), keeps their Allow/Disallow patterns in one compact arena, and caps Crawl-delay at
//! [`MAX_CRAWL_DELAY`]; [`Rules::allowed`] finds the longest matching pattern (`*` and a final `$` supported).
//!
//! Must not fetch, log or decide what a status code means (that is [`crate::polite`] and [`crate::polite::host`]): it is a pure
//! function of the bytes.
//!
//! # Why not `texting_robots` any more
//! It compiles every pattern with `$` into a regex: a 510 KB robots.txt of such rules took 114 MB (218 × its
//! size; plain rules 3.5 ×, `*` rules 4.2 ×) and tens of seconds, and one rule over the regex size limit made it
//! reject the whole file (which had to be repaired line by line). Here every pattern is matched by a small glob
//! matcher (no regex, nothing can fail to compile), and the rules cost their bytes plus 12 bytes each: about
//! 1.1 × the file (see the tests). Grouping, the accepted key spellings and precedence follow `texting_robots`
//! 0.2, which a differential test compares against on random files (`robots_diff.rs`).
//!
//! Percent-escapes in patterns and in the URL are compared in RFC 9309 §2.2.2 form ([`canonical_pct`]).

use std::borrow::Cow;
use std::time::Duration;

/// Crawl-delay values above this are lowered to it: a robots.txt asking for an hour between requests would
/// otherwise stall a host's URLs for the whole run.
pub(crate) const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);
/// Bytes a rule costs beyond its pattern: its arena offset, length and allow flag.
const RULE_BYTES: usize = std::mem::size_of::<Rule>();

/// A parsed robots.txt.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub rules: Rules,
    /// Crawl-delay for our group, at most [`MAX_CRAWL_DELAY`]; `None` when absent or zero.
    #[allow(dead_code)]
    // the engine reads `rules.delay`; the tests (and the differential test) read this
    pub crawl_delay: Option<Duration>,
    /// The file asked for more than [`MAX_CRAWL_DELAY`] (log it once).
    pub delay_capped: bool,
}

#[derive(Debug, Clone, Copy)]
struct Rule {
    start: u32,
    len: u32,
    allow: bool,
}

/// The Allow/Disallow patterns that apply to us, longest first (allow first among equals), and the file's
/// `Sitemap:` lines.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    arena: Vec<u8>,
    list: Vec<Rule>,
    pub sitemaps: Vec<String>,
    /// Crawl-delay, capped, in seconds (what [`crate::polite::host`] builds its limiter from).
    pub delay: Option<f32>,
}

impl Rules {
    /// Whether `path` (path and query, already in [`path_form`]) may be fetched.
    #[must_use]
    pub(crate) fn allowed(&self, path: &str) -> bool {
        if path == "/robots.txt" {
            return true;
        }
        let path = path.as_bytes();
        self.list
            .iter()
            .find(|r| {
                glob(
                    &self.arena[r.start as usize..(r.start + r.len) as usize],
                    path,
                )
            })
            .is_none_or(|r| r.allow)
    }

    /// Heap bytes held (for the robots cache's budget).
    #[must_use]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.list.capacity() * RULE_BYTES
            + self
                .sitemaps
                .iter()
                .map(|s| s.capacity() + 24)
                .sum::<usize>()
    }
}

/// The first word of the default User-Agent, and so the default robots.txt token.
pub(crate) const PRODUCT_TOKEN: &str = "crawlfish";

/// The token robots.txt groups are matched against (RFC 9309 §2.2.1): the leading `[A-Za-z_-]+` of `s`, so
/// `acme-bot/1.0 (+https://acme.test)` gives `acme-bot` (Google's `ExtractUserAgent` reads it the same way).
/// Empty when `s` starts with anything else: then only the `*` group applies.
#[must_use]
pub(crate) fn product_token(s: &str) -> &str {
    let end = s
        .bytes()
        .position(|b| !(b.is_ascii_alphabetic() || b == b'-' || b == b'_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Parses a robots.txt body for [`PRODUCT_TOKEN`] (the default User-Agent's).
#[cfg(test)]
#[must_use]
pub(crate) fn parse(body: &[u8]) -> Parsed {
    parse_for(PRODUCT_TOKEN, body)
}

/// Whether a `User-agent:` line's value names `token`: the value's own leading `[A-Za-z_-]+`, compared without
/// case, so `User-agent: Acme-Bot/2.1` and `User-agent: acme-bot images` both name `acme-bot` (Google reads a
/// value up to its first other character; RFC 9309 asks for case-insensitive matching). An empty token names
/// no group.
fn names(value: &[u8], token: &str) -> bool {
    let end = value
        .iter()
        .position(|&b| !(b.is_ascii_alphabetic() || b == b'-' || b == b'_'))
        .unwrap_or(value.len());
    !token.is_empty() && value[..end].eq_ignore_ascii_case(token.as_bytes())
}

/// Whether a `User-agent:` line's value is the catch-all: `*`, alone or followed by a space and anything
/// (Google's reading, so `User-agent: * # all` and `User-agent: * bots` are global).
fn is_star(value: &[u8]) -> bool {
    value == b"*" || value.starts_with(b"* ") || value.starts_with(b"*\t")
}

/// One meaningful line of the file.
#[derive(Debug, Clone, Copy)]
enum Line<'a> {
    Agent(&'a [u8]),
    Allow(&'a [u8]),
    Disallow(&'a [u8]),
    Delay(f32),
    Sitemap(&'a [u8]),
}

/// Parses a robots.txt body for the robots token `token` (see [`product_token`]): the rules of every group one
/// of whose `User-agent:` lines names it ([`names`]), merged, as RFC 9309 §2.2.1 asks; only when no group names
/// it, those of every `*` group. A group naming several agents applies to each of them. Allow/Disallow lines
/// before the first `User-agent:` line belong to no group and are ignored (RFC 9309 §2.1; Google's parser too).
#[must_use]
pub(crate) fn parse_for(token: &str, body: &[u8]) -> Parsed {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let lines: Vec<Line<'_>> = body
        .split(|&b| b == b'\n' || b == b'\r' || b == 0)
        .filter_map(line)
        .collect();
    let ours = lines
        .iter()
        .any(|l| matches!(l, Line::Agent(ua) if names(ua, token)));
    let applies = |ua: &[u8]| if ours { names(ua, token) } else { is_star(ua) };
    let mut rules = Rules::default();
    let mut delay = None;
    let mut capturing = false;
    let mut in_agents = false;
    for l in &lines {
        match *l {
            Line::Agent(ua) => {
                if !in_agents {
                    capturing = false;
                }
                in_agents = true;
                capturing |= applies(ua);
                continue;
            }
            Line::Sitemap(s) => {
                // Not part of any group: it neither ends nor belongs to a block of User-agent lines.
                rules.sitemaps.push(String::from_utf8_lossy(s).into_owned());
                continue;
            }
            Line::Delay(d) if capturing => delay = delay.or(Some(d)),
            Line::Allow(p) if capturing => push_rule(&mut rules, p, true),
            Line::Disallow(p) if capturing => push_rule(&mut rules, p, false),
            _ => {}
        }
        in_agents = false;
    }
    if delay.is_none() {
        // A Crawl-delay above every group applies to all, unlike Allow/Disallow there: it is no RFC 9309 rule,
        // and sites write it so. As `texting_robots`: the first such line in a file without groups, else the last.
        let mut loose = lines
            .iter()
            .take_while(|l| !matches!(l, Line::Agent(_)))
            .filter_map(|l| match l {
                Line::Delay(d) => Some(*d),
                _ => None,
            });
        let grouped = lines.iter().any(|l| matches!(l, Line::Agent(_)));
        delay = if grouped { loose.last() } else { loose.next() };
    }
    rules
        .list
        .sort_by(|a, b| b.len.cmp(&a.len).then(b.allow.cmp(&a.allow)));
    rules.arena.shrink_to_fit();
    rules.list.shrink_to_fit();
    let (crawl_delay, delay_capped) = cap_delay(delay);
    rules.delay = crawl_delay.map(|d| d.as_secs_f32());
    Parsed {
        rules,
        crawl_delay,
        delay_capped,
    }
}

/// The keys we read, in every spelling `texting_robots` accepts.
const KEYS: [(&str, Key); 15] = [
    ("user-agent", Key::Agent),
    ("user agent", Key::Agent),
    ("useragent", Key::Agent),
    ("allow", Key::Allow),
    ("disallow", Key::Disallow),
    ("dissallow", Key::Disallow),
    ("dissalow", Key::Disallow),
    ("disalow", Key::Disallow),
    ("diasllow", Key::Disallow),
    ("disallaw", Key::Disallow),
    ("sitemap", Key::Sitemap),
    ("site-map", Key::Sitemap),
    ("site map", Key::Sitemap),
    ("crawl-delay", Key::Delay),
    ("crawldelay", Key::Delay),
];

#[derive(Debug, Clone, Copy)]
enum Key {
    Agent,
    Allow,
    Disallow,
    Sitemap,
    Delay,
}

/// A line as `key: value` (or `key value`), `#` comments cut, value trimmed; unknown keys are `None`.
fn line(raw: &[u8]) -> Option<Line<'_>> {
    let raw = raw.trim_ascii_start();
    let (name, key) = KEYS.iter().find(|(name, _)| {
        raw.get(..name.len())
            .is_some_and(|k| k.eq_ignore_ascii_case(name.as_bytes()))
            && matches!(raw.get(name.len()), Some(b':' | b' ' | b'\t'))
    })?;
    let rest = raw[name.len()..].trim_ascii_start();
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    let value = rest
        .split(|&b| b == b'#')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    Some(match key {
        Key::Agent => Line::Agent(value),
        Key::Allow => Line::Allow(value),
        // "Disallow:" with no path allows everything (RFC 9309 §2.2.2).
        Key::Disallow if value.is_empty() => Line::Allow(b"/"),
        Key::Disallow => Line::Disallow(value),
        Key::Sitemap => Line::Sitemap(value),
        Key::Delay => {
            let d: f32 = std::str::from_utf8(value).ok()?.parse().ok()?;
            if d < 0.0 {
                return None;
            }
            Line::Delay(d)
        }
    })
}

/// Adds a pattern: non-ASCII and unsafe bytes percent-encoded (as URLs are), escapes in [`canonical_pct`] form.
fn push_rule(rules: &mut Rules, pattern: &[u8], allow: bool) {
    if std::str::from_utf8(pattern).is_err() {
        return;
    }
    let start = rules.arena.len();
    for &b in pattern {
        if !(0x21..=0x7e).contains(&b) || matches!(b, b'"' | b'<' | b'>' | b'`') {
            rules
                .arena
                .extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            rules.arena.push(b);
        }
    }
    let mut canonical = canonical_pct(&rules.arena[start..]).into_owned();
    literal_specials(&mut canonical);
    rules.arena.truncate(start);
    rules.arena.extend_from_slice(&canonical);
    let (Ok(start), Ok(len)) = (u32::try_from(start), u32::try_from(canonical.len())) else {
        return;
    };
    rules.list.push(Rule { start, len, allow });
}

/// Stands in a pattern for a `*` written `%2A`: it matches a literal `*` in the path, never any run (RFC 9309
/// §2.2.3). Patterns hold no control bytes (they are percent-encoded), so it cannot be confused.
const LITERAL_STAR: u8 = 0x01;
/// Stands in a pattern for a `$` written `%24`: a literal `$` in the path, never the end anchor.
const LITERAL_DOLLAR: u8 = 0x02;

/// Turns `%2A` and `%24` (already uppercase) in a canonical pattern into [`LITERAL_STAR`] and [`LITERAL_DOLLAR`].
fn literal_specials(pattern: &mut Vec<u8>) {
    if !pattern.windows(3).any(|w| w == b"%2A" || w == b"%24") {
        return;
    }
    let mut out = Vec::with_capacity(pattern.len());
    let mut i = 0;
    while i < pattern.len() {
        match pattern.get(i..i + 3) {
            Some(b"%2A") => out.push(LITERAL_STAR),
            Some(b"%24") => out.push(LITERAL_DOLLAR),
            _ => {
                out.push(pattern[i]);
                i += 1;
                continue;
            }
        }
        i += 3;
    }
    *pattern = out;
}

/// A URL's path and query in the form [`Rules::allowed`] compares: [`canonical_pct`], then `%2A` and `%24` as
/// the `*` and `$` they stand for, so a rule's `%2A` (a literal star) matches `/a*` and `/a%2A` alike.
#[must_use]
pub(crate) fn path_form(path: &[u8]) -> Cow<'_, [u8]> {
    let canonical = canonical_pct(path);
    if !canonical.windows(3).any(|w| w == b"%2A" || w == b"%24") {
        return canonical;
    }
    let mut out = canonical.into_owned();
    literal_specials(&mut out);
    for b in &mut out {
        match *b {
            LITERAL_STAR => *b = b'*',
            LITERAL_DOLLAR => *b = b'$',
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// Whether `pattern` matches a prefix of `path`: `*` is any run of bytes, a final `$` anchors the end. The
/// positions still alive are a sorted set; after a `*` they are one range, so the cost is at most
/// O(|pattern| × |path|) and usually a few byte compares.
fn glob(pattern: &[u8], path: &[u8]) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix(b"$") {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let mut alive: Vec<usize> = vec![0];
    let mut next = Vec::new();
    for (i, &c) in pattern.iter().enumerate() {
        if c == b'*' {
            if pattern[i + 1..].iter().all(|&c| c == b'*') && !anchored {
                return true;
            }
            let from = alive[0];
            alive.clear();
            alive.extend(from..=path.len());
            continue;
        }
        let c = match c {
            LITERAL_STAR => b'*',
            LITERAL_DOLLAR => b'$',
            c => c,
        };
        next.clear();
        next.extend(
            alive
                .iter()
                .filter(|&&p| path.get(p) == Some(&c))
                .map(|p| p + 1),
        );
        if next.is_empty() {
            return false;
        }
        std::mem::swap(&mut alive, &mut next);
    }
    !anchored || alive.last() == Some(&path.len())
}

/// RFC 9309 §2.2.2 comparison form: a percent-encoded octet that is an unreserved character (RFC 3986: letters,
/// digits, `-._~`) is decoded, every other escape gets uppercase hex; nothing else changes. Applied to rules and
/// to the URL being checked alike, so `/%7Ejoe` matches `Disallow: /~joe` and `%e2` matches `%E2`.
#[must_use]
pub(crate) fn canonical_pct(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.contains(&b'%') {
        return Cow::Borrowed(s);
    }
    let hex = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                let byte = h * 16 + l;
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(byte);
                } else {
                    out.extend_from_slice(&[
                        b'%',
                        s[i + 1].to_ascii_uppercase(),
                        s[i + 2].to_ascii_uppercase(),
                    ]);
                }
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// A Crawl-delay (seconds, non-negative) as a duration of at most [`MAX_CRAWL_DELAY`], and whether it was
/// lowered. Zero gives `None`; infinity (`inf`, `1e400`) is "more than the cap", so it is the cap.
fn cap_delay(secs: Option<f32>) -> (Option<Duration>, bool) {
    let Some(secs) = secs.filter(|s| !s.is_nan() && *s > 0.0) else {
        return (None, false);
    };
    match Duration::try_from_secs_f32(secs) {
        Ok(d) if d <= MAX_CRAWL_DELAY => (Some(d), false),
        _ => (Some(MAX_CRAWL_DELAY), true),
    }
}

#[cfg(test)]
mod google;
#[cfg(test)]
mod tests;
