//! Crawl mode: following links (depth, scope, budgets), redirects, sitemaps, `--shard` and `--handoff`.

mod graph;
mod handoff;
mod redirects;
mod shard;
mod sitemap;
mod web;
