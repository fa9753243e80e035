//! The benchmark site: a deterministic multi-host site generated in memory and served on loopback only, so
//! `bench/run.py` needs no nginx and no files on disk.
//!
//! Each host has N pages of ~15 KB: a title, a meta description, filler text and ~40 links (relative,
//! root-relative, absolute, a few cross-host, a fragment, a duplicate, a mailto). Page i links to pages 4i+1..4i+4,
//! so every page is reachable from `/index.html` of its host by same-host links.
//!
//! `--links L` sets the random links a page carries (default 34; W2H uses ~200: past the first 34 they come with a
//! short phrase, not a paragraph), and `--big-permille P` makes P pages in 1,000 weigh 1–2 MB (filler paragraphs
//! without links), the link-heavy crawl of the W2H benchmark.
//!
//! `cargo run --release --example bench_site -- [--pages N] [--hosts H] [--first-ip 31] [--port 8088] [--out DIR]
//! [--links L] [--big-permille P]`
//! writes DIR/urls.txt (every page, shuffled) and DIR/roots.txt, then serves until killed.
//! `GET /__stats` on any host returns and resets the request log: `{"hits": [[ms since start, …] per host]}`.

// A benchmark fixture: panics on bad flags are the right answer, and the pedantic style guards the engine.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;

struct Site {
    hosts: Vec<String>,
    pages: Vec<Vec<axum::body::Bytes>>,
    log: Mutex<Vec<Vec<u64>>>,
    started: Instant,
}

/// A small deterministic generator (xorshift), so every run serves the same site.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "crawl", "fish", "river", "async", "token", "stream", "harbor", "signal", "lantern", "meadow",
    "copper", "orbit", "quartz", "summit", "velvet", "willow", "anchor", "breeze", "canyon",
    "delta",
];

fn path_of(i: usize) -> String {
    if i == 0 {
        "/index.html".into()
    } else {
        format!("/s{:02}/p{i:05}.html", i % 50)
    }
}

/// The site's shape beyond pages and hosts.
#[derive(Clone, Copy)]
struct Shape {
    links: usize,
    big_permille: u64,
}

/// Random links past this many carry a short phrase, so a 200-link page stays a realistic size.
const LONG_LINKS: usize = 34;
/// A big page weighs this plus up to as much again.
const BIG_PAGE_BYTES: usize = 1 << 20;

