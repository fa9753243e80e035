//! `--shard I/N`: which URLs this machine owns when N machines split one crawl. Parsing the flag and the one
//! stable hash from a host to its shard; pure, no I/O.
//!
//! A URL belongs to shard `xxh3_64(key) % N`, where `key` is the URL's **shard key**: the registrable domain of
//! its host (Public Suffix List, [`crate::url::registrable_domain`], the same one `--scope domain` uses), or the
//! host itself when it has none (an IP address, `localhost`, a bare public suffix); lowercase ASCII (IDNs as
//! punycode), IPv6 in brackets as the URL writes it (`[::1]`), trailing dots dropped. `xxh3_64` is XXH3 64-bit
//! with seed 0 (the algorithm is fixed by its specification, so the shard of a URL is the same on every platform
//! and release; the unit test pins a few values). Partitioning by registrable domain keeps every host, and every
//! `--scope domain` crawl, with one owner: politeness (rate limits, robots.txt, backoff) has one owner per host.
//!
//! Must not know about the scheduler or the network: [`crate::crawl`] filters listed URLs and links with
//! [`Shard::owns_host`], [`crate::polite`] refuses redirect hops and robots.txt redirects to other shards.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// Largest N accepted: far beyond any real fleet, and small enough that `I/N` stays a short, checkable flag.
pub(crate) const MAX_SHARDS: u32 = 65_536;

