//! Single-page apps that a static fetch sees as empty: rendered, every request they make goes through
//! crawlfish's polite path (robots.txt, the per-host limit, scoped headers, the archive).

use std::io::Read;
use std::time::Duration;

use crate::render::{browser, temp_dir};
use crate::support::netns::{inner_name, require_inside, run_inside};
use crate::support::*;

macro_rules! inside {
    ($($outer:ident => $inner:ident),* $(,)?) => {$(
        #[test]
        fn $outer() {
            run_inside(&inner_name(module_path!(), stringify!($inner)));
        }
    )*};
}

inside! {
    an_app_shell_is_rendered_by_auto_to_depth_two_through_the_polite_path => inside_spa_auto,
    never_idle_dialogs_popups_and_a_huge_dom_are_handled => inside_hostile_pages,
    a_rendered_capture_archives_every_sub_resource => inside_warc,
}

const SHELL: &str = r#"<!doctype html><html><head><title>App</title><script src="/app.js" defer></script></head><body><div id="root"></div></body></html>"#;

/// The app: fetches its navigation from `/api/nav.json` (same host), renders the route's text and links, and
/// on `/one` moves on with `history.pushState` and adds a link only the router knows. On `/` it also asks
/// another host (`other`, with `Access-Control-Allow-Origin: *`) for a greeting, and for a path that host's
/// robots.txt disallows.
fn app_js(other: &str) -> String {
    format!(
        r#"(async () => {{
  const nav = await (await fetch('/api/nav.json')).json();
  const root = document.getElementById('root');
  const page = nav[location.pathname] || {{ text: 'not found', links: [] }};
  document.title = 'Page ' + location.pathname;
  root.innerHTML = '<h1>' + page.text + '</h1>' + page.links.map(l => '<a href="' + l + '">' + l + '</a>').join(' ');
  if (location.pathname === '/one') {{
    history.pushState(null, '', '/one?tab=more');
    const a = document.createElement('a'); a.href = '/four'; a.textContent = 'four'; root.appendChild(a);
  }}
  if (location.pathname === '/') {{
    try {{ const o = await (await fetch('{other}/api/other.json')).json(); root.insertAdjacentHTML('beforeend', '<p>' + o.says + '</p>'); }} catch (e) {{}}
    try {{ await fetch('{other}/private/secret.json'); }} catch (e) {{}}
  }}
}})();"#
    )
}

const NAV: &str = r#"{"/": {"text": "Home content", "links": ["/one", "/two"]},
 "/one": {"text": "One content", "links": ["/three"]},
 "/two": {"text": "Two content", "links": ["/"]},
 "/three": {"text": "Three content", "links": []},
 "/four": {"text": "Four content", "links": []}}"#;

const PAGES: [&str; 5] = ["/", "/one", "/two", "/three", "/four"];

