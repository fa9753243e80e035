//! A run's settings, assembled from each layer's own options type: the net adapter takes [`NetOptions`], the
//! polite path [`PoliteOptions`], the crawl engine [`CrawlOptions`], the output [`OutputOptions`], the archive
//! [`WarcOptions`]; only the run wiring (`crate::app`) sees the whole [`Config`].
//!
//! The defaults are named constants in the layers that own them, read by clap (`default_value_t`) and by
//! [`Config::defaults`] alike, so the library needs no parser for a default configuration.

use std::path::PathBuf;
use std::time::Duration;

use crate::crawl::CrawlOptions;
use crate::net::NetOptions;
use crate::output::OutputOptions;
use crate::polite::PoliteOptions;
use crate::render::RenderOptions;
use crate::warc::WarcOptions;

/// Everything a run is configured with, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The input files (`-` is stdin; none: stdin).
    pub files: Vec<PathBuf>,
    /// Summary line and progress bar on stderr.
    pub summary: bool,
    /// `--stats-interval`: a heartbeat line on stderr every so often; while it runs, no bar is drawn.
    pub stats: Stats,
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
    /// `--render` (auto or always) and its flags; `None` for never.
    pub render: Option<RenderOptions>,
    /// `--metrics ADDR`: where the Prometheus exposition is served during the run.
    pub metrics: Option<std::net::SocketAddr>,
    /// `--metrics-file FILE`: where it is written, every [`crate::app::metrics::FILE_INTERVAL`] and at exit.
    pub metrics_file: Option<PathBuf>,
}

/// `--stats-interval`'s default when stderr is not a terminal (on a terminal the bar is drawn instead).
pub(crate) const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(30);

/// The `--stats-interval` heartbeat: how often, and in which form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Time between two lines; zero: off; `None`: [`DEFAULT_STATS_INTERVAL`] when stderr is not a terminal, off
    /// on one (where the bar is drawn).
    pub interval: Option<Duration>,
    /// One JSON object per line (`--log-format json`) instead of text.
    pub json: bool,
}

impl Stats {
    /// The interval in effect, given whether stderr is a terminal; `None`: no heartbeat.
    #[must_use]
    pub(crate) fn every(&self, terminal: bool) -> Option<Duration> {
        match self.interval {
            Some(d) => (!d.is_zero()).then_some(d),
            None => (!terminal).then_some(DEFAULT_STATS_INTERVAL),
        }
    }
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
            stats: Stats::default(),
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
            render: None,
            metrics: None,
            metrics_file: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heartbeat_defaults_on_off_a_terminal_only() {
        let auto = Stats::default();
        assert_eq!(auto.every(false), Some(DEFAULT_STATS_INTERVAL));
        assert_eq!(auto.every(true), None);
        let off = Stats {
            interval: Some(Duration::ZERO),
            json: false,
        };
        assert_eq!((off.every(false), off.every(true)), (None, None));
        let given = Stats {
            interval: Some(Duration::from_secs(5)),
            json: false,
        };
        assert_eq!(given.every(true), Some(Duration::from_secs(5)));
    }
}
