//! The fast path for an absolute link that is already written as the URL parser would write it
//! (`http://host[:port]/path[?query][#fragment]` in canonical form): the link, without its fragment, is then its
//! own parse, so no `Url` is built. Anything else (upper case, an IPv4 address not in dotted-quad form, a default
//! port, userinfo, punycode, escapes, dot segments) steps aside for `Url::join`.
//!
//! Why: on the bench site (W1) 8 of every 38 hrefs are absolute, and their full parse (IDNA, the IPv4 parser,
//! re-serialising the address through `fmt`) was 19 % of all instructions under callgrind (2,000 pages), more
//! than the page scan itself.

/// `href` without its fragment when it is an absolute http(s) URL in the form `Url::parse` writes it; `None` means
/// "not sure: parse it".
#[must_use]
pub(crate) fn absolute_plain(href: &str) -> Option<String> {
    let (scheme, rest) = if let Some(rest) = href.strip_prefix("http://") {
        ("http", rest)
    } else {
        ("https", href.strip_prefix("https://")?)
    };
    // The authority ends at the path's `/`; a `?` or `#` before it (no path) steps aside.
    let authority_end = rest.bytes().position(|b| matches!(b, b'/' | b'?' | b'#'))?;
    if rest.as_bytes()[authority_end] != b'/' {
        return None;
    }
    let (authority, path) = rest.split_at(authority_end);
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if !canonical_host(host) || port.is_some_and(|p| !canonical_port(p, scheme)) {
        return None;
    }
    let end = plain_until_fragment(path.as_bytes())?;
    Some(href[..scheme.len() + 3 + authority_end + end].to_owned())
}

/// A lowercase ASCII name (letters, digits, `-`, no empty label, no punycode label) whose last label is not a
/// number, or an IPv4 address in dotted-quad form without leading zeros: the parser writes both unchanged.
/// One pass over the bytes (three `split('.')` passes were 6 % of W1's instructions under callgrind).
fn canonical_host(host: &str) -> bool {
    let bytes = host.as_bytes();
    if bytes.is_empty() || bytes.len() > 253 {
        return false;
    }
    let (mut labels, mut start) = (0usize, 0usize);
    for i in 0..=bytes.len() {
        if i < bytes.len() && bytes[i] != b'.' {
            let b = bytes[i];
            if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                return false;
            }
            continue;
        }
        let label = &bytes[start..i];
        if label.is_empty() || label.len() > 63 || label.starts_with(b"xn--") {
            return false;
        }
        labels += 1;
        start = i + 1;
    }
    let last = &host[host.rfind('.').map_or(0, |i| i + 1)..];
    // The WHATWG host parser treats a name "ending in a number" (digits, or 0x...) as IPv4.
    let numeric = last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
    if !numeric {
        return true;
    }
    labels == 4 && host.split('.').all(decimal_octet)
}

fn decimal_octet(l: &str) -> bool {
    l.bytes().all(|b| b.is_ascii_digit())
        && (l == "0" || !l.starts_with('0'))
        && l.parse::<u8>().is_ok()
}

/// A port the parser keeps as written: digits without a leading zero, at most 65535, not the scheme's default.
fn canonical_port(port: &str, scheme: &str) -> bool {
    let default = if scheme == "http" { 80 } else { 443 };
    !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && !port.starts_with('0')
        && port.parse::<u16>().is_ok_and(|p| p != default)
}

/// Where `s` (a path or relative reference, then a query) ends before its `#`, when everything before that is
/// characters that need no escaping and the path has no dot segment (`.` or `..`); `None` otherwise. One pass
/// over the bytes: the `split`/`find` passes it replaced were 10 % of W1's instructions under callgrind (2,000
/// pages: 56 M of 570 M, in this and `join_plain`).
#[must_use]
pub(crate) fn plain_until_fragment(s: &[u8]) -> Option<usize> {
    let (mut in_query, mut seg_start) = (false, 0usize);
    for (i, &c) in s.iter().enumerate() {
        let ends_segment = !in_query && (c == b'/' || c == b'?' || c == b'#');
        if ends_segment && dot_segment(&s[seg_start..i]) {
            return None;
        }
        match c {
            b'#' => return Some(i),
            b'/' if !in_query => seg_start = i + 1,
            b'?' => in_query = true,
            c if c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'/' | b'-' | b'.' | b'_' | b'~' | b'=' | b'&' | b'+' | b','
                ) => {}
            _ => return None,
        }
    }
    (in_query || !dot_segment(&s[seg_start..])).then_some(s.len())
}

fn dot_segment(seg: &[u8]) -> bool {
    seg == b"." || seg == b".."
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    /// Every combination of these parts: the fast path must give exactly what the parser gives (fragment
    /// dropped), or step aside.
    #[test]
    fn agrees_with_the_parser() {
        let schemes = ["http://", "https://", "HTTP://", "http:/", "ftp://"];
        let hosts = [
            "h.test",
            "H.test",
            "127.0.0.1",
            "127.0.0.01",
            "127.1",
            "0x7f.0.0.1",
            "1.2.3.256",
            "a.1",
            "a..b",
            "a.b.",
            "xn--bcher-kva.test",
            "-a-.test",
            "www.ex-ample.co.uk",
            "[::1]",
            "u@h.test",
            "0.0.0.0",
            "a.0x1",
            "1.2.3.4.5",
            "é.test",
            "h_t.test",
            "",
        ];
        let ports = [
            "", ":8080", ":80", ":443", ":080", ":65536", ":", ":0", ":1",
        ];
        let paths = [
            "/",
            "/a/b.html",
            "/a/../b",
            "/./x",
            "/x?q=1&r=2",
            "/x#f",
            "/x?q#f",
            "/a%20b",
            "/a b",
            "/~u/+,",
            "",
            "?q",
            "/a/..",
            "/é",
        ];
        let mut fast = 0;
        for s in schemes {
            for h in hosts {
                for p in ports {
                    for path in paths {
                        let href = format!("{s}{h}{p}{path}");
                        let Some(got) = absolute_plain(&href) else {
                            continue;
                        };
                        fast += 1;
                        let mut want = Url::parse(&href).unwrap_or_else(|e| panic!("{href}: {e}"));
                        want.set_fragment(None);
                        assert_eq!(got, want.as_str(), "{href}");
                    }
                }
            }
        }
        assert!(
            fast > 100,
            "the fast path is taken for canonical links ({fast})"
        );
        assert_eq!(
            absolute_plain("http://127.0.0.192:8919/s34/p00934.html#sec2").as_deref(),
            Some("http://127.0.0.192:8919/s34/p00934.html")
        );
    }
}