fn spa(site: &Site, other: &Site) {
    for p in PAGES {
        site.html(p, SHELL);
    }
    site.route(
        "/app.js",
        vec![Step::new(200, app_js(&other.url(""))).header("content-type", "text/javascript")],
    );
    site.route(
        "/api/nav.json",
        vec![Step::new(200, NAV).header("content-type", "application/json")],
    );
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nAllow: /\n")],
    );
    other.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nDisallow: /private/\n")],
    );
    let cors = |body: &str| {
        Step::new(200, body.to_owned())
            .header("content-type", "application/json")
            .header("access-control-allow-origin", "*")
    };
    other.route(
        "/api/other.json",
        vec![cors(r#"{"says": "Hello from the other host"}"#)],
    );
    other.route("/private/secret.json", vec![cors("{}")]);
}

/// The worst 1 s window of `site`'s requests after the first `skip`.
fn worst(site: &Site, skip: usize) -> usize {
    let times: Vec<_> = site
        .hit_times()
        .into_iter()
        .skip(skip)
        .map(|(_, t)| t)
        .collect();
    worst_window(&times, Duration::from_secs(1))
}

#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_spa_auto() {
    require_inside();
    let Some(chromium) = browser("inside_spa_auto") else {
        return;
    };
    let (site, other) = (
        Site::start("127.0.0.1").await,
        Site::start("127.0.0.2").await,
    );
    spa(&site, &other);
    let start = site.url("/");
    // Statically the app is empty: no links, no content.
    let plain = crawlfish(&["-q", "-r", "0", "--depth", "2"], &start).await;
    assert_eq!(plain.records.len(), 1, "{:?}", plain.records);
    assert_eq!(plain.record(&start)["links"], serde_json::json!([]));
    let hits_before = site.total_hits();

    let run = crawlfish(
        &[
            "-q",
            "-r",
            "2",
            "--depth",
            "2",
            "--render",
            "auto",
            "--browser",
            &chromium,
            "-H",
            "X-Token: secret",
        ],
        &start,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for p in PAGES {
        let r = run.record(&site.url(p));
        assert_eq!(r["rendered"], true, "{r}");
        assert!(r["render_ms"].as_u64().is_some(), "{r}");
        assert_eq!(r["title"], format!("Page {p}"), "{r}");
        assert_eq!(r["error"], serde_json::Value::Null, "{r}");
    }
    assert_eq!(run.records.len(), PAGES.len(), "{:#?}", run.records);
    let one = run.record(&site.url("/one"));
    assert!(
        one["links"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(site.url("/four"))),
        "{one}"
    );
    // The other host: asked once (robots.txt allows it), its disallowed path never; no header sent to it.
    assert_eq!(other.hits("/api/other.json"), 1);
    assert_eq!(
        other.hits("/private/secret.json"),
        0,
        "robots.txt of the other host is obeyed"
    );
    assert_eq!(
        other.header("/api/other.json", "x-token"),
        None,
        "-H goes only to the listed origin"
    );
    assert_eq!(
        site.header("/api/nav.json", "x-token").as_deref(),
        Some("secret")
    );
    assert_eq!(site.header("/app.js", "x-token").as_deref(), Some("secret"));
    // Every request (sub-resources included) passed the limiter: at -r 2, at most 3 in any second per host.
    assert!(
        site.total_hits() - hits_before >= 15,
        "documents, scripts and data all fetched by crawlfish"
    );
    let (w, o) = (worst(&site, hits_before), worst(&other, 0));
    let t0 = site.hit_times()[0].1;
    let hits: Vec<_> = site
        .hit_times()
        .into_iter()
        .skip(hits_before)
        .map(|(p, t)| (p, (t - t0).as_millis()))
        .collect();
    assert!(w <= 3, "{w} requests in one second to the site: {hits:?}");
    assert!(o <= 3, "{o} requests in one second to the other host");
    // Each document was fetched once: the browser's document request is answered from that response.
    for p in PAGES {
        let static_run = usize::from(p == "/");
        assert_eq!(
            site.hits(p),
            1 + static_run,
            "{p}: fetched once by the rendered run"
        );
    }
}

#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_hostile_pages() {
    require_inside();
    let Some(chromium) = browser("inside_hostile_pages") else {
        return;
    };
    let site = Site::start("127.0.0.1").await;
    let page = |script: &str| {
        format!(
            "<html><head><title>static</title></head><body><script>{script}</script></body></html>"
        )
    };
    site.html(
        "/busy",
        &page("document.title = 'busy'; setInterval(() => fetch('/tick'), 50);"),
    );
    site.route("/tick", vec![Step::new(200, "{}")]);
    site.html(
        "/dialogs",
        &page("alert('a'); confirm('b'); prompt('c'); window.open('/popup'); document.title = 'after dialogs';"),
    );
    site.html("/popup", "<title>popup</title>");
    site.html(
        "/huge",
        &page("const b = document.body; for (let i = 0; i < 100000; i++) { const d = document.createElement('div'); d.textContent = 'x' + i; b.appendChild(d); } for (let i = 0; i < 2000; i++) { const a = document.createElement('a'); a.href = '/l' + i; b.appendChild(a); } document.title = 'huge';"),
    );
    // The page never idle is read at its 3 s deadline; the others get a deadline a loaded machine cannot miss
    // (a 100,000-node DOM took past 3 s with the CPU saturated: exit 1 in a stress run).
    let render = |timeout| {
        [
            "-q",
            "-r",
            "0",
            "--ignore-robots",
            "--render",
            "always",
            "--browser",
            chromium.as_str(),
            "--render-timeout",
            timeout,
        ]
    };
    let run = crawlfish(&render("3s"), &site.url("/busy")).await;
    assert_eq!(run.code, Some(0), "{} {:?}", run.stderr, run.records);
    let busy = run.record(&site.url("/busy"));
    assert_eq!(
        (&busy["title"], &busy["rendered"]),
        (&serde_json::json!("busy"), &serde_json::json!(true)),
        "{busy}"
    );
    let ms = busy["render_ms"].as_u64().unwrap();
    assert!(
        (3000..15_000).contains(&ms),
        "a page never idle is read at the deadline: {ms} ms"
    );
    assert!(
        site.hits("/tick") >= 2,
        "its polling went through crawlfish"
    );
    let input = ["/dialogs", "/huge"].map(|p| site.url(p)).join("\n");
    let run = crawlfish(&render("60s"), &input).await;
    assert_eq!(run.code, Some(0), "{} {:?}", run.stderr, run.records);
    let dialogs = run.record(&site.url("/dialogs"));
    assert_eq!(
        dialogs["title"], "after dialogs",
        "dialogs dismissed: {dialogs}"
    );
    assert_eq!(site.hits("/popup"), 0, "a popup opens nothing");
    let huge = run.record(&site.url("/huge"));
    assert_eq!(huge["title"], "huge");
    assert_eq!(huge["links"].as_array().unwrap().len(), 2000);
    a_script_that_never_yields_still_gets_its_record(&site, &chromium).await;
}

