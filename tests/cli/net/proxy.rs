//! `--proxy`, `--no-proxy` and the proxy environment, against the proxies of `support/proxy.rs` (an HTTP forward
//! proxy and a SOCKS5 server in the test process, loopback only) and the TLS site of `support/tls.rs`.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::support::dns::Dns;
use crate::support::proxy::{basic, Dest, Env, HttpProxy, Socks};
use crate::support::tls::{ca_file, TlsSite, H2_AND_H1};
use crate::support::*;

/// `-q -r 0 --timeout 5` with robots.txt obeyed (robots.txt requests must take the proxy too).
fn polite(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["-r", "0", "--timeout", "5"].map(String::from).to_vec();
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn pages_and_robots_txt_go_through_an_http_proxy_with_its_credentials() {
    let origin = Site::start("127.0.0.2").await;
    origin
        .html("/", "<title>a</title>")
        .html("/a", "<title>b</title>");
    origin.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nDisallow: /private\n")],
    );
    let proxy = HttpProxy::start("127.0.0.5", Some(basic("user", "hunter2"))).await;
    let with_creds = format!("http://user:hunter2@{}", proxy.addr);
    let input = [origin.url("/"), origin.url("/a"), origin.url("/private")].join("\n");
    // -v: the proxy in use is logged, with its password masked.
    let run = crawlfish(&refs(&polite(&["-v", "--proxy", &with_creds])), &input).await;
    assert_eq!(
        run.record(&origin.url("/"))["status"],
        200,
        "{}",
        run.stderr
    );
    assert_eq!(run.record(&origin.url("/a"))["status"], 200);
    assert_eq!(run.kind(&origin.url("/private")), "robots_disallowed");
    let mut targets = proxy.targets();
    targets.sort();
    assert_eq!(
        targets,
        [origin.url("/"), origin.url("/a"), origin.url("/robots.txt")]
    );
    assert!(proxy
        .seen()
        .iter()
        .all(|s| s.headers.get("proxy-authorization") == Some(&basic("user", "hunter2"))));
    assert_eq!(
        origin.total_hits(),
        3,
        "every request came through the proxy"
    );
    // `ip` is the address that answered crawlfish's connection: the proxy's.
    assert_eq!(run.record(&origin.url("/"))["ip"], "127.0.0.5");
    assert!(run.stderr.contains("user:***@127.0.0.5"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"));
}

#[tokio::test]
async fn refused_or_unreachable_proxies_never_show_the_password() {
    let origin = Site::start("127.0.0.2").await;
    origin.html("/", "<title>a</title>");
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let proxy = HttpProxy::start("127.0.0.5", Some(basic("user", "right"))).await;
    let dead = refused_port("127.0.0.5").await;
    let input = format!("{}\n{}\n", origin.url("/"), site.url("/"));
    for p in [
        format!("http://user:hunter2@{}", proxy.addr),
        format!("http://user:hunter2@{dead}"),
        format!("socks5h://user:hunter2@{dead}"),
    ] {
        let run = crawlfish(&refs(&polite(&["-v", "-k", "--proxy", &p])), &input).await;
        assert_eq!(run.records.len(), 2);
        assert_eq!(run.code, Some(1), "{p}: {:?}", run.records);
        assert!(!run.stdout.contains("hunter2"), "{}", run.stdout);
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    }
    // Through the live proxy: http:// gets its 407 as a response, https:// cannot open its tunnel.
    let run = crawlfish(
        &args(&[
            "-k",
            "--proxy",
            &format!("http://user:hunter2@{}", proxy.addr),
        ]),
        &input,
    )
    .await;
    assert_eq!(run.record(&origin.url("/"))["status"], 407);
    assert_eq!(run.kind(&site.url("/")), "connect", "{:?}", run.records);
    assert_eq!(origin.total_hits() + site.hits().len(), 0);
}

#[tokio::test]
async fn authorization_from_h_reaches_only_its_origin_through_the_proxy() {
    let a = Site::start("127.0.0.2").await;
    let b = Site::start("127.0.0.3").await;
    a.html(
        "/",
        &format!("<a href=\"/a2\">x</a><a href=\"{}\">y</a>", b.url("/b")),
    )
    .html("/a2", "<title>a2</title>");
    b.html("/b", "<title>b</title>");
    let proxy = HttpProxy::start("127.0.0.5", None).await;
    let opts = polite(&[
        "-q",
        "--proxy",
        &proxy.url(),
        "-H",
        "Authorization: Bearer tok",
        "--depth",
        "1",
        "--scope",
        "any",
    ]);
    let run = crawlfish(&refs(&opts), &format!("{}\n", a.url("/"))).await;
    assert_eq!(run.records.len(), 3, "{:?}", run.records);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 5, "two robots.txt, three pages: {seen:?}");
    for s in &seen {
        let is_a_page = s.target.starts_with(&a.url("/")) && !s.target.ends_with("/robots.txt");
        let want = is_a_page.then(|| "Bearer tok".to_owned());
        assert_eq!(s.headers.get("authorization"), want.as_ref(), "{s:?}");
    }
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_the_proxy_cannot_read() {
    let dir = tempdir("proxy-connect");
    let ca = ca_file(&dir);
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let proxy = HttpProxy::start("127.0.0.5", Some(basic("user", "pw"))).await;
    let p = format!("http://user:pw@{}", proxy.addr);
    let opts = polite(&[
        "-q",
        "--cacert",
        &ca,
        "--proxy",
        &p,
        "-H",
        "Authorization: Bearer tok",
    ]);
    let url = site.url("/");
    let run = crawlfish(&refs(&opts), &format!("{url}\n")).await;
    let r = run.record(&url);
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["http_version"], "HTTP/2", "h2 inside the tunnel: {r}");
    for s in proxy.seen() {
        assert_eq!(s.method, "CONNECT");
        assert_eq!(s.target, site.addr.to_string());
        assert_eq!(
            s.headers.get("proxy-authorization"),
            Some(&basic("user", "pw"))
        );
        assert!(!s.headers.contains_key("authorization"), "{s:?}");
    }
    let hits = site.hits();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(paths, ["/robots.txt", "/"]);
    assert!(hits
        .iter()
        .all(|h| !h.headers.contains_key("proxy-authorization")));
    assert_eq!(hits[1].headers["authorization"], "Bearer tok");
    assert!(
        !hits[0].headers.contains_key("authorization"),
        "not on robots.txt"
    );
}

/// An `https://` proxy: TLS to the proxy (its certificate checked against the same roots, here `--cacert`),
/// then forwarding for http:// and a tunnel, TLS inside TLS, for https://.
#[tokio::test]
async fn an_https_proxy_is_spoken_to_over_tls() {
    let dir = tempdir("proxy-https");
    let ca = ca_file(&dir);
    let origin = Site::start("127.0.0.2").await;
    origin.html("/", "<title>o</title>");
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let proxy = HttpProxy::start_tls("127.0.0.1", Some(basic("u", "pw"))).await;
    let p = proxy.url().replace("https://", "https://u:pw@");
    let input = format!("{}\n{}\n", origin.url("/"), site.url("/"));
    let run = crawlfish(&args(&["--cacert", &ca, "--proxy", &p]), &input).await;
    assert_eq!(
        run.record(&origin.url("/"))["status"],
        200,
        "{:?}",
        run.records
    );
    assert_eq!(
        run.record(&site.url("/"))["status"],
        200,
        "{:?}",
        run.records
    );
    let mut methods: Vec<String> = proxy.seen().into_iter().map(|s| s.method).collect();
    methods.sort();
    assert_eq!(methods, ["CONNECT", "GET"]);
    // Without --cacert the proxy's own certificate is refused: nothing gets through.
    let run = crawlfish(&args(&["--proxy", &p]), &input).await;
    assert_eq!(run.kind(&origin.url("/")), "tls", "{:?}", run.records);
    assert_eq!(proxy.seen().len(), 2);
}

/// The proxy's own name is resolved by crawlfish, so `--resolve` (and nothing else) finds it here.
#[tokio::test]
async fn a_proxy_named_by_host_is_found_through_resolve() {
    let origin = Site::start("127.0.0.2").await;
    origin.html("/", "a");
    let proxy = HttpProxy::start("127.0.0.5", None).await;
    let port = proxy.addr.port();
    let named = format!("http://proxy.test:{port}");
    let resolve = format!("proxy.test:{port}:127.0.0.5");
    let opts = args(&["--proxy", &named, "--resolve", &resolve]);
    let run = crawlfish(&opts, &format!("{}\n", origin.url("/"))).await;
    assert_eq!(run.code, Some(0), "{:?}", run.records);
    assert_eq!(proxy.targets(), [origin.url("/")]);
}

#[tokio::test]
async fn no_proxy_hosts_are_fetched_directly() {
    let a = Site::start("127.0.0.2").await;
    let b = Site::start("127.0.0.3").await;
    a.html("/", "a");
    b.html("/", "b");
    let proxy = HttpProxy::start("127.0.0.5", None).await;
    let input = format!("{}\n{}\n", a.url("/"), b.url("/"));
    let run = crawlfish(
        &args(&[
            "--proxy",
            &proxy.url(),
            "--no-proxy",
            "example.test, 127.0.0.3",
        ]),
        &input,
    )
    .await;
    assert_eq!(run.records.len(), 2);
    assert_eq!(proxy.targets(), [a.url("/")]);
    assert_eq!(run.record(&b.url("/"))["ip"], "127.0.0.3", "direct");
    let run = crawlfish(&args(&["--proxy", &proxy.url(), "--no-proxy", "*"]), &input).await;
    assert_eq!(run.code, Some(0));
    assert_eq!(proxy.seen().len(), 1, "'*': nothing more through the proxy");
    assert_eq!(a.total_hits() + b.total_hits(), 4);
}

#[tokio::test]
async fn proxy_environment_variables_apply_unless_proxy_is_given() {
    let origin = Site::start("127.0.0.2").await;
    origin.html("/", "a");
    let from_env = HttpProxy::start("127.0.0.5", None).await;
    let from_flag = HttpProxy::start("127.0.0.6", None).await;
    let env_url = from_env.url();
    let input = format!("{}\n", origin.url("/"));
    let count = |p: &HttpProxy| p.seen().len();
    for (name, n) in [("HTTP_PROXY", 1), ("http_proxy", 2), ("ALL_PROXY", 3)] {
        let run = crawlfish_env(&args(&[]), &input, &[(name, &env_url)]).await;
        assert_eq!(run.code, Some(0), "{name}");
        assert_eq!(count(&from_env), n, "{name} is used");
    }
    // HTTPS_PROXY is for https:// only; NO_PROXY bypasses; --proxy and --proxy '' override.
    let cases: [(&[&str], Env); 4] = [
        (&[], &[("HTTPS_PROXY", &env_url)]),
        (&[], &[("HTTP_PROXY", &env_url), ("NO_PROXY", "127.0.0.2")]),
        (&["--proxy", ""], &[("HTTP_PROXY", &env_url)]),
        (&["--proxy", &from_flag.url()], &[("ALL_PROXY", &env_url)]),
    ];
    for (flags, env) in cases {
        let run = crawlfish_env(&args(flags), &input, env).await;
        assert_eq!(run.code, Some(0), "{flags:?} {env:?}: {}", run.stderr);
        assert_eq!(count(&from_env), 3, "{flags:?} {env:?}");
    }
    assert_eq!(count(&from_flag), 1);
    assert_eq!(origin.total_hits(), 7);
}

#[tokio::test]
async fn socks5h_sends_the_name_and_socks5_sends_a_local_address() {
    let origin = Site::start("127.0.0.2").await;
    origin.html("/", "<title>o</title>");
    let names = HashMap::from([("crawl.test".to_owned(), "127.0.0.2".parse().unwrap())]);
    let socks = Socks::start("127.0.0.6", names, None).await;
    let url = format!("http://crawl.test:{}/", origin.addr.port());
    // With socks5h the name is not resolved here: the --resolve override would send it elsewhere if it were.
    let wrong = format!("crawl.test:{}:127.0.0.9", origin.addr.port());
    let right = format!("crawl.test:{}:127.0.0.2", origin.addr.port());
    for (scheme, resolve, want) in [
        ("socks5h", &wrong, Dest::Name("crawl.test".into())),
        ("socks5", &right, Dest::Ip("127.0.0.2".parse().unwrap())),
    ] {
        let p = format!("{scheme}://{}", socks.addr);
        let run = crawlfish(
            &args(&["--proxy", &p, "--resolve", resolve]),
            &format!("{url}\n"),
        )
        .await;
        assert_eq!(
            run.record(&url)["status"],
            200,
            "{scheme}: {:?}",
            run.records
        );
        assert_eq!(socks.seen().last().unwrap().dest, want, "{scheme}");
    }
    // socks5 resolves here, with crawlfish's rules: an .invalid name fails as `dns`, the proxy never asked.
    let invalid = "http://nothing.invalid/";
    let p = format!("socks5://{}", socks.addr);
    let run = crawlfish(&args(&["--proxy", &p]), &format!("{invalid}\n")).await;
    assert_eq!(run.kind(invalid), "dns", "{:?}", run.records);
    assert_eq!(socks.seen().len(), 2);
}

#[tokio::test]
async fn socks5_username_and_password_and_https_inside() {
    let dir = tempdir("proxy-socks-auth");
    let ca = ca_file(&dir);
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let names = HashMap::from([("crawl.test".to_owned(), "127.0.0.1".parse().unwrap())]);
    let login = Some(("u".to_owned(), "hunter2".to_owned()));
    let socks = Socks::start("127.0.0.6", names, login.clone()).await;
    let url = format!("https://crawl.test:{}/", site.addr.port());
    let p = format!("socks5h://u:hunter2@{}", socks.addr);
    let run = crawlfish(
        &args(&["--cacert", &ca, "--proxy", &p]),
        &format!("{url}\n"),
    )
    .await;
    let r = run.record(&url);
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["http_version"], "HTTP/2", "{r}");
    assert_eq!(socks.seen()[0].login, login);
    let bad = format!("socks5h://u:wrong@{}", socks.addr);
    let run = crawlfish(
        &args(&["--cacert", &ca, "--proxy", &bad]),
        &format!("{url}\n"),
    )
    .await;
    assert_eq!(run.kind(&url), "connect", "{:?}", run.records);
    assert_eq!(site.hits().len(), 1, "the refused login reached nothing");
}

