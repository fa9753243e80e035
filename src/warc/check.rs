//! Checking an existing `--warc FILE` before `--resume` or `--state` appends to it: every gzip member from the start
//! is decompressed (CRC and length checked by flate2) and must hold exactly one WARC record (a `WARC/1.x` header
//! whose `Content-Length` matches the block, then CRLF CRLF), as the writer ([`crate::warc::writer`]) makes them.
//!
//! The first member that fails is told apart by what follows it: if a whole member starts anywhere after it, the
//! file was damaged in the middle ([`Tail::Damaged`]: a run-level error, or `--warc-repair`); if none does, the file
//! ends inside it ([`Tail::Torn`]: a crash during a write, cut as before). Scanning on for the next member, rather
//! than trusting the decoder's idea of where the bad member ends, matters: a flipped bit can make a deflate stream
//! run on into the following members and hit the end of the file, which would look torn and cut them all.
//!
//! Reads only, through `pread` (the file position is left alone). Must not cut or write anything.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileExt as _;

use anyhow::{bail, Result};

/// Bytes read at a time.
const READ_BUF: usize = 256 * 1024;
/// The longest WARC header accepted (the header only, not the block): crawlfish's are under 10 KiB (a URL is at
/// most 8 KiB when listed; a discovered one can be longer), so 1 MiB is far past any record it writes.
const MAX_WARC_HEADER: usize = 1 << 20;
/// What ends a WARC header and a record.
const CRLF2: &[u8] = b"\r\n\r\n";
/// How every gzip member starts (magic and the deflate method).
const GZIP_START: [u8; 3] = [0x1f, 0x8b, 0x08];

/// What an existing archive holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Checked {
    /// Length of the prefix made of whole members, each one WARC record.
    pub whole: u64,
    pub tail: Tail,
}

/// What follows the whole members.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Nothing: the file ends after its last whole member.
    None,
    /// A torn last member: no whole member follows it (a crash during a write, or zeros after a power loss).
    Torn,
    /// The member at `whole` is damaged and a whole member starts at `next`: the damage is in the middle.
    Damaged { next: u64, why: String },
}

/// Why a member is not a whole WARC record.
enum Bad {
    /// The file itself could not be read (not the content's fault).
    Io(io::Error),
    /// The gzip member decompressed and checked fine but does not start like a WARC record.
    NotWarc,
    Damaged(String),
}

impl From<io::Error> for Bad {
    fn from(e: io::Error) -> Bad {
        // flate2 reports corrupt data, a bad checksum and a member cut short as these kinds; anything else came
        // from reading the file.
        match e.kind() {
            io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidData
            | io::ErrorKind::UnexpectedEof => Bad::Damaged(format!("gzip: {e}")),
            _ => Bad::Io(e),
        }
    }
}

/// A reader of `file` from `pos` on (`pread`), counting where it is.
struct At<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads `file`'s members from the start. A first member that is not a WARC record, or is unreadable with no
/// whole member after it, means the file is not a WARC file: refused, never cut.
///
/// # Errors
/// The file cannot be read, or is not a WARC file of gzip members.
pub(crate) fn members(file: &File) -> Result<Checked> {
    let mut r = BufReader::with_capacity(READ_BUF, At { file, pos: 0 });
    let mut scratch = vec![0u8; READ_BUF];
    let mut whole = 0u64;
    loop {
        if r.fill_buf()?.is_empty() {
            return Ok(Checked {
                whole,
                tail: Tail::None,
            });
        }
        let why = match one_member(&mut r, &mut scratch) {
            Ok(()) => {
                whole = r.get_ref().pos - r.buffer().len() as u64;
                continue;
            }
            Err(Bad::Io(e)) => return Err(e.into()),
            Err(Bad::NotWarc) if whole == 0 => {
                bail!("not a WARC file (its first record does not start with WARC/)")
            }
            Err(Bad::NotWarc) => "a gzip member that is not a WARC record".to_owned(),
            Err(Bad::Damaged(why)) => why,
        };
        let tail = match next_member(file, whole + 1, &mut scratch)? {
            Some(next) => Tail::Damaged { next, why },
            None if whole == 0 => {
                bail!("not a WARC file of gzip members (its first member is unreadable); refusing to cut it")
            }
            None => Tail::Torn,
        };
        return Ok(Checked { whole, tail });
    }
}

