//! Character references, decoded as the WHATWG tokenizer decodes them (named, legacy names without `;` and the
//! attribute-value rule, numeric with the Windows-1252 remap), for [`crate::html::scan`]. Pure; must not allocate when there
//! is nothing to decode.

use std::borrow::Cow;

use memchr::memchr2;

/// Character references decoded as the tokenizer decodes them (`in_attribute`: with the attribute-value rule for
/// legacy names), NUL as U+FFFD. Borrowed from the page when there is nothing to decode (the common case: no
/// allocation per link).
pub(super) fn decode(s: &str, in_attribute: bool) -> Cow<'_, str> {
    let b = s.as_bytes();
    let Some(first) = memchr2(b'&', 0, b) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut i = first;
    while let Some(p) = memchr2(b'&', 0, &b[i..]) {
        let at = i + p;
        out.push_str(&s[i..at]);
        i = at + 1;
        if b[at] == 0 {
            out.push('\u{FFFD}');
        } else {
            let used = char_ref(&b[at + 1..], in_attribute, &mut out);
            if used == 0 {
                out.push('&');
            }
            i += used;
        }
    }
    out.push_str(&s[i..]);
    Cow::Owned(out)
}

/// The character reference after a `&` at the start of `rest`, appended to `out`: how many bytes of `rest` it
/// used, 0 when there is none (the `&` stays as written).
fn char_ref(rest: &[u8], in_attribute: bool, out: &mut String) -> usize {
    if rest.first() == Some(&b'#') {
        let hex = matches!(rest.get(1), Some(b'x' | b'X'));
        let start = if hex { 2 } else { 1 };
        let radix = if hex { 16 } else { 10 };
        let digits = rest[start..]
            .iter()
            .take_while(|c| char::from(**c).is_digit(radix))
            .count();
        if digits == 0 {
            return 0;
        }
        let n = rest[start..start + digits].iter().fold(0u32, |n, &c| {
            (n * radix + char::from(c).to_digit(radix).unwrap_or(0)).min(0x11_0000)
        });
        out.push(numeric_char(n));
        let end = start + digits;
        return end + usize::from(rest.get(end) == Some(&b';'));
    }
    let run = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let name = &rest[..run];
    if rest.get(run) == Some(&b';') {
        if let Some(value) = named_entity(name) {
            out.push_str(value);
            return run + 1;
        }
    }
    // A legacy name without `;`: the longest one that starts the name.
    for len in (2..=run.min(6)).rev() {
        if LEGACY_ENTITIES.binary_search(&&name[..len]).is_err() {
            continue;
        }
        let next = rest.get(len);
        if in_attribute && next.is_some_and(|&c| c == b'=' || c.is_ascii_alphanumeric()) {
            return 0;
        }
        if let Some(value) = named_entity(&name[..len]) {
            out.push_str(value);
            return len;
        }
    }
    0
}

pub(super) fn named_entity(name: &[u8]) -> Option<&'static str> {
    let table = &html_escape::NAMED_ENTITIES;
    let at = table.binary_search_by(|(k, _)| (*k).cmp(name)).ok()?;
    Some(table[at].1)
}

/// A numeric reference's character: NUL, surrogates and beyond U+10FFFF become U+FFFD; 0x80–0x9F are read as
/// Windows-1252.
fn numeric_char(n: u32) -> char {
    const C1: [u16; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    let n = match n {
        0 => 0xFFFD,
        0x80..=0x9F => u32::from(C1[(n - 0x80) as usize]),
        _ => n,
    };
    char::from_u32(n).unwrap_or('\u{FFFD}')
}

/// Named references the tokenizer also accepts without `;` (WHATWG's legacy list), sorted for binary search.
pub(super) const LEGACY_ENTITIES: [&[u8]; 106] = [
    b"AElig", b"AMP", b"Aacute", b"Acirc", b"Agrave", b"Aring", b"Atilde", b"Auml", b"COPY",
    b"Ccedil", b"ETH", b"Eacute", b"Ecirc", b"Egrave", b"Euml", b"GT", b"Iacute", b"Icirc",
    b"Igrave", b"Iuml", b"LT", b"Ntilde", b"Oacute", b"Ocirc", b"Ograve", b"Oslash", b"Otilde",
    b"Ouml", b"QUOT", b"REG", b"THORN", b"Uacute", b"Ucirc", b"Ugrave", b"Uuml", b"Yacute",
    b"aacute", b"acirc", b"acute", b"aelig", b"agrave", b"amp", b"aring", b"atilde", b"auml",
    b"brvbar", b"ccedil", b"cedil", b"cent", b"copy", b"curren", b"deg", b"divide", b"eacute",
    b"ecirc", b"egrave", b"eth", b"euml", b"frac12", b"frac14", b"frac34", b"gt", b"iacute",
    b"icirc", b"iexcl", b"igrave", b"iquest", b"iuml", b"laquo", b"lt", b"macr", b"micro",
    b"middot", b"nbsp", b"not", b"ntilde", b"oacute", b"ocirc", b"ograve", b"ordf", b"ordm",
    b"oslash", b"otilde", b"ouml", b"para", b"plusmn", b"pound", b"quot", b"raquo", b"reg",
    b"sect", b"shy", b"sup1", b"sup2", b"sup3", b"szlig", b"thorn", b"times", b"uacute", b"ucirc",
    b"ugrave", b"uml", b"uuml", b"yacute", b"yen", b"yuml",
];
