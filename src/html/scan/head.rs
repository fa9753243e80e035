//! What the scanner takes from `<iframe>`/`<frame>`, `<link>` and `<meta>`: the links a browser follows from them
//! (frame sources, refresh targets, `rel=next|prev`) and what says how a page may be indexed (canonical,
//! alternates, robots directives, description). Kept apart from the tokenizer so its hot loop stays small.

use std::borrow::Cow;

use super::{decode, is_space, Attrs, Scan};

/// The `<meta name>`s whose directives apply to crawlfish: everyone's, and its own product token's.
const ROBOTS_NAMES: [&str; 2] = ["robots", crate::robots::PRODUCT_TOKEN];

/// `<iframe src>` / `<frame src>`: a browser loads it, so it is a link (never `nofollow`: frames have no `rel`).
pub(super) fn frame<'a>(attrs: &Attrs<'a>, out: &mut Scan<'a>) {
    if let Some(src) = attrs.href {
        out.hrefs.push((decode(src, true), false));
    }
}

/// `<link rel=… href>`: `next`/`prev` are links; `canonical` (the first) and `alternate` with `hreflang` are
/// kept apart. Other kinds (stylesheets, icons, feeds) are resources, not pages.
pub(super) fn link<'a>(attrs: &Attrs<'a>, out: &mut Scan<'a>) {
    let (Some(href), Some(rel)) = (attrs.href, attrs.rel) else {
        return;
    };
    let rel = decode(rel, true);
    let has = |name: &str| {
        rel.split_ascii_whitespace()
            .any(|r| r.eq_ignore_ascii_case(name))
    };
    if has("next") || has("prev") {
        out.hrefs.push((decode(href, true), has("nofollow")));
    }
    if out.canonical.is_none() && has("canonical") {
        out.canonical = Some(decode(href, true));
    }
    if let Some(lang) = attrs.hreflang.filter(|_| has("alternate")) {
        out.alternates
            .push((decode(lang, true), decode(href, true)));
    }
}

/// `<meta>`: a refresh target is a link; `name=robots|crawlfish` directives and the first `name=description`.
pub(super) fn meta<'a>(attrs: &Attrs<'a>, out: &mut Scan<'a>) {
    let Some(content) = attrs.content else {
        return;
    };
    if let Some(equiv) = attrs.http_equiv {
        if trim(&decode(equiv, true)).eq_ignore_ascii_case("refresh") {
            if let Some(target) = refresh_url(decode(content, true)) {
                out.hrefs.push((target, false));
            }
        }
    }
    let Some(name) = attrs.name else { return };
    let name = decode(name, true);
    let name = trim(&name);
    if ROBOTS_NAMES.iter().any(|n| name.eq_ignore_ascii_case(n)) {
        let content = decode(content, true);
        out.meta_nofollow |= says_nofollow(&content);
        out.robots.push(content);
    } else if out.description.is_none() && name.eq_ignore_ascii_case("description") {
        out.description = Some(decode(content, true));
    }
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// Whether a comma-separated directive list holds `nofollow` or `none` (which means noindex, nofollow).
pub(crate) fn says_nofollow(directives: &str) -> bool {
    directives.split(',').any(|d| {
        let d = trim(d);
        d.eq_ignore_ascii_case("nofollow") || d.eq_ignore_ascii_case("none")
    })
}

/// The URL of a refresh `content` (`5; url=/next`, `0;URL='x'`, `0, x`), as the HTML standard's "shared
/// declarative refresh steps" read it; `None` when it names no URL (a refresh of the page itself).
pub(crate) fn refresh_url(content: Cow<'_, str>) -> Option<Cow<'_, str>> {
    let b = content.as_bytes();
    let mut i = 0;
    let skip = |i: &mut usize, f: &dyn Fn(u8) -> bool| {
        while *i < b.len() && f(b[*i]) {
            *i += 1;
        }
    };
    skip(&mut i, &is_space);
    let digits = i;
    skip(&mut i, &|c| c.is_ascii_digit());
    skip(&mut i, &|c| c.is_ascii_digit() || c == b'.');
    if i == digits && b.get(i) != Some(&b'.') {
        return None; // no time: not a refresh at all
    }
    if b.get(i)
        .is_some_and(|&c| !(c == b';' || c == b',' || is_space(c)))
    {
        return None; // junk right after the time
    }
    skip(&mut i, &is_space);
    if matches!(b.get(i), Some(b';' | b',')) {
        i += 1;
    }
    skip(&mut i, &is_space);
    if b.len() >= i + 3 && b[i..i + 3].eq_ignore_ascii_case(b"url") {
        let mut j = i + 3;
        skip(&mut j, &is_space);
        if b.get(j) == Some(&b'=') {
            j += 1;
            skip(&mut j, &is_space);
            i = j;
        }
    }
    let mut end = b.len();
    if let Some(&q @ (b'"' | b'\'')) = b.get(i) {
        i += 1;
        end = memchr::memchr(q, &b[i..]).map_or(end, |p| i + p);
    }
    if i >= end {
        return None;
    }
    Some(match content {
        Cow::Borrowed(s) => Cow::Borrowed(&s[i..end]),
        Cow::Owned(s) => Cow::Owned(s[i..end].to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(content: &str) -> Option<String> {
        refresh_url(Cow::Borrowed(content)).map(Cow::into_owned)
    }

    #[test]
    fn refresh_forms() {
        assert_eq!(url("0; url=/next").as_deref(), Some("/next"));
        assert_eq!(url("5;URL='/q a'").as_deref(), Some("/q a"));
        assert_eq!(url(" 3 , URL = \"x.html\" rest").as_deref(), Some("x.html"));
        assert_eq!(url("0;/plain").as_deref(), Some("/plain"));
        assert_eq!(url("1.5; url=/f").as_deref(), Some("/f"));
        assert_eq!(url("0; urlish").as_deref(), Some("urlish"));
        assert_eq!(url("5"), None);
        assert_eq!(url("0; url="), None);
        assert_eq!(url("soon; url=/x"), None);
        assert_eq!(url("5x; url=/x"), None);
        assert_eq!(url("5 /x").as_deref(), Some("/x"));
        assert_eq!(url(""), None);
        assert_eq!(url("0; url='"), None);
    }

    #[test]
    fn nofollow_directives() {
        assert!(says_nofollow("noindex, NOFOLLOW"));
        assert!(says_nofollow(" none "));
        assert!(!says_nofollow("noindex,follow"));
    }
}
