//! The command line as typed ([`Cli`], clap derive) and its validated form ([`crate::Config`], built in [`validate`]): headers parsed, selectors
//! compiled, regexes built, durations checked. Every usage error is found here, before any network or file I/O.
//!
//! Must not open files or sockets, except to read `--cacert`'s certificates (a file that holds none is a usage
//! error like a bad flag value, so it is found here, before the output is touched) and the proxy environment.

pub(crate) mod command;
mod entry;
mod redact;
pub use entry::main;
pub(crate) mod units;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use crate::url::shard::Shard;
use crate::url::Scope;

/// The units and the environment, after the option list of `--help`.
const AFTER_HELP: &str = "\
DURATION: seconds (30, 0.5), or with units ms, s, m, h: 500ms, 5s, 2m, 1m30s.
SIZE: bytes, or with 1024-based units k, M, G (also KiB, MiB, GiB): 512k, 10M, 1.5MiB.
Every option can be set from CRAWLFISH_<OPTION> (e.g. CRAWLFISH_MAX_BODY=10M, CRAWLFISH_QUIET=1); the \
command line wins over the environment, the environment over the default.";

/// A URL list in, one JSON line per URL out: a concurrent, polite crawler for the terminal.
#[derive(Debug, Parser)]
#[command(name = "crawlfish", version, about, term_width = 100, after_help = AFTER_HELP)]
#[allow(clippy::struct_excessive_bools)] // each bool is an independent flag of the CLI contract
pub struct Cli {
    /// Files with one URL per line ('-' or none: stdin). Blank lines and '#' comments are skipped
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write records to FILE instead of stdout ('-': stdout)
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// With -o: keep FILE's complete records, skip their URLs, append the rest
    #[arg(long, requires = "output")]
    pub resume: bool,

    /// Compare with FILE, an earlier run's output: conditional requests, and "change" on every record
    #[arg(long, value_name = "FILE", conflicts_with = "state")]
    pub since: Option<PathBuf>,

    /// Keep runs in DIR instead of -o: write DIR/current.jsonl (resumed after a crash), then rename it to
    /// DIR/UTC-TIME.jsonl and point DIR/latest.jsonl at it; the next run compares with that (as --since)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["output", "resume"])]
    pub state: Option<PathBuf>,

    /// With --state: finished runs kept in DIR, older ones deleted
    #[arg(long, value_name = "N", default_value_t = crate::output::DEFAULT_KEEP, requires = "state",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: u32,

    /// Also archive every HTTP exchange (redirect hops, retries, robots.txt, sitemaps) in FILE: WARC/1.1, one
    /// gzip member per record (.warc.gz); with --resume or --state, append to it. With --state DIR, --warc DIR:
    /// one archive per run in DIR, renamed and pruned with its records
    #[arg(long, value_name = "FILE")]
    pub warc: Option<PathBuf>,

