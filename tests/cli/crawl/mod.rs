//! Crawl mode: following links (depth, scope, budgets), redirects, sitemaps and `--shard`.

mod check_links;
mod graph;
mod redirects;
mod shard;
mod sitemap;
mod spill;
