//! The address guard's part in the polite path: which ceiling a request is under (its listed URL's address
//! class, [`crate::url::scope::Root`]), the check of an address written in a URL (reqwest connects to those
//! without asking a resolver), and learning a listed URL's class from the first connection made for it. Names
//! are checked where the resolver hands addresses to the connector ([`crate::net::dns::guard`]), through the
//! client for the request's ceiling ([`crate::polite::host::Host::client`]). A child of `polite/mod.rs`.

use url::Url;

use super::Polite;
use crate::record::{ErrorKind, FetchError};
use crate::url::address::{reference_class, Class};
use crate::url::scope::Root;

impl Polite {
    /// The class a request for `url` under `root` may reach (and any further out). A listed URL named by an
    /// address knows its class from the start, one whose name the resolver answers locally (`--resolve`,
    /// `localhost`, `/etc/hosts`) from that answer; any other learns it from the address its host answered from
    /// on the first connection made for it (robots.txt or the page), which is therefore not held to a class
    /// (only to the rules that do not depend on one). When the first request goes elsewhere (a root made from a
    /// `--resume`d page) or through a proxy (whose address the connection reports), the class is looked up
    /// instead ([`crate::net::fetch::Fetcher::reference_class`]).
    pub(super) async fn ceiling(&self, root: &Root, url: &Url) -> Class {
        let rules = &self.fetcher.options().addresses;
        if let Some(known) = root.reference() {
            return rules.ceiling(Some(known));
        }
        // Without I/O, so the run's `*.localhost` and `--resolve` names need no pool of their own for the first
        // connection.
        if let Some(local) = self.fetcher.local_class(&root.host) {
            return rules.ceiling(Some(root.learn_reference(local)));
        }
        let own_host = url.host_str().is_some_and(|h| *h == *root.host);
        if own_host && !self.fetcher.options().proxies.any() {
            return rules.ceiling(None);
        }
        let class = self.fetcher.reference_class(&root.host).await;
        rules.ceiling(Some(root.learn_reference(class)))
    }

    /// The first answer under a root whose class is not known yet gives it: the class of the address that
    /// answered (not through a proxy: that address is the proxy's).
    pub(super) fn learn(&self, root: &Root, resp: &reqwest::Response) {
        if root.reference().is_some() || self.fetcher.options().proxies.any() {
            return;
        }
        if let Some(peer) = resp.remote_addr() {
            root.learn_reference(reference_class(peer.ip()));
        }
    }

    /// Refuses a request whose URL names an address (or a cloud metadata name) it may not reach under
    /// `ceiling`, before anything is sent: such a URL never reaches the resolver, where names are checked.
    pub(super) fn guard(&self, url: &Url, ceiling: Class) -> Result<(), FetchError> {
        let Some(host) = url.host() else {
            return Ok(());
        };
        self.fetcher
            .options()
            .addresses
            .check_host(&host, ceiling)
            .map_err(|rule| {
                FetchError::Refused(ErrorKind::BlockedAddress, format!("{url}: {rule}"))
            })
    }
}
