//! A DOM subtree → Markdown or plain text, within a node-visit budget, a depth limit and a byte cap.
//!
//! Block elements become paragraphs (a blank line between), headings `#`, lists `-`/`1.`, `<pre>` a fenced
//! block, tables GFM pipe tables, `<a>`/`<img>` links with absolute URLs; text mode writes the same blocks without
//! the markup (list items and table rows one a line, cells split by a tab). Whatever is hidden from a reader
//! (scripts, styles, templates, form controls, `hidden`) is never written.

use ego_tree::NodeRef;
use scraper::node::Element;
use scraper::Node;
use url::Url;

use super::Mode;

/// Deepest element rendered: past [`crate::html::nesting::MAX_DEPTH`], so only a DOM that html5ever deepened
/// itself (mis-nested formatting) is cut here, and the recursion stays far from the thread's stack.
const MAX_RENDER_DEPTH: usize = 2 * crate::html::nesting::MAX_DEPTH;

/// Elements whose content a reader never sees as text.
#[rustfmt::skip]
const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "head", "title", "meta", "link", "iframe", "object",
    "embed", "svg", "math", "canvas", "input", "select", "textarea", "button", "option", "datalist",
    "audio", "video", "map", "area", "source", "track", "param", "dialog",
];

/// Elements that start and end a paragraph.
#[rustfmt::skip]
const BLOCKS: &[&str] = &[
    "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "figure",
    "figcaption", "address", "details", "summary", "dl", "fieldset", "form", "center", "body",
    "html", "hgroup", "legend", "caption", "search", "menu",
];

/// Walks a subtree into text, counting what it does.
pub(super) struct Renderer<'a> {
    base: &'a Url,
    mode: Mode,
    /// Nodes left to visit.
    visits: usize,
    /// Output bytes after which walking stops.
    max_bytes: usize,
    /// Something was left out because a limit was reached.
    pub(super) cut: bool,
}

/// Text being written: runs of ASCII whitespace collapse to one space, none at a line's start.
#[derive(Default)]
pub(super) struct Out {
    pub(super) s: String,
    space: bool,
}

impl Out {
    fn text(&mut self, t: &str) {
        for c in t.chars() {
            if c.is_ascii_whitespace() {
                self.space = true;
                continue;
            }
            if self.space && !self.s.is_empty() && !self.s.ends_with([' ', '\n']) {
                self.s.push(' ');
            }
            self.space = false;
            self.s.push(c);
        }
    }

    /// Writes `t` as it is (markup, or a `<pre>`'s text), after any pending space.
    fn raw(&mut self, t: &str) {
        if self.space && !self.s.is_empty() && !self.s.ends_with([' ', '\n']) {
            self.s.push(' ');
        }
        self.space = false;
        self.s.push_str(t);
    }

    fn trim_end_spaces(&mut self) {
        let kept = self.s.trim_end_matches(' ').len();
        self.s.truncate(kept);
        self.space = false;
    }

    /// Ends the current line.
    fn line(&mut self) {
        self.trim_end_spaces();
        if !self.s.is_empty() && !self.s.ends_with('\n') {
            self.s.push('\n');
        }
    }

    /// Ends the current paragraph: a blank line follows.
    fn block(&mut self) {
        self.line();
        if !self.s.is_empty() && !self.s.ends_with("\n\n") {
            self.s.push('\n');
        }
    }
}

impl<'a> Renderer<'a> {
    pub(super) fn new(base: &'a Url, mode: Mode, visits: usize, max_bytes: usize) -> Self {
        Renderer {
            base,
            mode,
            visits,
            max_bytes,
            cut: false,
        }
    }

    fn md(&self) -> bool {
        self.mode == Mode::Markdown
    }

    /// Renders `node` and its subtree into `out`.
    pub(super) fn node(&mut self, node: NodeRef<'_, Node>, out: &mut Out, depth: usize) {
        if self.cut {
            return;
        }
        if self.visits == 0 || out.s.len() > self.max_bytes || depth > MAX_RENDER_DEPTH {
            self.cut = true;
            return;
        }
        self.visits -= 1;
        match node.value() {
            Node::Text(t) => out.text(t),
            Node::Element(el) => self.element(node, el, out, depth),
            Node::Document | Node::Fragment => self.children(node, out, depth),
            _ => {}
        }
    }

