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

/// Rates from 1e-30 to 1e-9 in steps of a quarter decade, and a few above (the edges of `-r`'s range).
fn swept_rates() -> Vec<f64> {
    let mut rates: Vec<f64> = (0..=84)
        .map(|i| 10f64.powf(-30.0 + f64::from(i) / 4.0))
        .collect();
    rates.extend([
        5e-11,
        1e-10,
        3e-10,
        min_rate(),
        min_rate() * 1.001,
        1e-8,
        1.0,
        5.0,
        1e9,
    ]);
    rates
}

/// Takes permits from `l` as a host does, past its burst, and asks how long the next one waits.
fn take_permits(l: &DefaultDirectRateLimiter) {
    for _ in 0..4 {
        if let Err(not_until) = l.check() {
            let _ = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
        }
    }
}

#[tokio::test]
async fn small_rates_never_panic_the_limiter_and_the_unsafe_ones_are_refused() {
    let url = Url::parse("http://h.test/").unwrap();
    for rate in swept_rates() {
        let ok = rate_is_representable(rate);
        // A period over MAX_PERIOD is refused; the 584-year u64 nanosecond clock is never approached.
        assert_eq!(
            ok,
            PERIOD_SLACK / rate <= MAX_PERIOD.as_secs_f64() && rate <= 1e9,
            "-r {rate:e}"
        );
        // Built whatever the answer (a library caller need not validate): the real limiter, its spare cell spent.
        let h = Host::new(&url, Some(rate), Duration::from_secs(30));
        let Some(l) = &h.limiter else {
            panic!("-r {rate:e}: no limiter");
        };
        take_permits(l);
        // The host's own wait: the first request takes the burst's cell, the next one sleeps its period.
        let waited = tokio::time::timeout(Duration::from_millis(5), async {
            h.ready().await;
            h.ready().await;
        })
        .await;
        assert!(waited.is_err() || rate > 100.0, "-r {rate:e} did not wait");
        releasable_does_not_panic(&h);
    }
    assert!(!rate_is_representable(5e-11), "the attack run's rate");
    assert!(!rate_is_representable(1e-10));
    assert!(
        rate_is_representable(4e-10),
        "one request every 80 years is enforceable"
    );
}

fn releasable_does_not_panic(h: &Host) {
    let _ = h.releasable(Instant::now());
}

#[tokio::test(start_paused = true)]
async fn the_longest_crawl_delay_and_retry_after_do_not_overflow() {
    let url = Url::parse("http://h.test/").unwrap();
    let h = Host::new(
        &url,
        Some(min_rate()),
        crate::polite::DEFAULT_MAX_RETRY_AFTER,
    );
    let cap = crate::robots::MAX_CRAWL_DELAY.as_secs_f32();
    for delay in [cap, 1e-30, f32::MIN_POSITIVE] {
        if let Some(l) = Host::new(&url, None, Duration::from_secs(1)).crawl_delay_limiter(delay) {
            take_permits(&l);
        }
    }
    assert!(h.crawl_delay_limiter(cap).is_none(), "slower -r wins");
    // Retry-After of "99999999999999999999" parses as Duration::MAX; the host pause is capped.
    let long = Host::new(&url, None, Duration::from_secs(100 * 31_557_600));
    long.slow_down(Duration::MAX);
    long.slow_down(Duration::MAX);
    assert_eq!(
        long.current_backoff(),
        Duration::from_secs(100 * 31_557_600)
    );
}
