//! From the command line as typed to a [`Config`]: every flag value checked (in the order the flags were always
//! checked, so the first error reported stays the same) and split into each layer's options.
//!
//! Must not open sockets; reads only `--cacert`'s files and the proxy environment.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use regex::Regex;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::cli::{Cli, WarcHeaders};
use crate::config::{Config, Stats};
use crate::crawl::CrawlOptions;
use crate::html::Extractor;
use crate::net::cookies::CookieOptions;
use crate::net::proxy::Proxies;
use crate::net::trust::Trust;
use crate::net::NetOptions;
use crate::output::save::SaveOptions;
use crate::output::OutputOptions;
use crate::polite::PoliteOptions;
use crate::record::fields::Fields;
use crate::render::{Browser, RenderMode, RenderOptions};
use crate::url::address::{AddressRules, Net};
use crate::url::query::QueryRules;
use crate::warc::WarcOptions;

/// The name that means stdout for `-o` (and stdin for the inputs).
const STDOUT_NAME: &str = "-";
impl Cli {
    /// Validates the command line.
    ///
    /// # Errors
    /// A usage error naming the offending flag value.
    pub fn into_config(self) -> Result<Config> {
        self.check_rate()?;
        // Checked in the order the flags were always checked, so the first error reported is the same.
        let mut headers = HeaderMap::new();
        for (i, h) in self.headers.iter().enumerate() {
            let (name, value) = parse_header(h, i + 1)?;
            headers.append(name, value);
        }
        let crawl = self.crawl_options()?;
        let net = self.net_options()?;
        let (output, warc) = self.output_options()?;
        let polite = PoliteOptions {
            rate: (self.rate > 0.0).then_some(self.rate),
            retries: self.retries,
            max_retry_after: self.max_retry_after,
            max_redirects: self.max_redirects,
            backoff_base: crate::polite::BACKOFF_BASE,
            headers,
            robots: crawl.robots,
            user_agent: net.user_agent.clone(),
            robots_agent: self.robots_agent()?,
            timeout: self.timeout,
            scope: self.scope,
            shard: self.shard,
        };
        let stats = self.stats();
        let render = self.render_options()?;
        Ok(Config {
            files: self.files,
            summary: !self.quiet,
            stats,
            crawl: CrawlOptions {
                archive: warc.is_some(),
                render: render.is_some(),
                screenshot: render.as_ref().is_some_and(|r| r.screenshot.is_some()),
                ..crawl
            },
            render,
            net,
            polite,
            output,
            warc,
            metrics: self.metrics,
            metrics_file: self.metrics_file,
        })
    }

    /// `--render` and its flags; `None` for `never`. The browser is looked for here, so a missing one is a
    /// usage error (exit 2) before anything is opened.
    fn render_options(&self) -> Result<Option<RenderOptions>> {
        if self.render == RenderMode::Never {
            return Ok(None);
        }
        let browser = match &self.browser_ws {
            Some(ws) if ws.starts_with("ws://") => Browser::Connect(ws.clone()),
            Some(ws) => bail!("--browser-ws {ws:?}: a DevTools address starts with ws://"),
            None => Browser::Launch(
                crate::render::launch::find(
                    self.browser.as_deref(),
                    std::env::var_os("PATH").as_deref(),
                )
                .map_err(anyhow::Error::msg)?,
            ),
        };
        if let Some(css) = &self.render_wait {
            // Checked here as a CSS selector (scraper's parser, as --select's): the browser's querySelector
            // would throw on each page instead, every URL an error and exit 1 for what is a usage error.
            if let Err(e) = scraper::Selector::parse(css) {
                bail!("--render-wait {css:?}: not a CSS selector: {e}");
            }
        }
        Ok(Some(RenderOptions {
            mode: self.render,
            browser,
            assets: self.render_assets,
            max_requests: self.render_max_requests,
            wait: self.render_wait.clone(),
            timeout: self.render_timeout,
            concurrency: self.render_concurrency as usize,
            recycle: self.render_recycle,
            screenshot: self.screenshot.clone(),
        }))
    }

    /// `--stats-interval`, and its form; `-q` turns it off with the summary (`Config::summary`).
    fn stats(&self) -> Stats {
        Stats {
            interval: self.stats_interval,
            json: self.log_format == crate::cli::LogFormat::Json,
        }
    }

    fn check_rate(&self) -> Result<()> {
        if !self.rate.is_finite() || self.rate < 0.0 {
            bail!("--rate must be a number >= 0, got {}", self.rate);
        }
        if self.rate > 0.0 && !crate::polite::host::rate_is_representable(self.rate) {
            bail!(
                "--rate {}: the rate limiter cannot enforce it (one request every 1/R seconds must be between 1 ns \
                 and {} years: R from {:.3e} to 1e9); use 0 for unlimited",
                self.rate,
                crate::polite::host::MAX_PERIOD.as_secs() / 31_557_600,
                crate::polite::host::min_rate()
            );
        }
        Ok(())
    }