    fn children(&mut self, node: NodeRef<'_, Node>, out: &mut Out, depth: usize) {
        for child in node.children() {
            self.node(child, out, depth + 1);
        }
    }

    /// Renders the children into a fresh buffer (for markup that wraps or prefixes them).
    fn inner(&mut self, node: NodeRef<'_, Node>, depth: usize) -> String {
        let mut sub = Out::default();
        self.children(node, &mut sub, depth);
        sub.trim_end_spaces();
        sub.s
    }

    fn element(&mut self, node: NodeRef<'_, Node>, el: &Element, out: &mut Out, depth: usize) {
        let name = el.name();
        if SKIP.contains(&name) || el.attr("hidden").is_some() {
            return;
        }
        match name {
            "br" => out.line(),
            "hr" => {
                out.block();
                if self.md() {
                    out.raw("---");
                }
                out.block();
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => self.heading(node, name, out, depth),
            "ul" | "ol" => self.list(node, name == "ol", out, depth),
            "li" | "dt" | "dd" | "tr" => {
                out.line();
                self.children(node, out, depth);
                out.line();
            }
            "pre" => self.pre(node, out),
            "blockquote" => self.quote(node, out, depth),
            "table" => super::table::table(self, node, out, depth),
            "a" => self.link(node, el, out, depth),
            "img" => self.image(el, out),
            "code" | "kbd" | "samp" | "tt" => self.wrap(node, "`", out, depth),
            "em" | "i" | "cite" | "dfn" => self.wrap(node, "*", out, depth),
            "strong" | "b" => self.wrap(node, "**", out, depth),
            "del" | "s" | "strike" => self.wrap(node, "~~", out, depth),
            "td" | "th" => {
                self.children(node, out, depth);
                out.raw("\t");
            }
            _ if BLOCKS.contains(&name) => {
                out.block();
                self.children(node, out, depth);
                out.block();
            }
            _ => self.children(node, out, depth),
        }
    }

    fn heading(&mut self, node: NodeRef<'_, Node>, name: &str, out: &mut Out, depth: usize) {
        let text = one_line(&self.inner(node, depth));
        out.block();
        if text.is_empty() {
            return;
        }
        if self.md() {
            let level = usize::from(name.as_bytes()[1] - b'0');
            out.raw(&"#".repeat(level));
            out.raw(" ");
        }
        out.raw(&text);
        out.block();
    }

    fn list(&mut self, node: NodeRef<'_, Node>, ordered: bool, out: &mut Out, depth: usize) {
        out.block();
        let mut n = 0u32;
        for item in node.children() {
            let is_li = matches!(item.value(), Node::Element(e) if e.name() == "li");
            if !is_li {
                self.node(item, out, depth + 1);
                continue;
            }
            if self.cut || self.visits == 0 {
                self.cut = true;
                break;
            }
            self.visits -= 1;
            n += 1;
            let body = self.inner(item, depth + 1);
            let body = tight(&body);
            if body.is_empty() {
                continue;
            }
            out.line();
            let marker = match (self.md(), ordered) {
                (false, _) => String::new(),
                (true, true) => format!("{n}. "),
                (true, false) => "- ".to_owned(),
            };
            out.raw(&marker);
            let indent = " ".repeat(marker.len());
            for (i, line) in body.lines().enumerate() {
                if i > 0 {
                    out.raw("\n");
                    if !line.is_empty() {
                        out.raw(&indent);
                    }
                }
                out.raw(line);
            }
            out.line();
        }
        out.block();
    }

    fn pre(&mut self, node: NodeRef<'_, Node>, out: &mut Out) {
        let mut code = String::new();
        for d in node.descendants() {
            if self.visits == 0 || code.len() > self.max_bytes {
                self.cut = true;
                break;
            }
            self.visits -= 1;
            match d.value() {
                Node::Text(t) => code.push_str(t),
                Node::Element(e) if e.name() == "br" => code.push('\n'),
                _ => {}
            }
        }
        let code = code.trim_matches('\n');
        if code.trim().is_empty() {
            return;
        }
        out.block();
        if self.md() {
            let fence = if code.contains("```") { "~~~~" } else { "```" };
            out.raw(fence);
            out.raw("\n");
            out.raw(code);
            out.raw("\n");
            out.raw(fence);
        } else {
            out.raw(code);
        }
        out.block();
    }

    fn quote(&mut self, node: NodeRef<'_, Node>, out: &mut Out, depth: usize) {
        let body = self.inner(node, depth);
        let body = body.trim_matches('\n');
        out.block();
        if self.md() {
            for (i, line) in body.lines().enumerate() {
                if i > 0 {
                    out.raw("\n");
                }
                out.raw(if line.is_empty() { ">" } else { "> " });
                out.raw(line);
            }
        } else {
            out.raw(body);
        }
        out.block();
    }

    fn link(&mut self, node: NodeRef<'_, Node>, el: &Element, out: &mut Out, depth: usize) {
        if !self.md() {
            return self.children(node, out, depth);
        }
        let text = one_line(&self.inner(node, depth));
        if text.is_empty() {
            return;
        }
        match el.attr("href").and_then(|h| self.absolute(h)) {
            Some(url) => {
                out.raw("[");
                out.raw(&text);
                out.raw("](");
                out.raw(&url);
                out.raw(")");
            }
            None => out.raw(&text),
        }
    }

    fn image(&mut self, el: &Element, out: &mut Out) {
        if !self.md() {
            return;
        }
        if let Some(src) = el.attr("src").and_then(|s| self.absolute(s)) {
            let alt = one_line(el.attr("alt").unwrap_or(""));
            out.raw(&format!("![{}]({src})", alt.replace(['[', ']'], "")));
        }
    }

    /// Emphasis and inline code: `mark` around the children's text, spaces kept outside it.
    fn wrap(&mut self, node: NodeRef<'_, Node>, mark: &str, out: &mut Out, depth: usize) {
        let text = self.inner(node, depth);
        let inner = one_line(&text);
        if inner.is_empty() {
            return;
        }
        if !self.md() {
            out.text(&text);
            return;
        }
        if text.starts_with(' ') {
            out.text(" ");
        }
        let mark = if mark == "`" && inner.contains('`') {
            "``"
        } else {
            mark
        };
        out.raw(mark);
        out.raw(&inner);
        out.raw(mark);
        if text.ends_with(' ') {
            out.text(" ");
        }
    }

    /// An `href`/`src` as an absolute URL a Markdown reader can follow: http(s) or mailto, spaces and parentheses
    /// escaped; `None` for `javascript:` and the like.
    fn absolute(&self, href: &str) -> Option<String> {
        let href = href.trim_matches(|c: char| c <= ' ');
        if href.is_empty() {
            return None;
        }
        let url = self.base.join(href).ok()?;
        matches!(url.scheme(), "http" | "https" | "mailto")
            .then(|| url.as_str().replace('(', "%28").replace(')', "%29"))
    }

    pub(super) fn cell(&mut self, node: NodeRef<'_, Node>, depth: usize) -> String {
        one_line(&self.inner(node, depth))
    }

    pub(super) fn is_markdown(&self) -> bool {
        self.md()
    }

    /// Counts one visit; false (and the cut noted) when none is left.
    pub(super) fn visit(&mut self) -> bool {
        if self.cut || self.visits == 0 {
            self.cut = true;
            return false;
        }
        self.visits -= 1;
        true
    }
}

/// Lines joined by one space, trimmed.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A list item's text with its blank lines dropped (a tight list), trimmed.
fn tight(s: &str) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines.join("\n")
}

/// Writes `s` into `out` as a whole block.
pub(super) fn push_block(out: &mut Out, s: &str) {
    out.block();
    out.raw(s);
    out.block();
}

/// Ends `out`'s last line.
pub(super) fn end_line(out: &mut Out) {
    out.line();
}

/// Writes `s` as it is.
pub(super) fn push_raw(out: &mut Out, s: &str) {
    out.raw(s);
}
