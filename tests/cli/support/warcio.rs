//! WARC files read back by an independent reader, Python's `warcio` (`warcio check`, `warcio index`), and by hand
//! at a record's offset.

use std::io::{Read, Seek, SeekFrom};

use serde_json::Value;

/// Runs `python3 -m warcio.cli ARGS`; fails with the way to get warcio when it is missing.
pub(crate) fn warcio(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("python3")
        .args(["-m", "warcio.cli"])
        .args(args)
        .output()
        .expect("python3 is needed for the WARC tests");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("No module named"),
        "the WARC tests read files back with warcio: `python3 -m pip install warcio` ({err})"
    );
    (
        out.status.success(),
        format!("{}{err}", String::from_utf8_lossy(&out.stdout)),
    )
}

/// `warcio index` of FILE: one JSON object per record.
pub(crate) fn index(path: &str) -> Vec<Value> {
    let (ok, out) = warcio(&[
        "index",
        "-f",
        "warc-type,warc-target-uri,offset,warc-truncated,warc-payload-digest,http:status",
        path,
    ]);
    assert!(ok, "warcio index failed: {out}");
    // warcio's index lines are JSON, not records: parsed without the record schema.
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

/// `warcio check -v FILE` must pass; its output.
pub(crate) fn check(path: &str) -> String {
    let (ok, out) = warcio(&["check", "-v", path]);
    assert!(ok, "warcio check failed:\n{out}");
    assert!(!out.contains("invalid"), "{out}");
    out
}

/// The record in the gzip member at `offset`, decompressed: its WARC header and its block.
pub(crate) fn record_at(path: &str, offset: u64) -> (String, Vec<u8>) {
    let mut f = std::fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut text)
        .unwrap();
    let split = text.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(text[..split].to_vec()).unwrap();
    (head, text[split + 4..].to_vec())
}

pub(crate) fn field<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}