/// A script that never yields (`while(true){}`) leaves every DevTools call on its page unanswered: the page is
/// still bounded by `--render-timeout` (plus the grace to read the DOM), retried once, then recorded with error
/// kind `render` and its static parse, and the run ends. It hung with no record before.
async fn a_script_that_never_yields_still_gets_its_record(site: &Site, chromium: &str) {
    site.html(
        "/spin",
        r#"<html><head><title>static spin</title><script src="/spin.js" defer></script></head><body><div id=app></div></body></html>"#,
    );
    site.route(
        "/spin.js",
        vec![Step::new(200, "while (true) {}").header("content-type", "text/javascript")],
    );
    let args = [
        "-q",
        "-r",
        "0",
        "--ignore-robots",
        "--render",
        "always",
        "--browser",
        chromium,
        "--render-timeout",
        "1s",
    ];
    let run = crawlfish(&args, &format!("{}\n", site.url("/spin"))).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.records.len(), 1);
    let spin = run.record(&site.url("/spin"));
    assert_eq!(spin["error"]["kind"], "render", "{spin}");
    assert_eq!(
        spin["title"], "static spin",
        "the static parse is kept: {spin}"
    );
}

#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_warc() {
    require_inside();
    let Some(chromium) = browser("inside_warc") else {
        return;
    };
    let (site, other) = (
        Site::start("127.0.0.1").await,
        Site::start("127.0.0.2").await,
    );
    spa(&site, &other);
    let dir = temp_dir("warc");
    let warc = dir.join("out.warc.gz");
    let shots = dir.join("shots");
    let run = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--render",
            "always",
            "--browser",
            &chromium,
            "--warc",
            warc.to_str().unwrap(),
            "--screenshot",
            shots.to_str().unwrap(),
        ],
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let r = run.record(&site.url("/"));
    assert_eq!(r["rendered"], true);
    let shot = r["screenshot"].as_str().unwrap();
    let png = std::fs::read(shots.join(shot)).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&warc).unwrap())
        .read_to_end(&mut text)
        .unwrap();
    let text = String::from_utf8_lossy(&text);
    for url in [
        site.url("/"),
        site.url("/app.js"),
        site.url("/api/nav.json"),
        other.url("/api/other.json"),
    ] {
        let response = format!("WARC-Type: response\r\nWARC-Target-URI: {url}\r\n");
        let n = text.matches(&format!("WARC-Target-URI: {url}\r\n")).count();
        assert!(
            n >= 2,
            "{url}: request and response archived ({n} records); looked for {response:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
