//! robots.txt bytes into rules, and matching a URL against them (RFC 9309): [`parse`] picks the groups for our
//! product token (else `*`), keeps their Allow/Disallow patterns in one compact arena, and caps Crawl-delay at
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
    /// Whether `path` (path and query, already in [`canonical_pct`] form) may be fetched.
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

/// The User-Agent product token robots.txt groups are matched against (RFC 9309 §2.2.1), and the first word
/// of the default User-Agent.
pub(crate) const PRODUCT_TOKEN: &str = "crawlfish";

/// Parses a robots.txt body for [`PRODUCT_TOKEN`].
#[must_use]
pub(crate) fn parse(body: &[u8]) -> Parsed {
    parse_for(PRODUCT_TOKEN, body)
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

/// [`parse`] for any agent.
#[must_use]
pub(crate) fn parse_for(agent: &str, body: &[u8]) -> Parsed {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let lines: Vec<Line<'_>> = body
        .split(|&b| b == b'\n' || b == b'\r' || b == 0)
        .filter_map(line)
        .collect();
    let agent = agent.to_ascii_lowercase();
    let is_agent = |ua: &[u8], want: &str| ua.eq_ignore_ascii_case(want.as_bytes());
    let ours = lines
        .iter()
        .any(|l| matches!(l, Line::Agent(ua) if is_agent(ua, &agent)));
    let want = if ours { agent.as_str() } else { "*" };
    let mut rules = Rules::default();
    let mut delay = None;
    // Lines before any User-agent apply to everyone (a file without groups is one group).
    let mut capturing = !lines.iter().any(|l| matches!(l, Line::Agent(_)));
    let mut in_agents = false;
    for l in &lines {
        match *l {
            Line::Agent(ua) => {
                if !in_agents {
                    capturing = false;
                }
                in_agents = true;
                capturing |= is_agent(ua, want);
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
        // A Crawl-delay above every group applies to all (`texting_robots` takes the last such line).
        delay = lines
            .iter()
            .take_while(|l| !matches!(l, Line::Agent(_)))
            .filter_map(|l| match l {
                Line::Delay(d) => Some(*d),
                _ => None,
            })
            .last();
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
    let canonical = canonical_pct(&rules.arena[start..]).into_owned();
    rules.arena.truncate(start);
    rules.arena.extend_from_slice(&canonical);
    let (Ok(start), Ok(len)) = (u32::try_from(start), u32::try_from(canonical.len())) else {
        return;
    };
    rules.list.push(Rule { start, len, allow });
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
mod tests;
