//! The command line itself: flags and their values, the environment, logs, signals and the terminal.

mod env;
mod flags;
mod heartbeat;
mod logs;
mod metrics;
mod signals;
mod terminal;

/// A page of `n` bytes.
fn page_of(n: usize) -> String {
    "x".repeat(n)
}
