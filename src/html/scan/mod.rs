//! A single-pass HTML scanner for exactly what every page needs: the first `<title>`, every link a browser
//! follows (`<a href>`/`<area href>` with `rel`, `<iframe src>`/`<frame src>`, `<meta http-equiv=refresh>` targets,
//! `<link rel=next|prev href>`), the first `<base href>`, and what says how a page may be indexed (`<link
//! rel=canonical>`, `<link rel=alternate hreflang>`, `<meta name=robots|crawlfish>`, `<meta name=description>`,
//! `<html lang>`; see [`head`]). No DOM, no allocation per tag, linear in the input whatever its nesting.
//!
//! Why hand-written: parsing bounds the crawl (the network alone does ~30,000 pages/s here). For title + resolved
//! links of a 13 KB page, `benches/hot.rs` measures this scanner at ~24 µs and scraper at ~124 µs; the shared
//! parse-limit tool measured `lol_html` at ~47 µs and `tl` at ~35 µs per page for the same job.
//!
//! It follows the WHATWG HTML tokenizer (with the usual "naive" state switching of tokenizers that have no tree
//! builder: the content of `script`, `style`, `textarea`, `title`, `xmp`, `iframe`, `noembed`, `noframes`,
//! `noscript` and `plaintext` is not markup), and a differential test against html5gum's tokenizer holds it there:
//! - comments end at `-->` or `--!>`; `<!-->` and `<!--->` are empty comments; `<!doctype>`, `<?…>` and other
//!   bogus comments end at the first `>`; end tags have attributes too (a quoted `>` does not end them);
//! - script content has the tokenizer's escape states: inside `<!--`, a `<script>` hides the next `</script>`;
//! - quoted and unquoted attributes, first attribute wins, case-insensitive names;
//! - character references are decoded as the tokenizer does: named (including the legacy ones without `;`, which
//!   in attribute values stay as written when followed by `=` or a letter or digit), numeric (with the Windows-1252
//!   remapping of `&#128;`–`&#159;`; zero, surrogates and out-of-range become U+FFFD); NUL becomes U+FFFD;
//! - a tag cut off by the end of the input (no `>`, or inside a quoted value) is dropped, as the tokenizer drops
//!   an `eof-in-tag` tag: a body truncated by `--max-body` never yields half a link. A `<title>` whose text runs
//!   to the end of the input keeps that text, as a browser's `document.title` does.
//!
//! Known differences, by design: CR and CR LF are not normalised to LF inside values (URL parsing drops them, and
//! titles are whitespace-collapsed), and foreign content (`<svg>`, `<math>`) is not tracked. `--select` still uses
//! scraper (a real DOM with full CSS matching).
//!
//! Pure and synchronous; must not allocate per byte or recurse.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

/// What a page's markup says, raw (entities decoded, not yet resolved against a URL).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Scan<'a> {
    /// Text of the first `<title>`, at most `title_cap` bytes of it.
    pub title: Option<String>,
    pub base: Option<String>,
    /// (URL, `rel` contains `nofollow`) of every link a browser follows, in document order.
    pub hrefs: Vec<(Cow<'a, str>, bool)>,
    /// A `<meta name=robots|crawlfish>` said `nofollow` or `none`.
    pub meta_nofollow: bool,
    /// The first `<link rel=canonical href>`.
    pub canonical: Option<Cow<'a, str>>,
    /// (hreflang, href) of each `<link rel=alternate hreflang href>`, in document order.
    pub alternates: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The `content` of each `<meta name=robots|crawlfish>`, as written.
    pub robots: Vec<Cow<'a, str>>,
    /// The first `<meta name=description>`'s `content`.
    pub description: Option<Cow<'a, str>>,
    /// The first `<html lang>`.
    pub lang: Option<Cow<'a, str>>,
}

/// Scans `html`; keeps at most `title_cap` bytes of the title.
#[must_use]
pub(crate) fn scan(html: &str, title_cap: usize) -> Scan<'_> {
    let b = html.as_bytes();
    let mut out = Scan::default();
    let mut i = 0;
    while let Some(off) = memchr(b'<', &b[i..]) {
        let lt = i + off;
        let next = match b.get(lt + 1) {
            Some(b'!') => Some(skip_markup_declaration(b, lt + 2)),
            // Processing instructions are bogus comments.
            Some(b'?') => Some(skip_past(b, lt + 1, b'>')),
            Some(b'/') => end_tag(html, lt + 2),
            Some(c) if c.is_ascii_alphabetic() => start_tag(html, lt + 1, title_cap, &mut out),
            _ => Some(lt + 1),
        };
        // `None`: the input ended inside a tag, which the tokenizer drops (eof-in-tag); nothing follows it.
        let Some(next) = next else { break };
        i = next;
    }
    out
}

