//! The network options every HTTP client of a run is built with: which proxy a request goes through
//! (`--proxy`, `--no-proxy`, else the standard environment variables) and the TLS trust of [`crate::net::trust`], resolved
//! once per run into a `ClientOptions` that [`crate::net::fetch`] applies to each client it builds (one per host).
//! Owns the masking of proxy credentials in anything crawlfish prints.
//!
//! Must not touch name resolution, which headers a request carries, or when it is sent ([`crate::net::fetch`],
//! [`crate::polite`]): a proxy changes where a connection goes, never which requests are made.

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use anyhow::{bail, Result};
use url::Url;

use crate::net::trust::Trust;

/// The proxy schemes crawlfish accepts (reqwest also speaks SOCKS4: not offered, see README).
const SCHEMES: [&str; 4] = ["http", "https", "socks5", "socks5h"];
/// What a password is shown as.
const MASK: &str = "***";
/// The CGI variable under which the proxy environment is ignored (httpoxy: a request's `Proxy:` header
/// becomes `HTTP_PROXY` there), as reqwest does.
const CGI_MARKER: &str = "REQUEST_METHOD";
/// The environment, in the order reqwest reads it: upper case first, then lower case.
const ENV_HTTP: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
const ENV_HTTPS: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
const ENV_ALL: [&str; 2] = ["ALL_PROXY", "all_proxy"];
const ENV_NO: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// Which requests a proxy rule takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Targets {
    All,
    Http,
    Https,
}

/// One proxy, checked, and where it came from (`--proxy` or the variable's name) for messages.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ProxyRule {
    pub(crate) targets: Targets,
    url: Url,
    pub(crate) source: String,
}

impl fmt::Debug for ProxyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {} ({})",
            self.targets,
            mask(&self.url),
            self.source
        )
    }
}

/// The proxies of a run: empty means every request connects directly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    pub(crate) rules: Vec<ProxyRule>,
    /// The bypass list (`--no-proxy`, else `NO_PROXY`), as curl and reqwest read it.
    pub(crate) no_proxy: Option<String>,
}

impl Proxies {
    /// `--proxy` wins over the environment (`''` means no proxy, environment ignored); `--no-proxy` wins over
    /// `NO_PROXY`/`no_proxy` and applies to whichever proxy is in use. `env` reads one variable.
    ///
    /// # Errors
    /// A usage error naming the flag or variable: an unsupported scheme, not a URL, no host, or a bypass entry
    /// that is neither a host name, an IP address nor a CIDR block.
    pub fn from_flags(
        proxy: Option<&str>,
        no_proxy: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Proxies> {
        let first = |names: [&'static str; 2]| {
            names
                .iter()
                .find_map(|n| env(n).filter(|v| !v.is_empty()).map(|v| (*n, v)))
        };
        let mut rules = Vec::new();
        match proxy {
            Some("") => {}
            Some(raw) => rules.push(ProxyRule {
                targets: Targets::All,
                url: parse_proxy(raw, "--proxy")?,
                source: "--proxy".into(),
            }),
            None if env(CGI_MARKER).is_some() => {}
            None => {
                // Specific first: reqwest takes the first rule that matches, and ALL_PROXY is the fallback.
                for (names, targets) in [
                    (ENV_HTTP, Targets::Http),
                    (ENV_HTTPS, Targets::Https),
                    (ENV_ALL, Targets::All),
                ] {
                    if let Some((name, value)) = first(names) {
                        rules.push(ProxyRule {
                            targets,
                            url: parse_proxy(&value, name)?,
                            source: name.into(),
                        });
                    }
                }
            }
        }
        let no_proxy = match no_proxy {
            Some(list) => Some(no_proxy_list(list, "--no-proxy", true)?),
            None => first(ENV_NO)
                .map(|(name, list)| no_proxy_list(&list, name, false))
                .transpose()?,
        };
        // `*` bypasses every proxy: no rule at all, so a request costs no proxy lookup.
        if no_proxy
            .as_deref()
            .is_some_and(|l| l.split(',').any(|e| e.trim() == "*"))
        {
            rules.clear();
        }
        Ok(Proxies { rules, no_proxy })
    }

    /// One line for `-v`, credentials masked.
    #[must_use]
    pub(crate) fn describe(&self) -> Option<String> {
        if self.rules.is_empty() {
            return None;
        }
        let rules: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let which = match r.targets {
                    Targets::All => "all",
                    Targets::Http => "http://",
                    Targets::Https => "https://",
                };
                format!("{which} via {} ({})", mask(&r.url), r.source)
            })
            .collect();
        let mut line = rules.join(", ");
        if let Some(list) = &self.no_proxy {
            let _ = write!(line, "; direct for {list:?}");
        }
        Some(line)
    }

    /// The proxies' own host names, lowercase, without a final dot: the resolver answers them unguarded (the
    /// user chose them, and the class rule is about where a crawl leads, not how it gets out).
    #[must_use]
    pub(crate) fn host_names(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter_map(|r| match r.url.host() {
                Some(url::Host::Domain(d)) => Some(d.trim_end_matches('.').to_ascii_lowercase()),
                _ => None,
            })
            .collect()
    }

    /// Whether any request may go through a proxy (then the peer's address is the proxy's, not the target's).
    #[must_use]
    pub(crate) fn any(&self) -> bool {
        !self.rules.is_empty()
    }

    fn to_reqwest(&self) -> Result<Vec<reqwest::Proxy>, reqwest::Error> {
        let bypass = self
            .no_proxy
            .as_deref()
            .and_then(reqwest::NoProxy::from_string);
        self.rules
            .iter()
            .map(|r| {
                let url = r.url.as_str();
                let p = match r.targets {
                    Targets::All => reqwest::Proxy::all(url),
                    Targets::Http => reqwest::Proxy::http(url),
                    Targets::Https => reqwest::Proxy::https(url),
                }?;
                Ok(p.no_proxy(bypass.clone()))
            })
            .collect()
    }
}

