//! DNS (`src/dns.rs`): names resolved through an in-process DNS server on loopback UDP (`--dns-server`, see
//! `support/dns.rs`) that counts queries per (name, type) with server-side timestamps: one query per name and type
//! per TTL however many connections, both families, what never reaches the server (`--resolve`, `.invalid`,
//! `localhost`, `/etc/hosts`), and odd answers that still resolve. Every run passes `--dns-server`: the machine's
//! resolver is never asked. Failures are in `dns_errors.rs`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::support::dns::{v4, with_dns, Dns, Zone, TYPE_A, TYPE_AAAA};
use crate::support::*;

#[tokio::test]
async fn one_query_per_name_and_type_for_many_connections() {
    const NAME: &str = "pages.crawlfish.test";
    const PAGES: usize = 40;
    let site = Site::start("127.0.0.61").await;
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(NAME, Zone::Addrs(v4("127.0.0.61")));
    let port = site.addr.port();
    let mut input = String::new();
    for i in 0..PAGES {
        // A short server delay keeps several requests, so several connections, open at once.
        site.route(
            &format!("/p{i}"),
            vec![Step::html("x").delay(Duration::from_millis(40))],
        );
        input.push_str(&format!("http://{NAME}:{port}/p{i}\n"));
    }
    let server = dns.arg();
    let run = crawlfish(&with_dns(&server, &["-c", "8", "--per-host", "8"]), &input).await;
    assert_eq!(run.records.len(), PAGES, "{}", run.stderr);
    for r in &run.records {
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["ip"], "127.0.0.61", "{r}");
    }
    assert!(
        site.max_in_flight() >= 2,
        "connections at once: {}",
        site.max_in_flight()
    );
    assert_eq!(dns.count(NAME, TYPE_A), 1, "{:?}", dns.summary());
    assert_eq!(dns.count(NAME, TYPE_AAAA), 1, "{:?}", dns.summary());
    assert_eq!(dns.total(), 2, "{:?}", dns.summary());
    eprintln!(
        "{PAGES} pages, up to {} requests at once: queries {:?}",
        site.max_in_flight(),
        dns.summary()
    );
}

#[tokio::test]
async fn one_query_per_name_and_type_across_many_names() {
    const NAMES: usize = 20;
    let site = Site::start("127.0.0.62").await;
    let dns = Dns::start("127.0.0.53", 300).await;
    site.html("/a", "a").html("/b", "b");
    let port = site.addr.port();
    let mut input = String::new();
    for i in 0..NAMES {
        dns.set(
            &format!("h{i}.crawlfish.test"),
            Zone::Addrs(v4("127.0.0.62")),
        );
        for page in ["a", "b"] {
            input.push_str(&format!("http://h{i}.crawlfish.test:{port}/{page}\n"));
        }
    }
    let server = dns.arg();
    let run = crawlfish(&with_dns(&server, &["-c", "8", "--per-host", "2"]), &input).await;
    assert_eq!(run.records.len(), 2 * NAMES);
    assert!(run
        .records
        .iter()
        .all(|r| r["status"] == 200 && r["ip"] == "127.0.0.62"));
    for i in 0..NAMES {
        let name = format!("h{i}.crawlfish.test");
        assert_eq!(dns.count(&name, TYPE_A), 1, "{name}: {:?}", dns.summary());
        assert_eq!(
            dns.count(&name, TYPE_AAAA),
            1,
            "{name}: {:?}",
            dns.summary()
        );
    }
    assert_eq!(dns.total(), 2 * NAMES);
}