/// After `<!`: a comment, or `<!doctype …>` / `<![CDATA[…` / another bogus comment, which ends at the first `>`.
fn skip_markup_declaration(b: &[u8], i: usize) -> usize {
    if !b[i..].starts_with(b"--") {
        return skip_past(b, i, b'>');
    }
    let body = i + 2;
    // `<!-->` and `<!--->` close at once (abrupt closing of empty comment).
    for short in [&b">"[..], b"->"] {
        if b[body..].starts_with(short) {
            return body + short.len();
        }
    }
    // Otherwise the first `>` that follows `--` or `--!` inside the comment ends it (comment end (bang) state).
    let mut j = body;
    while let Some(p) = memchr(b'>', &b[j..]) {
        let gt = j + p;
        let text = &b[body..gt];
        if text.ends_with(b"--") || text.ends_with(b"--!") {
            return gt + 1;
        }
        j = gt + 1;
    }
    b.len()
}

fn skip_past(b: &[u8], i: usize, c: u8) -> usize {
    memchr(c, &b[i..]).map_or(b.len(), |p| i + p + 1)
}

fn is_space(c: u8) -> bool {
    // The tokenizer's whitespace (tab, LF, FF, space) plus CR, which its input preprocessing turns into LF.
    c.is_ascii_whitespace()
}

/// Where a tag name starting at `i` ends (whitespace, `/` or `>`); `None` when the input ends first.
fn tag_name_end(b: &[u8], i: usize) -> Option<usize> {
    b[i..]
        .iter()
        .position(|&c| is_space(c) || c == b'/' || c == b'>')
        .map(|p| i + p)
}

/// After `</`: an end tag (attributes and all), `</>` (nothing) or a bogus comment.
fn end_tag(html: &str, i: usize) -> Option<usize> {
    let b = html.as_bytes();
    match b.get(i) {
        Some(c) if c.is_ascii_alphabetic() => {
            let name_end = tag_name_end(b, i)?;
            attributes(html, name_end, Tag::Other, &mut Attrs::default())
        }
        Some(b'>') => Some(i + 1),
        Some(_) => Some(skip_past(b, i, b'>')),
        None => Some(i),
    }
}

/// A start tag at `i` (its first name byte); returns where scanning resumes, `None` if the input ends in the tag.
fn start_tag<'a>(html: &'a str, i: usize, title_cap: usize, out: &mut Scan<'a>) -> Option<usize> {
    let b = html.as_bytes();
    let name_end = tag_name_end(b, i)?;
    let tag = Tag::of(&b[i..name_end]);
    let mut attrs = Attrs::default();
    let end = attributes(html, name_end, tag, &mut attrs)?;
    match tag {
        Tag::A => {
            if let Some(href) = attrs.href {
                out.hrefs.push((decode(href, true), attrs.rel_nofollow()));
            }
        }
        Tag::Base => {
            if out.base.is_none() {
                out.base = attrs.href.map(|h| decode(h, true).into_owned());
            }
        }
        Tag::Frame => head::frame(&attrs, out),
        Tag::Iframe => {
            head::frame(&attrs, out);
            return raw_text(html, end, b"iframe").1;
        }
        Tag::Link => head::link(&attrs, out),
        Tag::Meta => head::meta(&attrs, out),
        Tag::Html => {
            if out.lang.is_none() {
                out.lang = attrs.lang.map(|l| decode(l, true));
            }
        }
        Tag::Title => {
            let (len, resume) = raw_text(html, end, b"title");
            if out.title.is_none() {
                let text = truncate(&html[end..end + len], title_cap);
                out.title = Some(decode(text, false).into_owned());
            }
            return resume;
        }
        Tag::RawText(name) => return raw_text(html, end, name).1,
        Tag::Script => return script_data(html, end),
        Tag::Plaintext => return Some(b.len()),
        Tag::Other => {}
    }
    Some(end)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    /// `a` and `area`.
    A,
    Base,
    /// `frame` (void).
    Frame,
    /// `iframe`: its `src`, then its content is raw text.
    Iframe,
    Link,
    Meta,
    Html,
    Title,
    /// Content is text up to `</NAME`.
    RawText(&'static [u8]),
    /// Content is text up to `</script`, with the script data escape states.
    Script,
    Plaintext,
    Other,
}

