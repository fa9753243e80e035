//! Pure URL rules: how an input line becomes a URL ([`normalize`]), which host a URL is queued and rate-limited
//! under ([`host_key`]), and which discovered links a crawl may follow ([`Scope`]).
//!
//! No I/O, no async: everything here is table-tested.
//!
//! Must not do I/O or know about requests: it only says what a URL is, whose it is and where it may lead.

mod absolute;
pub(crate) mod address;
pub(crate) mod key;
pub(crate) mod query;
pub(crate) mod save;
pub(crate) mod scope;
pub(crate) mod seen;
pub(crate) mod shard;

use url::Url;

/// Longest input URL accepted (bytes). Longer lines are `invalid_url`: no server accepts them and they are
/// usually a corrupted list.
pub(crate) const MAX_URL_LEN: usize = 8192;

/// Parses and normalises a URL: lowercase scheme and host, IDN → punycode, default port and fragment dropped.
/// A string without `://` is read as `https://STRING`. Only http and https with a host are accepted.
///
/// # Errors
/// A short reason when the string is not an http(s) URL.
pub fn normalize(raw: &str) -> Result<Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("longer than {MAX_URL_LEN} bytes"));
    }
    let parsed = if raw.contains("://") || has_scheme(raw) {
        Url::parse(raw)
    } else {
        Url::parse(&format!("https://{raw}"))
    };
    let mut url = parsed.map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {:?} is not http or https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    url.set_fragment(None);
    Ok(url)
}

/// `mailto:x`, `javascript:y`: a scheme without `//`. `host:8080/x` is a host and port, not a scheme.
fn has_scheme(raw: &str) -> bool {
    let Some((scheme, rest)) = raw.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.starts_with(|c: char| c.is_ascii_digit())
}

/// `url` with its userinfo (`user:password@`) removed, textually, so it works on lines that are not URLs too.
/// Records never show the userinfo of a listed URL (its credentials travel in [`scope::Root`]), and an earlier
/// run's `url` is read through this, so files written before userinfo was stripped still match on
/// `--resume`/`--since`. A line without `://` whose start reads as `NAME:SECRET@` (`admin:s3cr3t@example.com`,
/// which the URL parser takes for the scheme `admin:`) keeps its name and loses the secret:
/// `admin:***@example.com`, so the record still matches its message (scheme "admin") and the line is recognisable.
#[must_use]
pub(crate) fn without_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return mask_schemeless_secret(url).map_or(url.into(), Into::into);
    };
    let rest = &url[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{}{}", &url[..start], &rest[at + 1..]).into(),
        None => url.into(),
    }
}

/// `NAME:SECRET@rest` before the first `/`, `?` or `#` as `NAME:***@rest` (the last `@` ends the secret, as in a
/// URL's authority); `None` when there is no such prefix or the secret is already `***`.
fn mask_schemeless_secret(line: &str) -> Option<String> {
    let head = &line[..line.find(['/', '?', '#']).unwrap_or(line.len())];
    let at = head.rfind('@')?;
    let colon = head[..at].find(':')?;
    let secret = &head[colon + 1..at];
    if secret == "***" {
        return None;
    }
    Some(format!("{}***{}", &line[..=colon], &line[at..]))
}

/// Removes a parsed URL's userinfo (see [`without_userinfo`]); returns whether it had any.
pub(crate) fn strip_userinfo(url: &mut Url) -> bool {
    let had = !url.username().is_empty() || url.password().is_some();
    if had {
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    had
}

/// The politeness key of a URL: its origin (`scheme://host:port`), the unit robots.txt and rate limits apply to.
#[must_use]
pub(crate) fn host_key(url: &Url) -> String {
    host_key_str(url).map_or_else(|| url.origin().ascii_serialization(), str::to_owned)
}

/// [`host_key`] as a slice of the URL itself, without allocating, when it can be one: an http(s) URL without
/// userinfo serialises its origin as its own prefix (the default port is already dropped, hosts are already
/// lowercase punycode, IPv6 in brackets). `None` otherwise.
#[must_use]
pub(crate) fn host_key_str(url: &Url) -> Option<&str> {
    let plain = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && url.host().is_some();
    plain.then(|| &url[..url::Position::BeforePath])
}

/// `--scope`: which discovered links are followed, relative to the listed URL a page descends from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    // Same host as the listed URL.
    Host,
    // Same registrable domain (Public Suffix List).
    Domain,
    // Any http(s) link.
    Any,
}