/// TTL 1 s; one connection per request (`Connection: close`), 4 requests a second for ~2.25 s: the name is asked
/// again once its answer expired, and never twice within a TTL (server-side times, 10 ms tolerance).
#[tokio::test]
async fn an_expired_answer_is_asked_again() {
    const NAME: &str = "ttl.crawlfish.test";
    const PAGES: usize = 10;
    const TTL: Duration = Duration::from_secs(1);
    let site = Site::start("127.0.0.63").await;
    let dns = Dns::start("127.0.0.53", TTL.as_secs() as u32).await;
    dns.set(NAME, Zone::Addrs(v4("127.0.0.63")));
    let port = site.addr.port();
    let mut input = String::new();
    for i in 0..PAGES {
        site.route(
            &format!("/p{i}"),
            vec![Step::html("x").header("connection", "close")],
        );
        input.push_str(&format!("http://{NAME}:{port}/p{i}\n"));
    }
    let server = dns.arg();
    let argv = [
        "-q",
        "--ignore-robots",
        "--timeout",
        "5",
        "-r",
        "4",
        "--per-host",
        "1",
        "--dns-server",
        &server,
    ];
    let run = crawlfish(&argv, &input).await;
    assert_eq!(run.records.len(), PAGES);
    assert!(
        run.records.iter().all(|r| r["status"] == 200),
        "{:?}",
        run.records
    );
    let times = dns.times(NAME, TYPE_A);
    assert!(times.len() >= 2, "asked again after the TTL: {times:?}");
    assert!(
        times.len() < PAGES,
        "not once per connection: {}",
        times.len()
    );
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap + Duration::from_millis(10) >= TTL,
            "asked again within the TTL: {gap:?}"
        );
    }
    eprintln!(
        "TTL 1 s, {PAGES} connections over {:?}: A asked {} times, AAAA {} times",
        run.elapsed,
        times.len(),
        dns.count(NAME, TYPE_AAAA)
    );
}

#[tokio::test]
async fn resolve_invalid_and_localhost_never_ask_the_server() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    let dns = Dns::start("127.0.0.53", 300).await;
    // The server would send pinned.crawlfish.test elsewhere: --resolve must win without asking it.
    dns.set("pinned.crawlfish.test", Zone::Addrs(v4("127.0.0.99")));
    let port = site.addr.port();
    let pinned = format!("http://pinned.crawlfish.test:{port}/");
    let local = format!("http://localhost:{port}/");
    let sub = format!("http://app.localhost:{port}/");
    let input = format!("{pinned}\n{local}\n{sub}\nhttp://x.invalid/\n");
    let server = dns.arg();
    let r = format!("pinned.crawlfish.test:{port}:127.0.0.1");
    let run = crawlfish(&with_dns(&server, &["--resolve", &r]), &input).await;
    for url in [&pinned, &local, &sub] {
        assert_eq!(run.record(url)["status"], 200, "{}", run.record(url));
    }
    assert_eq!(run.record(&pinned)["ip"], "127.0.0.1");
    assert_eq!(run.kind("http://x.invalid/"), "dns");
    let msg = run.record("http://x.invalid/")["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        msg.contains("no such host") && msg.contains("RFC 6761"),
        "{msg}"
    );
    assert_eq!(dns.total(), 0, "{:?}", dns.summary());
}

/// A name `/etc/hosts` gives (only loopback addresses, not `localhost`) is answered from it: neither family is
/// asked of DNS. Skipped when the machine's hosts file has no such name.
#[tokio::test]
async fn etc_hosts_names_never_ask_the_server() {
    let Some((name, ip)) = loopback_name_in_etc_hosts() else {
        eprintln!("skipped: /etc/hosts has no loopback-only name besides localhost");
        return;
    };
    let site = Site::start(&ip.to_string()).await;
    site.html("/", "from hosts");
    let dns = Dns::start("127.0.0.53", 300).await;
    let url = format!("http://{name}:{}/", site.addr.port());
    let server = dns.arg();
    let run = crawlfish(&with_dns(&server, &[]), &url).await;
    assert_eq!(run.record(&url)["status"], 200, "{}", run.record(&url));
    assert_eq!(dns.total(), 0, "{:?}", dns.summary());
}

/// A name whose every `/etc/hosts` entry is one IPv4 loopback address (so a connection can go nowhere else).
fn loopback_name_in_etc_hosts() -> Option<(String, IpAddr)> {
    let text = std::fs::read_to_string("/etc/hosts").ok()?;
    let mut addrs: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        for name in words {
            addrs.entry(name.to_ascii_lowercase()).or_default().push(ip);
        }
    }
    let mut names: Vec<_> = addrs
        .into_iter()
        .filter(|(name, ips)| {
            !name.ends_with("localhost")
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                && ips
                    .iter()
                    .all(|ip| ip.is_loopback() && ip.is_ipv4() && *ip == ips[0])
        })
        .collect();
    names.sort();
    names.into_iter().next().map(|(name, ips)| (name, ips[0]))
}

