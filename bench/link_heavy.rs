//! The link-heavy site of W7: a rustdoc-like documentation tree on one host, built like the real rust-doc crawl
//! that peaked at 141-148 MB (21,635 pages, sidebars of ~18,000 links). Pages are generated per request from their
//! index (nothing is held but the path table), so the server's memory is bounded by the requests in flight.
//!
//! Page i lives at a rustdoc path (`/std/collections/hash_map/struct.RawEntryBuilderMut3.html`: 60-90 bytes as
//! an absolute URL) and carries `--links` links to other pages of the site, written as rustdoc writes them:
//! relative (`../../core/iter/trait.DoubleEndedIterator.html`), with a `#method.…` fragment on every fourth
//! (which the crawler drops, so it is a duplicate of a link already on the page), plus a few links to the page's
//! own items. The targets are a stride through the site from a per-page start, so the root reaches `--links`
//! pages at depth 1 and every page is reached by depth 2; most links a page carries were seen before. With the
//! defaults a page weighs ~1.5-2 MB.
//!
//! `cargo run --release --example link_heavy -- [--pages 21000] [--links 18000] [--ip 127.0.0.81]
//! [--port 8097] [--out DIR]` writes DIR/roots.txt (the root page) and DIR/urls.txt (every page), then serves
//! until killed.

// A benchmark fixture: panics on bad flags are the right answer, and the pedantic style guards the engine.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;

const CRATES: &[&str] = &["std", "core", "alloc", "proc_macro", "test"];
const MODULES: &[&str] = &[
    "collections/hash_map",
    "collections/btree_map",
    "collections",
    "io",
    "io/prelude",
    "fs",
    "net",
    "sync/mpsc",
    "sync/atomic",
    "sync",
    "thread",
    "iter",
    "fmt",
    "os/unix/fs",
    "os/unix/net",
    "ptr",
    "slice",
    "str/pattern",
    "string",
    "vec",
    "ops",
    "num",
    "time",
    "process",
    "cell",
    "rc",
    "boxed",
    "char",
    "hash",
    "marker",
    "mem",
    "primitive",
];
const KINDS: &[&str] = &[
    "struct", "enum", "trait", "fn", "macro", "type", "constant", "struct", "trait",
];
const WORDS: &[&str] = &[
    "Raw", "Entry", "Builder", "Mut", "Iter", "Into", "Double", "Ended", "Hash", "Map", "Ref",
    "Cell", "Vacant", "Occupied", "Drain", "Filter", "Buf", "Reader", "Writer", "Socket", "Addr",
    "Error", "Kind", "Atomic", "Ordering", "Sender", "Receiver", "Local", "Key", "Chunks", "Exact",
    "Rev",
];

/// Page i's path. Distinct for every i: the name's last word and number come from i itself.
fn path_of(i: usize) -> String {
    if i == 0 {
        return "/std/index.html".into();
    }
    let krate = CRATES[i % CRATES.len()];
    let module = MODULES[(i / 5) % MODULES.len()];
    let kind = KINDS[(i / 7) % KINDS.len()];
    let name: String = (0..3)
        .map(|k| WORDS[(i >> (5 * k)) % WORDS.len()])
        .collect();
    let name = if kind == "fn" || kind == "macro" || kind == "constant" {
        name.to_lowercase()
    } else {
        name
    };
    format!("/{krate}/{module}/{kind}.{name}{}.html", i % 97)
}

/// `target` written relative to the directory of `from`, as rustdoc writes its links.
fn relative(from: &str, target: &str) -> String {
    let up = from.matches('/').count() - 1;
    let mut s = String::with_capacity(3 * up + target.len());
    for _ in 0..up {
        s += "../";
    }
    s += &target[1..];
    s
}

