//! Crawl mode: following links (depth, scope, budgets), redirects, sitemaps and `--shard`.

mod dedup;
mod graph;
mod redirects;
mod shard;
mod sitemap;