/// A truncated UDP answer is asked again over TCP, on the same server and port.
#[tokio::test]
async fn a_truncated_answer_is_asked_again_over_tcp() {
    const NAME: &str = "big.crawlfish.test";
    let site = Site::start("127.0.0.65").await;
    site.html("/", "ok");
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(NAME, Zone::Truncated(v4("127.0.0.65")));
    let url = format!("http://{NAME}:{}/", site.addr.port());
    let server = dns.arg();
    let run = crawlfish(&with_dns(&server, &[]), &url).await;
    assert_eq!(run.record(&url)["status"], 200, "{}", run.record(&url));
    assert_eq!(run.record(&url)["ip"], "127.0.0.65");
    assert_eq!(dns.count(NAME, TYPE_A), 2, "{:?}", dns.summary());
    assert_eq!(dns.count_tcp(NAME, TYPE_A), 1, "{:?}", dns.summary());
}

/// Both families are asked; IPv4 addresses are tried first, and an IPv6-only name connects over IPv6.
#[tokio::test]
async fn both_families_ipv4_first() {
    let Ok(probe) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback");
        return;
    };
    drop(probe);
    let v4_site = Site::start("127.0.0.66").await;
    let v6_site = Site::start("::1").await;
    v4_site.html("/", "v4");
    v6_site.html("/", "v6");
    let dns = Dns::start("127.0.0.53", 300).await;
    let port = v4_site.addr.port();
    // The dual name's IPv6 address is the v6 site's, on another port: only IPv4 first reaches v4_site.
    dns.set(
        "dual.crawlfish.test",
        Zone::Addrs(vec!["::1".parse().unwrap(), "127.0.0.66".parse().unwrap()]),
    );
    dns.set(
        "six.crawlfish.test",
        Zone::Addrs(vec!["::1".parse().unwrap()]),
    );
    let dual = format!("http://dual.crawlfish.test:{port}/");
    let six = format!("http://six.crawlfish.test:{}/", v6_site.addr.port());
    let server = dns.arg();
    let run = crawlfish(&with_dns(&server, &[]), &format!("{dual}\n{six}\n")).await;
    assert_eq!(
        run.record(&dual)["ip"],
        "127.0.0.66",
        "{}",
        run.record(&dual)
    );
    assert_eq!(run.record(&six)["status"], 200, "{}", run.record(&six));
    assert_eq!(run.record(&six)["ip"], "::1");
    for name in ["dual.crawlfish.test", "six.crawlfish.test"] {
        assert_eq!(dns.count(name, TYPE_A), 1, "{:?}", dns.summary());
        assert_eq!(dns.count(name, TYPE_AAAA), 1, "{:?}", dns.summary());
    }
}

/// A host written with its final dot (`name.`) is the same name, asked once per type.
#[tokio::test]
async fn a_final_dot_is_the_same_name() {
    const NAME: &str = "dotted.crawlfish.test";
    let site = Site::start("127.0.0.67").await;
    site.html("/", "ok");
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(NAME, Zone::Addrs(v4("127.0.0.67")));
    let url = format!("http://{NAME}.:{}/", site.addr.port());
    let server = dns.arg();
    let run = crawlfish(&with_dns(&server, &[]), &url).await;
    assert_eq!(run.record(&url)["status"], 200, "{}", run.record(&url));
    assert_eq!(dns.count(NAME, TYPE_A), 1, "{:?}", dns.summary());
    assert_eq!(dns.total(), 2, "{:?}", dns.summary());
}

/// With robots.txt on, a host whose name fails is given up at its robots.txt: a SERVFAIL (which no cache keeps)
/// is asked once for all of the host's URLs.
#[tokio::test]
async fn a_failing_name_is_asked_once_with_robots_on() {
    const NAME: &str = "down.crawlfish.test";
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(NAME, Zone::ServFail);
    let input: String = (0..5).map(|i| format!("http://{NAME}/{i}\n")).collect();
    let server = dns.arg();
    let argv = ["-q", "-r", "0", "--timeout", "5", "--dns-server", &server];
    let run = crawlfish(&argv, &input).await;
    assert_eq!(run.records.len(), 5);
    for r in &run.records {
        assert_eq!(r["error"]["kind"], "dns", "{r}");
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(
            msg.starts_with("dns: ")
                && msg.contains("SERVFAIL")
                && msg.ends_with("(while fetching robots.txt)"),
            "{msg}"
        );
    }
    assert_eq!(dns.count(NAME, TYPE_A), 1, "{:?}", dns.summary());
    assert_eq!(dns.count(NAME, TYPE_AAAA), 1, "{:?}", dns.summary());
}