/// Page i: a head, a sidebar of `links` links through the site (a stride from a start of its own, so the links of
/// two pages overlap mostly), and the page's own items with fragments.
fn page(i: usize, n: usize, links: usize) -> String {
    let me = path_of(i);
    let mut s = String::with_capacity(links * 110 + 4096);
    let title = me.rsplit('/').next().unwrap().trim_end_matches(".html");
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1.0\"><meta name=\"description\" content=\"API \
         documentation for the Rust `{title}` item.\"><title>{title} - Rust</title>\
         <link rel=\"stylesheet\" href=\"{}static.files/rustdoc.css\"></head><body class=\"rustdoc\">\
         <nav class=\"sidebar\"><div class=\"sidebar-elems\"><section><ul class=\"block\">",
        "../".repeat(me.matches('/').count() - 1)
    );
    // A stride coprime with n visits n distinct pages; any odd prime not dividing n will do.
    let stride = [7919, 7907, 7901, 7883]
        .into_iter()
        .find(|p| !n.is_multiple_of(*p))
        .unwrap_or(1);
    let start = (i * 2_654_435_761) % n.max(1);
    for k in 0..links.min(n) {
        let target = path_of((start + k * stride) % n);
        let href = relative(&me, &target);
        let name = target.rsplit('/').next().unwrap().trim_end_matches(".html");
        if k % 4 == 0 {
            let _ = write!(
                s,
                "<li><a href=\"{href}#method.len\" title=\"{name}\">{name}</a></li>"
            );
        } else {
            let _ = write!(s, "<li><a href=\"{href}\">{name}</a></li>");
        }
    }
    s += "</ul></section></div></nav><main><h1>";
    s += title;
    s += "</h1>";
    for m in [
        "new", "len", "is_empty", "iter", "get", "insert", "remove", "clear",
    ] {
        let _ = write!(
            s,
            "<section id=\"method.{m}\"><h4><a href=\"#method.{m}\" class=\"fn\">{m}</a></h4>\
             <p>Returns the thing, see <a href=\"{}\">the parent module</a>.</p></section>",
            relative(&me, &path_of((i + 1) % n))
        );
    }
    s += "</main></body></html>";
    s
}

struct Site {
    paths: HashMap<String, usize>,
    links: usize,
}

async fn serve(State(site): State<Arc<Site>>, req: Request) -> Response {
    let path = req.uri().path();
    match site.paths.get(path) {
        Some(&i) => Response::builder()
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(Body::from(page(i, site.paths.len(), site.links)))
            .unwrap(),
        None if path == "/robots.txt" => Response::new(Body::from("User-agent: *\nAllow: /\n")),
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
    let n: usize = arg(&args, "--pages", "21000").parse().unwrap();
    let links: usize = arg(&args, "--links", "18000").parse().unwrap();
    let ip: Ipv4Addr = arg(&args, "--ip", "127.0.0.81").parse().unwrap();
    let port: u16 = arg(&args, "--port", "8097").parse().unwrap();
    let out = std::path::PathBuf::from(arg(&args, "--out", "/tmp/crawlfish-link-heavy"));
    assert!(ip.is_loopback(), "--ip must be a loopback address");
    let paths: HashMap<String, usize> = (0..n).map(|i| (path_of(i), i)).collect();
    assert_eq!(paths.len(), n, "page paths must be distinct");
    std::fs::create_dir_all(&out).unwrap();
    let origin = format!("http://{ip}:{port}");
    std::fs::write(out.join("roots.txt"), format!("{origin}{}\n", path_of(0))).unwrap();
    let urls: String = (0..n)
        .map(|i| format!("{origin}{}\n", path_of(i)))
        .collect();
    std::fs::write(out.join("urls.txt"), urls).unwrap();
    let sample: usize = (0..n.min(20)).map(|i| page(i, n, links).len()).sum();
    eprintln!(
        "link_heavy: {n} pages, {links} links a page (~{:.2} MB a page) on {origin}",
        sample as f64 / n.min(20) as f64 / 1e6
    );
    let site = Arc::new(Site { paths, links });
    // One thread, like a one-worker nginx: the server must not take the crawler's second core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip.into(), port))
            .await
            .unwrap_or_else(|e| panic!("bind {ip}:{port}: {e}"));
        let app = axum::Router::new().fallback(serve).with_state(site);
        eprintln!("link_heavy: ready");
        axum::serve(listener, app).await.unwrap();
    });
}
