//! A run's settings, assembled from each layer's own options type: the net adapter takes [`NetOptions`], the
//! polite path [`PoliteOptions`], the crawl engine [`CrawlOptions`], the output [`OutputOptions`], the archive
//! [`WarcOptions`]; only the run wiring (`crate::app`) sees the whole [`Config`].
//!
//! The defaults are named constants in the layers that own them, read by clap (`default_value_t`) and by
//! [`Config::defaults`] alike, so the library needs no parser for a default configuration.

use std::path::PathBuf;

use crate::crawl::CrawlOptions;
use crate::net::NetOptions;
use crate::output::OutputOptions;
use crate::polite::PoliteOptions;
use crate::warc::WarcOptions;

/// Everything a run is configured with, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The input files (`-` is stdin; none: stdin).
    pub files: Vec<PathBuf>,
    /// Summary line and progress bar on stderr.
    pub summary: bool,
    /// The network adapter's options.
    pub net: NetOptions,
    /// The polite path's options.
    pub polite: PoliteOptions,
    /// The crawl engine's options.
    pub crawl: CrawlOptions,
    /// The output's options.
    pub output: OutputOptions,
    /// `--warc FILE`.
    pub warc: Option<WarcOptions>,
}

impl Config {
    /// A configuration with every default, for the library API and tests. No proxy: only the command line
    /// reads the proxy environment variables.
    #[must_use]
    pub fn defaults() -> Config {
        let crawl = CrawlOptions::default();
        Config {
            files: Vec::new(),
            summary: true,
            net: NetOptions {
                user_agent: crate::net::default_user_agent(),
                timeout: crate::net::DEFAULT_TIMEOUT,
                connect_timeout: crate::net::DEFAULT_CONNECT_TIMEOUT,
                idle_per_host: crawl.per_host.min(crawl.concurrency),
                headers_out: false,
                resolve: Vec::new(),
                dns_servers: Vec::new(),
                proxies: crate::net::proxy::Proxies::default(),
                trust: crate::net::trust::Trust::default(),
                addresses: crate::url::address::AddressRules::default(),
                max_inflight_bytes: crate::net::budget::DEFAULT_MAX_INFLIGHT_BYTES,
                cookies: crate::net::cookies::CookieOptions::default(),
            },
            polite: PoliteOptions::default(),
            crawl,
            output: OutputOptions::default(),
            warc: None,
        }
    }
}
