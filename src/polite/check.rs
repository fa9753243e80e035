//! `--check-links`' check of a link the crawl does not follow: a HEAD through the whole polite path (robots.txt,
//! the host's limiter and backoff, retries, redirects anywhere, `-H` scoping, the address guard, the archive),
//! and a GET the same way when the server will not answer HEAD. Only the outcome matters, never the page: the
//! caller does not parse it.

use url::Url;

use super::{Follow, Polite, Trip};
use crate::net::request_log::Method;
use crate::record::ErrorKind;
use crate::url::scope::Root;

/// Statuses that say "not HEAD" rather than "not this URL": 405 Method Not Allowed, 501 Not Implemented.
const HEAD_REFUSED: [u16; 2] = [405, 501];

impl Polite {
    /// Checks `url` (a link found under `root`): HEAD first; GET (up to `max_body` bytes, unparsed) when HEAD
    /// answered [`HEAD_REFUSED`] or failed in a way a server's HEAD handling explains (a malformed answer, a body
    /// where none may be). Redirects are followed anywhere (each hop through this path), so the final status
    /// counts. `attempts` counts both trips.
    pub(crate) async fn check(&self, url: &Url, root: &Root, max_body: u64) -> Trip {
        let head = self
            .get(url, root, Follow::Anywhere, max_body, None, Method::Head)
            .await;
        let refused = match &head.result {
            Ok(resp) => HEAD_REFUSED.contains(&resp.status),
            Err(e) => matches!(e.kind(), ErrorKind::Other | ErrorKind::Body),
        };
        if !refused {
            return head;
        }
        let mut get = self
            .get(url, root, Follow::Anywhere, max_body, None, Method::Get)
            .await;
        get.attempts += head.attempts;
        get
    }
}
