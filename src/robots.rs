//! robots.txt bytes into rules: [`parse`] turns a body into a [`texting_robots::Robot`] for our product token,
//! keeping every line it can when `texting_robots` rejects the file, and caps Crawl-delay at [`MAX_CRAWL_DELAY`].
//!
//! Must not fetch, log or decide what a status code means (that is `host.rs`): it is a pure function of the
//! bytes, and reports what it changed so that the caller can log it once.
//!
//! # Why a rejected file is repaired, not ignored
//! `texting_robots` rejects a whole file when one rule fails to compile: a rule containing `$` becomes a regex
//! under a 42 KiB size limit, and e.g. `Disallow: /*a*b*…$` with 40 `*` (each `*` is a Unicode `.*`), or a
//! 10 KiB path ending in `$`, is over it. Treating such a file as allow-all would lift `Disallow: /` too. So,
//! only when the whole file fails, each line is tried once on its own (linear in the file; a failing line can
//! only fail this way, as everything else is escaped or never compiled) and a failing rule is:
//! * an `Allow`: dropped. Removing an Allow can only disallow more, never less.
//! * a `Disallow`: *widened*, every `$` becomes `*`. That drops the end anchor, so the rule matches a superset
//!   of what it matched, and it no longer needs a regex (`texting_robots` matches `*`-only patterns by sequential
//!   substring search), so it always compiles. It keeps its length, and `texting_robots` ranks rules by pattern
//!   length, so its precedence against Allow rules is unchanged: no URL it disallowed becomes allowed.
//!   Should a widened line still fail (not possible with `texting_robots` 0.2), it is dropped like an Allow.
//!
//! Every other line (user-agents, sitemaps, other rules, comments) is kept byte for byte, in order.
//!
//! Runs of `*` are *not* collapsed here: `texting_robots` already collapses them before compiling, and doing it
//! in the text would shorten the rule and so change which rule wins (Google ranks by the pattern as written).
//!
//! # Matching cost
//! A `*`-only pattern is matched by one substring search per `*`-separated part: linear in the URL. A compiled
//! pattern runs in the regex crate, linear in the URL times the (capped) program size. Measured on an 8 KiB URL
//! (see the tests): well under a millisecond per rule, so no rule is dropped for being slow.

use std::time::Duration;

use texting_robots::Robot;

use crate::cli::PRODUCT_TOKEN;

/// Crawl-delay values above this are lowered to it: a robots.txt asking for an hour between requests would
/// otherwise stall a host's URLs for the whole run.
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);
/// Changed lines reported in [`Parsed::dropped`] and [`Parsed::widened`] are cut to this many characters.
pub const MAX_REPORTED_LINE_CHARS: usize = 200;
/// At most this many lines are kept in each of [`Parsed::dropped`] and [`Parsed::widened`]; [`Parsed::changed`]
/// counts them all.
pub const MAX_REPORTED_LINES: usize = 16;

/// A parsed robots.txt and what had to change to parse it.
#[derive(Debug)]
pub struct Parsed {
    /// The rules for [`PRODUCT_TOKEN`]. `None` only if even the repaired file is rejected (not reachable with
    /// `texting_robots` 0.2): the caller must then treat the host as disallowed, never as allow-all.
    /// Its `delay` field is already capped like [`Parsed::crawl_delay`].
    pub robot: Option<Robot>,
    /// `Allow` lines `texting_robots` rejected, dropped (cut to [`MAX_REPORTED_LINE_CHARS`]).
    pub dropped: Vec<String>,
    /// `Disallow` lines `texting_robots` rejected, kept with `$` turned into `*` (as written, cut).
    pub widened: Vec<String>,
    /// How many lines were dropped or widened in all (the two lists stop at [`MAX_REPORTED_LINES`]).
    pub changed: usize,
    /// Crawl-delay for our group, at most [`MAX_CRAWL_DELAY`]; `None` when absent, zero, or not a finite number.
    pub crawl_delay: Option<Duration>,
    /// The file asked for more than [`MAX_CRAWL_DELAY`] (log it once).
    pub delay_capped: bool,
}