/// Decompresses one gzip member from `r` and checks it is one whole WARC record.
fn one_member<R: BufRead>(r: &mut R, buf: &mut [u8]) -> Result<(), Bad> {
    let mut d = flate2::bufread::GzDecoder::new(r);
    let mut head = Vec::new();
    // Header length + block + CRLF CRLF, once the header is in.
    let mut expected = None;
    let mut total = 0u64;
    let mut last = [0u8; 4];
    loop {
        let n = match d.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let chunk = &buf[..n];
        if expected.is_none() && head.len() <= MAX_WARC_HEADER {
            head.extend_from_slice(&chunk[..n.min(MAX_WARC_HEADER + 1 - head.len())]);
            if let Some(end) = memchr::memmem::find(&head, CRLF2) {
                expected =
                    Some(warc_header(&head[..end]).map(|len| (end + CRLF2.len()) as u64 + len));
            }
        }
        total += n as u64;
        let keep = n.min(4);
        last.rotate_left(keep);
        last[4 - keep..].copy_from_slice(&chunk[n - keep..]);
    }
    // The member decompressed and its checksum matched: now whether it is a record, and a whole one.
    if !head.starts_with(b"WARC/") {
        return Err(Bad::NotWarc);
    }
    match expected {
        None => Err(Bad::Damaged("a WARC header that does not end".into())),
        Some(Err(why)) => Err(Bad::Damaged(why)),
        Some(Ok(len)) if len + CRLF2.len() as u64 != total || last != *CRLF2 => {
            Err(Bad::Damaged(format!(
                "a WARC record of {total} bytes where its header says {}",
                len + CRLF2.len() as u64
            )))
        }
        Some(Ok(_)) => Ok(()),
    }
}

/// The block length a WARC header (without its closing CRLF CRLF) declares, once it parses: a `WARC/1.x` line,
/// then `Name: value` lines, one of them `Content-Length`.
fn warc_header(head: &[u8]) -> Result<u64, String> {
    let text =
        std::str::from_utf8(head).map_err(|_| "a WARC header that is not UTF-8".to_owned())?;
    let mut lines = text.split("\r\n");
    if !lines.next().is_some_and(|l| l.starts_with("WARC/1.")) {
        return Err("a WARC header without its WARC/1.x line".into());
    }
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err("a WARC header line without a colon".into());
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            length = value.trim().parse::<u64>().ok();
        }
    }
    length.ok_or_else(|| "a WARC header without a valid Content-Length".into())
}

/// Where the first whole member (one WARC record) at or after `from` starts, if any: every `1f 8b 08` is tried.
fn next_member(file: &File, from: u64, buf: &mut [u8]) -> io::Result<Option<u64>> {
    let len = file.metadata()?.len();
    let mut at = from;
    let mut window = vec![0u8; READ_BUF];
    // Each turn moves `at` forward by at least one byte.
    while at + GZIP_START.len() as u64 <= len {
        let n = read_full(file, at, &mut window)?;
        if n < GZIP_START.len() {
            break;
        }
        let hit = memchr::memmem::find(&window[..n], &GZIP_START);
        let Some(i) = hit else {
            at += (n - (GZIP_START.len() - 1)) as u64;
            continue;
        };
        let candidate = at + i as u64;
        let mut r = BufReader::with_capacity(
            READ_BUF,
            At {
                file,
                pos: candidate,
            },
        );
        match one_member(&mut r, buf) {
            Ok(()) => return Ok(Some(candidate)),
            Err(Bad::Io(e)) => return Err(e),
            Err(_) => at = candidate + 1,
        }
    }
    Ok(None)
}

