//! The Netscape `cookies.txt` format that curl (`-b`/`-c`), wget (`--load-cookies`/`--save-cookies`) and browsers'
//! exporters share: one cookie a line, seven tab-separated fields
//!
//! ```text
//! domain  include-subdomains  path  secure  expiry  name  value
//! ```
//!
//! `include-subdomains` and `secure` are `TRUE`/`FALSE`; `expiry` is Unix seconds, `0` for a session cookie. A
//! domain cookie's domain is written with a leading dot; `#HttpOnly_` before the domain marks an `HttpOnly` cookie
//! (curl's extension); other lines starting with `#`, and blank lines, are comments.

use cookie_store::{Cookie, CookieDomain, CookieExpiration, RawCookie};
use time::OffsetDateTime;
use url::Url;

/// curl's prefix of an `HttpOnly` cookie's line.
const HTTP_ONLY: &str = "#HttpOnly_";

/// The first line of a file crawlfish writes (curl and wget both accept it; some tools look for it).
pub(crate) const HEADER: &str =
    "# Netscape HTTP Cookie File\n# Written by crawlfish: cookies for its requests.\n\n";

/// One line as a cookie, `None` for a comment or a blank line.
///
/// # Errors
/// A line that is not seven fields, or whose fields do not make a cookie for its own domain.
pub(crate) fn parse_line(line: &str) -> Result<Option<Cookie<'static>>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (line, http_only) = match line.strip_prefix(HTTP_ONLY) {
        Some(rest) => (rest, true),
        None if line.starts_with('#') || line.trim().is_empty() => return Ok(None),
        None => (line, false),
    };
    let f: Vec<&str> = line.split('\t').collect();
    let [domain, subdomains, path, secure, expiry, name, value] = f[..] else {
        return Err(format!("{} fields, not 7", f.len()));
    };
    let host = domain.trim_start_matches('.');
    if host.is_empty() || name.is_empty() {
        return Err("no domain or no name".into());
    }
    if !super::header_safe(name) || !super::header_safe(value) {
        return Err("a control or non-ASCII character in the name or value".into());
    }
    let flag = |s: &str| s.eq_ignore_ascii_case("TRUE");
    let expiry: i64 = expiry.parse().map_err(|_| format!("expiry {expiry:?}"))?;
    let mut raw = RawCookie::new(name.to_owned(), value.to_owned());
    raw.set_path(if path.is_empty() { "/" } else { path }.to_owned());
    raw.set_secure(flag(secure));
    raw.set_http_only(http_only);
    if flag(subdomains) || domain.starts_with('.') {
        raw.set_domain(host.to_owned());
    }
    if expiry > 0 {
        let at = OffsetDateTime::from_unix_timestamp(expiry).map_err(|e| e.to_string())?;
        raw.set_expires(at);
    }
    // The cookie is made as if set by its own host: the domain rules hold for a file's cookie as for a server's.
    let url =
        Url::parse(&format!("https://{host}/")).map_err(|e| format!("domain {host:?}: {e}"))?;
    Cookie::try_from_raw_cookie(&raw, &url)
        .map(|c| Some(c.into_owned()))
        .map_err(|e| e.to_string())
}

/// A cookie as one line (with its `\n`), `None` for one without a domain (never in a jar).
#[must_use]
pub(crate) fn line(c: &Cookie<'_>) -> Option<String> {
    let (domain, subdomains) = match &c.domain {
        CookieDomain::HostOnly(d) => (d.clone(), "FALSE"),
        CookieDomain::Suffix(d) => (format!(".{d}"), "TRUE"),
        CookieDomain::NotPresent | CookieDomain::Empty => return None,
    };
    let expiry = match &c.expires {
        CookieExpiration::AtUtc(at) => at.unix_timestamp().max(1),
        CookieExpiration::SessionEnd => 0,
    };
    let prefix = if c.http_only().unwrap_or(false) {
        HTTP_ONLY
    } else {
        ""
    };
    let secure = if c.secure().unwrap_or(false) {
        "TRUE"
    } else {
        "FALSE"
    };
    let path: &str = &c.path;
    Some(format!(
        "{prefix}{domain}\t{subdomains}\t{path}\t{secure}\t{expiry}\t{}\t{}\n",
        c.name(),
        c.value()
    ))
}
