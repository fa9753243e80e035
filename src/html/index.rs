//! What a response's headers say about indexing, beside the markup: `Link: <…>; rel="canonical"` (RFC 8288) and
//! `X-Robots-Tag` directives. Pure: the caller hands over the header values as sent.

use url::Url;

use crate::html::page::add_directives;

/// Directives that carry a value after `:`; any other `NAME:` at the start of an `X-Robots-Tag` value names the
/// crawler the value is for.
const VALUED: [&str; 4] = [
    "unavailable_after",
    "max-snippet",
    "max-image-preview",
    "max-video-preview",
];

/// Adds the `X-Robots-Tag` directives that apply to crawlfish to `out` (lowercase, each once): a value for every
/// crawler, or one that starts with `crawlfish:`; a value for another crawler (`googlebot: noindex`) is skipped.
pub(crate) fn add_header_directives(out: &mut Vec<String>, values: &[String]) {
    for value in values {
        let list = match value.split_once(':') {
            Some((name, rest)) if is_token(name.trim()) && !is_valued(name.trim()) => {
                if !name
                    .trim()
                    .eq_ignore_ascii_case(crate::robots::PRODUCT_TOKEN)
                {
                    continue;
                }
                rest
            }
            _ => value.as_str(),
        };
        add_directives(out, list);
    }
}

fn is_valued(name: &str) -> bool {
    VALUED.iter().any(|v| name.eq_ignore_ascii_case(v))
}

/// A user-agent token (no spaces or commas): `googlebot` in `googlebot: noindex`, not `noindex, x` in `noindex, x: y`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Whether a directive list says not to follow links.
#[must_use]
pub(crate) fn nofollow(directives: &[String]) -> bool {
    directives.iter().any(|d| d == "nofollow" || d == "none")
}

/// The first `Link` header target with `rel="canonical"`, resolved against `url` (http(s) only).
#[must_use]
pub(crate) fn link_canonical(values: &[String], url: &Url) -> Option<String> {
    values.iter().find_map(|v| {
        links(v)
            .find(|(_, params)| rel_is(params, "canonical"))
            .and_then(|(target, _)| {
                let mut u = url.join(target.trim()).ok()?;
                u.set_fragment(None);
                matches!(u.scheme(), "http" | "https").then(|| u.into())
            })
    })
}

/// The `<target>; params` elements of one `Link` value. A comma inside `<…>` or a quoted parameter does not split.
fn links(value: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = value;
    std::iter::from_fn(move || {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        let mut quoted = false;
        let end = after
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == ',' && !quoted
            })
            .map_or(after.len(), |(i, _)| i);
        rest = &after[end..];
        Some((target, &after[..end]))
    })
}

/// Whether `; rel=…` among `params` holds `name` (rel is a space-separated list, case-insensitive).
fn rel_is(params: &str, name: &str) -> bool {
    params.split(';').any(|p| {
        let Some((k, v)) = p.split_once('=') else {
            return false;
        };
        k.trim().eq_ignore_ascii_case("rel")
            && v.trim()
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn link_header_canonical() {
        let url = Url::parse("http://h.test/a/b?x=1").unwrap();
        let v = strings(&[
            r#"</style.css>; rel=preload, </c?a,b>; rel="alternate canonical"; title="x, y""#,
        ]);
        assert_eq!(
            link_canonical(&v, &url).as_deref(),
            Some("http://h.test/c?a,b")
        );
        let v = strings(&["<https://o.test/p#f>; REL=Canonical"]);
        assert_eq!(
            link_canonical(&v, &url).as_deref(),
            Some("https://o.test/p")
        );
        let v = strings(&["<mailto:x@y>; rel=canonical", "</next>; rel=next"]);
        assert_eq!(link_canonical(&v, &url), None);
        assert_eq!(link_canonical(&strings(&["garbage <", ">;<"]), &url), None);
    }

    #[test]
    fn x_robots_tag_directives() {
        let mut out = Vec::new();
        add_header_directives(
            &mut out,
            &strings(&[
                "NoIndex, nofollow",
                "googlebot: noarchive",
                "crawlfish: nosnippet",
                "unavailable_after: 25 Jun 2030",
                "noindex",
            ]),
        );
        assert_eq!(
            out,
            [
                "noindex",
                "nofollow",
                "nosnippet",
                "unavailable_after: 25 jun 2030"
            ]
        );
        assert!(nofollow(&out));
        assert!(nofollow(&strings(&["none"])));
        assert!(!nofollow(&strings(&["noindex"])));
    }
}
