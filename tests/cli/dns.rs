//! DNS (`src/dns.rs`): names resolved through an in-process DNS server on loopback UDP (`--dns-server`) that
//! counts queries per (name, type) with server-side timestamps: one query per name and type per TTL however many
//! connections, NXDOMAIN / SERVFAIL / timeout messages, and what never reaches the server (`--resolve`, `.invalid`,
//! `localhost`, `/etc/hosts`). Every run passes `--dns-server`: the machine's resolver is never asked.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use crate::support::*;

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const TYPE_SOA: u16 = 6;
const CLASS_IN: u16 = 1;

/// What the server answers for a name; names it does not know get NXDOMAIN.
#[derive(Clone, Debug)]
enum Zone {
    /// A and AAAA records among these (an empty answer plus an SOA for the family without any).
    Addrs(Vec<IpAddr>),
    ServFail,
    /// Never answers.
    Silent,
}

#[derive(Default)]
struct DnsState {
    zone: Mutex<HashMap<String, Zone>>,
    ttl: AtomicU32,
    /// (name, type, when received)
    queries: Mutex<Vec<(String, u16, Instant)>>,
}

/// A DNS server on a loopback UDP port: answers A/AAAA from its zone with one TTL, counts every query.
struct Dns {
    addr: SocketAddr,
    state: Arc<DnsState>,
}

impl Dns {
    async fn start(ip: &str, ttl: u32) -> Dns {
        let socket = UdpSocket::bind((ip, 0)).await.unwrap();
        let addr = socket.local_addr().unwrap();
        let state = Arc::new(DnsState::default());
        state.ttl.store(ttl, Ordering::SeqCst);
        let st = state.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                if let Some(reply) = respond(&buf[..n], &st) {
                    let _ = socket.send_to(&reply, peer).await;
                }
            }
        });
        Dns { addr, state }
    }

    fn set(&self, name: &str, zone: Zone) -> &Dns {
        self.state.zone.lock().unwrap().insert(name.into(), zone);
        self
    }

    fn arg(&self) -> String {
        self.addr.to_string()
    }

    /// Queries received for `name` of type `rtype`.
    fn count(&self, name: &str, rtype: u16) -> usize {
        self.times(name, rtype).len()
    }

    fn times(&self, name: &str, rtype: u16) -> Vec<Instant> {
        let q = self.state.queries.lock().unwrap();
        q.iter()
            .filter(|(n, t, _)| n == name && *t == rtype)
            .map(|(_, _, at)| *at)
            .collect()
    }

    fn total(&self) -> usize {
        self.state.queries.lock().unwrap().len()
    }

    /// Every (name, type) → count, for failure messages and the report.
    fn summary(&self) -> HashMap<(String, u16), usize> {
        let mut out = HashMap::new();
        for (n, t, _) in self.state.queries.lock().unwrap().iter() {
            *out.entry((n.clone(), *t)).or_default() += 1;
        }
        out
    }
}

/// One reply to one query (RFC 1035 wire format), or none (a silent name, or not a query we can read).
fn respond(query: &[u8], state: &DnsState) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(query.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*query.get(i)?, *query.get(i + 1)?]);
    let question_end = i + 4;
    if query.len() < question_end {
        return None;
    }
    let name = labels.join(".");
    state
        .queries
        .lock()
        .unwrap()
        .push((name.clone(), qtype, Instant::now()));
    let zone = state.zone.lock().unwrap().get(&name).cloned();
    let ttl = state.ttl.load(Ordering::SeqCst);
    let (rcode, answers): (u8, Vec<Vec<u8>>) = match zone {
        Some(Zone::Silent) => return None,
        Some(Zone::ServFail) => (2, vec![]),
        None => (3, vec![]),
        Some(Zone::Addrs(ips)) => (
            0,
            ips.iter()
                .filter_map(|ip| match (ip, qtype) {
                    (IpAddr::V4(v4), TYPE_A) => Some(v4.octets().to_vec()),
                    (IpAddr::V6(v6), TYPE_AAAA) => Some(v6.octets().to_vec()),
                    _ => None,
                })
                .collect(),
        ),
    };
    let negative = answers.is_empty() && rcode != 2;
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[..2]); // ID
    out.push(0x80 | 0x04 | (query[2] & 0x01)); // QR, AA, RD as asked
    out.push(0x80 | rcode); // RA
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&u16::from(negative).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&query[12..question_end]);
    for rdata in &answers {
        out.extend_from_slice(&[0xC0, 0x0C]); // the question's name
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    if negative {
        // An SOA in the authority section carries the negative TTL (RFC 2308), as real servers send it.
        out.push(0); // owner: the root
        out.extend_from_slice(&TYPE_SOA.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&22u16.to_be_bytes());
        out.extend_from_slice(&[0, 0]); // MNAME, RNAME: the root
        for field in [1u32, 3600, 600, 86400, ttl] {
            out.extend_from_slice(&field.to_be_bytes()); // serial, refresh, retry, expire, minimum
        }
    }
    Some(out)
}