/// Fills `buf` from `file` at `at` as far as the file goes.
fn read_full(file: &File, at: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], at + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn record(body: &str) -> Vec<u8> {
        let text = format!(
            "WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: {}\r\n\r\n{body}\r\n\r\n",
            body.len()
        );
        crate::warc::gzip::gzip(&[text.as_bytes()], 1).unwrap()
    }

    fn check(bytes: &[u8]) -> Result<Checked> {
        let path = std::env::temp_dir().join(format!(
            "crawlfish-check-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let file = File::open(&path).unwrap();
        let checked = members(&file);
        std::fs::remove_file(&path).unwrap();
        checked
    }

    fn three() -> (Vec<u8>, [u64; 3]) {
        // Varied text: in a run of one letter, a flipped distance code still copies the same letter.
        let middle = (0..800u32).fold(String::new(), |mut s, i| {
            s += &i.wrapping_mul(2_654_435_761).to_string();
            s.push(' ');
            s
        });
        let (a, b, c) = (record("first"), record(&middle), record("third"));
        let starts = [0, a.len() as u64, (a.len() + b.len()) as u64];
        ([a, b, c].concat(), starts)
    }

    #[test]
    fn whole_members_and_a_torn_end() {
        let (file, _) = three();
        let n = file.len() as u64;
        assert_eq!(
            check(&file).unwrap(),
            Checked {
                whole: n,
                tail: Tail::None
            }
        );
        let extra = record("fourth");
        let mut torn = file.clone();
        torn.extend_from_slice(&extra[..extra.len() / 2]);
        assert_eq!(
            check(&torn).unwrap(),
            Checked {
                whole: n,
                tail: Tail::Torn
            }
        );
        torn.extend_from_slice(&[0; 4096]); // zeros after a power loss
        assert_eq!(check(&torn).unwrap().tail, Tail::Torn);
    }

    #[test]
    fn a_flipped_byte_in_the_middle_is_damage_not_a_torn_end() {
        let (file, starts) = three();
        let mut harmless = 0;
        for at in starts[1]..starts[2] {
            let mut bad = file.clone();
            bad[at as usize] ^= 0x20;
            let checked = check(&bad).unwrap();
            if checked.tail == Tail::None && checked.whole == file.len() as u64 {
                // The gzip header's time, flags and OS bytes are covered by no checksum and change nothing
                // decompressed.
                harmless += 1;
                continue;
            }
            assert_eq!(checked.whole, starts[1], "byte {at}");
            assert!(
                matches!(checked.tail, Tail::Damaged { next, .. } if next == starts[2]),
                "byte {at}: {checked:?}"
            );
        }
        assert!(harmless <= 8, "{harmless} flips went unnoticed");
    }

    #[test]
    fn a_record_whose_length_disagrees_with_its_header_is_damaged() {
        let (file, starts) = three();
        let lying =
            crate::warc::gzip::gzip(&[b"WARC/1.1\r\nContent-Length: 99\r\n\r\nshort\r\n\r\n"], 1)
                .unwrap();
        let mut bad = file[..starts[1] as usize].to_vec();
        bad.extend_from_slice(&lying);
        bad.extend_from_slice(&file[starts[2] as usize..]);
        let checked = check(&bad).unwrap();
        assert!(
            matches!(checked.tail, Tail::Damaged { ref why, .. } if why.contains("header says")),
            "{checked:?}"
        );
    }

    #[test]
    fn not_a_warc_file_is_refused() {
        let other = crate::warc::gzip::gzip(&[b"hello"], 1).unwrap();
        assert!(format!("{:#}", check(&other).unwrap_err()).contains("not a WARC file"));
        assert!(check(b"plain text").is_err());
        assert_eq!(
            check(b"").unwrap(),
            Checked {
                whole: 0,
                tail: Tail::None
            }
        );
    }
}
