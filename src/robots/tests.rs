//! Tests of [`crate::robots`]: RFC 9309 cases, the bounds (memory, time, hostile patterns), and a differential test
//! against `texting_robots` 0.2 (the crate this replaced) on random files, where that crate accepts them.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::*;

fn rules(txt: &str) -> Rules {
    parse(txt.as_bytes()).rules
}

fn c(path: &str) -> String {
    String::from_utf8(path_form(path.as_bytes()).into_owned()).unwrap()
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
        none.allowed("/all"),
        "a rule outside any group applies to no one (RFC 9309 2.1)"
    );
    let before = rules("Disallow: /a\nUser-agent: *\nDisallow: /b\n");
    assert!(
        before.allowed("/a"),
        "lines before the first group are ignored"
    );
    assert!(!before.allowed("/b"));
}

/// Random files in the shapes robots.txt takes, against `texting_robots` (where it accepts the file), for the
/// default token and a custom one: allow/deny for random paths, the Crawl-delay and the sitemaps must agree.
///
/// The oracle is given the file as RFC 9309 reads it, where `texting_robots` differs by design: (1) it applies
/// Allow/Disallow lines before the first `User-agent:` line (to everyone, when the file has no group), which
/// RFC 9309 §2.1 and Google ignore, so those lines are left out of its copy; (2) it compares a `User-agent:`
/// value whole, where we (as Google) compare its leading `[A-Za-z_-]+`, so its copy names the agent by that
/// token (`crawlfish/1.0` becomes `crawlfish`).
#[test]
fn agrees_with_texting_robots() {
    const AGENTS: [&str; 9] = [
        "crawlfish",
        "*",
        "other",
        "CrawlFish",
        "crawlfish/1.0",
        "Googlebot",
        "acme-bot",
        "ACME-Bot/2.1",
        "acme",
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
    let mut rng = fastrand::Rng::with_seed(9309);
    let mut disagreements = Vec::new();
    for case in 0..3_000 {
        let token = ["crawlfish", "acme-bot"][case % 2];
        let (txt, oracle) = random_file(&mut rng, &AGENTS, &KEYS);
        let Ok(theirs) = texting_robots::Robot::new(token, oracle.as_bytes()) else {
            continue;
        };
        let ours = parse_for(token, txt.as_bytes()).rules;
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
                disagreements.push(format!("case {case} ({token}): {path:?} in {txt:?}"));
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

/// One random robots.txt, and the oracle's copy of it (see [`agrees_with_texting_robots`]).
fn random_file(rng: &mut fastrand::Rng, agents: &[&str], keys: &[&str]) -> (String, String) {
    const ALPHABET: &[u8] = b"/ab.-*?=";
    let (mut txt, mut oracle) = (String::new(), String::new());
    let mut grouped = false;
    for _ in 0..rng.usize(0..14) {
        match rng.u8(0..10) {
            0..=2 => {
                let agent = agents[rng.usize(..agents.len())];
                let token = if agent == "*" {
                    "*"
                } else {
                    product_token(agent)
                };
                let _ = writeln!(txt, "User-agent: {agent}");
                let _ = writeln!(oracle, "User-agent: {token}");
                grouped = true;
            }
            3 => {
                txt.push('\n');
                oracle.push('\n');
            }
            _ => {
                let key = keys[rng.usize(..keys.len())];
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
                let line = format!("{}{key}{value}{eol}", " ".repeat(rng.usize(0..2)));
                txt += &line;
                let rule = key.to_ascii_lowercase().contains("allow");
                if grouped || !rule {
                    oracle += &line;
                }
            }
        }
    }
    (txt, oracle)
}

#[test]
fn the_product_token_is_the_leading_word() {
    assert_eq!(
        product_token("acme-bot/1.0 (+https://acme.test)"),
        "acme-bot"
    );
    assert_eq!(product_token("Foo_Bar"), "Foo_Bar");
    assert_eq!(product_token("crawlfish"), "crawlfish");
    assert_eq!(product_token("2bot/1"), "");
    assert_eq!(product_token(""), "");
}

/// The bug of issue 20: a custom User-Agent's own group was never chosen.
#[test]
fn a_custom_token_chooses_its_group_without_case() {
    let txt = b"User-agent: *\nDisallow: /all\n\nUser-agent: ACME-Bot/2.1\nDisallow: /private/\n";
    let acme = parse_for("acme-bot", txt).rules;
    assert!(!acme.allowed("/private/x"));
    assert!(acme.allowed("/all"), "its own group replaces *");
    let other = parse_for("crawlfish", txt).rules;
    assert!(other.allowed("/private/x"));
    assert!(!other.allowed("/all"));
    let nobody = parse_for("", txt).rules;
    assert!(!nobody.allowed("/all"), "an empty token gets the * group");
    // Several agents in one group: the group applies to each; groups naming the same agent merge.
    let shared =
        b"User-agent: a-bot\nUser-agent: b-bot\nDisallow: /s\nUser-agent: b-bot\nDisallow: /t\n";
    assert!(!parse_for("a-bot", shared).rules.allowed("/s"));
    assert!(parse_for("a-bot", shared).rules.allowed("/t"));
    let b = parse_for("B-BOT", shared).rules;
    assert!(!b.allowed("/s") && !b.allowed("/t"));
}

/// RFC 9309 §2.2.3: `%2A` and `%24` in a rule are a literal `*` and `$`, in the path written either way.
#[test]
fn escaped_star_and_dollar_are_literal() {
    let r = rules(
        "User-agent: *\nDisallow: /file-with-a-%2A.html\nDisallow: /price%24\nDisallow: /end%24$\n",
    );
    assert!(!r.allowed(&c("/file-with-a-*.html")));
    assert!(!r.allowed(&c("/file-with-a-%2a.html")));
    assert!(r.allowed(&c("/file-with-a-x.html")), "%2A is no wildcard");
    assert!(!r.allowed(&c("/price$")));
    assert!(!r.allowed(&c("/price%24/x")));
    assert!(r.allowed(&c("/price")), "%24 is no anchor");
    assert!(!r.allowed(&c("/end$")));
    assert!(r.allowed(&c("/end$x")), "the final real $ still anchors");
}
