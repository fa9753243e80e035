//! The fetch-only limit for the benchmark: the same reqwest client settings as crawlfish, N requests in flight,
//! bodies read and dropped, nothing parsed or written. `bench/run.py` runs it beside crawlfish so ratios to the
//! network limit are measured in the same run.
//!
//! `cargo run --release --example fetch_only -- URLS_FILE [IN_FLIGHT]`

// A benchmark fixture: panics on bad input are the right answer here.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::sync::{Arc, Mutex};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let list = std::fs::read_to_string(&args[1]).unwrap();
    let in_flight: usize = args.get(2).map_or(64, |s| s.parse().unwrap());
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
            .pool_max_idle_per_host(in_flight)
            .tcp_nodelay(true)
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