/// Stray datagrams (a forged ID, a malformed reply) before the real answer are ignored, and say nothing on stderr
/// (hickory warns about each one; crawlfish keeps its warnings out of the log by default).
#[tokio::test]
async fn stray_datagrams_are_ignored_quietly() {
    const NAME: &str = "noisy.crawlfish.test";
    let site = Site::start("127.0.0.69").await;
    site.html("/", "ok");
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(NAME, Zone::Addrs(v4("127.0.0.69"))).noisy();
    let url = format!("http://{NAME}:{}/", site.addr.port());
    let server = dns.arg();
    let argv = [
        "-r",
        "0",
        "--ignore-robots",
        "--timeout",
        "5",
        "--dns-server",
        &server,
    ];
    let run = crawlfish(&argv, &url).await;
    assert_eq!(run.record(&url)["status"], 200, "{}", run.record(&url));
    assert_eq!(dns.count(NAME, TYPE_A), 1, "{:?}", dns.summary());
    assert!(!run.stderr.contains("WARN"), "{}", run.stderr);
}

/// Records in the huge answer: ~48 KB over TCP, 12 times what crawlfish keeps per name.
const HUGE: usize = 3_000;

fn loopback_many(first: Ipv4Addr, n: usize) -> Vec<IpAddr> {
    let mut ips = vec![IpAddr::V4(first)];
    ips.extend((1..n).map(|i| IpAddr::V4(Ipv4Addr::new(127, 1, (i / 256) as u8, (i % 256) as u8))));
    ips
}

/// A name answered with thousands of A records (over TCP after a truncated UDP answer) resolves to one of them,
/// asked once for two URLs: what is kept per name is capped (see `dns_cache.rs`), not the answer.
// Guards: an answer with thousands of A records was kept whole per name instead of capped.
#[tokio::test]
async fn thousands_of_a_records_resolve_to_one_of_them() {
    const NAME: &str = "huge.crawlfish.test";
    let site = Site::start("127.0.0.70").await;
    site.html("/1", "one");
    site.html("/2", "two");
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(
        NAME,
        Zone::Truncated(loopback_many(Ipv4Addr::new(127, 0, 0, 70), HUGE)),
    );
    let port = site.addr.port();
    let input = format!("http://{NAME}:{port}/1\nhttp://{NAME}:{port}/2\n");
    let server = dns.arg();
    let argv = args(&["-c", "1", "--dns-server", &server]);
    let run = crawlfish(&argv, &input).await;
    assert_eq!(run.records.len(), 2);
    for r in &run.records {
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["ip"], "127.0.0.70", "{r}");
    }
    assert_eq!(dns.count_tcp(NAME, TYPE_A), 1, "{:?}", dns.summary());
    assert_eq!(
        dns.count(NAME, TYPE_A),
        2,
        "UDP then TCP: {:?}",
        dns.summary()
    );
    assert_eq!(
        dns.count(NAME, TYPE_AAAA),
        2,
        "UDP then TCP: {:?}",
        dns.summary()
    );
}

/// `_` inside a label is a DNS name (glibc and curl resolve it): asked, and resolved.
// Guards: a host name with `_` in a label was refused instead of asked.
#[tokio::test]
async fn a_name_with_an_underscore_resolves() {
    const NAME: &str = "a_b.crawlfish.test";
    let site = Site::start("127.0.0.71").await;
    site.html("/", "ok");
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(
        NAME,
        Zone::Addrs(vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 71))]),
    );
    let url = format!("http://{NAME}:{}/", site.addr.port());
    let server = dns.arg();
    let run = crawlfish(&args(&["--dns-server", &server]), &url).await;
    assert_eq!(run.record(&url)["status"], 200, "{}", run.record(&url));
    assert_eq!(dns.count(NAME, TYPE_A), 1, "{:?}", dns.summary());
}
