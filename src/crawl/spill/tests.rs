//! The spill's round trip, order and damage detection.

use super::*;

fn job(url: &str, depth: u32, parent: Option<&Arc<str>>, root: &Arc<Root>) -> Job {
    let url = Url::parse(url).unwrap();
    Job {
        host: host_key(&url).into(),
        url,
        depth,
        parent: parent.cloned(),
        root: root.clone(),
        check: false,
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "crawlfish-spill-test-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Two depths interleaved, parents shared and not, two roots; small segments so several are written and read.
fn filled(parent_dir: &Path, n: usize) -> (Spill, Vec<Job>, Vec<Job>) {
    let mut spill = Spill::new(parent_dir.to_path_buf());
    spill.segment_bytes = 400;
    let roots = [
        Root::shared(&Url::parse("http://a.test/").unwrap()),
        Root::shared(&Url::parse("http://b.test/").unwrap()),
    ];
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for i in 0..n {
        let parent: Arc<str> = Arc::from(format!("http://a.test/p{}", i / 7).as_str());
        let a = job(
            &format!("http://a.test/x{i}"),
            1,
            Some(&parent),
            &roots[i % 2],
        );
        let b = job(
            &format!("http://b{}.test/y{i}", i % 3),
            2,
            (i % 5 != 0).then_some(&parent),
            &roots[0],
        );
        spill.push(&a).unwrap();
        spill.push(&b).unwrap();
        one.push(a);
        two.push(b);
    }
    (spill, one, two)
}

fn same(a: &Job, b: &Job) -> bool {
    a.url == b.url
        && a.host == b.host
        && a.depth == b.depth
        && a.parent == b.parent
        && Arc::ptr_eq(&a.root, &b.root)
}

#[test]
fn reads_back_each_depth_in_order_and_deletes_what_it_read() {
    let parent = scratch("order");
    let (mut spill, one, two) = filled(&parent, 300);
    let dir = spill.dir().unwrap().to_path_buf();
    assert!(
        std::fs::read_dir(&dir).unwrap().count() > 4,
        "several segments"
    );
    assert_eq!((spill.len(1), spill.len(2), spill.len(3)), (300, 300, 0));
    let mut got = Vec::new();
    // Batches of 7 cross segment ends; depth 2 is untouched meanwhile.
    for _ in 0..100 {
        let batch = spill.take(1, 7).unwrap();
        if batch.is_empty() {
            break;
        }
        got.extend(batch);
    }
    assert_eq!(got.len(), one.len());
    assert!(got.iter().zip(&one).all(|(a, b)| same(a, b)));
    assert_eq!(spill.len(1), 0);
    let files = std::fs::read_dir(&dir).unwrap().filter_map(Result::ok);
    assert!(
        files
            .map(|e| e.file_name().into_string().unwrap())
            .all(|n| n.starts_with("d0002")),
        "depth 1 deleted"
    );
    // Depth 2 keeps being appended to while it is read.
    let late = job("http://b.test/late", 2, None, &one[0].root);
    let first = spill.take(2, 10).unwrap();
    spill.push(&late).unwrap();
    let rest = spill.take(2, 10_000).unwrap();
    let all: Vec<Job> = first.into_iter().chain(rest).collect();
    assert_eq!(all.len(), 301);
    assert!(all
        .iter()
        .zip(two.iter().chain([&late]))
        .all(|(a, b)| same(a, b)));
    drop(spill);
    assert!(!dir.exists(), "the spill directory goes with the spill");
    std::fs::remove_dir_all(&parent).unwrap();
}

#[test]
fn nothing_touches_disk_until_a_job_is_spilled() {
    let parent = scratch("lazy");
    let spill = Spill::new(parent.clone());
    assert!(spill.dir().is_none());
    assert!(!parent.exists());
}

/// Damages the oldest depth-1 segment with `damage` and expects the read to fail naming the file.
fn damaged(name: &str, damage: impl Fn(&Path)) -> String {
    let parent = scratch(name);
    let (mut spill, one, _) = filled(&parent, 50);
    let dir = spill.dir().unwrap().to_path_buf();
    let mut segs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segs.sort();
    damage(&segs[0]);
    let mut taken = 0;
    let err = loop {
        match spill.take(1, 1) {
            Ok(b) if b.is_empty() => panic!("damage went unnoticed after {taken} jobs"),
            Ok(b) => taken += b.len(),
            Err(e) => break e.to_string(),
        }
        assert!(taken <= one.len());
    };
    assert!(err.contains(segs[0].to_str().unwrap()), "{err}");
    drop(spill);
    std::fs::remove_dir_all(&parent).unwrap();
    err
}

#[test]
fn a_flipped_byte_is_a_checksum_error() {
    let err = damaged("flip", |p| {
        let mut bytes = std::fs::read(p).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x20;
        std::fs::write(p, bytes).unwrap();
    });
    assert!(
        err.contains("checksum mismatch") || err.contains("impossible record length"),
        "{err}"
    );
}

#[test]
fn a_truncated_segment_is_an_error() {
    let err = damaged("cut", |p| {
        let len = std::fs::metadata(p).unwrap().len();
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
    });
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn a_lost_segment_is_an_error() {
    let err = damaged("lost", |p| std::fs::remove_file(p).unwrap());
    assert!(
        err.contains("No such file") || err.contains("missing"),
        "{err}"
    );
}
