//! The fetch-only limit for the benchmark: the same reqwest client settings as crawlfish, N requests in flight,
//! bodies read and dropped, nothing parsed or written. `bench/run.py` runs it beside crawlfish so ratios to the
//! network limit are measured in the same run.
//!
//! Names under `.localhost` resolve to 127.0.0.1 without DNS, as in crawlfish (the W4 many-hosts site).
//!
//! `cargo run --release --example fetch_only -- URLS_FILE [IN_FLIGHT] [IDLE_PER_HOST]`: the third argument caps
//! the idle connections kept per host (default IN_FLIGHT; W4's 20,000 hosts use 0, as one idle socket per host
//! would need 20,000 descriptors).

// A benchmark fixture: panics on bad input are the right answer here.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// `*.localhost` is loopback (RFC 6761); other names go to the system resolver.
struct Loopback;

impl Resolve for Loopback {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if host.ends_with(".localhost") {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
                return Ok(Box::new(std::iter::once(addr)) as Addrs);
            }
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let list = std::fs::read_to_string(&args[1]).unwrap();
    let in_flight: usize = args.get(2).map_or(64, |s| s.parse().unwrap());
    let idle: usize = args.get(3).map_or(in_flight, |s| s.parse().unwrap());
    let urls: Vec<String> = list
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let total = urls.len();
    let queue = Arc::new(Mutex::new(urls));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (ok, bytes) = rt.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(idle)
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(Loopback))
            .build()
            .unwrap();
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..in_flight {
            let (client, queue) = (client.clone(), queue.clone());
            workers.spawn(async move {
                let (mut ok, mut bytes) = (0usize, 0usize);
                loop {
                    let Some(url) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    if let Ok(mut resp) = client.get(&url).send().await {
                        while let Ok(Some(chunk)) = resp.chunk().await {
                            bytes += chunk.len();
                        }
                        ok += 1;
                    }
                }
                (ok, bytes)
            });
        }
        let (mut ok, mut bytes) = (0, 0);
        while let Some(Ok((o, b))) = workers.join_next().await {
            ok += o;
            bytes += b;
        }
        (ok, bytes)
    });
    eprintln!(
        "fetch_only: {ok}/{total} responses, {:.1} MB",
        bytes as f64 / 1e6
    );
}
