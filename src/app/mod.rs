//! Run wiring: [`run()`] assembles the adapters, the polite path and the crawl engine from a [`crate::Config`],
//! opens the run's files ([`files`]), and owns what a process around a run needs: logs, signals, the progress bar
//! and the open-files limit.
//!
//! Must not parse the command line (that is `crate::cli`) nor decide an exit code.

pub(crate) mod cookies;
pub(crate) mod files;
mod handoff;
pub(crate) mod heartbeat;
mod run;
pub use run::{run, Outcome};
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod process;
pub(crate) mod progress;
pub(crate) mod signal;
pub(crate) mod summary;
