//! `--strip-query GLOB` and `--sort-query`: how a discovered URL's query is canonicalised before it is deduplicated,
//! so `?utm_source=a&id=1` and `?id=1` are one page. Listed URLs are kept as written (the caller decides that).
//!
//! Pure: no I/O. A run without either flag never calls [`QueryRules::apply`]'s slow path.

use std::borrow::Cow;

/// What to do to a discovered URL's query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryRules {
    /// Parameter-name globs (`*` any run, `?` one character), compared case-sensitively as servers do.
    strip: Vec<String>,
    /// Sort the remaining parameters by name (stable: equal names keep their order).
    sort: bool,
}

impl QueryRules {
    /// Rules from `--strip-query` globs and `--sort-query`.
    #[must_use]
    pub fn new(strip: Vec<String>, sort: bool) -> QueryRules {
        QueryRules { strip, sort }
    }

    /// No flag given: every URL is left as it is.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.strip.is_empty() && !self.sort
    }

    /// `url` (absolute, fragment-free) with the stripped parameters gone and the rest sorted; an empty query
    /// loses its `?`. Parameters are split on `&` and compared by their raw (still percent-encoded) names, so
    /// nothing is decoded or re-encoded: what is kept is kept byte for byte.
    #[must_use]
    pub fn apply<'a>(&self, url: &'a str) -> Cow<'a, str> {
        if self.is_empty() {
            return Cow::Borrowed(url);
        }
        let Some((head, query)) = url.split_once('?') else {
            return Cow::Borrowed(url);
        };
        let mut params: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let name = p.split_once('=').map_or(*p, |(n, _)| n);
                !self
                    .strip
                    .iter()
                    .any(|g| glob(g.as_bytes(), name.as_bytes()))
            })
            .collect();
        if self.sort {
            params.sort_by_key(|p| p.split_once('=').map_or(*p, |(n, _)| n));
        }
        let joined = params.join("&");
        if joined == query {
            return Cow::Borrowed(url);
        }
        if joined.is_empty() {
            return Cow::Owned(head.to_owned());
        }
        Cow::Owned(format!("{head}?{joined}"))
    }
}

/// Whether `name` matches `pattern` (`*`: any run, `?`: one byte). Iterative with one backtrack point, so it is
/// linear-ish and never recurses whatever the pattern.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(strip: &[&str], sort: bool) -> QueryRules {
        QueryRules::new(strip.iter().map(|s| (*s).to_owned()).collect(), sort)
    }

    #[test]
    fn globs() {
        assert!(glob(b"utm_*", b"utm_source"));
        assert!(glob(b"utm_*", b"utm_"));
        assert!(!glob(b"utm_*", b"xutm_source"));
        assert!(glob(b"fbclid", b"fbclid"));
        assert!(!glob(b"fbclid", b"fbclid2"));
        assert!(glob(b"*id", b"sessionid"));
        assert!(glob(b"s?ssion*", b"session_x"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"a*b*c", b"aXbY"));
        assert!(glob(b"a*b*c", b"aXbYc"));
    }

    #[test]
    fn strips_and_sorts() {
        let r = rules(&["utm_*", "fbclid"], false);
        assert_eq!(
            r.apply("http://h/p?utm_source=x&id=2&fbclid=9"),
            "http://h/p?id=2"
        );
        assert_eq!(r.apply("http://h/p?utm_source=x"), "http://h/p");
        assert_eq!(r.apply("http://h/p?b=1&a=2"), "http://h/p?b=1&a=2");
        let r = rules(&[], true);
        assert_eq!(r.apply("http://h/p?b=1&a=2&b=0"), "http://h/p?a=2&b=1&b=0");
        assert_eq!(r.apply("http://h/p"), "http://h/p");
        assert!(matches!(r.apply("http://h/p?a=1&b=2"), Cow::Borrowed(_)));
        assert!(matches!(
            QueryRules::default().apply("http://h/p?b&a"),
            Cow::Borrowed(_)
        ));
    }
}
