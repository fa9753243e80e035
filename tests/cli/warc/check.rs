//! `--resume --warc` on an archive that is not whole (issue 22): a member damaged in the middle stops the run
//! (exit 2, nothing touched) unless `--warc-repair` moves the damaged tail aside; a torn last member is cut; and
//! every URL whose response is not in the archive afterwards (or whose `warc_offset` is null) is fetched again, its
//! new line pointing at its own response record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::warcio::{check, field, record_at};
use crate::support::*;

/// Pages `/p0` … crawled into `out.jsonl` and `crawl.warc.gz` in a new directory, one at a time (so the archive
/// holds them in list order).
struct Crawled {
    site: Site,
    dir: PathBuf,
    list: String,
    out: PathBuf,
    warc: PathBuf,
}

async fn crawled(name: &str, ip: &str, pages: usize) -> Crawled {
    let site = Site::start(ip).await;
    let mut list = String::new();
    for i in 0..pages {
        // Each page different, so that each response member compresses differently.
        let body: String = (0..200u32)
            .map(|n| format!("{} ", n.wrapping_mul(2_654_435_761) ^ i as u32))
            .collect();
        site.html(&format!("/p{i}"), &format!("<title>p{i}</title>{body}"));
        list += &format!("{}\n", site.url(&format!("/p{i}")));
    }
    let dir = tempdir(name);
    let (out, warc) = (dir.join("out.jsonl"), dir.join("crawl.warc.gz"));
    let c = Crawled {
        site,
        dir,
        list,
        out,
        warc,
    };
    let run = crawlfish(&c.args(&["-c", "1"]), &c.list).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    c
}

impl Crawled {
    /// The fast test flags, this crawl's files and `extra`; with `-v` in `extra`, warnings are shown (no `-q`).
    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut v = args(&[
            "-o",
            self.out.to_str().unwrap(),
            "--warc",
            self.warc.to_str().unwrap(),
        ]);
        v.extend_from_slice(extra);
        if extra.contains(&"-v") {
            v.retain(|a| *a != "-q" && *a != "-v");
        }
        v
    }

    fn warc_s(&self) -> &str {
        self.warc.to_str().unwrap()
    }

    /// The output's lines in order.
    fn lines(&self) -> Vec<Value> {
        parse_lines(&std::fs::read_to_string(&self.out).unwrap())
    }

    /// Each URL's last line (the one that counts).
    fn last_lines(&self) -> HashMap<String, Value> {
        self.lines()
            .into_iter()
            .map(|r| (r["url"].as_str().unwrap().to_owned(), r))
            .collect()
    }

    fn offset(&self, path: &str) -> u64 {
        self.last_lines()[&self.site.url(path)]["warc_offset"]
            .as_u64()
            .unwrap()
    }

    /// Every URL's last line points at its own response record.
    fn assert_offsets_point_home(&self) {
        for (url, rec) in self.last_lines() {
            let off = rec["warc_offset"]
                .as_u64()
                .unwrap_or_else(|| panic!("{rec}"));
            let (head, _) = record_at(self.warc_s(), off);
            assert_eq!(field(&head, "WARC-Type"), Some("response"), "{url}");
            assert_eq!(field(&head, "WARC-Target-URI"), Some(url.as_str()));
        }
    }
}

/// Flips one byte inside the gzip member at `offset` (past its 10-byte header).
fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize + 40] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

// Guards issue 22.3: one flipped byte in a middle member made `--resume` log "cut a torn last record", delete that
// member and every good one after it, and exit 0.
#[tokio::test]
async fn a_damaged_member_in_the_middle_stops_resume_naming_its_offset_and_changes_nothing() {
    let c = crawled("warc-damaged", "127.0.0.161", 5).await;
    let at = c.offset("/p2");
    flip(&c.warc, at);
    let (warc_before, out_before) = (
        std::fs::read(&c.warc).unwrap(),
        std::fs::read(&c.out).unwrap(),
    );
    let more = format!("{}{}\n", c.list, c.site.url("/new"));
    c.site.html("/new", "new");
    let run = crawlfish(&c.args(&["--resume"]), &more).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("at byte {at} is damaged")) && run.stderr.contains(c.warc_s()),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--warc-repair"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(&c.warc).unwrap(),
        warc_before,
        "the archive is untouched"
    );
    assert_eq!(
        std::fs::read(&c.out).unwrap(),
        out_before,
        "the output is untouched"
    );
    assert_eq!(c.site.hits("/new"), 0, "nothing was fetched");
    // --warc-repair only where the file is appended to.
    let run = crawlfish(&args(&["--warc", c.warc_s(), "--warc-repair"]), &more).await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("--warc-repair: only with --resume or --state"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&c.warc).unwrap(), warc_before);
    std::fs::remove_dir_all(&c.dir).unwrap();
}

