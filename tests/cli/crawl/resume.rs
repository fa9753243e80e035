//! Kill it anywhere, lose nothing: a crawl killed with SIGKILL at random record counts, each time continued with
//! `--resume`, ends with exactly an uninterrupted run's records (URLs, depths, parents), every URL once, and no
//! URL that reached FILE fetched again, with `--no-links` (FILE holds no links: the links journal beside it
//! gives the queue back) and without. A journal that is not FILE's is refused with exit 2.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::support::*;

/// Pages of the generated site, and kills per run.
const PAGES: usize = 300;
const KILLS: usize = 5;

/// A site of [`PAGES`] pages, each linking to three others (a fixed graph; not every page is reachable at the
/// same depth), answered after a short delay so that a kill lands mid-crawl. Returns the site and its root.
async fn graph_site() -> (Site, String) {
    let site = Site::start("127.0.0.1").await;
    for i in 0..PAGES {
        let links: String = [
            (i * 7 + 1) % PAGES,
            (i * 13 + 5) % PAGES,
            (2 * i + 1) % PAGES,
        ]
        .iter()
        .map(|j| format!("<a href=\"/p{j}\">p{j}</a>"))
        .collect();
        let body = format!("<html><title>p{i}</title><body>{links}</body></html>");
        site.route(
            &format!("/p{i}"),
            vec![Step::html(&body).delay(Duration::from_millis(2))],
        );
    }
    let root = site.url("/p0");
    (site, root)
}

/// One worker, so the uninterrupted run's order, and so each URL's parent, is the same run after run. HELD's long
/// `--timeout`: a request held at a gate must not time out (and be written) while the test still works.
fn crawl_args<'a>(out: &'a str, list: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = held_args(&["--depth", "50", "-c", "1", "--per-host", "1", "-o", out]);
    v.extend_from_slice(extra);
    v.push(list);
    v
}

fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.matches('\n').count())
}

/// url → (depth, parent) of every record line, failing on a URL twice (and on a torn line).
fn records(path: &Path) -> BTreeMap<String, (u64, Option<String>)> {
    records_of(&std::fs::read_to_string(path).unwrap(), path)
}

/// As [`records`], for a FILE whose writer was killed: a SIGKILL can cut a write that spans pages short, so its
/// last line may be torn; that line is not in FILE (`--resume` cuts it and fetches its URL again).
fn whole_records(path: &Path) -> BTreeMap<String, (u64, Option<String>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let whole = text.rfind('\n').map_or(0, |end| end + 1);
    records_of(&text[..whole], path)
}

fn records_of(text: &str, path: &Path) -> BTreeMap<String, (u64, Option<String>)> {
    let mut out = BTreeMap::new();
    for r in parse_partial_lines(text) {
        let url = r["url"].as_str().unwrap().to_owned();
        let row = (
            r["depth"].as_u64().unwrap(),
            r["parent"].as_str().map(str::to_owned),
        );
        assert!(
            out.insert(url.clone(), row).is_none(),
            "{url} twice in {}",
            path.display()
        );
    }
    out
}

fn hits(site: &Site) -> HashMap<String, usize> {
    (0..PAGES)
        .map(|i| (site.url(&format!("/p{i}")), site.hits(&format!("/p{i}"))))
        .collect()
}

