//! `--metrics ADDR` and `--metrics-file FILE`: the Prometheus text served during a run (held mid-crawl by a gated
//! answer) and written at exit, read by a strict parser of the exposition format, against the records; a port in
//! use is a usage error before anything is fetched or written.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// Series (name and labels, as written) → value, from exposition text; panics on anything malformed: a sample
/// before its family's `# TYPE`, a family typed twice, a bad name, label or value, a duplicate series, a
/// histogram whose buckets are not cumulative or whose `+Inf` bucket is not its `_count`.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let name_ok = |n: &str| {
        let mut c = n.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
    };
    let mut types: HashMap<String, String> = HashMap::new();
    let mut series = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (what, name, tail) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
            assert!(name_ok(name) && name.starts_with("crawlfish_"), "{line}");
            match what {
                "HELP" => assert!(tail.is_some_and(|t| !t.is_empty()), "{line}"),
                "TYPE" => {
                    let t = tail.unwrap();
                    assert!(["counter", "gauge", "histogram"].contains(&t), "{line}");
                    assert!(
                        types.insert(name.into(), t.into()).is_none(),
                        "typed twice: {line}"
                    );
                }
                _ => panic!("unknown comment {line}"),
            }
            continue;
        }
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let name = key.split('{').next().unwrap();
        assert!(name_ok(name), "{line}");
        if let Some(labels) = key.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap();
            for pair in inner.split(',') {
                let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
                assert!(name_ok(k) && !k.starts_with("__"), "{line}");
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap();
                assert!(!v.contains(['"', '\\', '\n']), "{line}");
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample before its # TYPE: {line}"
        );
        assert!(
            series.insert(key.to_owned(), value).is_none(),
            "duplicate series: {line}"
        );
    }
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        let buckets: Vec<f64> = series
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{family}_bucket{{")))
            .map(|(_, v)| *v)
            .collect();
        let inf = series[&format!("{family}_bucket{{le=\"+Inf\"}}")];
        assert!(
            buckets.iter().all(|b| *b <= inf),
            "{family}: buckets above +Inf"
        );
        assert_eq!(
            inf,
            series[&format!("{family}_count")],
            "{family}: +Inf is _count"
        );
    }
    series
}

/// A free port on 127.0.0.1 (bound, then let go).
/// A free port for `--metrics`, on a loopback address no other test binds (crawlfish must bind it itself, so it is
/// released first): on 127.0.0.1 another test's server could be given it in between.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.178:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `GET path` on `addr`: the status code and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut text = String::new();
    tokio::time::timeout(RUN_LIMIT, s.read_to_string(&mut text))
        .await
        .unwrap()
        .unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head[9..12].parse().unwrap(), body.to_owned())
}

fn records_in(path: &std::path::Path) -> Vec<serde_json::Value> {
    parse_lines(&std::fs::read_to_string(path).unwrap_or_default())
}

fn count(m: &BTreeMap<String, f64>, series: &str) -> u64 {
    *m.get(series)
        .unwrap_or_else(|| panic!("no {series} in {m:#?}")) as u64
}

/// The counters the records themselves give: records, per status class, per error kind.
fn assert_counts_match(m: &BTreeMap<String, f64>, records: &[serde_json::Value]) {
    assert_eq!(count(m, "crawlfish_records_total"), records.len() as u64);
    for class in 1..=5u64 {
        let n = records
            .iter()
            .filter(|r| r["status"].as_u64().is_some_and(|s| s / 100 == class))
            .count();
        assert_eq!(
            count(
                m,
                &format!("crawlfish_records_by_status_total{{class=\"{class}xx\"}}")
            ),
            n as u64
        );
    }
    let errors = records.iter().filter(|r| r["error"].is_object()).count() as u64;
    let counted: u64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("crawlfish_record_errors_total{"))
        .map(|(_, v)| *v as u64)
        .sum();
    assert_eq!(counted, errors);
}

#[tokio::test]
async fn metrics_are_served_during_the_run_and_the_file_at_exit_counts_the_records() {
    let site = Site::start("127.0.0.1").await;
    let gate = Gate::default();
    site.html("/a", "<title>a</title>")
        .route("/gone", vec![Step::new(404, "no")])
        .route("/held", vec![Step::html("<title>held</title>").held(&gate)]);
    let dir = tempdir("metrics");
    let (out, file, addr) = (dir.join("out.jsonl"), dir.join("crawl.prom"), free_addr());
    let (out_s, file_s, addr_s) = (
        out.to_str().unwrap(),
        file.to_str().unwrap(),
        addr.to_string(),
    );
    // HELD: `/held` must not time out while the test reads the live metrics.
    let argv = held_args(&["-o", out_s, "--metrics", &addr_s, "--metrics-file", file_s]);
    let input = format!(
        "{}\n{}\n{}\n",
        site.url("/a"),
        site.url("/gone"),
        site.url("/held")
    );
    let mut child = spawn_with_input(&argv, input);
    wait_until(
        "/held in flight and the other two records",
        RUN_LIMIT,
        || site.hits("/held") == 1 && records_in(&out).len() == 2,
    )
    .await;

    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let live = parse_exposition(&body);
    assert_counts_match(&live, &records_in(&out));
    assert_eq!(count(&live, "crawlfish_requests_in_flight"), 1, "/held");
    assert_eq!(count(&live, "crawlfish_urls_in_flight"), 1, "/held");
    assert_eq!(get(addr, "/").await.0, 404);
    assert_eq!(get(addr, "/metrics/x").await.0, 404);

    gate.open();
    assert_eq!(
        exit_code_within(&mut child, RUN_LIMIT).await,
        Some(1),
        "/gone is a 404"
    );
    let records = records_in(&out);
    let end = parse_exposition(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(records.len(), 3);
    assert_counts_match(&end, &records);
    assert_eq!(count(&end, "crawlfish_requests_total{class=\"2xx\"}"), 2);
    assert_eq!(count(&end, "crawlfish_requests_total{class=\"4xx\"}"), 1);
    assert_eq!(
        count(&end, "crawlfish_request_duration_seconds_count") as usize,
        site.total_hits()
    );
    assert_eq!(count(&end, "crawlfish_requests_in_flight"), 0);
    assert!(
        count(&end, "crawlfish_received_bytes_total")
            >= "<title>a</title>no<title>held</title>".len() as u64
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temp file left: {leftovers:?}");
}

#[tokio::test]
async fn a_metrics_port_in_use_exits_2_before_anything_is_fetched_or_written() {
    let site = Site::start("127.0.0.1").await;
    site.html("/a", "<title>a</title>");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempdir("metrics-in-use");
    let (out, file) = (dir.join("out.jsonl"), dir.join("crawl.prom"));
    let argv = args(&[
        "-o",
        out.to_str().unwrap(),
        "--metrics",
        &addr,
        "--metrics-file",
        file.to_str().unwrap(),
    ]);
    let run = crawlfish(&argv, &format!("{}\n", site.url("/a"))).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("--metrics") && run.stderr.contains(&addr),
        "{}",
        run.stderr
    );
    assert_eq!(site.total_hits(), 0);
    assert!(!out.exists() && !file.exists());
}

#[tokio::test]
async fn a_bad_metrics_address_is_a_usage_error() {
    let run = crawlfish(&args(&["--metrics", "localhost"]), "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--metrics"), "{}", run.stderr);
}