impl Scope {
    /// Whether a link to `host` may be followed from a crawl rooted at a URL with host `root_host`.
    #[must_use]
    pub fn allows(self, root_host: &str, host: &str) -> bool {
        match self {
            Scope::Any => true,
            // Serialised hosts are lowercase already: the exact compare decides almost every link in one
            // `memcmp` (the per-byte case fold was 1.5 % of W2's instructions).
            Scope::Host => host == root_host || host.eq_ignore_ascii_case(root_host),
            Scope::Domain => match (registrable_domain(root_host), registrable_domain(host)) {
                (Some(a), Some(b)) => a == b,
                // IP addresses and bare names have no registrable domain: fall back to the host itself.
                _ => host.eq_ignore_ascii_case(root_host),
            },
        }
    }
}

/// The host of a URL string as the `url` crate serialises it (`scheme://[userinfo@]host[:port]…`), without
/// parsing the rest: links are checked for scope by the hundred thousand.
///
/// One pass over the authority's bytes for `http(s)://` (every followed link): the general form below, built
/// of `find("://")`, a char-set `find` and `rsplit_once`, cost ~1,000 instructions a link, 11.8 % of all of
/// W2's (callgrind); the two agree on any input (proptest `host_of_fast_path_agrees_with_the_general_form`).
#[must_use]
pub(crate) fn host_of(url: &str) -> Option<&str> {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return host_of_general(url);
    };
    // The authority ends at the first `/`, `?` or `#`; userinfo ends at its last `@`; the port starts at the
    // first `:` after that (all ASCII: the indices are char boundaries).
    let (mut start, mut colon, mut end) = (0, None, rest.len());
    for (i, &c) in rest.as_bytes().iter().enumerate() {
        match c {
            b'/' | b'?' | b'#' => {
                end = i;
                break;
            }
            b'@' => (start, colon) = (i + 1, None),
            b':' if colon.is_none() => colon = Some(i),
            _ => {}
        }
    }
    if rest.as_bytes().get(start) == Some(&b'[') {
        return host_in(&rest[start..end]);
    }
    Some(&rest[start..colon.unwrap_or(end)])
}

/// [`host_of`] for any scheme: the first `://`, then the same authority rules.
fn host_of_general(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host_in(host_port)
}

/// The host of `host[:port]` (an IPv6 literal keeps its brackets; one without its `]` has none).
fn host_in(host_port: &str) -> Option<&str> {
    if host_port.starts_with('[') {
        return host_port.find(']').map(|end| &host_port[..=end]);
    }
    Some(host_port.split_once(':').map_or(host_port, |(h, _)| h))
}

/// Resolves `href` against `base` exactly as [`Url::join`] would (fragment dropped) when it is a plain path
/// (root-relative or relative, no dot segments, only characters that need no escaping) or an absolute http(s) URL
/// already in canonical form ([`absolute::absolute_plain`]): the common cases, done
/// without a full URL parse. `None` means "not plain: use `Url::join`".
#[must_use]
pub(crate) fn join_plain(base: &Url, href: &str) -> Option<String> {
    if href.starts_with("http") {
        if let Some(link) = absolute::absolute_plain(href) {
            return Some(link);
        }
    }
    let first = *href.as_bytes().first()?;
    if !(first == b'/' || first.is_ascii_alphanumeric()) || href.starts_with("//") {
        return None;
    }
    // No `:` passes (so no scheme), nor a dot segment; the fragment is cut.
    let href = &href[..absolute::plain_until_fragment(href.as_bytes())?];
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return None;
    }
    let origin = &base[..url::Position::BeforePath];
    let mut out = String::with_capacity(origin.len() + base.path().len() + href.len());
    out.push_str(origin);
    if first != b'/' {
        let dir = base.path();
        out.push_str(&dir[..=dir.rfind('/')?]);
    }
    out.push_str(href);
    Some(out)
}

