//! `--deny-net` and `--allow-net` on loopback addresses: a denied address gets no connection, whether a link, a
//! redirect hop, a robots.txt fetch or a name (`--resolve`, DNS, a multi-address answer, a name that rebinds
//! between two lookups) leads there. Loopback only, so these run outside a network namespace.

use crate::support::dns::{v4, Dns, Zone};
use crate::support::*;

/// `-q -r 0 --timeout 5`, robots.txt obeyed (its fetch is a request the guard must hold too).
fn robots_on<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["-q", "-r", "0", "--timeout", "5"];
    v.extend_from_slice(extra);
    v
}

fn assert_blocked(run: &Run, url: &str) {
    let r = run.record(url);
    assert_eq!(r["error"]["kind"], "blocked_address", "{url}: {r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("127.0.0.7") && msg.contains("--deny-net 127.0.0.7/32"),
        "{url}: {msg}"
    );
}

#[tokio::test]
async fn deny_net_keeps_links_hops_robots_and_names_off_a_loopback_address() {
    let denied = Site::start("127.0.0.7").await;
    let p = denied.addr.port();
    let site = Site::start("127.0.0.2").await;
    let dns = Dns::start("127.0.0.1", 300).await;
    dns.set("denied-dns.test", Zone::Addrs(v4("127.0.0.7")));
    let links = [
        denied.url("/link"),
        format!("http://[::ffff:127.0.0.7]:{p}/mapped"),
        format!("http://denied-resolve.test:{p}/resolve"),
        format!("http://denied-dns.test:{p}/dns"),
    ];
    let body: String = links
        .iter()
        .map(|l| format!("<a href=\"{l}\">x</a>"))
        .collect();
    site.html("/", &body);
    site.route("/go", vec![redirect(301, &denied.url("/hop"))]);
    let resolve = format!("denied-resolve.test:{p}:127.0.0.7");
    let server = dns.arg();
    let flags = robots_on(&[
        "-d",
        "1",
        "--scope",
        "any",
        "--deny-net",
        "127.0.0.7",
        "--resolve",
        &resolve,
        "--dns-server",
        &server,
    ]);
    let input = format!("{}\n{}\n", site.url("/"), site.url("/go"));
    let run = crawlfish(&flags, &input).await;
    assert_eq!(run.record(&site.url("/"))["status"], 200);
    assert_blocked(&run, &denied.url("/link"));
    assert_blocked(&run, &format!("http://[::ffff:7f00:7]:{p}/mapped"));
    assert_blocked(&run, &links[2]);
    assert_blocked(&run, &links[3]);
    assert_blocked(&run, &site.url("/go"));
    assert_eq!(
        run.record(&site.url("/go"))["redirects"],
        serde_json::json!([{"url": denied.url("/hop"), "status": 301}])
    );
    assert_eq!(
        denied.total_hits(),
        0,
        "robots.txt or a page of the denied address was requested: {:?}",
        denied.hit_times()
    );
    assert_eq!(run.code, Some(1), "a blocked URL is a failed one");
    // An --allow-net more specific than the --deny-net wins; an equal one does not.
    let allowed = robots_on(&["--deny-net", "127.0.0.0/29", "--allow-net", "127.0.0.7/32"]);
    let run = crawlfish(&allowed, &denied.url("/link")).await;
    assert_eq!(run.record(&denied.url("/link"))["status"], 404);
    let tie = robots_on(&["--deny-net", "127.0.0.7", "--allow-net", "127.0.0.7/32"]);
    let run = crawlfish(&tie, &denied.url("/again")).await;
    assert_blocked(&run, &denied.url("/again"));
    assert_eq!(denied.hits("/again"), 0);
}

/// A name with a denied and an allowed address is connected to the allowed one only; a name that answers an
/// allowed address and then (TTL 0, a new connection) a denied one gets no connection to the denied one.
#[tokio::test]
async fn a_name_never_gets_a_connection_to_its_denied_addresses() {
    let allowed = Site::start("127.0.0.6").await;
    let p = allowed.addr.port();
    let denied = Site::start_at(format!("127.0.0.7:{p}").parse().unwrap()).await;
    for s in [&allowed, &denied] {
        // A new connection for every request: each needs a lookup.
        let page = Step::html("<a href=\"/next\">n</a>").header("connection", "close");
        s.route("/", vec![page.clone()]);
        s.route("/next", vec![page]);
    }
    let dns = Dns::start("127.0.0.1", 0).await;
    let both: Vec<std::net::IpAddr> =
        vec!["127.0.0.7".parse().unwrap(), "127.0.0.6".parse().unwrap()];
    dns.set("both.test", Zone::Addrs(both));
    dns.set(
        "rebind.test",
        Zone::Sequence(vec![
            "127.0.0.6".parse().unwrap(),
            "127.0.0.7".parse().unwrap(),
        ]),
    );
    let server = dns.arg();
    let flags = args(&[
        "-d",
        "1",
        "--scope",
        "any",
        "--deny-net",
        "127.0.0.7",
        "--dns-server",
        &server,
    ]);
    let both_url = format!("http://both.test:{p}/");
    let run = crawlfish(&flags, &both_url).await;
    assert_eq!(run.record(&both_url)["status"], 200, "{:?}", run.records);
    assert_eq!(
        run.record(&format!("http://both.test:{p}/next"))["status"],
        200
    );
    assert_eq!(denied.total_hits(), 0);
    let rebind = format!("http://rebind.test:{p}/");
    let run = crawlfish(&flags, &rebind).await;
    assert_eq!(run.record(&rebind)["status"], 200, "{:?}", run.records);
    assert_blocked(&run, &format!("http://rebind.test:{p}/next"));
    assert_eq!(denied.total_hits(), 0);
    assert_eq!(dns.count("rebind.test", crate::support::dns::TYPE_A), 2);
}
