//! The disk-backed seen-set against a `HashSet` model, and its disk errors: a damaged run, an unwritable
//! directory.

use std::collections::HashSet;
use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("crawlfish-seen-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A set whose memory share is `share` bytes (the in-memory part's floor lowered to it too, so a few hundred
/// keys go to disk), runs in a private directory under `parent`.
fn on_disk(parent: &Path, share: usize) -> (SeenStore, Arc<PrivateDir>) {
    let dir = Arc::new(PrivateDir::new(parent.to_path_buf()));
    let mut seen = SeenStore::new(Seen::default());
    seen.spill_to(dir.clone(), share);
    seen.min_memory = share;
    (seen, dir)
}

/// Keys from a narrow range repeat (so inserts hit keys in memory, on disk, in runs being merged); the multiply
/// spreads them over the whole key space.
fn spread(k: u32, bits: u32) -> u64 {
    (u64::from(k) & ((1u64 << bits) - 1)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Inserts and lookups interleaved, with a share of 1-4 KiB: runs of ~50-400 keys, merged again and again.
#[test]
fn matches_a_hash_set_across_runs_on_disk() {
    let ops = proptest::collection::vec((any::<bool>(), any::<u32>()), 0..6_000);
    let strategy = (ops, 8u32..=16, 1usize..=4);
    let config = RunnerConfig {
        cases: 24,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[19; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let parent = scratch("model");
    let result = runner.run(&strategy, |(ops, bits, kib)| {
        let (mut seen, dir) = on_disk(&parent, kib << 10);
        let mut model = HashSet::new();
        for (n, (add, k)) in ops.iter().enumerate() {
            let k = spread(*k, bits);
            if *add {
                prop_assert_eq!(seen.insert(k), model.insert(k), "insert #{} of {}", n, k);
            } else {
                prop_assert_eq!(
                    seen.contains(k),
                    model.contains(&k),
                    "lookup #{} of {}",
                    n,
                    k
                );
            }
        }
        prop_assert_eq!(seen.len(), model.len());
        for k in &model {
            prop_assert!(seen.contains(*k));
        }
        prop_assert!(seen.take_failure().is_none());
        if model.len() > 2_000 {
            let (runs, keys) = seen.on_disk();
            prop_assert!(runs > 0 && keys > 0, "went to disk");
            prop_assert!(runs <= 12, "{} runs: merges keep them logarithmic", runs);
        }
        drop(seen);
        drop(dir);
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&parent);
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn a_crawl_within_its_share_never_touches_disk() {
    let parent = scratch("fits");
    let (mut seen, dir) = on_disk(&parent, 32 << 20);
    seen.min_memory = MIN_MEMORY;
    for i in 0..200_000u32 {
        assert!(seen.insert(spread(i, 32)));
    }
    assert_eq!(seen.on_disk(), (0, 0));
    assert!(dir.made().is_none() && !parent.exists());
}

/// A set with ~3,000 keys on disk (several runs), and the path of its oldest run.
fn filled(name: &str) -> (SeenStore, Arc<PrivateDir>, PathBuf, PathBuf) {
    let parent = scratch(name);
    let (mut seen, dir) = on_disk(&parent, 2 << 10);
    for i in 0..3_000u32 {
        assert!(seen.insert(spread(i, 32)));
    }
    assert!(seen.on_disk().1 > 2_000);
    let oldest = seen.runs[0].path.clone();
    (seen, dir, oldest, parent)
}

/// Damages the oldest run, then looks up every key (a lookup reads the block) and adds more (a merge reads the
/// whole run): the error names the run, and from then on every key counts as seen (nothing reported twice).
fn damaged(name: &str, damage: impl Fn(&Path)) -> String {
    let (mut seen, dir, oldest, parent) = filled(name);
    damage(&oldest);
    let mut absent = 0;
    for i in 0..3_000u32 {
        absent += usize::from(!seen.contains(spread(i, 32)));
    }
    for i in 3_000..20_000u32 {
        seen.insert(spread(i, 32));
    }
    let err = seen.take_failure().expect("the damage is found");
    assert_eq!(absent, 0, "a damaged run never reports a key as new");
    assert!(err.contains(oldest.to_str().unwrap()), "{err}");
    assert!(
        !seen.insert(u64::MAX - 3),
        "a broken set admits nothing new"
    );
    drop((seen, dir));
    assert!(
        std::fs::read_dir(&parent).unwrap().next().is_none(),
        "runs removed"
    );
    std::fs::remove_dir_all(&parent).unwrap();
    err
}

#[test]
fn a_truncated_run_is_an_error() {
    let err = damaged("cut", |p| {
        let len = std::fs::metadata(p).unwrap().len();
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_len(len - 5).unwrap();
    });
    assert!(
        err.contains("truncated") || err.contains("bytes on disk"),
        "{err}"
    );
}

#[test]
fn a_flipped_byte_in_a_run_is_a_checksum_error() {
    let err = damaged("flip", |p| {
        let mut bytes = std::fs::read(p).unwrap();
        // Every block: whichever one a lookup or the merge reads first.
        for at in (100..bytes.len()).step_by(4096) {
            bytes[at] ^= 0x10;
        }
        std::fs::write(p, bytes).unwrap();
    });
    assert!(err.contains("checksum mismatch"), "{err}");
}

#[test]
fn a_lost_run_is_an_error() {
    let err = damaged("lost", |p| std::fs::remove_file(p).unwrap());
    assert!(err.contains("No such file"), "{err}");
}

/// A spill directory that cannot be made (its parent is a file): the first flush fails, named, and the set is
/// broken (every key counts as seen) rather than forgetting the keys it could not write.
#[test]
fn an_unwritable_spill_dir_is_an_error() {
    let parent = scratch("unwritable");
    std::fs::create_dir_all(&parent).unwrap();
    let file = parent.join("file");
    std::fs::write(&file, "").unwrap();
    let (mut seen, dir) = on_disk(&file, 1 << 10);
    let mut new = 0;
    for i in 0..1_000u32 {
        new += usize::from(seen.insert(spread(i, 32)));
    }
    let err = seen.take_failure().expect("the flush failed");
    assert!(err.contains(file.to_str().unwrap()), "{err}");
    assert!(new < 1_000 && !seen.insert(u64::MAX - 1));
    assert!(seen.contains(spread(0, 32)));
    drop((seen, dir));
    std::fs::remove_dir_all(&parent).unwrap();
}