/// This machine's part of a sharded crawl: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether URLs on `host` (as [`url::Url::host_str`] writes it) belong to this shard.
    #[must_use]
    pub fn owns_host(self, host: &str) -> bool {
        // `0/1` owns everything: no PSL lookup or hash per URL.
        self.count == 1 || shard_of(host, self.count) == self.index
    }

    /// The shard URLs on `host` belong to (`--handoff` sends a link there).
    #[must_use]
    pub fn owner(self, host: &str) -> u32 {
        if self.count == 1 {
            0
        } else {
            shard_of(host, self.count)
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 <= I < N <= MAX_SHARDS`, decimal digits only.
    fn from_str(raw: &str) -> Result<Shard, String> {
        // clap's message already quotes the value: these say what is wrong with it.
        let shape = || format!("expected I/N with 0 <= I < N <= {MAX_SHARDS} (e.g. 0/4)");
        let (i, n) = raw.split_once('/').ok_or_else(shape)?;
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let (Some(index), Some(count)) = (number(i), number(n)) else {
            return Err(shape());
        };
        if count == 0 || count > MAX_SHARDS {
            return Err(format!("N must be between 1 and {MAX_SHARDS}"));
        }
        if index >= count {
            return Err("I must be below N (shards are numbered 0 to N-1)".into());
        }
        Ok(Shard { index, count })
    }
}

/// `--shard`: URLs of other shards this run left alone (no record, no request), for the summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OtherShards {
    /// Input lines whose URL belongs to another shard, and (on shards other than 0) invalid lines, which shard 0
    /// alone reports.
    pub listed: u64,
    /// Distinct discovered URLs (links a crawl would otherwise follow) that belong to another shard.
    pub linked: u64,
}

/// The shard key of a host: its registrable domain, else the host itself (see the module docs). A name typed with
/// non-ASCII characters is keyed as its URL's host is (punycode, [`crate::url::ascii_host`]), so `bücher.test`
/// and `xn--bcher-kva.test` share a shard.
#[must_use]
pub(crate) fn shard_key(host: &str) -> Cow<'_, str> {
    let host = host.trim_end_matches('.');
    match crate::url::ascii_host(host) {
        Some(Cow::Owned(ascii)) => {
            let ascii = ascii.trim_end_matches('.');
            Cow::Owned(
                crate::url::registrable_domain(ascii)
                    .unwrap_or(ascii)
                    .to_owned(),
            )
        }
        _ => Cow::Borrowed(crate::url::registrable_domain(host).unwrap_or(host)),
    }
}

/// The XXH3-64 (seed 0) hash of a host's [`shard_key`], lowercased.
#[must_use]
pub(crate) fn shard_hash(host: &str) -> u64 {
    let key = shard_key(host);
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        // Hosts from `url` are already lowercase; this path is for callers that pass a name as typed.
        return xxhash_rust::xxh3::xxh3_64(key.to_ascii_lowercase().as_bytes());
    }
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// The shard (`0..count`) URLs on `host` belong to.
#[must_use]
pub(crate) fn shard_of(host: &str, count: u32) -> u32 {
    (shard_hash(host) % u64::from(count.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed vectors (cross-checked against the reference C implementation through Python's `xxhash`
    /// package: `xxhash.xxh3_64_intdigest(b"example.com")`): changing the hash, the key or the PSL rule for these names breaks them, and with them
    /// every running fleet's partition. Do not update them without a release note.
    #[test]
    fn test_vectors_are_stable() {
        let vectors: [(&str, &str, u64, [u32; 3]); 6] = [
            // (host, key, xxh3_64(key), shard for N = 2, 3, 16)
            (
                "www.example.com",
                "example.com",
                10_044_734_154_400_447_347,
                [1, 0, 3],
            ),
            (
                "a.b.example.co.uk",
                "example.co.uk",
                17_276_218_684_393_519_211,
                [1, 2, 11],
            ),
            (
                "127.0.0.1",
                "127.0.0.1",
                11_098_871_791_692_813_964,
                [0, 1, 12],
            ),
            ("[::1]", "[::1]", 17_352_032_035_609_779_740, [0, 2, 12]),
            (
                "localhost",
                "localhost",
                1_590_832_054_984_635_747,
                [1, 0, 3],
            ),
            (
                "xn--bcher-kva.example",
                "xn--bcher-kva.example",
                7_444_904_343_026_082_982,
                [0, 1, 6],
            ),
        ];
        for (host, key, hash, shards) in vectors {
            assert_eq!(shard_key(host), key, "{host}");
            assert_eq!(shard_hash(host), hash, "{host}");
            for (n, want) in [2, 3, 16].into_iter().zip(shards) {
                assert_eq!(shard_of(host, n), want, "{host} of {n}");
            }
        }
    }

    #[test]
    fn hosts_of_one_registrable_domain_share_a_shard() {
        for n in [2, 3, 7, 64, MAX_SHARDS] {
            let s = shard_of("example.co.uk", n);
            for h in [
                "www.example.co.uk",
                "a.b.example.co.uk",
                "EXAMPLE.co.uk",
                "example.co.uk.",
                "example.co.uk..",
            ] {
                assert_eq!(shard_of(h, n), s, "{h} of {n}");
            }
        }
        // A public suffix under a private registry: each user's site is its own domain.
        assert_eq!(shard_key("alice.github.io"), "alice.github.io");
        // A typed IDN is keyed as its URL's host: the same shard for both spellings.
        assert_eq!(shard_key("www.bücher.de"), "xn--bcher-kva.de");
        assert_eq!(shard_hash("bücher.test"), shard_hash("xn--bcher-kva.test"));
        // Trailing dots never count, as README says (an attack run found "a.." keyed as "a.").
        assert_eq!(shard_key("localhost.."), "localhost");
        assert_eq!(shard_key("127.0.0.1."), "127.0.0.1");
    }

    /// 10,000 synthetic registrable domains: each of N shards gets its fair share within 10 % (the binomial
    /// standard deviation is under 1 % of the share here, so 10 % never fails by chance for a uniform hash).
    #[test]
    fn distribution_is_even() {
        const DOMAINS: u32 = 10_000;
        const TOLERANCE: f64 = 0.10;
        for n in [2u32, 3, 5, 8, 16] {
            let mut counts = vec![0u32; n as usize];
            for i in 0..DOMAINS {
                counts[shard_of(&format!("www.site{i}.com"), n) as usize] += 1;
            }
            let fair = f64::from(DOMAINS) / f64::from(n);
            for (s, &c) in counts.iter().enumerate() {
                let off = (f64::from(c) - fair).abs() / fair;
                assert!(
                    off <= TOLERANCE,
                    "shard {s}/{n}: {c} of {DOMAINS} ({off:.3} off)"
                );
            }
        }
    }

    #[test]
    fn parses_i_of_n() {
        assert_eq!("0/1".parse(), Ok(Shard { index: 0, count: 1 }));
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(
            "65535/65536".parse(),
            Ok(Shard {
                index: 65_535,
                count: MAX_SHARDS
            })
        );
        for bad in [
            "3/3",
            "1/0",
            "0/0",
            "x/2",
            "-1/2",
            "1/2/3",
            "",
            "/",
            "1/",
            "/2",
            " 1/2",
            "1/2 ",
            "+1/2",
            "1/65537",
            "0x1/2",
            "99999999999/2",
            "1.0/2",
        ] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
