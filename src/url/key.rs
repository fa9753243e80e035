//! The URL key: a 64-bit hash of a normalised URL (or of an invalid input line), the unit of the seen-set, of
//! `--resume` and of `--since`. One definition, so the scheduler, the output reader and the input agree.
//!
//! 8 bytes a URL; a collision needs ~4·10⁹ URLs to become likely.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Keys are already `SipHash` outputs: hashing them again for the table would only cost time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else in rather than panic.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = k;
    }
}

/// A set of URL keys (see [`key`]).
pub(crate) type SeenSet = HashSet<u64, BuildHasherDefault<KeyHasher>>;

/// The seen-set key of an invalid input line, over its bytes as read: two lines that differ only in bytes that
/// are not UTF-8 (both shown as U+FFFD) are two lines. Kept apart from URL keys by a prefix.
#[must_use]
pub(crate) fn line_key(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(b"\0invalid line\0");
    h.write(bytes);
    h.finish()
}

/// The seen-set key of a URL (or of an invalid line's record, as `--resume` reads it back).
#[must_use]
pub(crate) fn key(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}
