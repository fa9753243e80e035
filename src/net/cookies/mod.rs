//! The run's cookie jar: cookies set by responses are kept and sent back by RFC 6265's rules (domain, host-only,
//! path, `Secure`, expiry, `Max-Age=0` deleting), by [`cookie_store`]; a `Domain` that is a public suffix
//! (`co.uk`) is refused here, by [`psl`]'s compiled-in list. `--cookies FILE` fills it from a Netscape
//! `cookies.txt` ([`netscape`]), `--save-cookies FILE` and `--state DIR` write it back ([`Jar::save`]).
//!
//! One jar for the whole run, shared by every host's client: the polite path (`crate::polite`) asks it for a
//! request's `Cookie` header and hands it each response's `Set-Cookie` headers, except for robots.txt, which
//! carries none. The jar is not reqwest's cookie provider: the request would then carry a header crawlfish does
//! not know it sent (the WARC request record is written from what crawlfish sends), and robots.txt could not be
//! left out without a second client per host.
//!
//! Must not decide which requests carry cookies: the caller does.

pub(crate) mod netscape;
#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use cookie_store::{Cookie, CookieDomain, CookieStore};
use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};
use url::Url;

/// `--cookies`, `--save-cookies`, `--keep-session-cookies`, `--no-cookies`.
#[derive(Debug, Clone)]
pub struct CookieOptions {
    /// Cookies are kept and sent back (not `--no-cookies`).
    pub enabled: bool,
    /// `--cookies FILE`: a Netscape `cookies.txt` read at start.
    pub load: Option<PathBuf>,
    /// `--save-cookies FILE`: the jar written there at exit.
    pub save: Option<PathBuf>,
    /// `--keep-session-cookies`: session cookies (no expiry) are saved too, with expiry 0.
    pub keep_session: bool,
}

impl Default for CookieOptions {
    /// On, no files.
    fn default() -> CookieOptions {
        CookieOptions {
            enabled: true,
            load: None,
            save: None,
            keep_session: false,
        }
    }
}

/// The cookies of one run, shared by every client.
#[derive(Debug, Default)]
pub(crate) struct Jar {
    store: Mutex<CookieStore>,
    /// Set once a cookie was ever kept: until then every request skips the lock and the match (most crawls never
    /// meet a cookie, and this runs for every request).
    used: AtomicBool,
}

impl Jar {
    fn lock(&self) -> MutexGuard<'_, CookieStore> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `Cookie` header for a request to `url`, `None` when no cookie matches.
    #[must_use]
    pub(crate) fn header(&self, url: &Url) -> Option<HeaderValue> {
        if !self.used.load(Ordering::Acquire) {
            return None;
        }
        let store = self.lock();
        let mut cookies = store.matches(url);
        if cookies.is_empty() {
            return None;
        }
        // RFC 6265 5.4: longer paths first; then by name, so the header is the same from run to run.
        cookies.sort_by(|a, b| (b.path.len(), a.name()).cmp(&(a.path.len(), b.name())));
        let pairs: Vec<String> = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        HeaderValue::from_str(&pairs.join("; ")).ok()
    }

    /// Keeps the cookies a response from `url` sets (its `Set-Cookie` headers); a cookie the rules refuse is
    /// dropped, one that has expired deletes its namesake.
    pub(crate) fn store(&self, url: &Url, headers: &HeaderMap) {
        let mut cookies = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
            .filter_map(|s| Cookie::parse(s, url).ok())
            .filter_map(|c| admit(c.into_owned(), Some(url)))
            .peekable();
        if cookies.peek().is_none() {
            return;
        }
        let mut store = self.lock();
        for c in cookies {
            let _ = store.insert(c, url);
            self.used.store(true, Ordering::Release);
        }
    }

