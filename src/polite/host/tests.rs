//! Unit tests of [`crate::polite::host`]: robots groups through `Robots::check`, Crawl-delay, backoff.

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

/// The host table's release rules.
mod release {
    use std::time::Duration;

    use tokio::time::Instant;
    use url::Url;

    use super::super::*;

    fn url(host: &str) -> Url {
        Url::parse(&format!("http://{host}/")).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_is_released_only_once_its_limiter_has_refilled() {
        // At -r 5 the burst of 2 refills in 2/R (plus the 0.5 % period slack) = 402 ms: released earlier, a fresh
        // limiter could let one more through.
        let h = Host::new(&url("a.test"), Some(5.0), Duration::from_secs(30));
        h.ready().await;
        assert!(!h.releasable(Instant::now()));
        tokio::time::advance(Duration::from_millis(401)).await;
        assert!(!h.releasable(Instant::now()));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(h.releasable(Instant::now()));
        h.slow_down(Duration::ZERO);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(
            !h.releasable(Instant::now()),
            "a remembered backoff keeps it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn released_hosts_keep_their_robots_and_held_ones_stay() {
        let hosts = Hosts::new(None, Duration::from_secs(30));
        let held = hosts.get(&url("held.test"));
        let idle = hosts.get(&url("idle.test"));
        idle.robots(|| async { Robots::DisallowAll("503".into()) })
            .await
            .unwrap();
        drop(idle);
        hosts.sweep();
        assert_eq!(
            hosts.counts(),
            (1, 1),
            "idle.test released, its robots cached"
        );
        let back = hosts.get(&url("idle.test"));
        let robots = back
            .robots(|| async { panic!("robots.txt asked again") })
            .await
            .unwrap();
        assert!(matches!(robots, Robots::DisallowAll(_)));
        assert_eq!(hosts.counts(), (2, 0));
        drop(held);
    }

    /// A robots.txt the address guard refused is that caller's answer only: the next caller fetches again.
    #[tokio::test]
    async fn a_robots_fetch_the_guard_refused_is_not_kept() {
        let h = Host::new(&url("inside.test"), None, Duration::from_secs(30));
        let blocked = h
            .robots(|| async { Robots::Unreachable(ErrorKind::BlockedAddress, "no".into()) })
            .await;
        assert!(matches!(
            blocked,
            Err(Robots::Unreachable(ErrorKind::BlockedAddress, _))
        ));
        let kept = h.robots(|| async { Robots::AllowAll }).await;
        assert!(matches!(kept, Ok(Robots::AllowAll)));
        let again = h
            .robots(|| async { panic!("robots.txt asked again") })
            .await;
        assert!(matches!(again, Ok(Robots::AllowAll)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_stays_near_the_hosts_in_use() {
        let hosts = Hosts::with_robots_budget(None, Duration::from_secs(30), 4 * 1024);
        for i in 0..10_000 {
            let h = hosts.get(&url(&format!("h{i}.test")));
            h.robots(|| async { Robots::AllowAll }).await.unwrap();
        }
        let (table, cached) = hosts.counts();
        assert!(table <= SWEEP_GROWTH + 1, "{table} hosts kept");
        assert!(
            cached <= 4 * 1024 / ROBOTS_ENTRY_BYTES,
            "{cached} robots results within the budget"
        );
    }
}
