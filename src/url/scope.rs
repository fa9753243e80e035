//! The listed URL a request descends from ([`Root`]): what `--scope` is measured against, and the only origin `-H`
//! headers and userinfo credentials go to.

use std::sync::Arc;

use url::{Origin, Url};

/// The listed URL a request descends from: the reference for `--scope`, the only origin `-H` headers and
/// userinfo credentials go to, and those credentials.
#[derive(Debug)]
pub(crate) struct Root {
    /// Host name of the listed URL (for `--scope`).
    pub host: Box<str>,
    /// Origin of the listed URL: requests to it carry `-H` and the userinfo.
    pub origin: Origin,
    /// `origin` serialised once (`scheme://host[:port]`), for the per-request comparison.
    origin_key: Box<str>,
    /// The listed URL's userinfo, percent-decoded (user, password).
    pub basic: Option<(String, Option<String>)>,
}

impl Root {
    /// The root of a listed URL, shared by every job that descends from it.
    #[must_use]
    pub(crate) fn shared(url: &Url) -> Arc<Root> {
        Arc::new(Root::of(url))
    }

    /// Whether `url` is on this root's origin (compared without building an `Origin` when the URL's own prefix
    /// is its origin: once per request).
    #[must_use]
    pub(crate) fn is_origin_of(&self, url: &Url) -> bool {
        match crate::url::host_key_str(url) {
            Some(k) => *self.origin_key == *k,
            None => url.origin() == self.origin,
        }
    }

    #[must_use]
    pub(crate) fn of(url: &Url) -> Root {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let basic = (!url.username().is_empty() || url.password().is_some())
            .then(|| (decode(url.username()), url.password().map(decode)));
        Root {
            host: url.host_str().unwrap_or_default().into(),
            origin: url.origin(),
            origin_key: url.origin().ascii_serialization().into(),
            basic,
        }
    }
}
