//! The Bloom filter in front of one run on disk: blocked (every probe of a key falls in one 64-byte block, so a
//! lookup is one cache miss, not seven), built from the run's keys when the run is written and dropped with it.
//!
//! At 10 bits a key and 7 probes a blocked filter answers "maybe" for ~1 % of absent keys (a standard one for
//! ~0.8 %); at the 4-bit floor (a seen-set far past its share, see [`super`]) 3 probes give ~15 %. A "maybe" is
//! only ever a reason to read the run's block: the filter never decides that a key was seen.

/// Bits of one block: a cache line.
const BLOCK_BITS: u64 = 512;

/// A blocked Bloom filter over URL keys.
#[derive(Debug)]
pub(crate) struct Bloom {
    blocks: Vec<[u64; 8]>,
    probes: u32,
}

impl Bloom {
    /// A filter for `keys` keys at `bits_per_key` bits each (at least one block).
    #[must_use]
    pub(crate) fn new(keys: u64, bits_per_key: u32) -> Bloom {
        let bits = keys.saturating_mul(u64::from(bits_per_key)).max(BLOCK_BITS);
        let n = usize::try_from(bits.div_ceil(BLOCK_BITS)).unwrap_or(usize::MAX);
        // ln 2 · bits a key probes is the optimum; 7 at 10 bits.
        let probes = (bits_per_key * 7).div_ceil(10).clamp(2, 7);
        Bloom {
            blocks: vec![[0; 8]; n],
            probes,
        }
    }

    /// Adds a key.
    pub(crate) fn insert(&mut self, k: u64) {
        let (b, mut bits) = self.locate(k);
        let block = &mut self.blocks[b];
        for _ in 0..self.probes {
            let p = bits & (BLOCK_BITS - 1);
            block[(p >> 6) as usize] |= 1 << (p & 63);
            bits >>= 9;
        }
    }

    /// False if the key was never added; true if it may have been.
    #[must_use]
    pub(crate) fn may_contain(&self, k: u64) -> bool {
        let (b, mut bits) = self.locate(k);
        let block = &self.blocks[b];
        for _ in 0..self.probes {
            let p = bits & (BLOCK_BITS - 1);
            if block[(p >> 6) as usize] & (1 << (p & 63)) == 0 {
                return false;
            }
            bits >>= 9;
        }
        true
    }

    /// Bytes held.
    #[must_use]
    pub(crate) fn bytes(&self) -> usize {
        self.blocks.len() * 64
    }

    /// The key's block, and 63 bits (7 probes of 9) to place it inside the block.
    fn locate(&self, k: u64) -> (usize, u64) {
        let h = mix(k);
        let b = ((u128::from(h) * self.blocks.len() as u128) >> 64) as usize;
        (b, mix(h ^ 0x9E37_79B9_7F4A_7C15))
    }
}

/// `SplitMix64`'s finaliser: keys are hashes already, but the filter must not depend on how well.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No false negatives; the false-positive rate is near the design's at 10 and at 4 bits a key.
    #[test]
    fn finds_every_key_and_few_others() {
        for (bits, most) in [(10, 0.015), (4, 0.2)] {
            let n = 100_000u64;
            let mut f = Bloom::new(n, bits);
            (0..n).for_each(|i| f.insert(i * 2));
            assert!((0..n).all(|i| f.may_contain(i * 2)));
            let wrong = (0..n).filter(|i| f.may_contain(i * 2 + 1)).count();
            let rate = wrong as f64 / n as f64;
            assert!(rate < most, "{bits} bits a key: {rate}");
            assert!(f.bytes() as u64 <= n * u64::from(bits) / 8 + 64);
        }
    }
}
