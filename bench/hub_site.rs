//! W6's site: one root, `--hubs` hubs, `--leaves` leaves per hub, every page made on request (nothing is held or
//! written but the one-line roots file), so 10,000,000 distinct leaves cost the server no memory.
//!
//! `/` links to `/h{i}` for every hub; `/h{i}` links to `/h{i}/l{j}` for j < leaves; a leaf is a small page without
//! links. `--depth 2` from the root crawls 1 + hubs + hubs × leaves pages; every leaf is queued while the hubs
//! are fetched, which is what the frontier's spill is measured on.
//!
//! `cargo run --release --example hub_site -- [--hubs 1000] [--leaves 1000] [--ip 127.0.0.61] [--port 8096]
//! [--out DIR]` writes DIR/roots.txt, then serves until killed. `GET /__stats` returns and resets the count of
//! pages served: `{"pages": N}`.

// A benchmark fixture: panics on bad flags are the right answer, and the pedantic style guards the engine.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

struct Site {
    hubs: usize,
    leaves: usize,
    served: AtomicU64,
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn serve(State(site): State<Arc<Site>>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/__stats" {
        let n = site.served.swap(0, Ordering::Relaxed);
        return (
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"pages\": {n}}}"),
        )
            .into_response();
    }
    site.served.fetch_add(1, Ordering::Relaxed);
    let mut body = String::from("<!doctype html><html><head><title>");
    if path == "/" {
        body.push_str("root</title></head><body>");
        for i in 0..site.hubs {
            let _ = writeln!(body, "<a href=\"/h{i}\">hub {i}</a>");
        }
        return html(body + "</body></html>");
    }
    let mut parts = path.trim_start_matches('/').split('/');
    let hub = parts
        .next()
        .and_then(|h| h.strip_prefix('h')?.parse::<usize>().ok());
    let leaf = parts
        .next()
        .map(|l| l.strip_prefix('l').and_then(|n| n.parse::<usize>().ok()));
    match (hub, leaf) {
        (Some(h), None) if h < site.hubs => {
            let _ = write!(body, "hub {h}</title></head><body>");
            for j in 0..site.leaves {
                let _ = writeln!(body, "<a href=\"/h{h}/l{j}\">{j}</a>");
            }
            html(body + "</body></html>")
        }
        (Some(h), Some(Some(j))) if h < site.hubs && j < site.leaves => {
            let _ = write!(
                body,
                "leaf {h}/{j}</title></head><body><p>leaf {j} of hub {h}</p></body></html>"
            );
            html(body)
        }
        _ => (axum::http::StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hubs: usize = arg(&args, "--hubs", "1000").parse().unwrap();
    let leaves: usize = arg(&args, "--leaves", "1000").parse().unwrap();
    let ip: Ipv4Addr = arg(&args, "--ip", "127.0.0.61").parse().unwrap();
    let port: u16 = arg(&args, "--port", "8096").parse().unwrap();
    let out = std::path::PathBuf::from(arg(&args, "--out", "/tmp/crawlfish-bench/w6"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("roots.txt"), format!("http://{ip}:{port}/\n")).unwrap();
    eprintln!(
        "hub_site: 1 root, {hubs} hubs, {} leaves on {ip}:{port}",
        hubs * leaves
    );
    let site = Arc::new(Site {
        hubs,
        leaves,
        served: AtomicU64::new(0),
    });
    // One thread, like bench_site: the server must not take the crawler's second core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), port))
            .await
            .unwrap_or_else(|e| panic!("bind {ip}:{port}: {e}"));
        let app = axum::Router::new().fallback(serve).with_state(site);
        eprintln!("hub_site: ready");
        axum::serve(listener, app).await.unwrap();
    });
}
