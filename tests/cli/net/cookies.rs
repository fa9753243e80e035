//! The cookie jar: cookies set by responses (a redirect's too) are sent back by RFC 6265's rules (path, `Secure`,
//! expiry, host-only, public suffixes refused), never to robots.txt or another domain; `--no-cookies`;
//! `--cookies`/`--save-cookies` in curl's and wget's `cookies.txt` format; `--state DIR`'s `cookies.txt`.

use std::io::Read as _;

use crate::support::*;

/// `--resolve NAME:PORT:127.0.0.x` for each name, and the URL of `path` on the first.
fn resolving(site: &Site, names: &[&str]) -> Vec<String> {
    let (port, ip) = (site.addr.port(), site.addr.ip());
    names
        .iter()
        .flat_map(|n| ["--resolve".to_owned(), format!("{n}:{port}:{ip}")])
        .collect()
}

fn on(site: &Site, name: &str, path: &str) -> String {
    format!("http://{name}:{}{path}", site.addr.port())
}

#[tokio::test]
async fn a_cookie_set_by_a_redirect_is_sent_to_its_target_not_to_other_domains() {
    let a = Site::start("127.0.0.1").await;
    let b = Site::start("127.0.0.2").await;
    a.route(
        "/login",
        vec![redirect(302, "/members").header("set-cookie", "sid=abc; Path=/; HttpOnly")],
    );
    a.html("/members", &format!("<a href='{}'>b</a>", b.url("/other")));
    b.html("/other", "b");
    let run = crawlfish(&args(&["--depth", "1", "--scope", "any"]), &a.url("/login")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(a.header("/members", "cookie").as_deref(), Some("sid=abc"));
    assert_eq!(run.record(&a.url("/login"))["status"], 200);
    assert_eq!(b.hits("/other"), 1);
    assert_eq!(
        b.header("/other", "cookie"),
        None,
        "another host got the cookie"
    );

    // --no-cookies: nothing kept, nothing sent.
    crawlfish(&args(&["--no-cookies"]), &a.url("/login")).await;
    assert_eq!(a.hits("/members"), 2);
    assert_eq!(a.header("/members", "cookie"), None);
}

#[tokio::test]
async fn path_secure_and_max_age_rules() {
    let site = Site::start("127.0.0.3").await;
    // Strict breadth-first levels: /step2's deletion is in before level 2 is requested.
    site.route(
        "/",
        vec![Step::html("<a href='/step2'>2</a>")
            .header("set-cookie", "keep=1")
            .header("set-cookie", "gone=1")
            .header("set-cookie", "sec=1; Secure")
            .header("set-cookie", "priv=1; Path=/private")],
    );
    site.route(
        "/step2",
        vec![
            Step::html("<a href='/private/page'>p</a><a href='/public'>q</a>")
                .header("set-cookie", "gone=x; Max-Age=0"),
        ],
    );
    site.html("/private/page", "p").html("/public", "q");
    // A name, not 127.0.0.3: a loopback address counts as a secure origin (as browsers have it).
    let mut flags = resolving(&site, &["www.example.test"]);
    flags.extend(["--depth", "2"].map(String::from));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let run = crawlfish(&args(&flags), &on(&site, "www.example.test", "/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let step2 = site.header("/step2", "cookie").unwrap();
    assert_eq!(step2, "gone=1; keep=1");
    assert_eq!(site.header("/public", "cookie").as_deref(), Some("keep=1"));
    assert_eq!(
        site.header("/private/page", "cookie").as_deref(),
        Some("priv=1; keep=1")
    );
}

#[tokio::test]
async fn a_cookie_for_a_public_suffix_is_refused() {
    let site = Site::start("127.0.0.3").await;
    site.route(
        "/",
        vec![Step::html("<a href='/' >self</a>")
            .header("set-cookie", "wide=1; Domain=co.uk")
            .header("set-cookie", "site=1; Domain=example.co.uk")],
    );
    let names = ["a.example.co.uk", "b.example.co.uk", "other.co.uk"];
    let input = format!(
        "{}\n{}\n{}\n",
        on(&site, names[0], "/"),
        on(&site, names[1], "/b"),
        on(&site, names[2], "/other")
    );
    site.html("/b", "b").html("/other", "other");
    // Serial: the cookie is set before the other two are requested.
    let mut flags = resolving(&site, &names);
    flags.extend(["-c", "1"].map(String::from));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let run = crawlfish(&args(&flags), &input).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(site.header("/b", "cookie").as_deref(), Some("site=1"));
    assert_eq!(site.header("/other", "cookie"), None);
}

#[tokio::test]
async fn robots_txt_never_carries_cookies() {
    let site = Site::start("127.0.0.5").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nAllow: /\n").header("set-cookie", "robots=1")],
    );
    site.html("/", "ok");
    let dir = tempdir("cookies-robots");
    let jar = dir.join("cookies.txt");
    std::fs::write(&jar, "127.0.0.5\tFALSE\t/\tFALSE\t0\tsid\tfrom-file\n").unwrap();
    let run = crawlfish(
        &["-q", "-r", "0", "--cookies", jar.to_str().unwrap()],
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(site.hits("/robots.txt"), 1);
    assert_eq!(site.header("/robots.txt", "cookie"), None);
    // robots.txt's own Set-Cookie is not kept either.
    assert_eq!(site.header("/", "cookie").as_deref(), Some("sid=from-file"));
}

#[tokio::test]
async fn cookies_txt_round_trip_and_curl_reads_it() {
    let site = Site::start("127.0.0.6").await;
    site.route(
        "/",
        vec![Step::html("ok")
            .header("set-cookie", "kept=1; Max-Age=3600")
            .header("set-cookie", "session=2")],
    );
    site.html("/again", "again");
    let dir = tempdir("cookies-round-trip");
    let file = dir.join("jar.txt");
    let f = file.to_str().unwrap();
    let run = crawlfish(&args(&["--save-cookies", f]), &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# Netscape HTTP Cookie File"), "{text}");
    assert!(text.contains("127.0.0.6\tFALSE\t/\tFALSE\t"), "{text}");
    assert!(
        text.contains("\tkept\t1\n") && !text.contains("session"),
        "{text}"
    );
    assert!(!dir.join("jar.txt.tmp").exists());

    crawlfish(
        &args(&["--save-cookies", f, "--keep-session-cookies"]),
        &site.url("/"),
    )
    .await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\t0\tsession\t2\n"), "{text}");

    crawlfish(&args(&["--cookies", f]), &site.url("/again")).await;
    assert_eq!(
        site.header("/again", "cookie").as_deref(),
        Some("kept=1; session=2")
    );

    // tokio's Command: a blocking wait would stall the test's runtime, and with it the site curl asks.
    let curl = tokio::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-b", f, &site.url("/curl")])
        .status()
        .await;
    match curl {
        Err(_) => eprintln!(
            "curl is not installed: skipping the check that curl reads crawlfish's cookies.txt"
        ),
        Ok(status) => {
            assert!(status.success(), "curl failed: {status}");
            let sent = site.header("/curl", "cookie").unwrap();
            let mut sent: Vec<&str> = sent.split("; ").collect();
            sent.sort_unstable();
            assert_eq!(sent, ["kept=1", "session=2"]);
        }
    }
}

#[tokio::test]
async fn state_keeps_the_jar_between_runs() {
    let site = Site::start("127.0.0.7").await;
    site.route(
        "/",
        vec![
            Step::html("first").header("set-cookie", "visit=1; Max-Age=3600"),
            Step::html("second"),
        ],
    );
    let dir = tempdir("cookies-state");
    let state = dir.join("state");
    let s = state.to_str().unwrap();
    let run = crawlfish(&args(&["--state", s]), &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(site.header("/", "cookie"), None);
    assert!(std::fs::read_to_string(state.join("cookies.txt"))
        .unwrap()
        .contains("\tvisit\t1\n"));
    let run = crawlfish(&args(&["--state", s]), &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(site.header("/", "cookie").as_deref(), Some("visit=1"));
}

#[tokio::test]
async fn warc_request_records_redact_the_jar_cookie() {
    let site = Site::start("127.0.0.8").await;
    site.route(
        "/",
        vec![Step::html("<a href='/next'>n</a>").header("set-cookie", "sid=secret-token")],
    );
    site.html("/next", "n");
    let dir = tempdir("cookies-warc");
    let warc = dir.join("a.warc.gz");
    for headers in ["redacted", "verbatim"] {
        let run = crawlfish(
            &args(&[
                "--depth",
                "1",
                "--warc",
                warc.to_str().unwrap(),
                "--warc-headers",
                headers,
            ]),
            &site.url("/"),
        )
        .await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(
            site.header("/next", "cookie").as_deref(),
            Some("sid=secret-token")
        );
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&warc).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert!(
            text.contains("\r\ncookie: (redacted by crawlfish)\r\n"),
            "{text}"
        );
        assert!(!text.contains("\r\ncookie: sid"), "{text}");
    }
}