/// Parses a robots.txt body for [`PRODUCT_TOKEN`]. Identical to `texting_robots::Robot::new` whenever that
/// accepts the file (apart from the Crawl-delay cap).
#[must_use]
pub fn parse(body: &[u8]) -> Parsed {
    parse_for(PRODUCT_TOKEN, body)
}

/// [`parse`] for any agent.
#[must_use]
pub fn parse_for(agent: &str, body: &[u8]) -> Parsed {
    let mut parsed = Parsed {
        robot: None,
        dropped: Vec::new(),
        widened: Vec::new(),
        changed: 0,
        crawl_delay: None,
        delay_capped: false,
    };
    let body = canonical_pct(body);
    let body = body.as_ref();
    let robot = if let Ok(robot) = Robot::new(agent, body) {
        Some(robot)
    } else {
        let repaired = repair(agent, body, &mut parsed);
        Robot::new(agent, &repaired).ok()
    };
    parsed.robot = robot.map(|mut robot| {
        let (delay, capped) = cap_delay(robot.delay);
        robot.delay = delay.map(|d| d.as_secs_f32());
        parsed.crawl_delay = delay;
        parsed.delay_capped = capped;
        robot
    });
    parsed
}

/// The body with every line `texting_robots` rejects on its own widened or dropped (see the module docs).
fn repair(agent: &str, body: &[u8], parsed: &mut Parsed) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    // texting_robots ends a line at `\n` or `\r`, and reads NUL as `\n`.
    for line in body.split(|&b| matches!(b, b'\n' | b'\r' | 0)) {
        if line.is_empty() || Robot::new(agent, line).is_ok() {
            out.extend_from_slice(line);
        } else if is_allow(line) {
            parsed.changed += 1;
            report(&mut parsed.dropped, line);
        } else {
            let widened: Vec<u8> = line
                .iter()
                .map(|&b| if b == b'$' { b'*' } else { b })
                .collect();
            parsed.changed += 1;
            if Robot::new(agent, &widened).is_ok() {
                report(&mut parsed.widened, line);
                out.extend_from_slice(&widened);
            } else {
                report(&mut parsed.dropped, line);
            }
        }
        out.push(b'\n');
    }
    out
}

/// Whether a rule line is an `Allow` (`texting_robots`: optional blanks, then the keyword in any case).
fn is_allow(line: &[u8]) -> bool {
    const KEYWORD: &[u8] = b"allow";
    let start = line
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(line.len());
    line[start..]
        .get(..KEYWORD.len())
        .is_some_and(|k| k.eq_ignore_ascii_case(KEYWORD))
}

fn report(list: &mut Vec<String>, line: &[u8]) {
    if list.len() < MAX_REPORTED_LINES {
        list.push(crate::record::cut(
            &String::from_utf8_lossy(line),
            MAX_REPORTED_LINE_CHARS,
        ));
    }
}

