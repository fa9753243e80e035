//! Where records go: `-o` and the user's files, `--resume`, `--state DIR` (and its names: `state_guard`) and
//! `--since FILE`.

mod files;
mod locks;
mod resume;
mod save;
mod since;
mod state;
mod state_guard;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// Bytes, size and modification time: what "left as it was" means.
fn snapshot(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
    let bytes = std::fs::read(path).unwrap();
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    (bytes, mtime)
}

/// A site with `n` small pages and the list of their URLs (one per line).
async fn pages(n: usize) -> (Site, String) {
    let site = Site::start("127.0.0.1").await;
    let mut list = String::new();
    for i in 0..n {
        let path = format!("/p{i}");
        site.html(&path, "<title>page</title>");
        list += &format!("{}\n", site.url(&path));
    }
    (site, list)
}

/// A complete record line, as a previous run would have written it.
const RECORD: &str = "{\"url\":\"http://127.0.0.1:9/x\",\"final_url\":null,\"status\":null,\"depth\":0,\
    \"parent\":null,\"content_type\":null,\"bytes\":0,\"truncated\":false,\"title\":null,\"links\":[],\
    \"fetched_at\":\"2024-01-01T00:00:00Z\",\"elapsed_ms\":1,\"attempts\":1,\"error\":{\"kind\":\"connect\",\
    \"message\":\"refused\"},\"redirects\":[]}\n";

/// A query long enough to pass the old 2,048-character cut, well under the 8 KiB input-line limit.
fn long_query() -> String {
    format!("?q={}", "x".repeat(4000))
}

fn records_in(path: &Path) -> Vec<Value> {
    parse_lines(&std::fs::read_to_string(path).unwrap())
}

fn by_url(records: &[Value]) -> BTreeMap<String, Value> {
    records
        .iter()
        .map(|r| (r["url"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

fn latest(dir: &Path) -> PathBuf {
    dir.join(std::fs::read_link(dir.join("latest.jsonl")).unwrap())
}