#[tokio::test]
async fn warc_repair_moves_the_damaged_tail_aside_and_fetches_its_urls_again() {
    let c = crawled("warc-repair", "127.0.0.162", 5).await;
    let at = c.offset("/p2");
    flip(&c.warc, at);
    let damaged_bytes = std::fs::read(&c.warc).unwrap()[at as usize..].to_vec();
    let run = crawlfish(
        &c.args(&["--resume", "--warc-repair", "-c", "1", "-v"]),
        &c.list,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "--warc-repair: moved {} bytes from byte {at}",
            damaged_bytes.len()
        )),
        "{}",
        run.stderr
    );
    let aside = PathBuf::from(format!("{}.damaged-{at}", c.warc_s()));
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        damaged_bytes,
        "the damaged tail, byte for byte"
    );
    check(c.warc_s());
    c.assert_offsets_point_home();
    // The pages archived before the damage were not fetched again; those at or after it were, once.
    for (i, hits) in [1, 1, 2, 2, 2].into_iter().enumerate() {
        assert_eq!(c.site.hits(&format!("/p{i}")), hits, "/p{i}");
    }
    // Resuming again fetches nothing: each URL's last line has its response in the archive.
    let run = crawlfish(&c.args(&["--resume"]), &c.list).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(c.site.hits("/p4"), 2);
    std::fs::remove_dir_all(&c.dir).unwrap();
}

// A torn last member (the file ends inside it) is still cut, and the URL whose response was in it is fetched again
// (its `warc_offset` pointed past the archive's new end).
#[tokio::test]
async fn a_torn_last_member_is_cut_and_its_url_archived_again() {
    let c = crawled("warc-torn", "127.0.0.163", 3).await;
    let at = c.offset("/p2");
    let len = std::fs::metadata(&c.warc).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&c.warc)
        .unwrap()
        .set_len(at + (len - at) / 2)
        .unwrap();
    let run = crawlfish(&c.args(&["--resume", "-v"]), &c.list).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("cut a torn last record"),
        "{}",
        run.stderr
    );
    check(c.warc_s());
    c.assert_offsets_point_home();
    assert_eq!((c.site.hits("/p0"), c.site.hits("/p2")), (1, 2));
    std::fs::remove_dir_all(&c.dir).unwrap();
}

// Guards issue 22: records left with `warc_offset: null` (the archive failed, e.g. a full disk) were never archived
// by a later `--resume`.
#[tokio::test]
async fn records_with_a_null_warc_offset_are_fetched_again_by_resume() {
    let c = crawled("warc-null", "127.0.0.164", 3).await;
    let p1 = c.site.url("/p1");
    let offset = format!("\"warc_offset\":{},", c.offset("/p1"));
    let text: String = std::fs::read_to_string(&c.out)
        .unwrap()
        .lines()
        .map(|l| {
            let l = if l.contains(&format!("\"url\":\"{p1}\"")) {
                l.replace(&offset, "\"warc_offset\":null,")
            } else {
                l.to_owned()
            };
            l + "\n"
        })
        .collect();
    assert!(text.contains("\"warc_offset\":null"));
    std::fs::write(&c.out, text).unwrap();
    let run = crawlfish(&c.args(&["--resume", "-v"]), &c.list).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("fetched again"), "{}", run.stderr);
    assert_eq!(
        (c.site.hits("/p0"), c.site.hits("/p1"), c.site.hits("/p2")),
        (1, 2, 1)
    );
    let lines = c.lines();
    assert_eq!(lines.len(), 4, "one new line, after the old");
    assert_eq!(lines[3]["url"], p1.as_str());
    c.assert_offsets_point_home();
    // --since reads a file with two lines for a URL (the last one counts).
    let again = c.dir.join("again.jsonl");
    let run = crawlfish(
        &args(&[
            "--since",
            c.out.to_str().unwrap(),
            "-o",
            again.to_str().unwrap(),
        ]),
        &c.list,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let since = parse_lines(&std::fs::read_to_string(&again).unwrap());
    assert!(
        since.iter().all(|r| r["change"] == "unchanged"),
        "{since:#?}"
    );
    std::fs::remove_dir_all(&c.dir).unwrap();
}
