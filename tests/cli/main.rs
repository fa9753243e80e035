//! One integration-test binary (as ripgrep does): the real `crawlfish` against local servers on loopback. The
//! modules follow the features they test; the scripted servers and helpers are in `support/`.

// Test code panics on purpose and favours directness over the pedantic style of the engine.
// `pub` helpers are shared by the modules of this one binary, not an API: unreachable_pub does not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::pedantic,
    unreachable_pub
)]

mod cli;
mod crawl;
mod html;
mod layers;
mod net;
mod output;
mod polite;
mod recipes;
mod record;
mod render;
mod support;
mod warc;