/// The limiter is keyed by the target host, not the proxy: a proxy sees each host's `-r`.
#[tokio::test]
async fn the_rate_limit_still_holds_per_host_through_the_proxy() {
    let origin = Site::start("127.0.0.2").await;
    let proxy = HttpProxy::start("127.0.0.5", None).await;
    let input: String = (0..6)
        .map(|i| {
            let path = format!("/p{i}");
            origin.html(&path, "x");
            origin.url(&path) + "\n"
        })
        .collect();
    let opts = ["-q", "--ignore-robots", "-r", "4", "--proxy", &proxy.url()];
    let run = crawlfish(&opts, &input).await;
    assert_eq!(run.records.len(), 6);
    let times: Vec<Instant> = proxy.seen().iter().map(|s| s.at).collect();
    assert_eq!(times.len(), 6);
    assert!(worst_window(&times, Duration::from_secs(1)) <= 5, "R+1 = 5");
}

#[tokio::test]
async fn bad_proxy_values_exit_2_before_any_request() {
    let origin = Site::start("127.0.0.2").await;
    origin.html("/", "a");
    let dir = tempdir("proxy-bad");
    let out = dir.join("out.jsonl");
    let out = out.to_str().unwrap();
    let input = format!("{}\n", origin.url("/"));
    let cases: [(&[&str], Env, &str); 6] = [
        (
            &["--proxy", "ftp://u:hunter2@p.test:21"],
            &[],
            "\"ftp://***@p.test:21\"",
        ),
        (&["--proxy", "socks4://p.test"], &[], "socks4"),
        (&["--proxy", "http://"], &[], "--proxy \"http://\""),
        (&["--proxy", "not a url"], &[], "--proxy \"not a url\""),
        (&["--no-proxy", "http://a.test/"], &[], "--no-proxy"),
        (&[], &[("HTTPS_PROXY", "gopher://p.test")], "HTTPS_PROXY"),
    ];
    for (flags, env, names) in cases {
        let mut opts = args(&["-o", out]);
        opts.extend_from_slice(flags);
        let run = crawlfish_env(&opts, &input, env).await;
        assert_eq!(run.code, Some(2), "{flags:?} {env:?}");
        assert!(run.stderr.contains(names), "{names}: {}", run.stderr);
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
        assert!(!std::path::Path::new(out).exists());
    }
    assert_eq!(origin.total_hits(), 0);
}

