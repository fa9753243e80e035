//! What `--warc` costs besides I/O: reads a `.warc.gz` that crawlfish wrote, splits it into its records, and times
//! what the tasks do per record with the same code: one gzip member each (`warc_writer::gzip`, at the
//! default level and at level 0, stored) and the SHA-1 payload digest. Used by `bench/run.py` after W1 with `--warc`.
//!
//! `cargo run --release --example warc_cost -- FILE.warc.gz`

use std::io::{BufRead, BufReader, Read};

use sha1::Digest as _;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: warc_cost FILE.warc.gz")?;
    let mut reader = BufReader::new(std::fs::File::open(&path)?);
    let mut records = Vec::new();
    while !reader.fill_buf()?.is_empty() {
        let mut record = Vec::new();
        flate2::bufread::GzDecoder::new(&mut reader).read_to_end(&mut record)?;
        records.push(record);
    }
    let bytes: usize = records.iter().map(Vec::len).sum();
    let mut gzip = Vec::new();
    for level in [crawlfish::bench::DEFAULT_LEVEL, 0] {
        let started = Instant::now();
        let mut compressed = 0;
        for r in &records {
            compressed += crawlfish::bench::gzip(&[r], level)?.len();
        }
        gzip.push(format!(
            "level {level} {:.0} ms -> {:.1} MB",
            started.elapsed().as_secs_f64() * 1e3,
            compressed as f64 / 1e6
        ));
    }
    let started = Instant::now();
    let mut sink = 0u8;
    for r in &records {
        // The payload digest: about the record's bytes.
        sink ^= sha1::Sha1::digest(r)[0];
    }
    let sha1 = started.elapsed();
    eprintln!(
        "W1 --warc records: {} records, {:.1} MB; CPU for gzip (warc_writer::gzip, as the tasks run it) {}; \
         SHA-1 {:.0} ms (checksum {sink})",
        records.len(),
        bytes as f64 / 1e6,
        gzip.join(", "),
        sha1.as_secs_f64() * 1e3
    );
    Ok(())
}
