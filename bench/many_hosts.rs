//! The many-hosts benchmark site (W4): N distinct host names, `h0.localhost` … `h{N-1}.localhost`, each with a
//! small robots.txt and P small pages, all served by one listener on 127.0.0.1 and told apart by the `Host`
//! header. `*.localhost` is loopback by RFC 6761, and crawlfish answers it without DNS, so no `--resolve` flags
//! (20,000 of them) and no hosts file are needed, and nothing binds beyond 127.0.0.1.
//!
//! `cargo run --release --example many_hosts -- [--hosts N] [--pages P] [--port 8090] [--out DIR]` writes
//! DIR/hosts.txt (every page of every host, shuffled, so a host's pages are far apart in the list) and serves
//! until killed. `GET /__stats` returns and resets the counts: `{"requests": …, "robots": …}`.

// A benchmark fixture: panics on bad flags are the right answer, and the pedantic style guards the engine.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    robots: AtomicU64,
}

const ROBOTS: &str = "User-agent: *\nDisallow: /private/\nAllow: /\n";

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

async fn serve(State(counts): State<Arc<Counts>>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/__stats" {
        let body = format!(
            "{{\"requests\":{},\"robots\":{}}}",
            counts.requests.swap(0, Ordering::Relaxed),
            counts.robots.swap(0, Ordering::Relaxed)
        );
        return Response::new(Body::from(body));
    }
    counts.requests.fetch_add(1, Ordering::Relaxed);
    if path == "/robots.txt" {
        counts.robots.fetch_add(1, Ordering::Relaxed);
        return Response::new(Body::from(ROBOTS));
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("?");
    if !path.starts_with("/p") {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from("not found"))
            .unwrap();
    }
    let body = format!(
        "<!doctype html><title>{host}{path}</title><p>A page of {host}.</p>\
         <a href=\"/p1\">one</a> <a href=\"/p2\">two</a> <a href=\"/private/x\">private</a>"
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(body))
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hosts: usize = arg(&args, "--hosts", "20000").parse().unwrap();
    let pages: usize = arg(&args, "--pages", "2").parse().unwrap();
    let port: u16 = arg(&args, "--port", "8090").parse().unwrap();
    let out = std::path::PathBuf::from(arg(&args, "--out", "/tmp/crawlfish-bench"));
    std::fs::create_dir_all(&out).unwrap();
    let mut urls: Vec<String> = (0..hosts)
        .flat_map(|h| (1..=pages).map(move |p| format!("http://h{h}.localhost:{port}/p{p}")))
        .collect();
    // xorshift: the same shuffle every run.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for i in (1..urls.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        urls.swap(i, (x % (i as u64 + 1)) as usize);
    }
    std::fs::write(out.join("hosts.txt"), urls.join("\n") + "\n").unwrap();
    let counts = Arc::new(Counts::default());
    // One thread, like the other bench site: the server must not take the crawler's second core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let app = axum::Router::new().fallback(serve).with_state(counts);
        eprintln!("many_hosts: {hosts} hosts x {pages} pages on {addr}: ready");
        axum::serve(listener, app).await.unwrap();
    });
}
