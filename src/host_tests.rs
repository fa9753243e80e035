//! Unit tests of `host.rs`: robots groups through `Robots::check`, Crawl-delay, backoff.

use super::*;

fn rules(txt: &str) -> Robots {
    Robots::Rules(Box::new(crate::robots::parse(txt.as_bytes()).rules))
}

fn allowed(r: &Robots, path: &str) -> bool {
    r.check(&Url::parse(&format!("http://h.test{path}")).unwrap())
        .is_ok()
}

#[test]
fn robots_groups_and_longest_match() {
    let r = rules(
        "User-agent: *\nDisallow: /\n\nUser-agent: crawlfish\nDisallow: /private\nAllow: /private/ok\n\
         Disallow: /*.pdf$\n",
    );
    assert!(allowed(&r, "/public"));
    assert!(!allowed(&r, "/private/x"));
    assert!(allowed(&r, "/private/ok/y"));
    assert!(!allowed(&r, "/doc.pdf"));
    assert!(allowed(&r, "/doc.pdf?x=1"));
    let star = rules("User-agent: other\nDisallow: /\n\nUser-agent: *\nDisallow: /tmp\n");
    assert!(!allowed(&star, "/tmp/a"));
    assert!(allowed(&star, "/a"));
}

#[test]
fn disallow_all_and_unreachable_carry_their_kind() {
    let url = Url::parse("http://h.test/").unwrap();
    let d = Robots::DisallowAll("503".into()).check(&url).unwrap_err();
    assert_eq!(d.0, ErrorKind::RobotsDisallowed);
    let u = Robots::Unreachable(ErrorKind::Connect, "refused".into())
        .check(&url)
        .unwrap_err();
    assert_eq!(u.0, ErrorKind::Connect);
}

#[test]
fn crawl_delay_only_slows_down() {
    let url = Url::parse("http://h.test/").unwrap();
    let h = Host::new(&url, Some(5.0), Duration::from_secs(30));
    assert!(
        h.crawl_delay_limiter(2.0).is_some(),
        "0.5/s is slower than 5/s"
    );
    assert!(
        h.crawl_delay_limiter(0.1).is_none(),
        "10/s would be faster than 5/s"
    );
    let unlimited = Host::new(&url, None, Duration::from_secs(30));
    assert!(unlimited.crawl_delay_limiter(1.0).is_some());
}

#[tokio::test(start_paused = true)]
async fn slow_down_doubles_and_relaxes() {
    let url = Url::parse("http://h.test/").unwrap();
    let h = Host::new(&url, None, Duration::from_secs(30));
    h.slow_down(Duration::ZERO);
    assert_eq!(h.current_backoff(), Duration::from_secs(1));
    h.slow_down(Duration::ZERO);
    assert_eq!(h.current_backoff(), Duration::from_secs(2));
    h.slow_down(Duration::from_secs(10));
    assert_eq!(h.current_backoff(), Duration::from_secs(10));
    let start = Instant::now();
    h.ready().await;
    assert!(Instant::now() - start >= Duration::from_secs(10));
    for _ in 0..10 {
        h.relax();
    }
    assert_eq!(h.current_backoff(), Duration::ZERO);
    h.slow_down(Duration::from_secs(3600));
    assert_eq!(h.current_backoff(), Duration::from_secs(30), "capped");
}
