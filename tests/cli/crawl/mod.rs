//! Crawl mode: following links (depth, scope, budgets), redirects, sitemaps, `--shard` and `--handoff`.

mod check_links;
mod dedup;
mod graph;
mod handoff;
mod redirects;
mod resume;
mod shard;
mod sitemap;
mod spill;
mod web;