async fn killed_and_resumed(name: &str, extra: &[&str]) {
    let dir = tempdir(name);
    let list = dir.join("roots.txt");
    let (reference, out) = (dir.join("reference.jsonl"), dir.join("out.jsonl"));
    let (ref_s, out_s, list_s) = (
        reference.to_str().unwrap(),
        out.to_str().unwrap(),
        list.to_str().unwrap(),
    );
    let (_reference_site, root) = graph_site().await;
    std::fs::write(&list, format!("{root}\n")).unwrap();
    let whole = crawlfish(&crawl_args(ref_s, list_s, extra), "").await;
    assert_eq!(whole.code, Some(0), "{}", whole.stderr);
    let want = records(&reference);
    assert!(want.len() > 100, "the site reaches {} pages", want.len());

    // A second site: its hit counts are the killed runs' alone.
    let (site, root2) = graph_site().await;
    std::fs::write(&list, format!("{root2}\n")).unwrap();
    let mut rng = fastrand::Rng::new();
    let seed = rng.get_seed();
    let mut kept = HashMap::new(); // URL in FILE → its hits when it was there at a kill
    for kill in 0..KILLS {
        let resume: &[&str] = if kill == 0 { &[] } else { &["--resume"] };
        let mut args = crawl_args(out_s, list_s, extra);
        args.splice(args.len() - 1..args.len() - 1, resume.iter().copied());
        let mut child = bin()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let target = lines_in(&out) + rng.usize(1..=want.len() / (KILLS + 1));
        wait_until("the output to grow", Duration::from_secs(30), || {
            lines_in(&out) >= target || child.try_wait().ok().flatten().is_some()
        })
        .await;
        child.start_kill().unwrap(); // SIGKILL: no chance to flush or clean up
        child.wait().await.unwrap();
        let now = hits(&site);
        for url in whole_records(&out).into_keys() {
            kept.entry(url.clone()).or_insert(now[&url]);
        }
    }
    let last = crawlfish(
        &crawl_args(out_s, list_s, &[&["--resume"], extra].concat()),
        "",
    )
    .await;
    assert_eq!(last.code, Some(0), "seed {seed}: {}", last.stderr);
    let got = records(&out);
    let root_swap =
        |m: &BTreeMap<String, (u64, Option<String>)>, from: &str, to: &str| -> BTreeMap<_, _> {
            let swap = |s: &str| s.replace(from, to);
            m.iter()
                .map(|(u, (d, p))| (swap(u), (*d, p.as_deref().map(swap))))
                .collect()
        };
    // The two sites listen on different ports: compare by path.
    let base = |u: &str| u.trim_end_matches("/p0").to_owned();
    assert_eq!(
        root_swap(&got, &base(&root2), "SITE"),
        root_swap(&want, &base(&root), "SITE"),
        "seed {seed}: the killed and resumed crawl differs from the uninterrupted one"
    );
    let end = hits(&site);
    for (url, before) in &kept {
        assert_eq!(
            end[url], *before,
            "seed {seed}: {url} was in FILE, yet fetched again"
        );
    }
    assert_eq!(
        std::fs::metadata(journal_of(&out)).unwrap().len(),
        32,
        "a complete run seals its links journal: header and seal only"
    );
}

fn journal_of(out: &Path) -> std::path::PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".links");
    name.into()
}

#[tokio::test]
async fn killed_anywhere_with_no_links_and_resumed_loses_nothing() {
    killed_and_resumed("crawl-resume-no-links", &["--no-links"]).await;
}

#[tokio::test]
async fn killed_anywhere_with_links_and_resumed_loses_nothing() {
    killed_and_resumed("crawl-resume-links", &[]).await;
}

