//! crawlfish: a URL list in, one JSON line per URL out.
//!
//! # Architecture
//! ```text
//! input (thread) ──seeds──▶ crawl::crawl (scheduler loop) ──spawn──▶ visit tasks (Visit seam: visit.rs)
//!                              │  frontier: seen-set, per-host queues,          │ polite.rs, per hop:
//!                              │  strict BFS levels, round-robin                 │ robots → backoff/-r/Crawl-delay
//!                              │  global Semaphore (permit before spawn)         │ → fetch.rs (one exchange)
//!                              │  sitemap steps (read as the frontier drains)    │ → redirect? scope? next hop
//!                              └──records (bounded mpsc)──▶ output writer (thread) ──▶ stdout / -o FILE
//! ```
//! * One owner per thing: the scheduler owns the frontier and the `JoinSet`; tasks return what they found and
//!   mutate nothing shared; the writer alone touches the output; `main` alone picks the exit code.
//! * Exactly one record per distinct input line or URL: invalid lines are answered by the scheduler at once,
//!   every dispatched task's outcome (even a panic) becomes a record, nothing is dropped on a full channel
//!   (senders wait, so a slow consumer slows the crawl).
//! * Shutdown: `run` takes the shutdown future as a parameter. On it, dispatch stops, in-flight fetches get
//!   [`crawl::GRACE`], the rest are aborted; the writer holds no token: it drains and flushes whatever was sent.
//!   A broken pipe on stdout cancels the run quietly.
//! * The input and the writer run on plain threads: blocking reads and writes never stall the runtime's workers.
//!
//! * Every request (page, redirect hop, retry, robots.txt, sitemap file) takes `polite.rs`'s one path; `fetch.rs`
//!   makes one exchange and `host.rs` holds per-host state, and neither imports the other.
//!
//! * Names: `dns.rs`'s one resolver, shared by every HTTP client of the run (one per host): `--resolve`, RFC 6761
//!   names, `/etc/hosts`, then DNS (hickory with its cache off; `dns_cache.rs`'s TTL cache, bounded in entries and
//!   in addresses per entry; overlapping lookups of a name shared).
//!
//! * `--warc FILE`: `polite.rs` captures every exchange it makes (`warc.rs` builds the records, the task
//!   compresses them) and `warc_writer.rs`'s thread alone writes the file, one gzip member per record, sending
//!   the response member's offset back for the record's `warc_offset`.
//!
//! * `--shard I/N`: `shard.rs` owns the partition (XXH3-64 of the registrable domain, mod N). The scheduler drops
//!   other shards' URLs where they enter (listed seeds, new links), so the frontier never holds them, and
//!   `polite.rs` follows no redirect (nor robots.txt redirect) to their hosts; the counts reach the summary.
//! * Proxies and TLS trust (`net.rs`, `trust.rs`) are resolved once per run into the options every client is
//!   built with: they change where a connection goes and whom it trusts, never which requests are made.
//!
//! * Recurring runs: `since.rs` reads an earlier run's output (validators, digests, where each record is) and
//!   decides `change`; `state.rs` owns `--state DIR` (lock, `current.jsonl`, rename, `latest.jsonl`, `--keep`).
//!   Both read files only after `resume.rs` has proven them crawlfish's own output. `run_files.rs` opens the
//!   output and `--warc FILE` together: each opened unchanged and checked, then truncated or cut only once all are.
//!
//! * The command line: `cli.rs` defines the flags and validates them into a `Config`; `cli_command.rs` adds a
//!   `CRAWLFISH_<NAME>` variable to every option generically and renders `--generate`; `units.rs` parses
//!   durations and sizes. `request_log.rs` is the `-vv` line that `polite.rs` logs per request.
//!
//! # Where this differs from DESIGN.md, and why
//! * `--per-host` is enforced by the frontier's in-flight counters, not a per-host semaphore: the scheduler is the
//!   only dispatcher, so a counter it owns is exact and needs no permit juggling. A redirect hop to another host
//!   counts against the job's host, not the hop's; the hop's host still gets its robots.txt, `-r` and backoff,
//!   and the task's global permit bounds it.
//! * The host table (`host::Hosts`) is shared by the tasks behind one mutex (a hop may land on any host), not
//!   owned by the scheduler: a lookup is a hash and a lock per request, far below a request's cost.
//! * Title and links come from `scan.rs`, a linear single-pass scanner, not scraper: parsing bounds the crawl, and
//!   html5ever's tree builder is quadratic on deep nesting. scraper is kept for `--select`, behind `depth.rs`
//!   (nesting past 512 flattened before html5ever runs) and `select.rs` (a metered parse, a capped extract).
//! * Pages up to 256 KiB are parsed inside the fetch task (~20 µs); only bigger ones and `--select` go to the
//!   blocking pool. The hand-off cost more than the parse (futex wake/park was ~10 % of a profile).
//! * Breadth-first is strict (level by level), so a URL's `depth` is always its smallest.

mod app;
mod cli;
mod config;
mod crawl;
mod digest;
mod html;
mod input;
mod net;
mod output;
mod polite;
mod record;
mod robots;
mod url;
mod warc;

pub use app::signal::Signal;
pub use app::{run, Outcome};
pub use cli::main;
pub use cli::Cli;
pub use config::Config;
pub use output::{Summary, WriterEnd};
pub use record::fields::RECORD_SCHEMA;
pub use record::{ErrorKind, Record};

/// The pure hot paths, for the criterion benches (`benches/hot.rs`) and the bench drivers (`bench/`) to time
/// alone. Not a stable API: it follows the code.
#[doc(hidden)]
pub mod bench {
    pub use crate::digest::of as digest_of;
    pub use crate::html::parse_page;
    pub use crate::record::now_rfc3339;
    pub use crate::url::normalize;
    pub use crate::warc::gzip::{gzip, DEFAULT_LEVEL};
}
