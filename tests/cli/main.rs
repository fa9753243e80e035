//! One integration-test binary (as ripgrep does): the real `crawlfish` against local servers on loopback.

// Test code panics on purpose and favours directness over the pedantic style of the engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::pedantic)]

mod core;
mod crawl;
mod files;
mod hostile;
mod meta;
mod polite;
mod proxy;
mod proxy_servers;
mod readme;
mod resume;
mod rules;
mod rules_attack;
mod state;
mod support;
mod terminal;
mod tls;
mod warc;