/// `raw` as a proxy URL: `host:port` alone means `http://host:port` (curl and reqwest read it so).
fn parse_proxy(raw: &str, source: &str) -> Result<Url> {
    let full = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("http://{raw}")
    };
    let shown = mask_raw(raw);
    let url = match Url::parse(&full) {
        Ok(u) => u,
        Err(e) => bail!("{source} {shown:?}: not a proxy URL ({e})"),
    };
    if !SCHEMES.contains(&url.scheme()) {
        bail!(
            "{source} {shown:?}: unsupported proxy scheme {:?} (use {})",
            url.scheme(),
            SCHEMES.join(", ")
        );
    }
    if url.host_str().is_none_or(str::is_empty) {
        bail!("{source} {shown:?}: no proxy host");
    }
    Ok(url)
}

/// The bypass list for reqwest's `NoProxy`, entry by entry: `*.example.com` is read as `.example.com` (the glob
/// form Windows and Java use). An entry that is not a host name, IP address, CIDR block or `*` fails `--no-proxy`
/// (a mistyped list must not silently match nothing); in `NO_PROXY`, which other tools share and may extend
/// (ports, patterns), such an entry is left out and logged at `-v`.
fn no_proxy_list(list: &str, source: &str, strict: bool) -> Result<String> {
    let mut kept = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let entry = entry
            .strip_prefix('*')
            .filter(|e| e.starts_with('.'))
            .unwrap_or(entry);
        // Matched against URL hosts, which spell an IDN in punycode: `bücher.test` as `xn--bcher-kva.test`. A name
        // no URL can have (invalid punycode, `xn--zz.test`) is `None`, and refused below as no host name is.
        let (dot, name) = entry.strip_prefix('.').map_or(("", entry), |n| (".", n));
        let ascii = crate::url::ascii_host(name).map(|n| format!("{dot}{n}"));
        let valid = ascii.is_some();
        let entry = ascii.unwrap_or_else(|| entry.to_owned());
        let entry = entry.as_str();
        let ok = valid
            && (entry == "*"
                || entry
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .is_ok()
                || is_cidr(entry)
                || is_host_name(entry.strip_prefix('.').unwrap_or(entry)));
        if ok {
            kept.push(entry.to_owned());
        } else if strict {
            bail!(
                "{source} {list:?}: {entry:?} is not a host name, domain, IP address, CIDR block or '*'"
            );
        } else {
            tracing::info!(
                "{source}: entry {entry:?} ignored (not a host name, domain, IP address, CIDR block or '*')"
            );
        }
    }
    Ok(kept.join(","))
}

fn is_cidr(entry: &str) -> bool {
    let Some((ip, bits)) = entry.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.parse::<u8>().is_ok_and(|b| b <= max)
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The URL with its password replaced by `***` (the user name is kept: it says which account is used).
#[must_use]
pub(crate) fn mask(url: &Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    let _ = shown.set_password(Some(MASK));
    shown.to_string()
}

/// A proxy value as typed (it may not parse): everything between the scheme and the last `@` of the authority
/// goes. Also used for `--warc`'s record of the command line.
pub(crate) fn mask_raw(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    let end = raw[start..]
        .find(['/', '?', '#'])
        .map_or(raw.len(), |i| start + i);
    match raw[start..end].rfind('@') {
        Some(at) => format!("{}{MASK}{}", &raw[..start], &raw[start + at..]),
        None => raw.to_owned(),
    }
}

/// What each client of the run is built with, made once: the TLS configuration (its root store read once)
/// and the proxies.
#[derive(Clone)]
pub(crate) struct ClientOptions {
    tls: rustls::ClientConfig,
    proxies: Vec<reqwest::Proxy>,
}

impl ClientOptions {
    /// Logs the proxies in use (`-v`) and, once per run, that `-k` turned verification off.
    pub(crate) fn new(proxies: &Proxies, trust: &Trust) -> Result<ClientOptions, reqwest::Error> {
        if let Some(line) = proxies.describe() {
            tracing::info!("proxy: {line}");
        }
        if trust.insecure {
            tracing::warn!(
                "-k/--insecure: TLS certificates are not verified, so anyone on the network path can read and \
                 change the traffic"
            );
        }
        Ok(ClientOptions {
            tls: trust.client_config(),
            proxies: proxies.to_reqwest()?,
        })
    }

    /// `builder` with these options. Without proxies the environment is not read and no request pays for a
    /// proxy lookup (reqwest's default reads it for every client and checks it on every http:// request).
    pub(crate) fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let mut builder = builder.use_preconfigured_tls(self.tls.clone()).no_proxy();
        for p in &self.proxies {
            builder = builder.proxy(p.clone());
        }
        builder
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("proxies", &self.proxies.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