impl Tag {
    /// Dispatches on the name's length first: one comparison or two for most tags, as every start tag comes here.
    fn of(name: &[u8]) -> Tag {
        let is = |s: &[u8]| name.eq_ignore_ascii_case(s);
        match name.len() {
            1 if is(b"a") => Tag::A,
            3 if is(b"xmp") => Tag::RawText(b"xmp"),
            4 if is(b"area") => Tag::A,
            4 if is(b"link") => Tag::Link,
            4 if is(b"meta") => Tag::Meta,
            4 if is(b"base") => Tag::Base,
            4 if is(b"html") => Tag::Html,
            5 if is(b"title") => Tag::Title,
            5 if is(b"style") => Tag::RawText(b"style"),
            5 if is(b"frame") => Tag::Frame,
            6 if is(b"script") => Tag::Script,
            6 if is(b"iframe") => Tag::Iframe,
            7 if is(b"noembed") => Tag::RawText(b"noembed"),
            8 if is(b"textarea") => Tag::RawText(b"textarea"),
            8 if is(b"noframes") => Tag::RawText(b"noframes"),
            8 if is(b"noscript") => Tag::RawText(b"noscript"),
            9 if is(b"plaintext") => Tag::Plaintext,
            _ => Tag::Other,
        }
    }
}

/// The first value of each attribute the tag needs, raw (entities not yet decoded).
#[derive(Default)]
struct Attrs<'a> {
    /// `href`, or `src` for frames.
    href: Option<&'a str>,
    rel: Option<&'a str>,
    name: Option<&'a str>,
    content: Option<&'a str>,
    http_equiv: Option<&'a str>,
    hreflang: Option<&'a str>,
    lang: Option<&'a str>,
}

impl<'a> Attrs<'a> {
    /// The first occurrence of an attribute wins, as in the HTML tokenizer.
    fn set(&mut self, tag: Tag, name: &[u8], value: &'a str) {
        let is = |s: &[u8]| name.eq_ignore_ascii_case(s);
        let slot = match tag {
            Tag::A | Tag::Base | Tag::Link if is(b"href") => &mut self.href,
            Tag::A | Tag::Link if is(b"rel") => &mut self.rel,
            Tag::Link if is(b"hreflang") => &mut self.hreflang,
            Tag::Frame | Tag::Iframe if is(b"src") => &mut self.href,
            Tag::Meta if is(b"name") => &mut self.name,
            Tag::Meta if is(b"content") => &mut self.content,
            Tag::Meta if is(b"http-equiv") => &mut self.http_equiv,
            Tag::Html if is(b"lang") => &mut self.lang,
            _ => return,
        };
        slot.get_or_insert(value);
    }

    fn rel_nofollow(&self) -> bool {
        self.rel.is_some_and(|rel| {
            decode(rel, true)
                .split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("nofollow"))
        })
    }
}

/// Parses attributes from `i` to the tag's `>`; fills what `tag` needs. Returns the index after `>`, or `None`
/// when the input ends first (also inside a quoted value).
fn attributes<'a>(html: &'a str, mut i: usize, tag: Tag, attrs: &mut Attrs<'a>) -> Option<usize> {
    let b = html.as_bytes();
    loop {
        while i < b.len() && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if *b.get(i)? == b'>' {
            return Some(i + 1);
        }
        // Attribute name: up to whitespace, '/', '>' or '=' (a leading '=' belongs to the name).
        let start = i;
        i += 1;
        while i < b.len() && !(is_space(b[i]) || matches!(b[i], b'/' | b'>' | b'=')) {
            i += 1;
        }
        let name = &b[start..i];
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        let mut value = "";
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
            (value, i) = attribute_value(html, i)?;
        }
        if tag != Tag::Other {
            attrs.set(tag, name, value);
        }
    }
}

