//! Pure URL rules: how an input line becomes a URL ([`normalize`]), which host a URL is queued and rate-limited
//! under ([`host_key`]), and which discovered links a crawl may follow ([`Scope`]).
//!
//! No I/O, no async: everything here is table-tested.

use url::Url;

/// Longest input URL accepted (bytes). Longer lines are `invalid_url`: no server accepts them and they are
/// usually a corrupted list.
pub const MAX_URL_LEN: usize = 8192;

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

/// The politeness key of a URL: its origin (`scheme://host:port`), the unit robots.txt and rate limits apply to.
#[must_use]
pub fn host_key(url: &Url) -> String {
    url.origin().ascii_serialization()
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
    /// Whether `link` may be followed from a crawl rooted at a URL with host `root_host`.
    #[must_use]
    pub fn allows(self, root_host: &str, link: &Url) -> bool {
        let Some(host) = link.host_str() else {
            return false;
        };
        match self {
            Scope::Any => true,
            Scope::Host => host.eq_ignore_ascii_case(root_host),
            Scope::Domain => match (registrable_domain(root_host), registrable_domain(host)) {
                (Some(a), Some(b)) => a == b,
                // IP addresses and bare names have no registrable domain: fall back to the host itself.
                _ => host.eq_ignore_ascii_case(root_host),
            },
        }
    }
}

/// The registrable domain (eTLD+1) of a host, e.g. `example.co.uk` for `a.example.co.uk`.
#[must_use]
pub fn registrable_domain(host: &str) -> Option<&str> {
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    psl::domain_str(host)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let u = normalize("http://A.example.com:8080/x").unwrap();
        assert_eq!(host_key(&u), "http://a.example.com:8080");
    }

    #[test]
    fn scopes() {
        let link = |s: &str| Url::parse(s).unwrap();
        assert!(Scope::Host.allows("a.example.com", &link("http://a.example.com/x")));
        assert!(!Scope::Host.allows("a.example.com", &link("http://b.example.com/x")));
        assert!(Scope::Domain.allows("a.example.co.uk", &link("http://b.example.co.uk/")));
        assert!(!Scope::Domain.allows("a.github.io", &link("http://b.github.io/")));
        assert!(!Scope::Domain.allows("a.example.com", &link("http://example.org/")));
        assert!(Scope::Domain.allows("127.0.0.2", &link("http://127.0.0.2:81/")));
        assert!(!Scope::Domain.allows("127.0.0.2", &link("http://127.0.0.3/")));
        assert!(Scope::Any.allows("a.example.com", &link("http://other.org/")));
    }
}
