//! Reading the links journal back: [`check`] proves it belongs to FILE before anything is cut, [`entries`]
//! streams the checked entries into the frontier (never all at once).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};
use xxhash_rust::xxh3::xxh3_64;

use crate::input::read_full;

use super::{Entry, Replay, Tally, CHECK_BIT, HEADER, MAGIC, MAX_ENTRY, SEAL, SEALED, VERSION};

/// Where the entries start: after the header, and the seal when there is one.
pub(super) fn start_of(seal: Option<&Tally>) -> u64 {
    (HEADER + if seal.is_some() { SEAL } else { 0 }) as u64
}

/// What reading one entry found.
pub(super) enum Step {
    Entry(Entry, u64),
    End,
    /// Bytes that cannot be an entry (torn by a kill, or damaged), and why.
    Bad(&'static str),
}

/// Reads the entry at the reader's position.
pub(super) fn step(r: &mut impl Read) -> io::Result<Step> {
    let mut head = [0u8; 12];
    match read_full(r, &mut head)? {
        0 => return Ok(Step::End),
        12 => {}
        _ => return Ok(Step::Bad("torn")),
    }
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&head[4..]);
    if len > MAX_ENTRY {
        return Ok(Step::Bad("damaged (impossible length)"));
    }
    let mut body = vec![0u8; len];
    if read_full(r, &mut body)? < len {
        return Ok(Step::Bad("torn"));
    }
    if xxh3_64(&body) != u64::from_le_bytes(sum) {
        return Ok(Step::Bad("damaged (checksum)"));
    }
    Ok(match parse(&body) {
        Some(entry) => Step::Entry(entry, 12 + len as u64),
        None => Step::Bad("damaged (malformed)"),
    })
}

fn parse(body: &[u8]) -> Option<Entry> {
    let mut at = 0usize;
    let mut take = |n: usize| {
        let s = body.get(at..at + n)?;
        at += n;
        Some(s)
    };
    let offset = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let depth = u32::from_le_bytes(take(4)?.try_into().ok()?);
    let first_body = Some(u128::from_le_bytes(take(16)?.try_into().ok()?)).filter(|&d| d != 0);
    let url_len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let url = String::from_utf8(take(url_len)?.to_vec()).ok()?;
    let count = u32::from_le_bytes(take(4)?.try_into().ok()?);
    let mut links = Vec::new();
    for _ in 0..count {
        let len = u32::from_le_bytes(take(4)?.try_into().ok()?);
        let link = String::from_utf8(take((len & !CHECK_BIT) as usize)?.to_vec()).ok()?;
        links.push((link, len & CHECK_BIT != 0));
    }
    (at == body.len()).then_some(Entry {
        offset,
        depth,
        first_body,
        url,
        links,
    })
}

