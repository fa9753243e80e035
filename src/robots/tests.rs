//! Tests of [`crate::robots`]: RFC 9309 cases, the bounds (memory, time, hostile patterns), and a differential test
//! against `texting_robots` 0.2 (the crate this replaced) on random files, where that crate accepts them.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::*;

fn rules(txt: &str) -> Rules {
    parse(txt.as_bytes()).rules
}

fn c(path: &str) -> String {
    String::from_utf8(canonical_pct(path.as_bytes()).into_owned()).unwrap()
}

#[test]
fn groups_longest_match_and_patterns() {
    let r = rules(
        "User-agent: *\nDisallow: /\n\nUser-agent: crawlfish\nDisallow: /private\nAllow: /private/ok\n\
         Disallow: /*.pdf$\n",
    );
    assert!(r.allowed("/public"));
    assert!(!r.allowed("/private/x"));
    assert!(r.allowed("/private/ok/y"));
    assert!(!r.allowed("/doc.pdf"));
    assert!(r.allowed("/doc.pdf?x=1"));
    assert!(r.allowed("/robots.txt"));
    let star =
        rules("User-agent: other\nDisallow: /\n\nUser-agent: *\nDisallow: /tmp\nDisallow:\n");
    assert!(!star.allowed("/tmp/a"));
    assert!(star.allowed("/a"));
}

#[test]
fn percent_escapes_compare_in_rfc_9309_form() {
    assert_eq!(c("/%7Ejoe/%7ejoe/%70rivate"), "/~joe/~joe/private");
    assert_eq!(c("/%e2%82%ac/%2f/%2F/%41"), "/%E2%82%AC/%2F/%2F/A");
    assert_eq!(c("/100%/%zz/%4"), "/100%/%zz/%4");
    let r = rules(
        "User-agent: *\nDisallow: /~joe/\nDisallow: /UP%41\nDisallow: /q?a=1\nDisallow: /café\n",
    );
    for url in [
        "/%7Ejoe/secret",
        "/%7ejoe/x",
        "/UPA",
        "/q?a=%31",
        "/caf%C3%A9",
        "/caf%c3%a9/x",
    ] {
        assert!(!r.allowed(&c(url)), "{url}");
    }
}

/// The rule that made `texting_robots` reject the whole file (40 `*` and a `$`: over its regex size limit) is
/// applied as written, and `Disallow: /` still holds.
#[test]
fn hostile_patterns_are_applied_as_written() {
    let stars = "/a*".repeat(40);
    let r = rules(&format!("User-agent: *\nAllow: {stars}z$\nDisallow: /\n"));
    assert!(!r.allowed("/page"));
    let mut url = String::new();
    for _ in 0..40 {
        url += "/a";
    }
    url.push('z');
    assert!(
        r.allowed(&url),
        "the anchored 40-star Allow matches exactly what it says"
    );
    assert!(!r.allowed(&format!("{url}x")), "and nothing past its $");
    let literal = format!("/{}$", "x".repeat(12_000));
    let r = rules(&format!("User-agent: *\nDisallow: {literal}\n"));
    assert!(!r.allowed(&literal[..literal.len() - 1]));
    assert!(r.allowed(&format!("{}y", &literal[..literal.len() - 1])));
}

#[test]
fn crawl_delay_is_capped_and_nonsense_ignored() {
    let p = parse(b"User-agent: *\nCrawl-delay: 3600\n");
    assert_eq!(p.crawl_delay, Some(MAX_CRAWL_DELAY));
    assert!(p.delay_capped);
    assert_eq!(p.rules.delay, Some(60.0));
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
    }
}