#[tokio::test]
async fn a_journal_not_of_this_file_or_version_is_refused() {
    let dir = tempdir("crawl-resume-refused");
    let (site, out, list) = killed_early(&dir, &["--no-links"]).await;
    let (out_s, list_s) = (out.to_str().unwrap(), list.to_str().unwrap());
    let journal = journal_of(&out);
    let good = std::fs::read(&journal).unwrap();
    let file = std::fs::read(&out).unwrap();
    // Another run's FILE (its first record dropped): the entries no longer match it.
    let first = file.iter().position(|&b| b == b'\n').unwrap() + 1;
    std::fs::write(&out, &file[first..]).unwrap();
    let run = crawlfish(&crawl_args(out_s, list_s, &["--resume", "--no-links"]), "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("does not belong to"), "{}", run.stderr);
    std::fs::write(&out, &file).unwrap();
    // Damage inside an entry of a record in FILE: refused, nothing skipped silently.
    let mut bad = good.clone();
    bad[40] ^= 0x55;
    std::fs::write(&journal, &bad).unwrap();
    let run = crawlfish(&crawl_args(out_s, list_s, &["--resume", "--no-links"]), "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("damaged"), "{}", run.stderr);
    // Another format version.
    let mut other = good.clone();
    other[8] = 99;
    std::fs::write(&journal, &other).unwrap();
    let run = crawlfish(&crawl_args(out_s, list_s, &["--resume", "--no-links"]), "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("format version 99"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        file,
        "a refused run leaves FILE as it was"
    );
    // A torn last entry (of a record not in FILE) is cut with a warning and the run completes.
    std::fs::write(&journal, [&good[..], &good[16..30]].concat()).unwrap();
    let run = crawlfish(&crawl_args(out_s, list_s, &["--resume", "--no-links"]), "").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(records(&out).len(), lines_in(&out));
    drop(site);
}

/// A site whose `/a/x` and `/b/x` serve one body with a relative link (`y`), so the copy's links lead elsewhere
/// (`/b/y`): the duplicate rule must keep the copy's links unfollowed. `/b/x`'s first answer waits at `gate`.
async fn copies_site(gate: &Gate) -> (Site, String) {
    let site = Site::start("127.0.0.1").await;
    let copy = "<html><title>x</title><body><a href=\"y\">y</a></body></html>";
    site.html("/", "<a href=\"/a/x\">a</a> <a href=\"/b/x\">b</a>")
        .html("/a/x", copy)
        .route("/b/x", vec![Step::html(copy).held(gate), Step::html(copy)])
        .html("/a/y", "<title>a</title>")
        .html("/b/y", "<title>b</title>");
    let root = site.url("/");
    (site, root)
}

/// Killed between a page and a copy of it, resumed from the links journal (`journal`) or, the journal moved away,
/// from FILE's records as a FILE written before journals is.
async fn copy_after_a_kill(name: &str, journal: bool) {
    let dir = tempdir(name);
    let gate = Gate::default();
    let (site, root) = copies_site(&gate).await;
    let list = dir.join("roots.txt");
    std::fs::write(&list, format!("{root}\n")).unwrap();
    let out = dir.join("out.jsonl");
    let (out_s, list_s) = (out.to_str().unwrap(), list.to_str().unwrap());
    let first: &[&str] = if journal { &["--no-links"] } else { &[] };
    let mut child = bin()
        .args(crawl_args(out_s, list_s, first))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // `/` and `/a/x` written, `/b/x` asked for and held: the kill lands between the original and its copy.
    wait_until(
        "two records and /b/x in flight",
        Duration::from_secs(30),
        || lines_in(&out) >= 2 && site.hits("/b/x") == 1,
    )
    .await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert_eq!(lines_in(&out), 2);
    if !journal {
        std::fs::remove_file(journal_of(&out)).unwrap();
    }
    let run = crawlfish(&crawl_args(out_s, list_s, &["--resume", "--no-links"]), "").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let got = parse_partial_lines(&std::fs::read_to_string(&out).unwrap());
    let copy = got
        .iter()
        .find(|r| r["url"] == site.url("/b/x").as_str())
        .expect("a record for the copy");
    assert_eq!(copy["duplicate_of"], site.url("/a/x").as_str(), "{copy}");
    assert_eq!(
        site.hits("/b/y"),
        0,
        "the copy's links were followed after the resume"
    );
    assert_eq!(got.len(), 4, "/, /a/x, /b/x, /a/y once each: {got:?}");
    // With the journal, --no-links writes none; a FILE resumed from its links gets them on every new record.
    let with_links = got.iter().filter(|r| r.get("links").is_some()).count();
    assert_eq!(with_links, if journal { 0 } else { 4 }, "{got:?}");
    drop(gate);
}

#[tokio::test]
async fn a_copy_fetched_after_a_kill_is_still_a_duplicate_of_a_page_written_before_it() {
    copy_after_a_kill("crawl-resume-duplicates", true).await;
}

#[tokio::test]
async fn a_file_without_a_journal_is_resumed_from_its_links_and_its_new_records_keep_them() {
    copy_after_a_kill("crawl-resume-no-journal", false).await;
}

/// A crawl of [`graph_site`] into `dir/out.jsonl`, killed with SIGKILL once it has written 20 records.
async fn killed_early(
    dir: &Path,
    extra: &[&str],
) -> (Site, std::path::PathBuf, std::path::PathBuf) {
    let (site, root) = graph_site().await;
    let list = dir.join("roots.txt");
    std::fs::write(&list, format!("{root}\n")).unwrap();
    let out = dir.join("out.jsonl");
    let mut child = bin()
        .args(crawl_args(
            out.to_str().unwrap(),
            list.to_str().unwrap(),
            extra,
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("20 records", Duration::from_secs(30), || {
        lines_in(&out) >= 20
    })
    .await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    (site, out, list)
}

#[tokio::test]
async fn a_no_links_file_whose_journal_was_moved_away_is_refused_not_silently_ended() {
    let dir = tempdir("crawl-resume-journal-moved");
    let (_site, out, list) = killed_early(&dir, &["--no-links"]).await;
    std::fs::rename(journal_of(&out), dir.join("elsewhere")).unwrap();
    let before = std::fs::read(&out).unwrap();
    let (out_s, list_s) = (out.to_str().unwrap(), list.to_str().unwrap());
    let run = crawlfish(&crawl_args(out_s, list_s, &["--resume", "--no-links"]), "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("without `links`"), "{}", run.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), before, "FILE left as it was");
}

#[tokio::test]
async fn a_complete_no_links_crawl_resumed_again_fetches_nothing() {
    let dir = tempdir("crawl-resume-sealed");
    let (site, root) = graph_site().await;
    let list = dir.join("roots.txt");
    std::fs::write(&list, format!("{root}\n")).unwrap();
    let out = dir.join("out.jsonl");
    let (out_s, list_s) = (out.to_str().unwrap(), list.to_str().unwrap());
    let first = crawlfish(&crawl_args(out_s, list_s, &["--no-links"]), "").await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let (lines, hits_before) = (lines_in(&out), hits(&site));
    let again = crawlfish(&crawl_args(out_s, list_s, &["--resume", "--no-links"]), "").await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(lines_in(&out), lines, "nothing added");
    assert_eq!(hits(&site), hits_before, "nothing fetched again");
    // A sealed journal of another FILE is refused like any other run's.
    std::fs::write(
        &out,
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned()
            + "\n",
    )
    .unwrap();
    let other = crawlfish(&crawl_args(out_s, list_s, &["--resume", "--no-links"]), "").await;
    assert_eq!(other.code, Some(2), "{}", other.stderr);
    assert!(
        other.stderr.contains("does not belong to"),
        "{}",
        other.stderr
    );
}

#[tokio::test]
async fn a_fifo_or_symlink_at_the_journal_is_refused_before_anything_changes() {
    let dir = tempdir("crawl-resume-odd-journal");
    let (_site, root) = graph_site().await;
    let list = dir.join("roots.txt");
    std::fs::write(&list, format!("{root}\n")).unwrap();
    let out = dir.join("out.jsonl");
    let (out_s, list_s) = (out.to_str().unwrap(), list.to_str().unwrap());
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, journal_of(&out)).unwrap();
    let run = crawlfish(&crawl_args(out_s, list_s, &[]), "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!out.exists(), "FILE was not created");
    std::fs::remove_file(journal_of(&out)).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(journal_of(&out))
        .status()
        .unwrap();
    assert!(fifo.success());
    for resume in [&[][..], &["--resume"][..]] {
        let args = crawl_args(out_s, list_s, resume);
        let run = tokio::time::timeout(Duration::from_secs(60), crawlfish(&args, ""))
            .await
            .expect("a FIFO at the journal hung the run");
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    }
}

#[tokio::test]
async fn a_second_run_given_the_journal_as_its_output_exits_75() {
    let dir = tempdir("crawl-resume-journal-locked");
    let gate = Gate::default();
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<a href=\"/slow\">s</a>")
        .route("/slow", vec![Step::html("slow").held(&gate)]);
    let list = dir.join("roots.txt");
    std::fs::write(&list, format!("{}\n", site.url("/"))).unwrap();
    let out = dir.join("out.jsonl");
    let (out_s, list_s) = (out.to_str().unwrap(), list.to_str().unwrap());
    let first = bin()
        .args(crawl_args(out_s, list_s, &[]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The root's line in FILE means its journal entry is written too (entries go first): the first run writes
    // nothing more to the journal until `/slow` answers, so any change below is the second run's.
    wait_until(
        "the first run holding its journal",
        Duration::from_secs(30),
        || {
            site.hits("/slow") == 1
                && std::fs::read(&out).is_ok_and(|b| b.iter().filter(|&&c| c == b'\n').count() == 1)
        },
    )
    .await;
    let journal = journal_of(&out);
    let before = std::fs::read(&journal).unwrap();
    let second = crawlfish(&args(&["-o", journal.to_str().unwrap(), list_s]), "").await;
    assert_eq!(second.code, Some(75), "{}", second.stderr);
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        before,
        "the journal unchanged"
    );
    gate.open();
    let end = tokio::time::timeout(RUN_LIMIT, first.wait_with_output())
        .await
        .expect("the first run ends once /slow answers")
        .unwrap();
    assert_eq!(end.status.code(), Some(0));
}

#[tokio::test]
async fn sealing_the_journal_never_writes_through_a_link_at_its_temporary_name() {
    let dir = tempdir("crawl-resume-seal-link");
    let (_site, root) = graph_site().await;
    let list = dir.join("roots.txt");
    std::fs::write(&list, format!("{root}\n")).unwrap();
    let out = dir.join("out.jsonl");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let mut tmp = journal_of(&out).into_os_string();
    tmp.push(".seal.tmp");
    std::os::unix::fs::symlink(&victim, &tmp).unwrap();
    let (out_s, list_s) = (out.to_str().unwrap(), list.to_str().unwrap());
    let run = crawlfish(&crawl_args(out_s, list_s, &[]), "").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(std::fs::metadata(journal_of(&out)).unwrap().len(), 32);
}
