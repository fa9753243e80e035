//! The listed URL a request descends from ([`Root`]): what `--scope` is measured against, the only origin `-H`
//! headers and userinfo credentials go to, and the address class the address guard measures against.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use url::{Host, Origin, Url};

use crate::url::address::{reference_class, Class};

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
    /// The address class of the listed URL ([`crate::url::address`]): every request descending from it may reach
    /// this class or one further out. Known at once for an address; for a name, set by the polite path from the
    /// first address the listed URL's host answered from (or, through a proxy, from the name alone).
    reference: OnceLock<Class>,
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

    /// The listed URL's address class, once known.
    #[must_use]
    pub(crate) fn reference(&self) -> Option<Class> {
        self.reference.get().copied()
    }

    /// Sets the listed URL's address class unless it is known already (the first one set stays).
    pub(crate) fn learn_reference(&self, class: Class) -> Class {
        *self.reference.get_or_init(|| class)
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
        let reference = OnceLock::new();
        match url.host() {
            Some(Host::Ipv4(v4)) => _ = reference.set(reference_class(IpAddr::V4(v4))),
            Some(Host::Ipv6(v6)) => _ = reference.set(reference_class(IpAddr::V6(v6))),
            _ => {}
        }
        Root {
            host: url.host_str().unwrap_or_default().into(),
            origin: url.origin(),
            origin_key: url.origin().ascii_serialization().into(),
            basic,
            reference,
        }
    }
}
