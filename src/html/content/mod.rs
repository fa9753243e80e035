//! `--content`: a page's readable text as Markdown or plain text, either its main content (boilerplate removed)
//! or its whole body (`--content-scope full`).
//!
//! Owns choosing the main content ([`main`]) and writing a DOM as Markdown or text ([`render`], [`table`]).
//! Must not fetch, log or know the crawl; it gets a decoded page and its URL and returns one string.
//!
//! Bounded like `--select` ([`crate::html::select`]): the page first goes through the nesting cap
//! ([`crate::html::nesting::cap_depth`]), every DOM it builds through the metered parse
//! ([`crate::html::select::parse_bounded`], whose work budget stops the tree builder), the main-content step sees
//! at most [`MAX_MAIN_INPUT`] bytes, rendering visits at most [`MAX_VISITS`] nodes and the field holds at most
//! [`MAX_CONTENT_BYTES`]; when any limit cut it, the field ends with [`TRUNCATED_MARKER`].

mod filter;
mod main;
mod render;
mod table;

use url::Url;

/// Most bytes of the `content` field's text (UTF-8), before [`TRUNCATED_MARKER`].
pub(crate) const MAX_CONTENT_BYTES: usize = 1 << 20;

/// Appended to a `content` that a limit cut short (documented in README and the schema).
pub(crate) const TRUNCATED_MARKER: &str = "\n\n[crawlfish: content truncated]";

/// Most nodes the renderer visits on one page.
pub(crate) const MAX_VISITS: usize = 4_000_000;

/// Most bytes of a page the main-content step reads (larger pages are cut there, and the field marked): it is
/// not metered inside, so its input is.
pub(crate) const MAX_MAIN_INPUT: usize = 4 << 20;
/// At most this many tags (`<`) of a page go to rs-trafilatura (`main.rs`: its work grows faster than the page).
pub(crate) const MAX_MAIN_TAGS: usize = 10_000;

/// `--content`'s form. Variants carry `//` comments, not docs: clap would print doc comments as value help and
/// switch the whole `--help` to its long layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[allow(missing_docs)]
pub enum Mode {
    // Headings, lists, links, emphasis, code blocks and tables in Markdown.
    Markdown,
    // The same blocks without markup.
    Text,
}

impl Mode {
    /// The file extension `--save` gives the text beside the body.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Mode::Markdown => "md",
            Mode::Text => "txt",
        }
    }
}

/// `--content-scope`: what part of the page (variants without docs, as [`Mode`]'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[allow(missing_docs)]
pub enum Scope {
    // The main content: navigation, headers, footers, sidebars, banners and comments removed.
    #[default]
    Main,
    // The whole `<body>`.
    Full,
}

/// What `--content` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentOptions {
    /// `--content`.
    pub mode: Mode,
    /// `--content-scope`.
    pub scope: Scope,
}

/// The page's content as asked, resolved against `base` (the page's URL, or its `<base href>`).
#[must_use]
pub fn extract(html: &str, base: &Url, opts: ContentOptions) -> String {
    let capped = crate::html::nesting::cap_depth(html);
    let (body, reference, mut cut) = match opts.scope {
        Scope::Full => (capped, None, false),
        Scope::Main => {
            let main = main::main_html(&capped);
            (std::borrow::Cow::Owned(main.html), main.text, main.cut)
        }
    };
    let (doc, complete) = crate::html::select::parse_bounded(&body);
    cut |= !complete;
    let mut renderer = render::Renderer::new(base, opts.mode, MAX_VISITS, MAX_CONTENT_BYTES);
    let mut out = render::Out::default();
    let root = doc
        .tree
        .root()
        .descendants()
        .find(|n| matches!(n.value(), scraper::Node::Element(e) if e.name() == "body"))
        .unwrap_or_else(|| doc.tree.root());
    renderer.node(root, &mut out, 0);
    cut |= renderer.cut;
    match reference {
        Some(text) => finish(
            &filter::keep_blocks_in(&out.s, &text, opts.mode == Mode::Markdown),
            cut,
        ),
        None => finish(&out.s, cut),
    }
}

/// Trims, caps at [`MAX_CONTENT_BYTES`] on a char boundary and marks a cut.
fn finish(text: &str, mut cut: bool) -> String {
    let text = text.trim();
    let mut end = text.len();
    if end > MAX_CONTENT_BYTES {
        end = MAX_CONTENT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        cut = true;
    }
    let mut s = String::with_capacity(end + TRUNCATED_MARKER.len());
    s.push_str(text[..end].trim_end());
    if cut {
        s.push_str(TRUNCATED_MARKER);
    }
    s
}

#[cfg(test)]
mod tests;
