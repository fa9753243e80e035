//! The index `--since` keeps of FILE: per URL one 32-byte [`Slot`], and, for a URL whose validators a request
//! may carry, those validators in an arena of byte blocks (a typical `ETag` and `Last-Modified` take ~21 bytes).
//!
//! Why not a `HashMap<u64, Entry>` of boxed strings (what it was): 250 bytes a URL, 330 at peak (300,000
//! records: 112 MB against a 13 MB run without `--since`). The table's load factor and power-of-two growth, a
//! 16-aligned `u128` digest, two `Box<str>` and their allocations, and the copy of a doubling table were most of
//! it. Here slots are written into chunks allocated once at a fixed capacity and never moved (the untouched
//! tail of the last chunk is not resident); each chunk is sorted when full and searched by binary search, newest
//! chunk first, so a URL listed twice in FILE answers with its last record, as before. Measured in
//! `bench/README.md` ("`--since` memory").
//!
//! Must not read files or know records: [`super`] decides what goes in.

/// Slots a chunk holds (32 MiB): 3,000,000 URLs are 3 chunks, so a lookup is 3 binary searches.
const CHUNK: usize = 1 << 20;
/// Bytes an arena block holds; an arena position is a `u32` (block in the high byte), so 256 blocks, 4 GiB.
const BLOCK: usize = 1 << 24;
/// `Slot::validators` when there are none.
const NONE: u32 = u32::MAX;

/// `Slot::flags`.
pub(super) const FAILED: u8 = 1;
/// `Slot::flags`: the record had no digest.
pub(super) const NO_DIGEST: u8 = 2;
/// `Slot::flags`: the digest is another algorithm's or malformed (never equal to one this version makes).
pub(super) const OTHER_DIGEST: u8 = 4;

/// Validator record flags (the first byte of each arena record).
const TARGET: u8 = 1;
const ETAG: u8 = 2;
const DATE: u8 = 4;
const RAW_DATE: u8 = 8;

/// One URL of FILE (32 bytes).
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub key: u64,
    /// Where its line starts in FILE.
    pub offset: u64,
    /// The low 64 bits of its xxh3-128 digest (when `flags` says it has one): a false "unchanged" would need
    /// two bodies of one URL to agree on 64 bits of xxh3, about 2^-64.
    pub digest: u64,
    /// Its validators' position in the arena, or [`NONE`].
    validators: u32,
    /// 0: none.
    pub status: u16,
    pub flags: u8,
}

impl Slot {
    #[must_use]
    pub(super) fn new(key: u64, offset: u64, status: Option<u16>, flags: u8, digest: u64) -> Slot {
        Slot {
            key,
            offset,
            digest,
            validators: NONE,
            status: status.unwrap_or(0),
            flags,
        }
    }

    #[must_use]
    pub(super) fn status(&self) -> Option<u16> {
        (self.status != 0).then_some(self.status)
    }

    #[must_use]
    pub(super) fn has_validators(&self) -> bool {
        self.validators != NONE
    }
}

/// An earlier record's `Last-Modified`: kept as a `u32` of seconds when it is the canonical IMF-fixdate (what
/// servers send, and what it is formatted back to, byte for byte), else as the text it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Date<'a> {
    None,
    Raw(&'a str),
    /// The 29 bytes of the formatted date.
    Fixed([u8; 29]),
}

/// The validators of a slot: the key of the URL they belong to, the `ETag`, the `Last-Modified`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stored<'a> {
    pub target: u64,
    pub etag: Option<&'a str>,
    pub date: Date<'a>,
}

/// Every slot and validator, as read from FILE.
#[derive(Debug, Default)]
pub(super) struct Index {
    chunks: Vec<Vec<Slot>>,
    arena: Vec<Vec<u8>>,
    /// Capacity of the first chunk and block: FILE's size bounds its records, so a small FILE gets small ones.
    hint: usize,
}

impl Index {
    /// An index for a FILE of `file_len` bytes (a record line is at least ~90 bytes).
    #[must_use]
    pub(super) fn for_file(file_len: u64) -> Index {
        Index {
            hint: usize::try_from(file_len / 64).unwrap_or(usize::MAX),
            ..Index::default()
        }
    }

    /// Adds `slot` with its validators (`None`: no conditional request for it). Validators that no longer fit
    /// the arena's 4 GiB are dropped: the URL is then fetched in full.
    pub(super) fn push(&mut self, mut slot: Slot, stored: Option<Stored<'_>>) {
        if let Some(v) = stored {
            slot.validators = self.store(slot.key, v).unwrap_or(NONE);
        }
        let full = self.chunks.last().is_none_or(|c| c.len() == c.capacity());
        if full {
            if let Some(last) = self.chunks.last_mut() {
                sort(last);
            }
            self.chunks
                .push(Vec::with_capacity(self.hint.clamp(16, CHUNK)));
            self.hint = CHUNK;
        }
        if let Some(last) = self.chunks.last_mut() {
            last.push(slot);
        }
    }

    /// Sorts the last chunk: call once every slot is in.
    pub(super) fn finish(&mut self) {
        if let Some(last) = self.chunks.last_mut() {
            sort(last);
        }
    }

    /// The slot of `key`: the last one pushed (the newest chunk is searched first; within a chunk, `sort` kept
    /// the last).
    #[must_use]
    pub(super) fn get(&self, key: u64) -> Option<&Slot> {
        self.chunks
            .iter()
            .rev()
            .find_map(|c| c.binary_search_by_key(&key, |s| s.key).ok().map(|i| &c[i]))
    }