/// A 510 KB file costs about its size, whatever its patterns (`texting_robots`: 3.5 × for plain rules, 218 ×
/// for anchored ones), and parses and matches in bounded time.
#[test]
fn a_large_file_costs_about_its_size() {
    for line in [
        "Disallow: /some/path/segment/number/{i}\n",
        "Disallow: /some/*/segment/{i}*.php\n",
        "Disallow: /some/path/{i}.pdf$\n",
    ] {
        let mut body = String::from("User-agent: *\n");
        let mut i = 0;
        while body.len() < 510 * 1024 {
            body += &line.replace("{i}", &i.to_string());
            i += 1;
        }
        let started = Instant::now();
        let p = parse(body.as_bytes());
        let bytes = p.rules.heap_bytes();
        assert!(
            bytes <= body.len() * 3 / 2,
            "{line:?}: {bytes} bytes for a {} byte file",
            body.len()
        );
        let url = format!("/some/{}", "x/".repeat(4000));
        assert!(p.rules.allowed(&url) || !p.rules.allowed(&url));
        // Hang guard only (debug build); the measured figure is in the module docs.
        assert!(started.elapsed() < Duration::from_secs(20), "{line:?}");
    }
}

#[test]
fn line_forms_and_groups() {
    let r = rules("\u{feff}USER AGENT : crawlfish\r\nDisallow /a # comment\rSitemap: http://s.test/x\n\0Disallow:/b\n");
    assert!(!r.allowed("/a"));
    assert!(!r.allowed("/b"));
    assert_eq!(r.sitemaps, ["http://s.test/x"]);
    let none = rules("Disallow: /all\n");
    assert!(
        !none.allowed("/all"),
        "a file without groups applies to everyone"
    );
}

/// Random files in the shapes robots.txt takes, against `texting_robots` (where it accepts the file):
/// allow/deny for random paths, the Crawl-delay and the sitemaps must agree.
#[test]
fn agrees_with_texting_robots() {
    const AGENTS: [&str; 6] = [
        "crawlfish",
        "*",
        "other",
        "CrawlFish",
        "crawlfish/1.0",
        "Googlebot",
    ];
    const KEYS: [&str; 9] = [
        "Allow: ",
        "Disallow: ",
        "disallow:",
        "Disallow ",
        "ALLOW : ",
        "Crawl-delay: ",
        "Sitemap: ",
        "# note ",
        "junk: ",
    ];
    const ALPHABET: &[u8] = b"/ab.-*?=";
    let mut rng = fastrand::Rng::with_seed(9309);
    let mut disagreements = Vec::new();
    for case in 0..3_000 {
        let mut txt = String::new();
        for _ in 0..rng.usize(0..14) {
            match rng.u8(0..10) {
                0..=2 => {
                    let _ = writeln!(txt, "User-agent: {}", AGENTS[rng.usize(..AGENTS.len())]);
                }
                3 => txt.push('\n'),
                _ => {
                    let key = KEYS[rng.usize(..KEYS.len())];
                    let value: String = if key.starts_with("Crawl") {
                        ["1", "2.5", "x", "0", "70"][rng.usize(..5)].to_owned()
                    } else {
                        let mut v = String::from(if rng.bool() { "/" } else { "" });
                        for _ in 0..rng.usize(0..6) {
                            v.push(char::from(ALPHABET[rng.usize(..ALPHABET.len())]));
                        }
                        if rng.u8(0..4) == 0 {
                            v.push('$');
                        }
                        v
                    };
                    let eol = ["\n", "\r\n", "\r"][rng.usize(..3)];
                    let _ = write!(txt, "{}{key}{value}{eol}", " ".repeat(rng.usize(0..2)));
                }
            }
        }
        let Ok(theirs) = texting_robots::Robot::new(PRODUCT_TOKEN, txt.as_bytes()) else {
            continue;
        };
        let ours = parse(txt.as_bytes()).rules;
        let capped = |d: Option<f32>| d.filter(|d| *d > 0.0).map(|d| d.min(60.0));
        if capped(theirs.delay) != ours.delay || theirs.sitemaps != ours.sitemaps {
            disagreements.push(format!("case {case}: delay/sitemaps differ in {txt:?}"));
        }
        for _ in 0..20 {
            let mut path = String::from("/");
            for _ in 0..rng.usize(0..8) {
                path.push(char::from(b"/ab.-?="[rng.usize(..7)]));
            }
            if theirs.allowed(&path) != ours.allowed(&c(&path)) {
                disagreements.push(format!("case {case}: {path:?} in {txt:?}"));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements, first: {:#?}",
        disagreements.len(),
        &disagreements[..disagreements.len().min(5)]
    );
}
