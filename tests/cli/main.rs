//! One integration-test binary (as ripgrep does): the real `crawlfish` against local servers on loopback. The
//! modules follow the features they test; the scripted servers and helpers are in `support/`.

// Test code panics on purpose and favours directness over the pedantic style of the engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::pedantic)]

mod cli;
mod crawl;
mod html;
mod net;
mod output;
mod polite;
mod recipes;
mod record;
mod support;
mod warc;
