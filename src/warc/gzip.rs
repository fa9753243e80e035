//! One WARC record into one gzip member (RFC 1952), so any record can be read from its offset: deflated with a
//! per-thread reused compressor, or stored (level 0, and tiny records). Owns only the encoding: the file, the
//! order of members and their offsets are [`crate::warc::writer`]'s.

use std::cell::RefCell;

use flate2::{Compress, Compression, FlushCompress, Status};

/// The default gzip level of each member (`--warc-level`): level 1 compresses HTML about as well as level 6
/// would (within ~10 %) at a fraction of the CPU.
pub const DEFAULT_LEVEL: u32 = 1;
/// The deflate window: 32 KiB, the most gzip allows.
const WINDOW_BITS: u8 = 15;
/// Room for the gzip header and trailer and incompressible slack.
const GZIP_OVERHEAD: usize = 64;
/// Records shorter than this (request records, empty responses) are stored, not deflated: resetting a deflate
/// stream zeroes its 128 KiB hash table, which costs more than deflating a 300-byte request saves.
const STORED_BELOW: usize = 1024;
/// The most bytes one deflate stored block holds.
const STORED_BLOCK: usize = 0xFFFF;
/// The gzip member header: magic, deflate, no flags, no mtime, no extra flags, OS unknown (RFC 1952).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

thread_local! {
    /// Each thread's compressor (and its level), reset for every member: a fresh one per member allocated and
    /// zeroed its ~300 KB of window and tables every time (memset was 8 % of a W1 `--warc` profile).
    static GZIP: RefCell<Option<(u32, Compress)>> = const { RefCell::new(None) };
}

/// One gzip member holding the concatenation of `parts`, deflated at `level` (0: stored).
///
/// # Errors
/// Only if the compressor fails (it cannot on a `Vec`).
pub fn gzip(parts: &[&[u8]], level: u32) -> std::io::Result<Vec<u8>> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if level == 0 || len < STORED_BELOW {
        return Ok(stored(parts, len));
    }
    GZIP.with(|cell| {
        let mut cell = cell.borrow_mut();
        let z = match &mut *cell {
            Some((l, z)) if *l == level => z,
            slot => {
                let z = Compress::new_gzip(Compression::new(level), WINDOW_BITS);
                &mut slot.insert((level, z)).1
            }
        };
        z.reset();
        // Compressed HTML is about a third of its size: one allocation in most cases.
        let mut out = Vec::with_capacity(len / 2 + GZIP_OVERHEAD);
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let flush = if last {
                FlushCompress::Finish
            } else {
                FlushCompress::None
            };
            let start = z.total_in();
            loop {
                let done = usize::try_from(z.total_in() - start).unwrap_or(usize::MAX);
                if !last && done >= part.len() {
                    break;
                }
                if out.capacity() - out.len() < GZIP_OVERHEAD {
                    out.reserve(out.capacity().max(GZIP_OVERHEAD));
                }
                let status = z
                    .compress_vec(part.get(done..).unwrap_or_default(), &mut out, flush)
                    .map_err(std::io::Error::other)?;
                if status == Status::StreamEnd {
                    return Ok(out);
                }
            }
        }
        Err(std::io::Error::other("deflate did not finish"))
    })
}

/// A gzip member whose deflate stream is stored blocks: a copy of `parts` (`len` bytes) and its CRC-32.
fn stored(parts: &[&[u8]], len: usize) -> Vec<u8> {
    let blocks = len.div_ceil(STORED_BLOCK).max(1);
    let mut out = Vec::with_capacity(GZIP_HEADER.len() + len + blocks * 5 + 8);
    out.extend_from_slice(&GZIP_HEADER);
    let mut crc = flate2::Crc::new();
    let mut left = len;
    let mut pieces = parts.iter().flat_map(|p| p.chunks(STORED_BLOCK));
    let mut piece: &[u8] = &[];
    for _ in 0..blocks {
        let n = left.min(STORED_BLOCK);
        left -= n;
        let n16 = u16::try_from(n).unwrap_or(u16::MAX);
        out.push(u8::from(left == 0)); // BFINAL on the last block, BTYPE 00 (stored)
        out.extend_from_slice(&n16.to_le_bytes());
        out.extend_from_slice(&(!n16).to_le_bytes());
        let mut need = n;
        while need > 0 {
            if piece.is_empty() {
                match pieces.next() {
                    Some(p) => piece = p,
                    None => break,
                }
            }
            let take = need.min(piece.len());
            out.extend_from_slice(&piece[..take]);
            crc.update(&piece[..take]);
            piece = &piece[take..];
            need -= take;
        }
    }
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952).
    #[allow(clippy::cast_possible_truncation)]
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    /// The one member's bytes, read back by flate2's own gzip decoder (which also checks CRC-32 and ISIZE), and
    /// whether anything followed it.
    fn gunzip(member: &[u8]) -> (Vec<u8>, usize) {
        let mut rest = member;
        let mut out = Vec::new();
        flate2::bufread::GzDecoder::new(&mut rest)
            .read_to_end(&mut out)
            .unwrap();
        (out, rest.len())
    }

    fn text(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| b"<p>crawlfish archives every exchange</p>\n"[i % 41])
            .collect()
    }

    #[test]
    fn every_level_and_every_split_reads_back_as_one_member() {
        // Around the stored-block size (65,535) and the stored threshold, and parts split at odd places.
        for len in [
            0,
            1,
            STORED_BELOW - 1,
            STORED_BELOW,
            65_535,
            65_536,
            200_001,
        ] {
            let whole = text(len);
            let (a, rest) = whole.split_at(len / 3);
            let (b, c) = rest.split_at(rest.len() / 2);
            for level in [0, 1, 6, 9] {
                for parts in [vec![&whole[..]], vec![a, &[], b, c], vec![&[][..]]] {
                    let want: Vec<u8> = parts.concat();
                    let member = gzip(&parts, level).unwrap();
                    let (got, after) = gunzip(&member);
                    assert_eq!(got, want, "len {len}, level {level}");
                    assert_eq!(after, 0, "one member, nothing after it");
                }
            }
        }
    }

    #[test]
    fn level_0_stores_and_level_1_deflates() {
        let page = text(20_000);
        let stored = gzip(&[&page], 0).unwrap();
        // Header, one stored block (5 bytes of header per block), CRC-32 and ISIZE.
        assert_eq!(stored.len(), GZIP_HEADER.len() + 5 + page.len() + 8);
        assert!(gzip(&[&page], 1).unwrap().len() < page.len() / 4);
        // A request-sized record is stored whatever the level (see STORED_BELOW).
        let request = text(300);
        assert_eq!(gzip(&[&request], 9).unwrap(), gzip(&[&request], 0).unwrap());
    }

    #[test]
    fn the_thread_compressor_follows_the_level() {
        let page = text(50_000);
        let fast = gzip(&[&page], 1).unwrap();
        let best = gzip(&[&page], 9).unwrap();
        assert_ne!(
            fast, best,
            "a reused level-1 compressor must not serve level 9"
        );
        assert_eq!(gzip(&[&page], 1).unwrap(), fast, "reset between members");
    }
}