    /// Reads a Netscape `cookies.txt` into the jar; returns how many cookies it kept. Lines that are not cookies
    /// are skipped with a warning, expired cookies silently.
    ///
    /// # Errors
    /// The file cannot be read.
    pub(crate) fn load(&self, path: &Path) -> std::io::Result<usize> {
        let text = std::fs::read(path)?;
        let text = String::from_utf8_lossy(&text);
        let mut store = self.lock();
        let mut kept = 0;
        for (n, line) in text.lines().enumerate() {
            match netscape::parse_line(line) {
                Ok(None) => {}
                Ok(Some(c)) => {
                    let Some(url) = own_url(&c) else { continue };
                    if let Some(c) = admit(c, None) {
                        kept += usize::from(store.insert(c, &url).is_ok());
                        self.used.store(true, Ordering::Release);
                    }
                }
                Err(e) => tracing::warn!(
                    file = %path.display(),
                    line = n + 1,
                    "not a cookies.txt line, skipped: {e}"
                ),
            }
        }
        Ok(kept)
    }

    /// Whether [`Jar::save`] would write no cookie.
    #[must_use]
    pub(crate) fn nothing_to_save(&self, keep_session: bool) -> bool {
        !self
            .lock()
            .iter_unexpired()
            .any(|c| keep_session || c.is_persistent())
    }

    /// The jar as a Netscape `cookies.txt`: unexpired cookies, session cookies only if `keep_session`, sorted.
    #[must_use]
    pub(crate) fn to_text(&self, keep_session: bool) -> String {
        let store = self.lock();
        let mut lines: Vec<String> = store
            .iter_unexpired()
            .filter(|c| keep_session || c.is_persistent())
            .filter_map(netscape::line)
            .collect();
        lines.sort();
        let mut text = String::from(netscape::HEADER);
        text.extend(lines);
        text
    }

    /// Writes the jar to `path` atomically: a temporary file beside it (`NAME.tmp`), synced, renamed over it.
    ///
    /// # Errors
    /// The temporary file cannot be written or renamed.
    pub(crate) fn save(&self, path: &Path, keep_session: bool) -> std::io::Result<()> {
        let text = self.to_text(keep_session);
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".tmp");
        let tmp = path.with_file_name(name);
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

/// RFC 6265 5.3 step 5: a `Domain` that is a public suffix is refused, unless it names the host of `url`, the
/// request that set it (then the cookie is host-only); a file's cookie (no request) is refused. `None`: refused.
fn admit(mut c: Cookie<'static>, url: Option<&Url>) -> Option<Cookie<'static>> {
    // One cookie a site could grow without bound would have every later request to its domain refused (431), and
    // one that cannot go into a header would have the whole `Cookie` header dropped: both are refused here.
    if c.name().len() + c.value().len() > MAX_COOKIE_BYTES
        || !header_safe(c.name())
        || !header_safe(c.value())
    {
        tracing::debug!("cookie refused: over {MAX_COOKIE_BYTES} bytes, or not header text");
        return None;
    }
    if let CookieDomain::Suffix(d) = &c.domain {
        if psl::suffix_str(d) == Some(d.as_str()) {
            if url.and_then(Url::host_str) != Some(d.as_str()) {
                tracing::debug!(domain = %d, "cookie for a public suffix refused");
                return None;
            }
            c.domain = CookieDomain::HostOnly(d.clone());
        }
    }
    Some(c)
}

/// The most bytes of name and value a kept cookie may have: RFC 6265 6.1's minimum (4096), what browsers and curl
/// cap a cookie at.
const MAX_COOKIE_BYTES: usize = 4096;

/// Whether `s` can be sent in a `Cookie` header as it is: visible ASCII, space and tab (RFC 6265's cookie-octets
/// and what [`HeaderValue::from_str`] takes).
pub(crate) fn header_safe(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// The URL a cookie read from a file is stored as if set by: its own domain, over https (a `Secure` one too).
fn own_url(c: &Cookie<'_>) -> Option<Url> {
    let host = match &c.domain {
        CookieDomain::HostOnly(d) | CookieDomain::Suffix(d) => d,
        CookieDomain::NotPresent | CookieDomain::Empty => return None,
    };
    Url::parse(&format!("https://{host}/")).ok()
}
