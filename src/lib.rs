//! crawlfish: a URL list in, one JSON line per URL out.
//!
//! The map is `ARCHITECTURE.md` at the top of the repository: a bird's-eye view, the code map by folder, the
//! invariants and where to start reading. Every module is `pub(crate)`; what this file re-exports is the whole
//! public surface: [`run`] with a [`Config`] (and its per-layer options), the [`Record`] it writes and its
//! [`ErrorKind`]s, the [`Cli`] that builds a config from flags, and [`main`], the binary.
//!
//! # Layers
//! Bottom to top; a module imports only from modules listed before it (`tests/cli/layers.rs` enforces it):
//!
//! | layer | modules |
//! |---|---|
//! | 1. pure rules | `digest`, `url`, `record`, `robots`, `html` |
//! | 2. I/O adapters | `input`, `net`, `output`, `warc` |
//! | 3. politeness | `polite` |
//! | 4. crawl engine | `crawl` |
//! | 5. run wiring | `config`, `app` |
//! | 6. shell | `cli` |

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
mod render;
mod robots;
mod url;
mod warc;

pub use app::signal::Signal;
pub use app::{run, Outcome};
pub use cli::main;
pub use cli::Cli;
pub use config::{Config, Stats};
pub use crawl::CrawlOptions;
pub use net::cookies::CookieOptions;
pub use net::NetOptions;
pub use output::OutputOptions;
pub use output::{Summary, WriterEnd};
pub use polite::PoliteOptions;
pub use record::check::{Accept, BadLink, LinkReport, Why};
pub use record::fields::RECORD_SCHEMA;
pub use record::{ErrorKind, Record};
pub use warc::WarcOptions;

/// The pure hot paths, for the criterion benches (`benches/hot.rs`) and the bench drivers (`bench/`) to time
/// alone. Not a stable API: it follows the code.
#[doc(hidden)]
pub mod bench {
    pub use crate::digest::of as digest_of;
    pub use crate::html::content::{extract as content, ContentOptions, Mode, Scope};
    pub use crate::html::parse_page;
    pub use crate::record::now_rfc3339;
    pub use crate::url::normalize;
    pub use crate::warc::gzip::{gzip, DEFAULT_LEVEL};
}