/// Opens the journal and checks its header; a sealed journal's seal (what FILE's records before its entries add
/// up to) is read too. The reader is at the first entry.
pub(super) fn open(path: &Path) -> Result<(BufReader<File>, Option<Tally>)> {
    let name = path.display();
    let mut r = BufReader::with_capacity(64 * 1024, {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Checked a regular file before ([`super::refuse_odd`]); never blocked on a FIFO put there since.
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .with_context(|| format!("cannot open the links journal {name}"))?
    });
    let mut header = [0u8; HEADER];
    let n = read_full(&mut r, &mut header)?;
    if n < HEADER || &header[..8] != MAGIC {
        bail!(
            "--resume: {name} is not a crawlfish links journal; it was left as it is. Move it away to resume from \
             the links written in the records instead"
        );
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != VERSION {
        bail!(
            "--resume: the links journal {name} has format version {version}, this crawlfish reads version \
             {VERSION}; resume with the crawlfish that wrote it"
        );
    }
    let sealed = u32::from_le_bytes([header[12], header[13], header[14], header[15]]) == SEALED;
    if !sealed {
        return Ok((r, None));
    }
    let mut seal = [0u8; SEAL];
    if read_full(&mut r, &mut seal)? < SEAL {
        bail!("--resume: the links journal {name} is damaged (its seal is cut short); it was left as it is");
    }
    let word = |i: usize| u64::from_le_bytes(seal[i..i + 8].try_into().unwrap_or_default());
    Ok((
        r,
        Some(Tally {
            lines: word(0),
            chain: word(8),
        }),
    ))
}

/// Checks the journal at `path` against FILE (`file`, whose complete records end at `complete` and add up to
/// `tally`). `None`: there is no journal. Its entries up to [`Replay::end`] are FILE's records, in order.
///
/// # Errors
/// The journal is not one, has another version, is damaged before FILE's last record's entry, or is another
/// run's (its entries are not FILE's records).
pub(crate) fn check(
    path: &Path,
    file: &str,
    complete: u64,
    tally: Tally,
) -> Result<Option<Replay>> {
    if !path.exists() {
        return Ok(None);
    }
    let name = path.display();
    let (mut r, seal) = open(path)?;
    let start = start_of(seal.as_ref());
    let (mut pos, mut seen, mut last) = (start, seal.unwrap_or_default(), None::<u64>);
    let mut end = None;
    let bad = loop {
        let step = step(&mut r).with_context(|| format!("cannot read the links journal {name}"))?;
        let (entry, len) = match step {
            Step::End => break None,
            Step::Bad(why) => break Some(why),
            Step::Entry(entry, len) => (entry, len),
        };
        if last.is_some_and(|l| entry.offset <= l) {
            break Some("damaged (offsets out of order)");
        }
        last = Some(entry.offset);
        if entry.offset < complete {
            if end.is_some() {
                break Some("damaged (an entry of FILE after entries past its end)");
            }
            seen.add(entry.offset, &entry.url);
        } else {
            end.get_or_insert(pos); // a record the kill cut off: its entry and those after it are cut
        }
        pos += len;
    };
    let end = end.unwrap_or(pos);
    if seen != tally {
        match bad {
            Some(why) => bail!(
                "--resume: the links journal {name} is {why} at byte {pos}, before the entries of the last {} \
                 records of {file}: their links would be lost. Both files were left as they are",
                tally.lines.saturating_sub(seen.lines)
            ),
            None => bail!(
                "--resume: the links journal {name} does not belong to {file} (it holds {} of its {} records): \
                 another run's. Both files were left as they are; move the journal away to resume from the links \
                 written in the records",
                seen.lines,
                tally.lines
            ),
        }
    }
    let total = std::fs::metadata(path).map_or(end, |m| m.len());
    if total > end {
        tracing::warn!(
            journal = %name,
            "--resume: {} bytes at the end of the links journal belong to records not in {file} (a run stopped \
             mid-write{}): they are cut",
            total - end,
            bad.map(|why| format!("; its last entry is {why}")).unwrap_or_default()
        );
    }
    Ok(Some(Replay {
        path: path.to_owned(),
        start,
        end,
    }))
}

/// The checked entries of the journal, read as they are used.
pub(crate) struct Entries {
    reader: io::Take<BufReader<File>>,
}

/// Streams the entries of a checked journal.
///
/// # Errors
/// The journal cannot be opened.
pub(crate) fn entries(replay: &Replay) -> Result<Entries> {
    let (r, _) = open(&replay.path)?;
    Ok(Entries {
        reader: r.take(replay.end.saturating_sub(replay.start)),
    })
}

impl Iterator for Entries {
    type Item = Result<Entry, String>;

    fn next(&mut self) -> Option<Self::Item> {
        match step(&mut self.reader) {
            Ok(Step::End) => None,
            Ok(Step::Entry(entry, _)) => Some(Ok(entry)),
            // Checked before the run: only a change made since then gets here.
            Ok(Step::Bad(why)) => Some(Err(format!(
                "the links journal changed during the run: {why}"
            ))),
            Err(e) => Some(Err(format!("cannot read the links journal: {e}"))),
        }
    }
}