fn v4(ip: &str) -> Vec<IpAddr> {
    vec![IpAddr::V4(ip.parse::<Ipv4Addr>().unwrap())]
}

fn with_dns<'a>(dns: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = args(&["--dns-server", dns]);
    v.extend_from_slice(extra);
    v
}

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
        site.max_in_flight() >= 4,
        "connections at once: {}",
        site.max_in_flight()
    );
    assert_eq!(dns.count(NAME, TYPE_A), 1, "{:?}", dns.summary());
    assert_eq!(dns.count(NAME, TYPE_AAAA), 1, "{:?}", dns.summary());
    assert_eq!(dns.total(), 2, "{:?}", dns.summary());
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
async fn nxdomain_servfail_and_silence_are_told_apart() {
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set("broken.crawlfish.test", Zone::ServFail);
    dns.set("quiet.crawlfish.test", Zone::Silent);
    dns.set("empty.crawlfish.test", Zone::Addrs(vec![]));
    let gone = [
        "http://gone.crawlfish.test/1",
        "http://gone.crawlfish.test/2",
        "http://gone.crawlfish.test/3",
    ];
    let input = format!(
        "{}\nhttp://broken.crawlfish.test/\nhttp://quiet.crawlfish.test/\nhttp://empty.crawlfish.test/\n",
        gone.join("\n")
    );
    let server = dns.arg();
    // --timeout 2: a lookup may take 4/5 of it (1.6 s), then the URL is given up (kind dns, not retried).
    let argv = [
        "-q",
        "-r",
        "0",
        "--ignore-robots",
        "--timeout",
        "2",
        "--dns-server",
        &server,
    ];
    let run = crawlfish(&argv, &input).await;
    assert_eq!(run.records.len(), 6);
    let message = |url: &str| {
        run.record(url)["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for url in gone {
        assert_eq!(run.kind(url), "dns");
        assert!(message(url).contains("no such host"), "{}", message(url));
        assert_eq!(run.record(url)["attempts"], 1);
    }
    assert_eq!(
        dns.count("gone.crawlfish.test", TYPE_A),
        1,
        "{:?}",
        dns.summary()
    );
    let url = "http://broken.crawlfish.test/";
    assert_eq!(run.kind(url), "dns");
    assert!(message(url).contains("SERVFAIL"), "{}", message(url));
    let url = "http://empty.crawlfish.test/";
    assert_eq!(run.kind(url), "dns");
    assert!(
        message(url).contains("no address records"),
        "{}",
        message(url)
    );
    let url = "http://quiet.crawlfish.test/";
    assert_eq!(run.kind(url), "dns", "{}", run.record(url));
    assert!(message(url).contains("DNS timeout"), "{}", message(url));
    assert!(!message(url).contains("no such host"));
    assert_eq!(run.record(url)["attempts"], 1);
    assert_eq!(run.code, Some(1), "failed URLs: exit 1");
    assert!(
        run.elapsed < Duration::from_secs(5),
        "the silent server held the run {:?}",
        run.elapsed
    );
    eprintln!(
        "silent server: {:?} in {:?}; queries {:?}",
        message(url),
        run.elapsed,
        dns.summary()
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

#[tokio::test]
async fn bad_dns_server_values_exit_2() {
    for bad in [
        "dns.example",
        "1.2.3.4:0",
        "1.2.3.4:99999",
        "::1:53x",
        "[::1]:",
        "127.0.0.1:53:53",
        "",
    ] {
        let run = crawlfish(&args(&["--dns-server", bad]), "http://127.0.0.1:9/\n").await;
        assert_eq!(run.code, Some(2), "{bad:?}: {}", run.stderr);
        assert!(run.records.is_empty());
        assert!(
            run.stderr.contains(&format!("--dns-server {bad:?}")),
            "{bad:?}: {}",
            run.stderr
        );
    }
}
