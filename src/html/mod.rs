//! HTML, read: a page's title, links, `--select` extracts and `--content`. Pure functions over bytes already
//! fetched.
//!
//! Owns the single-pass link scanner ([`scan`]), the header side of indexing (`Link` canonical, `X-Robots-Tag`:
//! [`index`]), the metered `--select` parse ([`select`]), the nesting cap that runs before html5ever
//! ([`nesting`]) and `--content`'s main-content step and Markdown/text writer ([`content`]). Must not fetch, log,
//! or know about the crawl: it returns what a page says.

pub(crate) mod content;
pub(crate) mod index;
mod nesting;
mod page;
pub(crate) mod scan;
pub(crate) mod select;
pub(crate) mod shell;

pub(crate) use content::{ContentOptions, Mode as ContentMode, Scope as ContentScope};
pub use page::*;