    /// The validators of `slot`.
    #[must_use]
    pub(super) fn validators(&self, slot: &Slot) -> Option<Stored<'_>> {
        if !slot.has_validators() {
            return None;
        }
        let (block, at) = (slot.validators >> 24, slot.validators & 0x00FF_FFFF);
        let mut r = self.arena.get(block as usize)?.get(at as usize..)?;
        let flags = take(&mut r, 1)?[0];
        let target = if flags & TARGET == 0 {
            slot.key
        } else {
            u64::from_le_bytes(take(&mut r, 8)?.try_into().ok()?)
        };
        let etag = if flags & ETAG == 0 {
            None
        } else {
            Some(text(&mut r)?)
        };
        let date = if flags & DATE != 0 {
            let secs = u32::from_le_bytes(take(&mut r, 4)?.try_into().ok()?);
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.into());
            Date::Fixed(httpdate::fmt_http_date(when).as_bytes().try_into().ok()?)
        } else if flags & RAW_DATE != 0 {
            Date::Raw(text(&mut r)?)
        } else {
            Date::None
        };
        Some(Stored { target, etag, date })
    }

    /// Writes one validator record; its arena position.
    fn store(&mut self, key: u64, v: Stored<'_>) -> Option<u32> {
        let mut rec = vec![0u8];
        if v.target != key {
            rec[0] |= TARGET;
            rec.extend_from_slice(&v.target.to_le_bytes());
        }
        if let Some(etag) = v.etag {
            rec[0] |= ETAG;
            put_text(&mut rec, etag)?;
        }
        match v.date {
            Date::None => {}
            Date::Raw(d) => {
                if let Some(secs) = fixed_date(d) {
                    rec[0] |= DATE;
                    rec.extend_from_slice(&secs.to_le_bytes());
                } else {
                    rec[0] |= RAW_DATE;
                    put_text(&mut rec, d)?;
                }
            }
            Date::Fixed(_) => return None, // only ever produced by `validators`
        }
        let room = self
            .arena
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= rec.len());
        if !room {
            if self.arena.len() > 0xFF {
                return None;
            }
            self.arena
                .push(Vec::with_capacity(self.hint.clamp(256, BLOCK)));
        }
        let block = self.arena.last_mut()?;
        let at = u32::try_from(block.len()).ok()?;
        block.extend_from_slice(&rec);
        Some((u32::try_from(self.arena.len() - 1).ok()? << 24) | at)
    }
}

/// Sorted by key, one slot a key: the last pushed of equal keys (the later line of FILE, at the larger offset).
fn sort(chunk: &mut Vec<Slot>) {
    chunk.sort_unstable_by_key(|s| (s.key, std::cmp::Reverse(s.offset)));
    chunk.dedup_by_key(|s| s.key);
}

/// `Last-Modified` as seconds when formatting them back gives the very same bytes.
fn fixed_date(d: &str) -> Option<u32> {
    let when = httpdate::parse_http_date(d).ok()?;
    let secs = u32::try_from(when.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()?;
    (httpdate::fmt_http_date(when) == d).then_some(secs)
}

fn put_text(rec: &mut Vec<u8>, s: &str) -> Option<()> {
    rec.extend_from_slice(&u16::try_from(s.len()).ok()?.to_le_bytes());
    rec.extend_from_slice(s.as_bytes());
    Some(())
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if r.len() < n {
        return None;
    }
    let (head, rest) = r.split_at(n);
    *r = rest;
    Some(head)
}

fn text<'a>(r: &mut &'a [u8]) -> Option<&'a str> {
    let len = u16::from_le_bytes(take(r, 2)?.try_into().ok()?);
    std::str::from_utf8(take(r, len.into())?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_slot_of_a_key_wins_across_and_within_chunks() {
        let mut ix = Index::for_file(0);
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let odd = "Sunday, 06-Nov-94 08:49:37 GMT";
        for (i, key) in [5u64, 3, 5].into_iter().enumerate() {
            let stored = Stored {
                target: if i == 2 { 9 } else { key },
                etag: Some("\"e\""),
                date: Date::Raw(if i == 0 { date } else { odd }),
            };
            ix.push(Slot::new(key, i as u64, Some(200), 0, 1), Some(stored));
        }
        ix.finish();
        let five = ix.get(5).unwrap();
        assert_eq!(five.offset, 2);
        let v = ix.validators(five).unwrap();
        assert_eq!(
            (v.target, v.etag, v.date),
            (9, Some("\"e\""), Date::Raw(odd))
        );
        let three = ix.get(3).unwrap();
        assert_eq!(ix.validators(three).unwrap().target, 3);
        assert!(ix.get(4).is_none());
        assert_eq!(std::mem::size_of::<Slot>(), 32);
    }

    #[test]
    fn a_canonical_date_is_kept_as_seconds_and_given_back_byte_for_byte() {
        let mut ix = Index::for_file(1 << 30);
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        let stored = Stored {
            target: 1,
            etag: None,
            date: Date::Raw(date),
        };
        ix.push(Slot::new(1, 0, Some(200), 0, 0), Some(stored));
        ix.finish();
        let v = ix.validators(ix.get(1).unwrap()).unwrap();
        assert_eq!(v.date, Date::Fixed(date.as_bytes().try_into().unwrap()));
        assert_eq!(ix.arena[0].len(), 1 + 4, "flags and seconds only");
    }
}