/// A value at `i` (after `=` and whitespace): (the value, index after it); `None` if the input ends inside it.
fn attribute_value(html: &str, i: usize) -> Option<(&str, usize)> {
    let b = html.as_bytes();
    if let Some(&q @ (b'"' | b'\'')) = b.get(i) {
        let p = memchr(q, &b[i + 1..])?;
        return Some((&html[i + 1..i + 1 + p], i + p + 2));
    }
    // Unquoted; a `>` right here means an empty value (missing-attribute-value).
    let end = i + b[i..].iter().position(|&c| is_space(c) || c == b'>')?;
    Some((&html[i..end], end))
}

/// Text of a raw-text (or RCDATA) element starting at `i`: (its length, where scanning resumes after its end tag,
/// `None` if the input ends inside that end tag). Without an end tag the text runs to the end of the input.
fn raw_text(html: &str, i: usize, name: &[u8]) -> (usize, Option<usize>) {
    let b = html.as_bytes();
    let mut j = i;
    while let Some(p) = memchr(b'<', &b[j..]) {
        let at = j + p;
        if let Some(resume) = appropriate_end_tag(html, at, name) {
            return (at - i, resume);
        }
        j = at + 1;
    }
    (b.len() - i, Some(b.len()))
}

/// Whether `</NAME` followed by whitespace, `/` or `>` (case-insensitive) starts at `at`; if so, where scanning
/// resumes after that end tag (`None`: the input ends inside it).
#[allow(clippy::option_option)] // "not an end tag here" and "an end tag cut off by the end" are different answers
fn appropriate_end_tag(html: &str, at: usize, name: &[u8]) -> Option<Option<usize>> {
    let b = html.as_bytes();
    let after = at + 2 + name.len();
    let delim = *b.get(after)?;
    if !(b[at + 1] == b'/' && b[at + 2..after].eq_ignore_ascii_case(name)) {
        return None;
    }
    match delim {
        b'>' => Some(Some(after + 1)),
        c if is_space(c) || c == b'/' => {
            Some(attributes(html, after, Tag::Other, &mut Attrs::default()))
        }
        _ => None,
    }
}

/// Skips script content starting at `i` with the tokenizer's script data states: it ends at `</script`, except
/// that after `<!--` (escaped) a `<script` starts a double-escaped stretch in which `</script` only returns to
/// escaped; `-->` ends either. Returns where scanning resumes after the end tag.
fn script_data(html: &str, i: usize) -> Option<usize> {
    #[derive(PartialEq, Eq)]
    enum State {
        Plain,
        Escaped,
        DoubleEscaped,
    }
    let b = html.as_bytes();
    let mut state = State::Plain;
    // Dashes at or after `floor` count towards a closing `-->`.
    let mut floor = i;
    let mut j = i;
    while let Some(p) = memchr2(b'<', b'>', &b[j..]) {
        let at = j + p;
        j = at + 1;
        if b[at] == b'>' {
            if state != State::Plain && at >= floor + 2 && &b[at - 2..at] == b"--" {
                state = State::Plain;
            }
            continue;
        }
        match state {
            State::Plain | State::Escaped => {
                if let Some(resume) = appropriate_end_tag(html, at, b"script") {
                    return resume;
                }
                if state == State::Plain && b[at..].starts_with(b"<!--") {
                    state = State::Escaped;
                    floor = at + 2;
                    j = at + 4;
                } else if let Some(after) =
                    script_tag(b, at, false).filter(|_| state == State::Escaped)
                {
                    state = State::DoubleEscaped;
                    (floor, j) = (after, after);
                }
            }
            State::DoubleEscaped => {
                if let Some(after) = script_tag(b, at, true) {
                    state = State::Escaped;
                    (floor, j) = (after, after);
                }
            }
        }
    }
    Some(b.len())
}

/// Whether `<script` (`</script` when `end`) and whitespace, `/` or `>` start at `at`: the index after them.
fn script_tag(b: &[u8], at: usize, end: bool) -> Option<usize> {
    let name = at + 1 + usize::from(end);
    let after = name + b"script".len();
    let delim = *b.get(after)?;
    let ok = (!end || b[at + 1] == b'/')
        && b[name..after].eq_ignore_ascii_case(b"script")
        && (is_space(delim) || delim == b'/' || delim == b'>');
    ok.then_some(after + 1)
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// `--check-links`' anchors pass, a child so it reuses the tokenizer steps above.
pub(crate) mod anchors;
mod entities;
use entities::decode;
pub(crate) mod head;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod generate;

#[cfg(test)]
mod tests;
