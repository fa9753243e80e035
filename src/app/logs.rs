//! Logs that are safe to read on a terminal: every field value and message of a text log is written with its
//! control characters escaped ([`SafeFields`]), and JSON logs get their raw DEL and C1 controls escaped too
//! ([`JsonSafe`]).
//!
//! Log fields carry text from servers (a sitemap's XML error quoting an entity name, robots.txt rule text, error
//! messages, URLs), so escaping happens where every field is formatted, not at each call site: a new
//! `tracing::warn!(x = %remote)` is covered without thinking about it. Colour codes are added by the formatter
//! around the fields, after this escaping, so they survive (a byte filter on the output would strip them too).
//!
//! Owns no policy on what is logged or when colour is on ([`crate::cli`] decides both).

use std::fmt::{self, Write as _};
use std::io;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, MakeWriter};

/// The field holding an event's formatted message; written without its name, as the default formatter does.
const MESSAGE: &str = "message";
/// Fields the `tracing-log` bridge adds; the formatter already prints their content.
const LOG_PREFIX: &str = "log.";
/// A raw identifier's prefix in a field name (`r#type`), not shown.
const RAW_PREFIX: &str = "r#";
/// The first and last C1 control characters (U+0080–U+009F): some terminals act on them like ESC sequences.
const C1: std::ops::RangeInclusive<char> = '\u{80}'..='\u{9f}';

/// Whether `c` must not reach a terminal raw: C0 controls (newline and tab included, so one event stays one
/// line), DEL and C1 controls.
#[must_use]
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_ascii_control() || C1.contains(&c) || BIDI_AND_SEPARATORS.contains(&c)
}

/// Bidirectional overrides and isolates (they reorder what follows on the line: "Trojan Source") and the Unicode
/// line and paragraph separators (some terminals and log viewers break lines on them).
const BIDI_AND_SEPARATORS: [char; 11] = [
    '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{2028}', '\u{2029}',
];

/// Writes `c` escaped: `\n`, `\r`, `\t` by name, other C0 controls and DEL as `\xHH`, C1 controls as `\u{HH}`
/// (Rust's notation, as tracing-subscriber's own message escaping uses).
fn write_escaped(out: &mut impl fmt::Write, c: char) -> fmt::Result {
    match c {
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        c if c.is_ascii_control() => write!(out, "\\x{:02x}", u32::from(c)),
        c => write!(out, "\\u{{{:x}}}", u32::from(c)),
    }
}

/// A `fmt::Write` that escapes every unsafe character written through it.
struct Escaping<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(at) = rest.find(is_unsafe) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write_escaped(self.0, c)?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// `s` with every unsafe character escaped (see [`is_unsafe`]): for remote text printed outside a log event (the
/// `--check-links` report).
#[must_use]
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = Escaping(&mut out).write_str(s);
    out
}

/// tracing-subscriber's default field layout (`message name=value …`, `%` as Display, `?` and strings as Debug)
/// with control characters escaped in every value and in the message.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SafeFields;

impl<'w> FormatFields<'w> for SafeFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = SafeVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct SafeVisitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl SafeVisitor<'_> {
    fn write(&mut self, name: &str, value: fmt::Arguments<'_>) {
        if self.result.is_err() || name.starts_with(LOG_PREFIX) {
            return;
        }
        self.result = self.write_field(name, value);
    }

    fn write_field(&mut self, name: &str, value: fmt::Arguments<'_>) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        if name != MESSAGE {
            let name = name.strip_prefix(RAW_PREFIX).unwrap_or(name);
            Escaping(&mut self.writer).write_str(name)?;
            self.writer.write_char('=')?;
        }
        Escaping(&mut self.writer).write_fmt(value)
    }
}