fn page(hosts: &[String], h: usize, i: usize, n: usize, shape: Shape) -> String {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((h as u64) << 32) ^ i as u64);
    let words = |rng: &mut Rng, k: usize| -> String {
        (0..k)
            .map(|_| WORDS[rng.below(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = String::with_capacity(16 * 1024);
    s += "<!doctype html><html><head><meta charset=\"utf-8\">";
    s += &format!("<title>Host {h} page {i}: {}</title>", words(&mut rng, 3));
    s += &format!(
        "<meta name=\"description\" content=\"{}\">",
        words(&mut rng, 12)
    );
    s += "<style>body{font-family:sans-serif;margin:2em}nav a{margin-right:1em}.c{color:#333}</style></head><body>";
    s += "<nav><a href=\"/index.html\">home</a><a href=\"#top\">top</a><a href=\"mailto:web@example.invalid\">mail</a></nav>";
    s += &format!("<h1>{}</h1>", words(&mut rng, 4));
    let dir = format!("/s{:02}/", i % 50);
    for c in (4 * i + 1)..=(4 * i + 4) {
        if c < n {
            // Children: a mix of same-directory, parent-relative and root-relative forms.
            let p = path_of(c);
            let link = match c % 3 {
                0 => p.clone(),
                1 if p.starts_with(&dir) => p[dir.len()..].to_owned(),
                _ => format!("..{p}"),
            };
            s += &format!(
                "<p class=\"c\">{} <a href=\"{link}\">child {c}</a></p>",
                words(&mut rng, 50)
            );
        }
    }
    for k in 0..shape.links {
        let target = rng.below(n);
        let href = if k % 10 == 0 {
            let other = (h + 1 + rng.below(hosts.len() - 1).min(hosts.len() - 2)) % hosts.len();
            format!("http://{}{}", hosts[other], path_of(rng.below(n)))
        } else if k % 7 == 0 {
            format!("http://{}{}#sec{k}", hosts[h], path_of(target))
        } else {
            path_of(target)
        };
        s += &format!(
            "<p>{} <a href=\"{href}\">{}</a></p>",
            words(&mut rng, if k < LONG_LINKS { 55 } else { 3 }),
            words(&mut rng, 2)
        );
    }
    if (rng.next() % 1000) < shape.big_permille {
        let target = BIG_PAGE_BYTES + rng.below(BIG_PAGE_BYTES);
        let para = format!("<p>{}</p>", words(&mut rng, 200));
        while s.len() < target {
            s += &para;
        }
    }
    s += &format!("<a href=\"{}\">again</a>", path_of((4 * i + 1).min(n - 1)));
    s += "</body></html>";
    s
}

async fn serve(State((site, h)): State<(Arc<Site>, usize)>, req: Request) -> Response {
    let path = req.uri().path();
    let ms = site.started.elapsed().as_millis() as u64;
    if path == "/__stats" {
        let log = std::mem::replace(
            &mut *site.log.lock().unwrap(),
            vec![Vec::new(); site.hosts.len()],
        );
        let body = format!(
            "{{\"hits\":[{}]}}",
            log.iter()
                .map(|v| format!(
                    "[{}]",
                    v.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
                ))
                .collect::<Vec<_>>()
                .join(",")
        );
        return Response::new(Body::from(body));
    }
    site.log.lock().unwrap()[h].push(ms);
    if path == "/robots.txt" {
        return Response::new(Body::from("User-agent: *\nAllow: /\n"));
    }
    let index = if path == "/index.html" || path == "/" {
        Some(0)
    } else {
        path.rsplit_once("/p")
            .and_then(|(_, rest)| rest.strip_suffix(".html"))
            .and_then(|d| d.parse::<usize>().ok())
    };
    match index.and_then(|i| site.pages[h].get(i)) {
        Some(body) => Response::builder()
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(Body::from(body.clone()))
            .unwrap(),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from("not found"))
            .unwrap(),
    }
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--pages", "5000").parse().unwrap();
    let nh: usize = arg(&args, "--hosts", "4").parse().unwrap();
    let first: u8 = arg(&args, "--first-ip", "31").parse().unwrap();
    let port: u16 = arg(&args, "--port", "8088").parse().unwrap();
    let shape = Shape {
        links: arg(&args, "--links", "34").parse().unwrap(),
        big_permille: arg(&args, "--big-permille", "0").parse().unwrap(),
    };
    let out = std::path::PathBuf::from(arg(&args, "--out", "/tmp/crawlfish-bench"));
    assert!(nh >= 2, "--hosts must be at least 2");
    let ips: Vec<Ipv4Addr> = (0..nh)
        .map(|k| Ipv4Addr::new(127, 0, 0, first + k as u8))
        .collect();
    let hosts: Vec<String> = ips.iter().map(|ip| format!("{ip}:{port}")).collect();
    let pages: Vec<Vec<axum::body::Bytes>> = (0..nh)
        .map(|h| {
            (0..n)
                .map(|i| page(&hosts, h, i, n, shape).into())
                .collect()
        })
        .collect();
    std::fs::create_dir_all(&out).unwrap();
    let mut urls: Vec<String> = (0..nh)
        .flat_map(|h| (0..n).map(move |i| (h, i)))
        .map(|(h, i)| format!("http://{}{}", hosts[h], path_of(i)))
        .collect();
    let mut rng = Rng(42);
    for i in (1..urls.len()).rev() {
        urls.swap(i, rng.below(i + 1));
    }
    std::fs::write(out.join("urls.txt"), urls.join("\n") + "\n").unwrap();
    let roots: Vec<String> = hosts
        .iter()
        .map(|h| format!("http://{h}/index.html"))
        .collect();
    std::fs::write(out.join("roots.txt"), roots.join("\n") + "\n").unwrap();
    let bytes: usize = pages.iter().flatten().map(|p| p.len()).sum();
    eprintln!(
        "bench_site: {} pages ({:.1} KB average) on {}",
        nh * n,
        bytes as f64 / (nh * n) as f64 / 1024.0,
        hosts.join(" ")
    );
    let site = Arc::new(Site {
        log: Mutex::new(vec![Vec::new(); nh]),
        hosts,
        pages,
        started: Instant::now(),
    });
    // One thread, like a one-worker nginx: the server must not take the crawler's second core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut servers = Vec::new();
        for (h, ip) in ips.into_iter().enumerate() {
            let listener = tokio::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), port))
                .await
                .unwrap_or_else(|e| panic!("bind {ip}:{port}: {e}"));
            let app = axum::Router::new()
                .fallback(serve)
                .with_state((site.clone(), h));
            servers.push(tokio::spawn(
                async move { axum::serve(listener, app).await },
            ));
        }
        eprintln!("bench_site: ready");
        for s in servers {
            let _ = s.await;
        }
    });
}