#[tokio::test]
async fn http_proxy_from_the_environment_is_used() {
    // The proxy is a local site: an absolute-form request for http://proxied.test/x lands on its "/x" route.
    let proxy = Site::start("127.0.0.1").await;
    proxy.html("/x", "<title>via proxy</title>");
    let mut child = bin()
        .args(["-q", "-r", "0", "--ignore-robots"])
        .env("HTTP_PROXY", proxy.url(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"http://proxied.test/x\n").await.unwrap();
    drop(stdin);
    let mut out = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stdout.as_mut().unwrap(), &mut out)
        .await
        .unwrap();
    child.wait().await.unwrap();
    let records = parse_lines(&out);
    assert_eq!(records[0]["title"], "via proxy", "{out}");
    assert_eq!(proxy.hits("/x"), 1);
}

/// With `socks5://` (names resolved here) a URL with an address is connected to through the proxy by that
/// address, and the DNS server hears nothing (before: the address was asked as a name, and failed as `dns`).
// Guards: with `socks5://` a URL with an IP address was asked of DNS as a name and failed as `dns`.
#[tokio::test]
async fn socks5_sends_a_urls_address_without_asking_dns() {
    let origin = Site::start("127.0.0.93").await;
    origin.html("/", "<title>o</title>");
    let socks = Socks::start("127.0.0.94", HashMap::new(), None).await;
    let dns = Dns::start("127.0.0.95", 300).await;
    let url = origin.url("/");
    let proxy = format!("socks5://{}", socks.addr);
    let run = crawlfish(
        &args(&["--proxy", &proxy, "--dns-server", &dns.arg()]),
        &format!("{url}\n"),
    )
    .await;
    assert_eq!(run.record(&url)["status"], 200, "{:?}", run.records);
    assert_eq!(dns.total(), 0, "{:?}", dns.summary());
    let seen = socks.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].dest, Dest::Ip("127.0.0.93".parse().unwrap()));
}

const SECRET: &str = "pw-9f3k";

// Guards: `--help` and `-v` printed the password of a proxy set through `CRAWLFISH_PROXY`.
#[tokio::test]
async fn a_proxy_password_from_the_environment_is_never_printed() {
    let site = Site::start("127.0.0.151").await;
    site.html("/", "ok");
    // A proxy nobody listens on: the run's record fails, which is fine; only what is printed matters here.
    let dead = refused_port("127.0.0.151").await;
    let proxy = format!("http://user:{SECRET}@{dead}");
    let env = [("CRAWLFISH_PROXY", proxy.as_str())];
    let help = run_env(&["--help"], &env, "").await;
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.contains("CRAWLFISH_PROXY"), "{}", help.stdout);
    assert!(!help.stdout.contains(SECRET), "{}", help.stdout);
    let run = run_env(
        &["-v", "-r", "0", "--ignore-robots", "--timeout", "3"],
        &env,
        &site.url("/"),
    )
    .await;
    assert!(run.stderr.contains("CRAWLFISH_PROXY=***"), "{}", run.stderr);
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
}
