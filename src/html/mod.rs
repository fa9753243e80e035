//! HTML, read: a page's title, links and `--select` extracts. Pure functions over bytes already fetched.
//!
//! Owns the single-pass link scanner ([`scan`]), the header side of indexing (`Link` canonical, `X-Robots-Tag`:
//! [`index`]), the metered `--select` parse ([`select`]) and the nesting cap that
//! runs before html5ever ([`nesting`]). Must not fetch, log, or know about the crawl: it returns what a page says.

pub(crate) mod index;
mod nesting;
mod page;
pub(crate) mod scan;
pub(crate) mod select;
pub(crate) mod shell;

pub use page::*;