impl Visit for SafeVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == MESSAGE {
            self.write(field.name(), format_args!("{value}"));
        } else {
            self.write(field.name(), format_args!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut chain = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            let _ = write!(chain, ": {s}");
            source = s.source();
        }
        self.write(field.name(), format_args!("{chain}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field.name(), format_args!("{value:?}"));
    }
}

/// A writer for JSON logs: JSON already escapes C0 controls, but leaves DEL, C1 controls, bidi overrides and the
/// Unicode line separators raw (they are valid in a JSON string). This writes them as `\u00HH`, which keeps the line valid JSON with the same value.
///
/// The fmt layer writes each event with one `write_all` of a whole string, so an event is seen whole; a chunk
/// that is not valid UTF-8 on its own is passed through unchanged.
#[derive(Debug)]
pub(crate) struct JsonSafe<W>(pub W);

impl<W: io::Write> io::Write for JsonSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Ok(text) = std::str::from_utf8(buf) else {
            return self.0.write(buf);
        };
        // JSON itself escaped the C0 controls: the rest of `is_unsafe` (DEL, C1, bidi overrides, separators).
        let raw = |c: char| c >= '\u{7f}' && is_unsafe(c);
        if !text.chars().any(raw) {
            return self.0.write(buf);
        }
        let mut escaped = String::with_capacity(buf.len() + buf.len() / 2);
        for c in text.chars() {
            if raw(c) {
                let _ = write!(escaped, "\\u{:04x}", u32::from(c));
            } else {
                escaped.push(c);
            }
        }
        self.0.write_all(escaped.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Makes a [`JsonSafe`] stderr for each event.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct JsonSafeStderr;

impl<'a> MakeWriter<'a> for JsonSafeStderr {
    type Writer = JsonSafe<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        JsonSafe(io::stderr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::sync::{Arc, Mutex};

    /// Every control character a server could send, and text around them.
    const HOSTILE: &str = "a\x1b[31mred\x07\x08\x0c\r\n\t\0\x7f\u{9b}2J\u{85}z é";

    fn assert_safe(s: &str) {
        assert!(!s.chars().any(is_unsafe), "raw control in {s:?}");
    }

    #[test]
    fn escape_leaves_no_control_and_keeps_the_rest() {
        let e = escape(HOSTILE);
        assert_safe(&e);
        assert_eq!(
            e,
            "a\\x1b[31mred\\x07\\x08\\x0c\\r\\n\\t\\x00\\x7f\\u{9b}2J\\u{85}z é"
        );
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
        assert_eq!(escape("a\u{202e}b\u{2028}c"), "a\\u{202e}b\\u{2028}c");
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[derive(Debug)]
    struct Failure;
    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(HOSTILE)
        }
    }
    impl std::error::Error for Failure {}

    fn log_all_kinds() {
        let err = Failure;
        let as_error: &(dyn std::error::Error + 'static) = &err;
        tracing::warn!(
            display = %HOSTILE,
            debug = ?HOSTILE,
            string = HOSTILE,
            error = as_error,
            r#type = 1,
            "msg {HOSTILE}"
        );
    }

    #[test]
    fn text_logs_escape_every_field_and_the_message_and_keep_colour() {
        for ansi in [false, true] {
            let buf = Buf::default();
            let sink = buf.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(ansi)
                .fmt_fields(SafeFields)
                .with_writer(move || sink.clone())
                .finish();
            tracing::subscriber::with_default(subscriber, log_all_kinds);
            let out = buf.text();
            let line = out.strip_suffix('\n').unwrap();
            assert_eq!(line.matches('\n').count(), 0, "one event, one line: {out}");
            let fields = line.replace("\x1b[", "");
            assert_safe(&fields);
            for part in [
                "msg a\\x1b[31mred",
                "display=a\\x1b[31mred",
                "error=a\\x1b[31mred",
                "type=1",
            ] {
                assert!(line.contains(part), "{part} in {line}");
            }
            // The formatter's own colours are intact: WARN in yellow.
            assert_eq!(line.contains("\x1b[33m"), ansi, "{line:?}");
        }
    }

    #[test]
    fn json_safe_escapes_del_and_c1_and_stays_the_same_json() {
        let value = serde_json::json!({ "f": format!("{HOSTILE}\u{202e}evil\u{2028}x") });
        let line = format!("{value}\n");
        let mut out = JsonSafe(Vec::new());
        out.write_all(line.as_bytes()).unwrap();
        let text = String::from_utf8(out.0).unwrap();
        assert_safe(text.trim_end_matches('\n'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