/// RFC 9309 §2.2.2 comparison form: a percent-encoded octet that is an unreserved character (RFC 3986: letters,
/// digits, `-._~`) is decoded, every other escape gets uppercase hex; nothing else changes. Applied to rules and
/// to the URL being checked alike, so `/%7Ejoe` matches `Disallow: /~joe` and `%e2` matches `%E2`.
#[must_use]
pub fn canonical_pct(s: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !s.contains(&b'%') {
        return std::borrow::Cow::Borrowed(s);
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
                    out.push(b'%');
                    out.push(s[i + 1].to_ascii_uppercase());
                    out.push(s[i + 2].to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// `texting_robots`' Crawl-delay (seconds, already non-negative and not NaN) as a duration of at most
/// [`MAX_CRAWL_DELAY`], and whether it was lowered. Zero gives `None`; infinity (`inf`, `1e400`) is "more than the
/// cap", so it is the cap.
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
mod tests {
    use std::fmt::Write as _;

    #[test]
    fn percent_escapes_compare_in_rfc_9309_form() {
        let c =
            |s: &str| String::from_utf8(super::canonical_pct(s.as_bytes()).into_owned()).unwrap();
        assert_eq!(c("/%7Ejoe/%7ejoe/%70rivate"), "/~joe/~joe/private");
        assert_eq!(c("/%e2%82%ac/%2f/%2F/%41"), "/%E2%82%AC/%2F/%2F/A");
        assert_eq!(c("/100%/%zz/%4"), "/100%/%zz/%4");
        let r =
            super::parse(b"User-agent: *\nDisallow: /~joe/\nDisallow: /UP%41\nDisallow: /q?a=1\n")
                .robot
                .unwrap();
        for url in ["/%7Ejoe/secret", "/%7ejoe/x", "/UPA", "/q?a=%31"] {
            assert!(!r.allowed(&c(url)), "{url}");
        }
    }
    use std::time::Instant;

    use super::*;

    /// A `$` rule with this many `*` between letters is over `texting_robots`' regex size limit.
    const STARS: usize = 40;

    /// `/` then `STARS` times `*x`, then `end`.
    fn starred(end: &str) -> String {
        starred_n(STARS, end)
    }

    /// `/` then `stars` times `*x` (x running through the alphabet), then `end`.
    fn starred_n(stars: usize, end: &str) -> String {
        let mut p = String::from("/");
        for i in 0..stars {
            p.push('*');
            p.push(char::from(b'a' + (i % 26) as u8));
        }
        p.push_str(end);
        p
    }

    fn allowed(p: &Parsed, path: &str) -> bool {
        p.robot.as_ref().unwrap().allowed(path)
    }

    #[test]
    fn the_oversized_rule_is_rejected_by_texting_robots() {
        // The premise of this module: without repair the whole file would be lost.
        let txt = format!("User-agent: *\nDisallow: /\nDisallow: {}\n", starred("$"));
        assert!(Robot::new(PRODUCT_TOKEN, txt.as_bytes()).is_err());
    }

    #[test]
    fn disallow_all_survives_an_oversized_rule() {
        let bad = starred("$");
        let txt =
            format!("User-agent: *\nDisallow: /\nDisallow: {bad}\nSitemap: https://h.test/s.xml\n");
        let p = parse(txt.as_bytes());
        assert!(!allowed(&p, "/"));
        assert!(!allowed(&p, "/anything"));
        assert_eq!(p.widened, vec![format!("Disallow: {bad}")]);
        assert!(p.dropped.is_empty());
        assert_eq!(p.changed, 1);
        assert_eq!(
            p.robot.as_ref().unwrap().sitemaps,
            vec!["https://h.test/s.xml"]
        );
    }

    #[test]
    fn a_widened_disallow_still_blocks_what_it_blocked() {
        let bad = starred("$");
        let txt = format!("User-agent: *\nDisallow: {bad}\nAllow: /ok\n");
        let p = parse(txt.as_bytes());
        let hit: String = bad.trim_end_matches('$').replace('*', "");
        assert!(!allowed(&p, &hit), "matched by the original rule");
        assert!(allowed(&p, "/ok/x"), "the other rule is kept");
        assert!(allowed(&p, "/elsewhere"));
    }

    #[test]
    fn an_oversized_allow_is_dropped_alone() {
        let bad = starred("$");
        let txt = format!(
            "User-agent: other\nDisallow: /o\n\nUser-agent: *\nDisallow: /private\nallow: {bad}\nAllow: /private/ok\n"
        );
        let p = parse(txt.as_bytes());
        assert_eq!(p.dropped, vec![format!("allow: {bad}")]);
        assert!(p.widened.is_empty());
        assert!(!allowed(&p, "/private/x"));
        assert!(allowed(&p, "/private/ok/1"));
        assert!(allowed(&p, "/o"), "the other group is still someone else's");
    }

    #[test]
    fn a_long_literal_with_an_anchor_is_widened() {
        // No `*` at all: a 12 KiB literal before `$` is also over the size limit.
        let long = format!("/x{}$", "y".repeat(12 * 1024));
        let txt = format!("User-agent: *\nDisallow: {long}\n");
        assert!(Robot::new(PRODUCT_TOKEN, txt.as_bytes()).is_err());
        let p = parse(txt.as_bytes());
        assert_eq!(p.changed, 1);
        assert!(!allowed(&p, &long[..long.len() - 1]));
        assert!(allowed(&p, "/x"));
    }

    #[test]
    fn consecutive_stars_already_work() {
        // texting_robots collapses runs of `*` itself before compiling: 40 in a row is one `.*`.
        let rule = format!("/a{}b$", "*".repeat(STARS));
        let txt = format!("User-agent: *\nDisallow: {rule}\n");
        assert!(Robot::new(PRODUCT_TOKEN, txt.as_bytes()).is_ok());
        let p = parse(txt.as_bytes());
        assert_eq!(p.changed, 0);
        assert!(!allowed(&p, "/a/x/b"));
        assert!(allowed(&p, "/a/x/b/c"));
        // `*` only, no `$`: never a regex.
        let p = parse(format!("Disallow: {}\n", starred("")).as_bytes());
        assert_eq!(p.changed, 0);
        assert!(!allowed(
            &p,
            &format!("/{}", ('a'..='z').collect::<String>().repeat(2))
        ));
    }

    #[test]
    fn length_precedence_is_kept_for_widened_rules() {
        // The widened Disallow keeps its length: it still beats the shorter Allow, and a longer Allow still wins.
        let bad = starred("$");
        let hit: String = bad.trim_end_matches('$').replace('*', "");
        let txt = format!(
            "User-agent: *\nAllow: /a\nDisallow: {bad}\nAllow: {hit}/{}\n",
            "z".repeat(100)
        );
        let p = parse(txt.as_bytes());
        assert_eq!(p.changed, 1);
        assert!(!allowed(&p, &hit));
        assert!(allowed(&p, &format!("{hit}/{}", "z".repeat(100))));
    }

    #[test]
    fn crawl_delay_is_capped_and_nonsense_ignored() {
        let p = parse(b"User-agent: *\nCrawl-delay: 3600\n");
        assert_eq!(p.crawl_delay, Some(MAX_CRAWL_DELAY));
        assert!(p.delay_capped);
        assert_eq!(p.robot.unwrap().delay, Some(60.0));
        let p = parse(b"User-agent: *\nCrawl-delay: 2.5\n");
        assert_eq!(p.crawl_delay, Some(Duration::from_millis(2500)));
        assert!(!p.delay_capped);
        for huge in ["inf", "infinity", "1e400"] {
            let p = parse(format!("User-agent: *\nCrawl-delay: {huge}\n").as_bytes());
            assert_eq!(p.crawl_delay, Some(MAX_CRAWL_DELAY), "{huge}");
            assert!(p.delay_capped, "{huge}");
        }
        for bad in ["-5", "NaN", "0", "soon"] {
            let p = parse(format!("User-agent: *\nCrawl-delay: {bad}\n").as_bytes());
            assert_eq!(p.crawl_delay, None, "{bad}");
            assert!(!p.delay_capped, "{bad}");
            assert_eq!(p.robot.unwrap().delay, None, "{bad}");
        }
        let p = parse(b"User-agent: *\nCrawl-delay: 1e30\n");
        assert_eq!(p.crawl_delay, Some(MAX_CRAWL_DELAY));
        assert!(p.delay_capped);
    }

    #[test]
    fn normal_files_match_texting_robots() {
        let files = [
            "User-agent: *\nDisallow: /\n\nUser-agent: crawlfish\nDisallow: /private\nAllow: /private/ok\nDisallow: /*.pdf$\n",
            "User-agent: other\nDisallow: /\n\nUser-agent: *\nDisallow: /tmp\nCrawl-delay: 4\n",
            "\u{feff}Disallow: /a*b\r\nAllow: /a/\r\nDisallow:\n",
            "",
            "garbage\0Disallow: /x\rAllow: /x/y",
        ];
        let paths = [
            "/",
            "/private/x",
            "/private/ok/y",
            "/doc.pdf",
            "/doc.pdf?x=1",
            "/tmp/a",
            "/a/b",
            "/acb",
            "/x",
            "/x/y",
        ];
        for txt in files {
            let ours = parse(txt.as_bytes());
            let theirs = Robot::new(PRODUCT_TOKEN, txt.as_bytes()).unwrap();
            assert_eq!(ours.changed, 0);
            let ours = ours.robot.unwrap();
            assert_eq!(ours.sitemaps, theirs.sitemaps);
            assert_eq!(ours.delay, theirs.delay);
            for path in paths {
                assert_eq!(ours.allowed(path), theirs.allowed(path), "{txt:?} {path}");
            }
        }
    }

    #[test]
    fn line_endings_are_split_like_texting_robots() {
        // A rejected rule after `\r` and NUL line ends: the other lines on the "same" physical line stay.
        let bad = starred("$");
        let txt = format!("User-agent: *\rDisallow: /cr\0Disallow: {bad}\r\nDisallow: /crlf");
        let p = parse(txt.as_bytes());
        assert_eq!(p.changed, 1);
        for path in ["/cr", "/crlf"] {
            assert!(!allowed(&p, path), "{path}");
        }
    }

    #[test]
    fn reports_are_cut_and_bounded() {
        let bad = format!("{}$", starred("").repeat(4));
        let mut txt = String::from("User-agent: *\n");
        for _ in 0..MAX_REPORTED_LINES + 5 {
            writeln!(txt, "Allow: {bad}\nDisallow: {bad}").unwrap();
        }
        let p = parse(txt.as_bytes());
        assert_eq!(p.changed, 2 * (MAX_REPORTED_LINES + 5));
        assert_eq!(p.dropped.len(), MAX_REPORTED_LINES);
        assert_eq!(p.widened.len(), MAX_REPORTED_LINES);
        assert!(p.dropped[0].chars().count() == MAX_REPORTED_LINE_CHARS);
    }

    /// Robots.txt of about 500 KiB (Google's limit) made of `rule` lines under `User-agent: *`.
    fn big_file(rule: &str) -> String {
        const TARGET: usize = 500 * 1024;
        let mut txt = String::from("User-agent: *\nDisallow: /\n");
        let mut i = 0_usize;
        while txt.len() < TARGET {
            writeln!(txt, "{rule} {i}").unwrap();
            i += 1;
        }
        txt
    }

    /// Generous for a debug build on a busy 2-core machine (about 7 s there); quadratic would be hours.
    const BIG_FILE_LIMIT: Duration = Duration::from_secs(60);

    #[test]
    fn half_a_megabyte_parses_in_bounded_time() {
        // Every rule but the first is rejected: one failed compile per line, then a re-parse without regexes.
        // (A file of 500 KiB of `$` rules that all compile costs texting_robots itself far more: one regex
        // each, about 1 ms apiece in a debug build. Not a repair cost, so not measured here.)
        for rule in [
            format!("Disallow: {}", starred("$")),
            "Disallow: /plain/path".to_owned(),
        ] {
            let txt = big_file(&rule);
            let started = Instant::now();
            let p = parse(txt.as_bytes());
            let took = started.elapsed();
            eprintln!(
                "{} KiB of {rule:.30}…: {took:?}, {} changed",
                txt.len() / 1024,
                p.changed
            );
            assert!(took < BIG_FILE_LIMIT, "{took:?}");
            assert!(!allowed(&p, "/x"));
        }
    }

    #[test]
    fn matching_a_long_url_against_the_largest_rules_is_fast() {
        // The most expensive rule that still compiles, against an 8 KiB URL that almost matches it.
        const URL_BYTES: usize = 8 * 1024;
        const MATCH_LIMIT: Duration = Duration::from_millis(200);
        let mut stars = 1;
        let mut rule = String::new();
        loop {
            let candidate = starred_n(stars, "$");
            if Robot::new(PRODUCT_TOKEN, format!("Disallow: {candidate}").as_bytes()).is_err() {
                break;
            }
            rule = candidate;
            stars += 1;
        }
        eprintln!("largest compiling starred rule: {} stars", stars - 1);
        let url = format!("/{}", "ab".repeat(URL_BYTES / 2));
        for pattern in [
            rule,
            format!("/{}", "*a".repeat(STARS)),
            format!("/{}$", "*".repeat(STARS)),
        ] {
            let robot =
                Robot::new(PRODUCT_TOKEN, format!("Disallow: {pattern}").as_bytes()).unwrap();
            let started = Instant::now();
            let _ = robot.allowed(&url);
            let took = started.elapsed();
            eprintln!("{pattern:.40}… on {URL_BYTES} bytes: {took:?}");
            assert!(took < MATCH_LIMIT, "{pattern}: {took:?}");
        }
    }
}
