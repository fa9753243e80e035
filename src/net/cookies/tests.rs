use reqwest::header::{HeaderMap, SET_COOKIE};
use url::Url;

use super::netscape::{line, parse_line};
use super::Jar;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn set(jar: &Jar, at: &str, cookies: &[&str]) {
    let mut h = HeaderMap::new();
    for c in cookies {
        h.append(SET_COOKIE, c.parse().unwrap());
    }
    jar.store(&url(at), &h);
}

fn sent(jar: &Jar, to: &str) -> String {
    jar.header(&url(to))
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn domain_path_secure_and_expiry() {
    let jar = Jar::default();
    set(
        &jar,
        "http://a.example.com/",
        &[
            "host=1",
            "dom=2; Domain=example.com",
            "p=3; Path=/x",
            "s=4; Secure",
        ],
    );
    assert_eq!(sent(&jar, "http://a.example.com/x/z"), "p=3; dom=2; host=1");
    assert_eq!(
        sent(&jar, "https://a.example.com/x/z"),
        "p=3; dom=2; host=1; s=4"
    );
    assert_eq!(sent(&jar, "http://b.example.com/x"), "dom=2");
    assert_eq!(sent(&jar, "http://a.example.com/other"), "dom=2; host=1");
    assert_eq!(sent(&jar, "http://example.org/"), "");
    set(&jar, "http://a.example.com/", &["host=gone; Max-Age=0"]);
    assert_eq!(sent(&jar, "http://a.example.com/"), "dom=2");
}

#[test]
fn public_suffix_domains_are_refused() {
    let jar = Jar::default();
    set(
        &jar,
        "http://a.example.co.uk/",
        &["x=1; Domain=co.uk", "y=2; Domain=example.co.uk"],
    );
    assert_eq!(sent(&jar, "http://other.co.uk/"), "");
    assert_eq!(sent(&jar, "http://b.example.co.uk/"), "y=2");
    // A suffix that is the host itself makes a host-only cookie.
    set(&jar, "http://github.io/", &["z=3; Domain=github.io"]);
    assert_eq!(sent(&jar, "http://github.io/"), "z=3");
    assert_eq!(sent(&jar, "http://a.github.io/"), "");
}

#[test]
fn netscape_lines_round_trip() {
    let lines = [
        ".example.com\tTRUE\t/\tFALSE\t4102444800\tdom\tv1\n",
        "a.example.com\tFALSE\t/x\tTRUE\t4102444800\tsec\tv2\n",
        "#HttpOnly_a.example.com\tFALSE\t/\tFALSE\t0\tsession\tv3\n",
    ];
    for l in lines {
        let c = parse_line(l).unwrap().unwrap();
        assert_eq!(line(&c).as_deref(), Some(l));
    }
    assert!(parse_line("# a comment").unwrap().is_none());
    assert!(parse_line("").unwrap().is_none());
    assert!(parse_line("a\tb\tc").is_err());
    assert!(parse_line("x.com\tFALSE\t/\tFALSE\tsoon\tn\tv").is_err());
}

#[test]
fn save_and_load_keep_what_the_rules_allow() {
    let dir = std::env::temp_dir().join(format!("crawlfish-jar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cookies.txt");
    let jar = Jar::default();
    set(
        &jar,
        "http://a.example.com/",
        &["keep=1; Max-Age=3600", "session=2"],
    );
    jar.save(&file, false).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# Netscape HTTP Cookie File"));
    assert!(text.contains("\tkeep\t1\n") && !text.contains("session"));
    jar.save(&file, true).unwrap();
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("\t0\tsession\t2\n"));
    assert!(!dir.join("cookies.txt.tmp").exists());

    std::fs::write(&file, ".co.uk\tTRUE\t/\tFALSE\t0\tps\t1\nbad line\nb.example.com\tFALSE\t/\tFALSE\t1\told\t1\na.example.com\tFALSE\t/\tFALSE\t0\tok\t1\n").unwrap();
    let loaded = Jar::default();
    assert_eq!(loaded.load(&file).unwrap(), 1);
    assert_eq!(sent(&loaded, "http://a.example.com/"), "ok=1");
    assert_eq!(sent(&loaded, "http://x.co.uk/"), "");
    std::fs::remove_dir_all(&dir).unwrap();
}

// Guards: a 300 KB cookie was kept and sent back, so the site answered every later request with 431.
#[test]
fn a_cookie_over_4096_bytes_is_not_kept_and_the_others_still_go() {
    let jar = Jar::default();
    let huge = format!("big={}", "x".repeat(5000));
    set(&jar, "http://a.example.com/", &[huge.as_str(), "ok=1"]);
    assert_eq!(sent(&jar, "http://a.example.com/"), "ok=1");
    let edge = format!("e={}", "y".repeat(4095));
    set(&jar, "http://a.example.com/", &[edge.as_str()]);
    assert!(sent(&jar, "http://a.example.com/").contains("e=y"));
}

// Guards: one cookies.txt line with a control character in its value was loaded, and then no `Cookie` header at
// all went to its host (the header could not be built), silently.
#[test]
fn a_cookies_txt_line_with_a_control_character_is_skipped_not_fatal_to_the_rest() {
    assert!(parse_line("a.example.com\tFALSE\t/\tFALSE\t0\tname\tSEC\u{1}RET").is_err());
    assert!(parse_line("a.example.com\tFALSE\t/\tFALSE\t0\tgood\tGOOD1")
        .unwrap()
        .is_some());
}