    fn crawl_options(&self) -> Result<CrawlOptions> {
        let include = compile_regexes(&self.include, "--include")?;
        let exclude = compile_regexes(&self.exclude, "--exclude")?;
        let extractors = self
            .select
            .iter()
            .map(|s| Extractor::parse(s).map_err(|e| anyhow::anyhow!("--select {s:?}: {e}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(CrawlOptions {
            concurrency: self.concurrency as usize,
            per_host: self.per_host as usize,
            depth: self.depth,
            scope: self.scope,
            shard: self.shard,
            handoff: self.handoff.clone(),
            include,
            exclude,
            max_pages: self.max_pages,
            follow_nofollow: self.follow_nofollow,
            extractors,
            content: self.content.map(|mode| crate::html::ContentOptions {
                mode,
                scope: self.content_scope,
            }),
            max_body: self.max_body,
            robots: !self.ignore_robots,
            sitemap: self.sitemap,
            archive: false,
            check_links: self.check_links.then(|| self.accept.clone()),
            frontier_memory: self.frontier_memory,
            spill_parent: self
                .spill_dir
                .clone()
                .or_else(|| self.state.clone())
                .unwrap_or_else(std::env::temp_dir),
            render: false,
            screenshot: false,
            follow_alternates: self.follow_alternates,
            query: QueryRules::new(self.strip_query.clone(), self.sort_query),
            canonical_dedup: self.canonical_dedup,
            follow_duplicates: self.follow_duplicates,
            save: self.save_options()?,
        })
    }

    /// `--robots-agent`, checked to be a product token (RFC 9309 §2.2.1: `[A-Za-z_-]+`), else the
    /// User-Agent's product token.
    fn robots_agent(&self) -> Result<String> {
        match &self.robots_agent {
            Some(name) => {
                if name.is_empty() || crate::robots::product_token(name) != name {
                    anyhow::bail!(
                        "--robots-agent {name:?}: a robots.txt agent name is letters, '-' and '_' only (RFC 9309 2.2.1)"
                    );
                }
                Ok(name.clone())
            }
            None => Ok(crate::robots::product_token(
                self.user_agent
                    .as_deref()
                    .unwrap_or(crate::robots::PRODUCT_TOKEN),
            )
            .to_owned()),
        }
    }

    /// `--save DIR` and `--save-content-only`.
    fn save_options(&self) -> Result<Option<Arc<SaveOptions>>> {
        if self.save_content_only && self.content.is_none() {
            bail!("--save-content-only needs --content (the text it saves instead of the body)");
        }
        if let Some(bad) = self.strip_query.iter().find(|g| g.is_empty()) {
            bail!("--strip-query {bad:?}: empty GLOB");
        }
        Ok(self.save.as_ref().map(|dir| {
            Arc::new(SaveOptions {
                dir: dir.clone(),
                content_only: self.save_content_only,
            })
        }))
    }

    fn net_options(&self) -> Result<NetOptions> {
        let resolve = self
            .resolve
            .iter()
            .map(|s| parse_resolve(s))
            .collect::<Result<Vec<_>>>()?;
        let mut dns_servers: Vec<SocketAddr> = Vec::with_capacity(self.dns_servers.len());
        for raw in &self.dns_servers {
            let server = crate::net::dns::parse_dns_server(raw)?;
            if !dns_servers.contains(&server) {
                dns_servers.push(server);
            }
        }
        let proxies = Proxies::from_flags(self.proxy.as_deref(), self.no_proxy.as_deref(), |k| {
            std::env::var(k).ok()
        })?;
        let trust = Trust::from_flags(&self.cacert, self.insecure)?;
        let nets = |flag: &str, raw: &[String]| {
            raw.iter()
                .map(|n| Net::parse(n).map_err(|e| anyhow::anyhow!("{flag} {e}")))
                .collect::<Result<Vec<_>>>()
        };
        let addresses = AddressRules {
            deny: nets("--deny-net", &self.deny_net)?,
            allow: nets("--allow-net", &self.allow_net)?,
            allow_internal: self.allow_internal,
        };
        let user_agent = match &self.user_agent {
            Some(ua) => {
                HeaderValue::from_str(ua).with_context(|| {
                    format!("--user-agent {ua:?}: not a valid header value (no control characters such as newlines)")
                })?;
                ua.clone()
            }
            None => crate::net::default_user_agent(),
        };
        Ok(NetOptions {
            user_agent,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            idle_per_host: self.per_host.min(self.concurrency) as usize,
            headers_out: self.response_headers,
            max_inflight_bytes: self.max_inflight_bytes,
            resolve,
            dns_servers,
            proxies,
            trust,
            addresses,
            cookies: CookieOptions {
                enabled: !self.no_cookies,
                load: self.cookies.clone(),
                save: self.save_cookies.clone(),
                keep_session: self.keep_session_cookies,
            },
        })
    }

    fn output_options(&self) -> Result<(OutputOptions, Option<WarcOptions>)> {
        // `-o -` is stdout, as for the inputs; --resume needs a file to read back.
        let output = self.output.clone().filter(|p| p.as_os_str() != STDOUT_NAME);
        if self.resume && output.is_none() {
            bail!("--resume needs -o FILE (it reads FILE back), not stdout");
        }
        if self.warc_repair && !self.resume && self.state.is_none() {
            bail!("--warc-repair: only with --resume or --state (without them --warc FILE is replaced, not appended to)");
        }
        let read_back = self.since.is_some() || self.state.is_some();
        // Any -o FILE may be resumed (or read by --since) later, if only because the run died: it keeps what
        // --resume reads even when this run was not started with --resume, so a --fields run is never lost.
        let resumable = self.resume || self.state.is_some() || output.is_some();
        // --check-links reads a written page's links back on --resume at any depth (to check them).
        let links_read = if self.check_links {
            self.depth.max(1)
        } else {
            self.depth
        };
        let fields = Fields::parse(self.fields.as_deref(), self.no_links)?
            .map(|f| f.forced(resumable, read_back, links_read, self.warc.is_some()));
        let warc = match &self.warc {
            Some(path) if path.as_os_str() == STDOUT_NAME => {
                bail!("--warc needs a FILE (stdout carries the records)")
            }
            Some(path) => Some(WarcOptions {
                path: path.clone(),
                level: self.warc_level,
                command: String::new(),
                repair: self.warc_repair,
                verbatim_headers: self.warc_headers == WarcHeaders::Verbatim,
                dedup: self.warc_dedup,
            }),
            None => None,
        };
        let output = OutputOptions {
            output,
            resume: self.resume,
            since: self.since.clone(),
            state: self.state.clone().map(|dir| (dir, self.keep as usize)),
            fields,
        };
        Ok((output, warc))
    }
}

/// One `-H`. Errors name the flag by its position (and the header by its name once that is valid) but never
/// echo the argument: it is usually a token or a cookie, and a usage error ends up in terminals and CI logs.
fn parse_header(raw: &str, nth: usize) -> Result<(HeaderName, HeaderValue)> {
    const HIDDEN: &str = "the argument is not shown: it may hold a secret";
    let (name, value) = raw
        .split_once(':')
        .with_context(|| format!("-H (number {nth}): expected 'Name: value' ({HIDDEN})"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .ok()
        .with_context(|| format!("-H (number {nth}): invalid header name ({HIDDEN})"))?;
    let value = HeaderValue::from_str(value.trim()).ok().with_context(|| {
        format!(
            "-H {name} (number {nth}): invalid header value, e.g. a control character ({HIDDEN})"
        )
    })?;
    Ok((name, value))
}

fn compile_regexes(patterns: &[String], flag: &str) -> Result<Vec<Regex>> {
    patterns
        .iter()
        .map(|p| Regex::new(p).with_context(|| format!("{flag} {p:?} is not a valid regex")))
        .collect()
}

/// `HOST:PORT:ADDR` as curl takes it; ADDR may be an IPv6 address in brackets.
pub(super) fn parse_resolve(raw: &str) -> Result<(String, SocketAddr)> {
    let bad = || format!("--resolve {raw:?}: expected HOST:PORT:ADDR");
    let (host, rest) = raw.split_once(':').with_context(bad)?;
    let (port, addr) = rest.split_once(':').with_context(bad)?;
    let port: u16 = port.parse().ok().with_context(bad)?;
    let addr: IpAddr = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
        .with_context(bad)?;
    if host.is_empty() || host == "." {
        bail!(bad());
    }
    // Keyed as the resolver looks a URL's host up: spelled as URLs spell it (`bücher.test` is `xn--bcher-kva.test`,
    // U+3002 is a dot), then without its one final dot (`example.com.` is `example.com`). Else the override would
    // never apply and the name would go to real DNS, the opposite of a staging override.
    let host = crate::url::typed_host_name(host)
        .map_err(|why| anyhow::anyhow!("--resolve {raw:?}: {host:?} {why}"))?;
    Ok((host, SocketAddr::new(addr, port)))
}