/// A host name as typed (`--resolve`, `--no-proxy`, a shard key) spelled as URLs spell it: a name with non-ASCII
/// characters goes through IDNA (UTS #46, as the `url` crate maps every URL's host) to lowercase punycode,
/// `bücher.test` → `xn--bcher-kva.test`, and U+3002 and the other full stops become `.`; a name with a punycode
/// label (`xn--…`) is checked the same way; any other ASCII name is returned as it is. `None`: no URL could have
/// this host (not a valid IDN, or invalid punycode such as `xn--zz.test`).
/// Without this a flag keyed by the typed name would never meet a URL's host.
#[must_use]
pub(crate) fn ascii_host(host: &str) -> Option<std::borrow::Cow<'_, str>> {
    let punycode = host.split('.').any(|label| {
        label
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
    });
    if host.is_ascii() && !punycode {
        return Some(std::borrow::Cow::Borrowed(host));
    }
    match url::Host::parse(host) {
        Ok(url::Host::Domain(d)) => Some(std::borrow::Cow::Owned(d)),
        _ => None,
    }
}

/// A host name typed in a flag that is matched against URL hosts (`--resolve`), as the resolver looks a URL's
/// host up: [`ascii_host`] first (so `bücher.test。` is `xn--bcher-kva.test.`), then without its one final dot,
/// lowercased.
///
/// # Errors
/// Why no URL host could match it: an empty label (`.a`, `a..b`, `a..`, also when typed with U+3002), or not a
/// valid host name at all (invalid punycode, characters IDNA refuses).
pub(crate) fn typed_host_name(host: &str) -> Result<String, &'static str> {
    let ascii = ascii_host(host).ok_or("is not a valid host name (no URL can have it)")?;
    let name = ascii.strip_suffix('.').unwrap_or(&ascii);
    if name.is_empty() || name.split('.').any(str::is_empty) {
        return Err("is not a host name (an empty label)");
    }
    Ok(name.to_ascii_lowercase())
}

