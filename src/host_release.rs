//! Tests of the host table's release rules (`host.rs`), kept apart to keep that file short.

use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use super::*;

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
        .await;
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
        .await;
    assert!(matches!(robots, Robots::DisallowAll(_)));
    assert_eq!(hosts.counts(), (2, 0));
    drop(held);
}

#[tokio::test(start_paused = true)]
async fn the_table_stays_near_the_hosts_in_use() {
    let hosts = Hosts::with_robots_budget(None, Duration::from_secs(30), 4 * 1024);
    for i in 0..10_000 {
        let h = hosts.get(&url(&format!("h{i}.test")));
        h.robots(|| async { Robots::AllowAll }).await;
    }
    let (table, cached) = hosts.counts();
    assert!(table <= SWEEP_GROWTH + 1, "{table} hosts kept");
    assert!(
        cached <= 4 * 1024 / ROBOTS_ENTRY_BYTES,
        "{cached} robots results within the budget"
    );
}
