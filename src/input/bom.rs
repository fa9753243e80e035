//! Input text encodings, told by a byte-order mark at the start of each input: a UTF-8 BOM is skipped, UTF-16
//! (little- or big-endian, as Windows Notepad's "Unicode" and PowerShell 5's `>` write it) is decoded to UTF-8 as
//! it streams. Anything else is read as it is (UTF-8; a line that is not is reported as `invalid_url`).
//!
//! UTF-16 without a BOM is not guessed: its lines hold NUL bytes and are reported as `invalid_url`.

use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, UTF_16BE, UTF_16LE};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16BE_BOM: &[u8] = b"\xFE\xFF";

/// Longest BOM: how many bytes are looked at before deciding.
const SNIFF: usize = 3;

/// UTF-16 bytes decoded per step.
const CHUNK: usize = 16 * 1024;

/// Stands for a UTF-16 sequence that does not decode (a lone surrogate): not UTF-8, so its line is reported as
/// `invalid_url` ("not valid UTF-8") instead of turning into a different, valid URL.
const UNDECODABLE: u8 = 0xFF;

/// `input` as UTF-8 text: its BOM skipped, UTF-16 decoded.
///
/// # Errors
/// Reading the first bytes failed.
pub(crate) fn text(mut input: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; SNIFF];
    let n = super::read_full(&mut input, &mut head)?;
    let head = &head[..n];
    Ok(if let Some(rest) = head.strip_prefix(UTF8_BOM) {
        Box::new(io::Cursor::new(rest.to_vec()).chain(input))
    } else if let Some(rest) = head.strip_prefix(UTF16LE_BOM) {
        Box::new(Utf16::new(
            UTF_16LE.new_decoder_without_bom_handling(),
            rest,
            input,
        ))
    } else if let Some(rest) = head.strip_prefix(UTF16BE_BOM) {
        Box::new(Utf16::new(
            UTF_16BE.new_decoder_without_bom_handling(),
            rest,
            input,
        ))
    } else {
        Box::new(io::Cursor::new(head.to_vec()).chain(input))
    })
}

/// A UTF-16 stream read as UTF-8.
struct Utf16 {
    input: Box<dyn Read + Send>,
    decoder: Decoder,
    /// Raw bytes read but not decoded yet.
    raw: Vec<u8>,
    /// Decoded bytes, and how many of them were handed out.
    out: Vec<u8>,
    given: usize,
    done: bool,
}

impl Utf16 {
    fn new(decoder: Decoder, first: &[u8], input: Box<dyn Read + Send>) -> Utf16 {
        Utf16 {
            input,
            decoder,
            raw: first.to_vec(),
            out: Vec::new(),
            given: 0,
            done: false,
        }
    }

    /// Reads one chunk and decodes it (with what was left over) into `out`.
    fn refill(&mut self) -> io::Result<()> {
        let had = self.raw.len();
        self.raw.resize(had + CHUNK, 0);
        let n = loop {
            match self.input.read(&mut self.raw[had..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                self.raw.truncate(had);
                return Err(e);
            }
        };
        self.raw.truncate(had + n);
        let last = n == 0;
        let room = self
            .decoder
            .max_utf8_buffer_length_without_replacement(self.raw.len())
            .ok_or_else(|| io::Error::other("UTF-16 input chunk too large"))?;
        self.out.clear();
        self.out.resize(room + SNIFF, 0);
        self.given = 0;
        let (mut read, mut written) = (0, 0);
        loop {
            let (result, r, w) = self.decoder.decode_to_utf8_without_replacement(
                &self.raw[read..],
                &mut self.out[written..],
                last,
            );
            read += r;
            written += w;
            match result {
                DecoderResult::InputEmpty | DecoderResult::OutputFull => break,
                DecoderResult::Malformed(..) => {
                    self.out[written] = UNDECODABLE;
                    written += 1;
                }
            }
        }
        self.out.truncate(written);
        self.raw.drain(..read);
        self.done = last && self.raw.is_empty();
        Ok(())
    }
}

impl Read for Utf16 {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.given == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.given);
        buf[..n].copy_from_slice(&self.out[self.given..self.given + n]);
        self.given += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `bytes`, handed over `step` bytes per read as a pipe might.
    fn decode(bytes: &[u8], step: usize) -> Vec<u8> {
        struct Trickle(Vec<u8>, usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.1).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0.drain(..n);
                Ok(n)
            }
        }
        let mut out = Vec::new();
        text(Box::new(Trickle(bytes.to_vec(), step)))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn utf16(text: &str, bom: &[u8], le: bool) -> Vec<u8> {
        let mut v = bom.to_vec();
        for unit in text.encode_utf16() {
            v.extend_from_slice(&if le {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        v
    }

    #[test]
    fn boms_are_skipped_and_utf16_decoded() {
        let text = "https://a.test/é\r\nhttps://b.test/😀\n";
        for step in [1, 2, 3, 7, 4096] {
            assert_eq!(
                decode(&[UTF8_BOM, text.as_bytes()].concat(), step),
                text.as_bytes()
            );
            assert_eq!(decode(text.as_bytes(), step), text.as_bytes());
            assert_eq!(
                decode(&utf16(text, UTF16LE_BOM, true), step),
                text.as_bytes()
            );
            assert_eq!(
                decode(&utf16(text, UTF16BE_BOM, false), step),
                text.as_bytes()
            );
        }
        assert_eq!(decode(b"", 1), b"");
        assert_eq!(decode(b"ab", 1), b"ab");
        assert_eq!(decode(UTF16LE_BOM, 1), b"");
    }

    #[test]
    fn a_lone_surrogate_is_not_valid_utf8() {
        let mut bytes = UTF16LE_BOM.to_vec();
        bytes.extend_from_slice(&[b'a', 0, 0x00, 0xD8, b'b', 0, b'\n', 0]); // 'a', lone high surrogate, 'b'
        let out = decode(&bytes, 3);
        assert!(std::str::from_utf8(&out).is_err());
        assert_eq!(out.first(), Some(&b'a'));
        assert!(out.ends_with(b"b\n"), "{out:?}");
    }

    #[test]
    fn a_long_utf16_input_streams_through() {
        let text = "https://a.test/page\n".repeat(5_000);
        assert_eq!(
            decode(&utf16(&text, UTF16LE_BOM, true), 10_000),
            text.as_bytes()
        );
    }
}