    /// With --warc: gzip level of each record, 0 (stored: the fastest, ~2.7x the size) to 9
    #[arg(long, value_name = "N", default_value_t = crate::warc::writer::DEFAULT_LEVEL, requires = "warc",
          value_parser = clap::value_parser!(u32).range(0..=9))]
    pub warc_level: u32,

    /// With --warc and --resume or --state: when FILE is damaged in the middle, move the damaged record and
    /// everything after it to FILE.damaged-OFFSET and go on (URLs archived there are fetched again) instead of
    /// exiting 2
    #[arg(long, requires = "warc")]
    pub warc_repair: bool,
    /// With --warc: -H values in request records, redacted or verbatim (as sent: the archive then holds
    /// them)
    #[arg(long, value_name = "HOW", value_enum, default_value_t = WarcHeaders::Redacted, requires = "warc")]
    pub warc_headers: WarcHeaders,

    /// With --warc DIR and --state DIR: a 200 whose body the previous run archived is stored as a revisit
    /// record naming that capture (identical-payload-digest), without the body
    #[arg(long, requires = "warc", requires = "state")]
    pub warc_dedup: bool,

    /// Requests in flight, all hosts together
    #[arg(short = 'c', long, value_name = "N", default_value_t = crate::crawl::DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub concurrency: u32,

    /// Requests in flight to one host
    #[arg(long, value_name = "N", default_value_t = crate::crawl::DEFAULT_PER_HOST,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub per_host: u32,

    /// Requests per second to one host (0: unlimited)
    #[arg(short = 'r', long, value_name = "R", default_value_t = crate::polite::DEFAULT_RATE)]
    pub rate: f64,

    /// Deadline for a whole request, headers and body
    #[arg(long, value_name = "DURATION", default_value = units::format_duration(crate::net::DEFAULT_TIMEOUT),
          value_parser = units::parse_duration)]
    pub timeout: Duration,

    /// Deadline for a TCP (and TLS) connect
    #[arg(long, value_name = "DURATION", default_value = units::format_duration(crate::net::DEFAULT_CONNECT_TIMEOUT),
          value_parser = units::parse_duration)]
    pub connect_timeout: Duration,

    /// Extra attempts after connect errors, timeouts, broken bodies, 429/500/502/503/504 (and re-asks of a
    /// robots.txt answering 429/5xx)
    #[arg(long, value_name = "N", default_value_t = crate::polite::DEFAULT_RETRIES)]
    pub retries: u32,

    /// Longest Retry-After honoured; a longer one gives the URL up with its last status
    #[arg(long, value_name = "DURATION", default_value = units::format_duration(crate::polite::DEFAULT_MAX_RETRY_AFTER),
          value_parser = units::parse_duration)]
    pub max_retry_after: Duration,

    /// Redirects followed per URL (each hop obeys robots.txt, -r and, for discovered URLs, --scope)
    #[arg(long, value_name = "N", default_value_t = crate::polite::DEFAULT_MAX_REDIRECTS)]
    pub max_redirects: usize,

    /// Body bytes kept per page, after decompression; the rest is cut (truncated: true)
    #[arg(long, value_name = "SIZE", default_value = units::format_size(crate::crawl::DEFAULT_MAX_BODY),
          value_parser = units::parse_size)]
    pub max_body: u64,

    /// Body bytes held in memory at once, all requests together (one body may go past it, up to --max-body,
    /// so none waits forever)
    #[arg(long, value_name = "SIZE",
          default_value = units::format_size(crate::net::budget::DEFAULT_MAX_INFLIGHT_BYTES),
          value_parser = units::parse_size)]
    pub max_inflight_bytes: u64,

    /// Memory for queued URLs (about 260 bytes each) and the seen-set (up to half) together; past it they go
    /// to disk in the spill directory
    #[arg(long, value_name = "SIZE", default_value = units::format_size(crate::crawl::DEFAULT_FRONTIER_MEMORY),
          value_parser = units::parse_size)]
    pub frontier_memory: u64,

    /// Where queued URLs and seen-set runs past --frontier-memory are spilled: a private directory made inside
    /// DIR, removed at exit [default: --state DIR, else the system's temp dir]
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,

    /// User-Agent header [default: crawlfish/VERSION]
    #[arg(long, value_name = "S")]
    pub user_agent: Option<String>,

    /// Extra request header, 'Name: value' (repeatable); sent only to the listed URLs' own origins
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// robots.txt group to obey ([A-Za-z_-]+, any case) [default: --user-agent's leading word, e.g. acme-bot
    /// for acme-bot/1.0]
    #[arg(long, value_name = "NAME")]
    pub robots_agent: Option<String>,

    /// Ignore robots.txt and <meta name=robots nofollow> (robots.txt is still read for --sitemap)
    #[arg(long)]
    pub ignore_robots: bool,

    /// Follow links this many levels below the listed URLs
    #[arg(short = 'd', long, value_name = "N", default_value_t = 0)]
    pub depth: u32,

    /// Which discovered links are followed: same host, same registrable domain, or any
    #[arg(long, value_enum, value_name = "SCOPE", default_value_t = Scope::Host)]
    pub scope: Scope,

    /// Handle only URLs whose registrable domain hashes to shard I of N; give every shard the same list. Other
    /// shards' listed URLs get no record here and links to them (--scope any) are not followed (both counted in
    /// the summary), nor are redirects to them
    #[arg(long, value_name = "I/N", allow_hyphen_values = true)]
    pub shard: Option<Shard>,

    /// With --shard: hand links of other shards to them through DIR, a directory every shard can reach (whole
    /// segment files in DIR/inbox-J/), and crawl what they handed to this one (DIR/inbox-I/, read at the start
    /// and every second); the run ends when its own frontier is empty, later handoffs wait for the next run
    #[arg(long, value_name = "DIR", requires = "shard")]
    pub handoff: Option<PathBuf>,

    /// Follow only discovered URLs matching REGEX (repeatable: any may match)
    #[arg(long, value_name = "REGEX")]
    pub include: Vec<String>,

    /// Never follow discovered URLs matching REGEX (repeatable)
    #[arg(long, value_name = "REGEX")]
    pub exclude: Vec<String>,

    /// Stop dispatching after N fetches
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u64>,

    /// Follow rel="nofollow" links too
    #[arg(long)]
    pub follow_nofollow: bool,

    /// Follow <link rel=alternate hreflang> URLs too (they are in "hreflang", not "links")
    #[arg(long)]
    pub follow_alternates: bool,

    /// Remove query parameters named GLOB (* and ?; e.g. 'utm_*', fbclid) from discovered links before they
    /// are deduplicated (repeatable); listed URLs are kept as written
    #[arg(long, value_name = "GLOB")]
    pub strip_query: Vec<String>,

    /// Sort the query parameters of discovered links by name before they are deduplicated
    #[arg(long)]
    pub sort_query: bool,

    /// Crawling: follow the links of a page whose body an earlier page of the run had (by default such a page
    /// gets `duplicate_of` and its links are not followed)
    #[arg(long)]
    pub follow_duplicates: bool,

    /// Do not follow the links of a page whose canonical URL is another URL already reported or queued (it
    /// gets `duplicate_of`)
    #[arg(long)]
    pub canonical_dedup: bool,

    /// Write each fetched body under DIR/HOST/PATH (HOST with _PORT added for a port that is not the scheme's;
    /// "saved" gives the path); files already there are replaced atomically, never deleted
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,

    /// With --save: write only the --content text, not the body
    #[arg(long, requires = "save")]
    pub save_content_only: bool,

    /// Extract NAME from every match of CSS (its text, or attribute ATTR) into "extract" (repeatable)
    #[arg(long = "select", value_name = "NAME=CSS[@ATTR]")]
    pub select: Vec<String>,

    /// Add "content": each page's main content (boilerplate removed) as Markdown or plain text, at most 1 MiB
    #[arg(long, value_enum, value_name = "FORM")]
    pub content: Option<crate::html::ContentMode>,

    /// What --content reads: the main content, or the whole body
    #[arg(long, value_enum, value_name = "SCOPE", default_value_t = crate::html::ContentScope::Main, requires = "content")]
    pub content_scope: crate::html::ContentScope,

    /// Add "headers": the final response's headers, lowercase names, a repeated header as an array
    #[arg(long = "headers")]
    pub response_headers: bool,

    /// Print only these record fields, in record order (e.g. url,status,title); -o FILE, --resume, --since and
    /// --state add back the fields reading FILE again needs
    #[arg(long, value_name = "LIST")]
    pub fields: Option<String>,

    /// Leave "links" out of records
    #[arg(long)]
    pub no_links: bool,

    /// Check links: each link found that is not followed is requested once (HEAD, GET if HEAD is refused;
    /// never parsed), #fragments are looked up in the target page's anchors, broken links are listed by page
    /// on stderr (even with -q), and the exit code is 1 only for a broken link
    #[arg(long)]
    pub check_links: bool,

    /// With --check-links: the statuses that count as OK (ranges A..B and single statuses, comma-separated;
    /// redirects are followed and the final status counts)
    #[arg(long, value_name = "LIST", default_value = crate::record::check::DEFAULT_ACCEPT,
          requires = "check_links", value_parser = crate::record::check::Accept::parse)]
    pub accept: crate::record::check::Accept,

    /// Also queue the URLs of each listed host's sitemaps (robots.txt Sitemap: lines, else /sitemap.xml)
    #[arg(long)]
    pub sitemap: bool,

    /// Connect to ADDR for HOST, keeping HOST in the URL, Host header and TLS SNI (repeatable)
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,

    /// Ask only these DNS servers, not the system's (repeatable; PORT 53 unless given; IPv6 with a port in
    /// brackets)
    #[arg(long = "dns-server", value_name = "ADDR[:PORT]")]
    pub dns_servers: Vec<String>,

    /// Send every request through this proxy: http://, https://, socks5:// (names resolved here) or socks5h://
    /// (names resolved by the proxy); USER:PASS@ in it goes to the proxy only. Overrides `HTTP_PROXY`,
    /// `HTTPS_PROXY` and `ALL_PROXY` ('': no proxy)
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Hosts reached directly, not through the proxy: comma-separated names (subdomains included), IP
    /// addresses, CIDR blocks, or '*' for all. Overrides `NO_PROXY`
    #[arg(long, value_name = "LIST")]
    pub no_proxy: Option<String>,

    /// Never connect to addresses in CIDR (an address or ADDR/PREFIX; repeatable): links, redirects,
    /// robots.txt and names resolving there get error kind `blocked_address`
    #[arg(long = "deny-net", value_name = "CIDR")]
    pub deny_net: Vec<String>,

    /// Connect to addresses in CIDR even where the address rules refuse them (repeatable); against a
    /// --deny-net, only where CIDR is the more specific block. Cloud metadata endpoints need this
    #[arg(long = "allow-net", value_name = "CIDR")]
    pub allow_net: Vec<String>,

    /// Let a crawl reach addresses further in than its listed URL's (public < private < loopback <
    /// link-local), as before the address guard; metadata endpoints and --deny-net are still refused
    #[arg(long)]
    pub allow_internal: bool,

    /// Also trust the CA certificates in FILE (PEM, repeatable), beside the bundled and the system's roots
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,

    /// Do not verify TLS certificates (one warning on stderr per run, unless -q)
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Serve Prometheus metrics at GET /metrics on ADDR during the run (e.g. 127.0.0.1:9100)
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,

    /// Write the same metrics to FILE (atomically: a temp file, then a rename) every 10 s and at exit
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,

    /// Read cookies from FILE (Netscape cookies.txt, as curl -b/-c and wget --load-cookies write it) before
    /// the first request
    #[arg(long, value_name = "FILE", conflicts_with = "no_cookies")]
    pub cookies: Option<PathBuf>,

    /// Write the cookie jar to FILE (Netscape cookies.txt) at exit; session cookies only with
    /// --keep-session-cookies
    #[arg(long, value_name = "FILE", conflicts_with = "no_cookies")]
    pub save_cookies: Option<PathBuf>,

    /// With --save-cookies (and --state): save session cookies too (expiry 0), as wget does
    #[arg(long)]
    pub keep_session_cookies: bool,

    /// Neither keep nor send cookies (by default cookies set by responses are sent back, RFC 6265)
    #[arg(long)]
    pub no_cookies: bool,

    /// Render pages in a headless Chromium/Chrome (found on PATH, or --browser, or --browser-ws) before
    /// reading title, links and --select from the rendered DOM; every request the page makes goes through
    /// crawlfish (robots.txt, -r, -H scoping, -vv, --warc). auto: only pages that look like an app shell
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = crate::render::RenderMode::Never)]
    pub render: crate::render::RenderMode,

    /// With --render: the browser to launch (default: chromium, chromium-browser or google-chrome on PATH)
    #[arg(long, value_name = "PATH", conflicts_with = "browser_ws")]
    pub browser: Option<PathBuf>,

    /// With --render: use the already running browser at this ws:// debugging address instead of launching one
    #[arg(long, value_name = "URL")]
    pub browser_ws: Option<String>,

    /// With --render: fetch images, fonts and media too (by default the page gets an empty 204 for them)
    #[arg(long)]
    pub render_assets: bool,

    /// With --render: requests one page may make, the document included; the rest fail
    #[arg(long, value_name = "N", default_value_t = crate::render::DEFAULT_MAX_REQUESTS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub render_max_requests: u32,

    /// With --render: the page is ready when this CSS selector matches (default: no request in flight for
    /// 500 ms after the load event)
    #[arg(long, value_name = "CSS")]
    pub render_wait: Option<String>,

    /// With --render: deadline of one page's rendering; past it the DOM is read as it stands
    #[arg(long, value_name = "DURATION", default_value = units::format_duration(crate::render::DEFAULT_TIMEOUT),
          value_parser = units::parse_duration)]
    pub render_timeout: Duration,

    /// With --render: browser tabs open at once
    #[arg(long, value_name = "N", default_value_t = crate::render::DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub render_concurrency: u32,

    /// With --render: pages rendered before the browser is replaced by a fresh one
    #[arg(long, value_name = "N", default_value_t = crate::render::DEFAULT_RECYCLE,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub render_recycle: u64,

    /// With --render: save a PNG of each rendered page in DIR ("screenshot" in its record)
    #[arg(long, value_name = "DIR")]
    pub screenshot: Option<PathBuf>,

    /// More logs on stderr (-v info, -vv debug: also one line per request); `RUST_LOG` overrides
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// No summary, no progress bar, errors only in logs
    #[arg(short, long)]
    pub quiet: bool,

    /// A stats line on stderr every DURATION (0: off) [default: 30s when stderr is not a terminal, else off]
    #[arg(long, value_name = "DURATION", value_parser = units::parse_duration_or_off)]
    pub stats_interval: Option<Duration>,

    /// Log format on stderr
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Print the JSON Schema of a record and exit
    #[arg(long)]
    pub schema: bool,

    /// Print a man page or a shell completion script and exit
    #[arg(long, value_enum, value_name = "KIND")]
    pub generate: Option<Generate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// What `--generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    // A roff man page (section 1).
    Man,
    // Completion scripts, for each shell.
    CompleteBash,
    CompleteZsh,
    CompleteFish,
    CompletePowershell,
}

/// `--warc-headers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WarcHeaders {
    // Plain comments, as on `Scope`: doc comments would switch clap's --help to its long layout.
    // Every -H value replaced by "(redacted by crawlfish)".
    Redacted,
    // As sent: the archive holds the credentials.
    Verbatim,
}

#[cfg(test)]
mod tests;