/// The registrable domain (eTLD+1) of a host, e.g. `example.co.uk` for `a.example.co.uk`.
#[must_use]
pub(crate) fn registrable_domain(host: &str) -> Option<&str> {
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    psl::domain_str(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards: a line without a scheme read as scheme `admin:` kept its password in the invalid_url record.
    #[test]
    fn a_password_before_the_host_of_a_schemeless_line_is_masked() {
        for (line, masked) in [
            ("admin:s3cr3tQ2@example.com", "admin:***@example.com"),
            (
                "user:s3cr3tQ1@127.0.0.3:8000/p9",
                "user:***@127.0.0.3:8000/p9",
            ),
            ("u:a@b@host/x@y", "u:***@host/x@y"),
            ("user:***@host", "user:***@host"),
            ("host:8080/a@b", "host:8080/a@b"),
            ("mailto-less@example.com", "mailto-less@example.com"),
        ] {
            assert_eq!(without_userinfo(line), masked, "{line}");
            assert_eq!(without_userinfo(masked), masked, "idempotent: {masked}");
        }
        let invalid = normalize("admin:s3cr3tQ2@example.com").unwrap_err();
        assert!(!invalid.contains("s3cr3t"), "{invalid}");
    }

    #[test]
    fn typed_idns_are_spelled_as_urls_spell_them() {
        let url = Url::parse("http://Bücher.test/").unwrap();
        assert_eq!(ascii_host("bücher.test").unwrap(), url.host_str().unwrap());
        assert_eq!(ascii_host("BÜCHER.test").unwrap(), "xn--bcher-kva.test");
        assert_eq!(
            ascii_host("Example.COM").unwrap(),
            "Example.COM",
            "ASCII is left to the caller"
        );
        assert_eq!(ascii_host("bü cher.test"), None);
    }

    // Guards: IDN forms of a --resolve name were accepted but never matched a URL (or matched no URL at all).
    #[test]
    fn typed_host_names_are_converted_before_their_dots_are_checked() {
        let url = Url::parse("http://bücher.test:8801/").unwrap();
        let host = url.host_str().unwrap();
        assert_eq!(
            typed_host_name("bücher.test。").unwrap(),
            host,
            "U+3002 is a full stop"
        );
        assert_eq!(typed_host_name("BÜCHER.test.").unwrap(), host);
        assert_eq!(typed_host_name("XN--bcher-kva.test").unwrap(), host);
        for empty_label in [
            "。bücher.test",
            "bücher.test。。",
            "bücher。。test",
            ".a",
            "a..",
            "。",
            "",
        ] {
            assert_eq!(
                typed_host_name(empty_label),
                Err("is not a host name (an empty label)"),
                "{empty_label:?}"
            );
        }
        for no_url in ["xn--zz.test", "a.xn--.test", "bü cher.test"] {
            assert!(
                Url::parse(&format!("http://{no_url}/")).is_err(),
                "{no_url}"
            );
            assert!(ascii_host(no_url).is_none(), "{no_url}");
            assert!(
                typed_host_name(no_url).unwrap_err().contains("not a valid"),
                "{no_url}"
            );
        }
    }

    #[test]
    fn normalises_case_ports_fragments_idn() {
        let cases = [
            ("HTTP://Example.COM:80/a#frag", "http://example.com/a"),
            ("https://example.com:443", "https://example.com/"),
            (
                "https://example.com:8443/x?q=1",
                "https://example.com:8443/x?q=1",
            ),
            ("example.com/path", "https://example.com/path"),
            ("http://bücher.example/", "http://xn--bcher-kva.example/"),
            ("http://127.0.0.2:8080/#top", "http://127.0.0.2:8080/"),
            ("localhost:8080/x", "https://localhost:8080/x"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_http() {
        for bad in [
            "ftp://example.com/",
            "mailto:someone@example.com",
            "http://",
            "https://exa mple.com/",
            "http://example.com:99999/",
            "javascript:alert(1)",
        ] {
            assert!(normalize(bad).is_err(), "{bad} should be invalid");
        }
        assert!(normalize(&format!("https://e.com/{}", "a".repeat(MAX_URL_LEN))).is_err());
    }

    #[test]
    fn host_key_is_the_origin() {
        for u in [
            "http://a.test/x",
            "https://A.test:443/x?y",
            "http://a.test:8080",
            "http://[::1]:9/",
            "https://xn--bcher-kva.example/",
            "http://u:p@a.test/",
        ] {
            let url = Url::parse(u).unwrap();
            assert_eq!(host_key(&url), url.origin().ascii_serialization(), "{u}");
        }
        let u = normalize("http://A.example.com:8080/x").unwrap();
        assert_eq!(host_key(&u), "http://a.example.com:8080");
    }

    #[test]
    fn scopes() {
        assert!(Scope::Host.allows("a.example.com", "a.example.com"));
        assert!(!Scope::Host.allows("a.example.com", "b.example.com"));
        assert!(Scope::Domain.allows("a.example.co.uk", "b.example.co.uk"));
        assert!(!Scope::Domain.allows("a.github.io", "b.github.io"));
        assert!(!Scope::Domain.allows("a.example.com", "example.org"));
        assert!(Scope::Domain.allows("127.0.0.2", "127.0.0.2"));
        assert!(!Scope::Domain.allows("127.0.0.2", "127.0.0.3"));
        assert!(Scope::Any.allows("a.example.com", "other.org"));
    }

    #[test]
    fn host_of_serialised_urls() {
        for u in [
            "http://a.test/x",
            "https://u:p@b.test:8443/x?y#z",
            "http://[::1]:8080/",
            "http://127.0.0.2:81",
            "http://xn--bcher-kva.example?q",
        ] {
            let parsed = Url::parse(u).unwrap();
            assert_eq!(host_of(parsed.as_str()), parsed.host_str(), "{u}");
        }
    }

    /// The fast path must give exactly what `Url::join` gives, or step aside.
    #[test]
    fn join_plain_agrees_with_url_join() {
        let bases = [
            "http://h.test/dir/page.html?q=1",
            "https://h.test:8443/",
            "http://h.test/a/b/",
            "http://h.test",
        ];
        let hrefs = [
            "a.html",
            "/abs/x.html",
            "sub/dir/",
            "p?x=1&y=2",
            "p#frag",
            "/#top",
            "x+y,z~_-.html",
            "a..b",
            ".hidden",
            "../up",
            "./here",
            "a/./b",
            "a/../b",
            "/a/..",
            "//other.test/x",
            "mailto:x@y",
            "javascript:void(0)",
            "c:foo",
            "",
            "?only",
            "#only",
            "a b",
            "a%20b",
            "é",
            "a\\b",
            "http://abs.test/",
            "a:b/c",
            "x/y:z",
        ];
        for base in bases {
            let base = Url::parse(base).unwrap();
            for href in hrefs {
                let Some(fast) = join_plain(&base, href) else {
                    continue;
                };
                let mut slow = base.join(href).unwrap();
                slow.set_fragment(None);
                assert_eq!(fast, slow.as_str(), "{base} + {href}");
            }
        }
        assert!(
            join_plain(&Url::parse("http://h.test/").unwrap(), "a.html").is_some(),
            "the fast path is used"
        );
    }

    proptest::proptest! {
        // Fixed seed: the same cases every `cargo test`; hrefs from an alphabet heavy in the bytes the fast
        // path's one-pass scan decides on (`.` `/` `?` `#` `:` `%`), relative and absolute.
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 3000,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x19),
            ..proptest::prelude::ProptestConfig::default()
        })]
        #[test]
        fn join_plain_agrees_with_url_join_on_any_href(
            prefix in "(|/|//|http://|https://|http://h\\.test|https://a\\.b:8443|http://1\\.2\\.3\\.4)",
            tail in "(\\.|\\.\\.|/|\\?|#|:|%|%2e|a|B|7|=|&|\\+|,|~|_|-| |é){0,12}",
            base in "(http://h\\.test/d/p\\?q|https://h\\.test:8443/|http://h\\.test)",
        ) {
            let base = Url::parse(&base).unwrap();
            let href = format!("{prefix}{tail}");
            if let Some(fast) = join_plain(&base, &href) {
                let mut slow = base.join(&href).unwrap();
                slow.set_fragment(None);
                proptest::prop_assert_eq!(fast, slow.as_str(), "href {:?}", href);
            }
        }

        /// The one-pass `http(s)://` form gives what the general one gives, on strings heavy in the bytes both
        /// decide on; and on real URLs, what `Url::host_str` gives.
        #[test]
        fn host_of_fast_path_agrees_with_the_general_form(
            scheme in "(http://|https://|ftp://|http:/|HTTP://|)",
            tail in "(/|\\?|#|@|:|\\[|\\]|a|B|7|\\.|é|%){0,14}",
        ) {
            let url = format!("{scheme}{tail}");
            proptest::prop_assert_eq!(host_of(&url), host_of_general(&url), "{:?}", url);
            if let Ok(parsed) = Url::parse(&url) {
                if parsed.has_host() {
                    proptest::prop_assert_eq!(host_of(parsed.as_str()), parsed.host_str(), "{:?}", url);
                }
            }
        }
    }
}
