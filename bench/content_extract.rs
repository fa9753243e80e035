//! `--content`'s extractor alone, for `bench/content_eval.py`: reads `PATH<TAB>URL` lines on stdin, runs the
//! extractor on each file (decoded as UTF-8, lossy) and prints one JSON object `{PATH: content}`; the total time
//! spent in the extractor goes to stderr.
//!
//! `cargo run --release --example content_extract -- [markdown|text] [main|full] < list.tsv`

// A benchmark fixture: panics on bad input are the right answer here.
#![allow(clippy::unwrap_used, clippy::pedantic, clippy::print_stdout)]

use std::io::BufRead;
use std::time::{Duration, Instant};

use crawlfish::bench::{content, ContentOptions, Mode, Scope};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = match args.get(1).map(String::as_str) {
        Some("markdown") => Mode::Markdown,
        _ => Mode::Text,
    };
    let scope = match args.get(2).map(String::as_str) {
        Some("full") => Scope::Full,
        _ => Scope::Main,
    };
    let opts = ContentOptions { mode, scope };
    let mut out = serde_json::Map::new();
    let mut spent = Duration::ZERO;
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let (path, url) = line.split_once('\t').unwrap();
        let html = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let base = url::Url::parse(url).unwrap();
        let t = Instant::now();
        let text = content(&html, &base, opts);
        spent += t.elapsed();
        out.insert(path.to_owned(), serde_json::Value::String(text));
    }
    eprintln!("{} pages in {:.3} s", out.len(), spent.as_secs_f64());
    println!("{}", serde_json::Value::Object(out));
}
