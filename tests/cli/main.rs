//! One integration-test binary (as ripgrep does): the real `crawlfish` against local servers on loopback.

// Test code panics on purpose and favours directness over the pedantic style of the engine.
// `pub` helpers are shared by the modules of this one binary, not an API: unreachable_pub does not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::pedantic,
    unreachable_pub
)]

mod attack_fixes;
mod attack_fixes2;
mod attack_net;
mod conventions;
mod conventions_attack;
mod conventions_output;
mod core;
mod crawl;
mod dns;
mod dns_attack;
mod files;
mod hostile;
mod layers;
mod meta;
mod polite;
mod proxy;
mod proxy_servers;
mod readme;
mod recipes;
mod resume;
mod rules;
mod rules_attack;
mod shard;
mod state;
mod support;
mod terminal;
mod tls;
mod warc;
mod warc_level;
