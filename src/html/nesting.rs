//! Caps element nesting before html5ever sees a page: one linear pass over the markup that drops start tags
//! (and their end tags) that would open an element deeper than [`MAX_DEPTH`]. Their text and everything else is
//! kept, so content past the cap lands in the element at the cap, flattened.
//!
//! Why: html5ever's tree builder walks its stack of open elements for "has an element in scope" on most start
//! tags, so N nested elements cost O(N²) (100,000 nested `<div>`s took 33 s), and selector matching and text
//! collection are O(depth) per element on the resulting DOM. Browsers cap the tree depth for the same reason:
//! Blink's `kMaximumHTMLParserDOMTreeDepth = 512` (`html_construction_site.cc`) attaches deeper elements at the
//! cap. Here deeper *tags* are dropped instead (no element, no attributes), which keeps html5ever's stack shallow too.
//!
//! The pass models the stack conservatively, as a subset of the tree builder: void and raw-text elements and
//! self-closing foreign elements open nothing; an end tag pops to its start tag only when html5ever would find it
//! (not across scope boundaries, not across special elements for ordinary end tags, at most
//! `END_TAG_REACH` elements down); `p`, `li`, `dt`/`dd`, `option`, `tr`, `td`/`th` close a same-kind current
//! element. Where the model is unsure it over-counts depth, so a page whose real depth stays under the cap, which
//! is every normal page, passes through untouched (borrowed, not copied). What the model misses (exotic
//! mis-nesting that html5ever deepens) is caught by the work budget in [`crate::html::select`].

use std::borrow::Cow;
use std::collections::HashMap;

use memchr::{memchr, memmem};

/// Deepest element kept, counted in start tags (Blink's `kMaximumHTMLParserDOMTreeDepth`).
pub(super) const MAX_DEPTH: usize = 512;

/// How far down the stack an end tag looks for its start tag; farther ones are ignored (over-counting depth).
const END_TAG_REACH: usize = 64;

/// How an open element affects what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    /// An HTML "special" element: ordinary end tags do not close across it.
    Special,
    /// A scope boundary (`table`, `td`, `object`, …): no end tag closes across it.
    Boundary,
}

/// Elements that a same-group start tag closes implicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    None,
    P,
    Li,
    DtDd,
    Option,
    Cell,
    Tr,
}

impl Group {
    fn of(tag: &str) -> Group {
        match tag {
            "p" => Group::P,
            "li" => Group::Li,
            "dt" | "dd" => Group::DtDd,
            "option" => Group::Option,
            "td" | "th" => Group::Cell,
            "tr" => Group::Tr,
            _ => Group::None,
        }
    }
}

#[derive(Debug)]
struct Open<'a> {
    name: &'a str,
    kind: Kind,
    group: Group,
    /// Children are foreign (SVG/MathML) content: `/>` self-closes.
    foreign: bool,
}

/// Returns `html` with start tags deeper than [`MAX_DEPTH`] and their end tags removed; borrowed when nothing was.
#[must_use]
pub(crate) fn cap_depth(html: &str) -> Cow<'_, str> {
    let mut pass = Pass {
        html,
        stack: Vec::new(),
        dropped: HashMap::new(),
        lower: String::new(),
        out: None,
        copied: 0,
    };
    pass.run();
    match pass.out {
        Some(mut out) => {
            out.push_str(&html[pass.copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(html),
    }
}

struct Pass<'a> {
    html: &'a str,
    stack: Vec<Open<'a>>,
    /// Start tags dropped past the cap whose end tags are still to come, by lowercase name.
    dropped: HashMap<String, usize>,
    /// Reused buffer for the current tag's lowercase name.
    lower: String,
    out: Option<String>,
    copied: usize,
}

impl<'a> Pass<'a> {
    fn run(&mut self) {
        let b = self.html.as_bytes();
        let mut i = 0;
        while let Some(off) = memchr(b'<', &b[i..]) {
            let lt = i + off;
            i = match b.get(lt + 1) {
                Some(b'!') => skip_declaration(b, lt + 2),
                Some(b'/') if b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic) => {
                    self.end_tag(lt, lt + 2)
                }
                // Processing instructions and bogus end tags (`</>`, `</ x>`) run to `>`.
                Some(b'?' | b'/') => skip_past(b, lt + 2, b'>'),
                Some(c) if c.is_ascii_alphabetic() => self.start_tag(lt, lt + 1),
                _ => lt + 1,
            };
        }
    }

    /// Reads the tag name at `i` into `self.lower`; returns the name and where attributes start.
    fn name(&mut self, i: usize) -> (&'a str, usize) {
        let b = self.html.as_bytes();
        let end = b[i..]
            .iter()
            .position(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>')
            .map_or(b.len(), |p| i + p);
        let name = &self.html[i..end];
        self.lower.clear();
        self.lower.push_str(name);
        self.lower.make_ascii_lowercase();
        (name, end)
    }

    fn drop_range(&mut self, start: usize, end: usize) {
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(self.html.len()));
        out.push_str(&self.html[self.copied..start]);
        self.copied = end;
    }

    fn start_tag(&mut self, lt: usize, i: usize) -> usize {
        let (name, after) = self.name(i);
        let (end, self_closing) = tag_end(self.html.as_bytes(), after);
        let lower = self.lower.as_str();
        let foreign = self.stack.last().is_some_and(|o| o.foreign);
        if is_void(lower)
            || matches!(lower, "html" | "head" | "body")
            || (self_closing
                && (matches!(lower, "svg" | "math") || (foreign && !breaks_out(lower))))
        {
            return end;
        }
        if !foreign && is_raw_text(lower) {
            return if lower == "plaintext" {
                self.html.len()
            } else {
                find_end_tag(self.html.as_bytes(), end, lower)
            };
        }
        // At most two: `<tr>` closes an open cell, then its row.
        for _ in 0..2 {
            if self
                .stack
                .last()
                .is_some_and(|top| closes_current(lower, top.group))
            {
                self.stack.pop();
            }
        }
        if self.stack.len() >= MAX_DEPTH {
            *self.dropped.entry(self.lower.clone()).or_insert(0) += 1;
            self.drop_range(lt, end);
            return end;
        }
        let lower = self.lower.as_str();
        let kind = kind_of(lower);
        let foreign = match lower {
            "svg" | "math" => true,
            _ if foreign && (is_integration_point(lower) || breaks_out(lower)) => false,
            _ => foreign,
        };
        self.stack.push(Open {
            name,
            kind,
            group: Group::of(lower),
            foreign,
        });
        end
    }

    fn end_tag(&mut self, lt: usize, i: usize) -> usize {
        let (_, after) = self.name(i);
        let (end, _) = tag_end(self.html.as_bytes(), after);
        if let Some(n) = self.dropped.get_mut(self.lower.as_str()) {
            *n -= 1;
            if *n == 0 {
                self.dropped.remove(self.lower.as_str());
            }
            self.drop_range(lt, end);
            return end;
        }
        let lower = self.lower.as_str();
        if matches!(lower, "html" | "head" | "body") {
            return end;
        }
        let ordinary = kind_of(lower) == Kind::Plain;
        let table_part = matches!(
            lower,
            "table" | "caption" | "tbody" | "thead" | "tfoot" | "tr" | "td" | "th"
        );
        let reach = self.stack.len().saturating_sub(END_TAG_REACH);
        for at in (reach..self.stack.len()).rev() {
            let open = &self.stack[at];
            if open.name.eq_ignore_ascii_case(lower) {
                self.stack.truncate(at);
                break;
            }
            // The scopes html5ever checks: table scope for table parts, list-item and button scope for
            // `li` and `p`, the default scope otherwise; ordinary end tags also stop at special elements.
            let stop = if table_part {
                open.name.eq_ignore_ascii_case("table")
                    || open.name.eq_ignore_ascii_case("template")
            } else {
                open.kind == Kind::Boundary
                    || (ordinary && open.kind == Kind::Special)
                    || (lower == "li"
                        && (open.name.eq_ignore_ascii_case("ul")
                            || open.name.eq_ignore_ascii_case("ol")))
                    || (lower == "p" && open.name.eq_ignore_ascii_case("button"))
            };
            if stop {
                break;
            }
        }
        end
    }
}

/// Whether start tag `tag` (lowercase) implicitly closes the current element, of group `top`: only the cases where
/// html5ever certainly does, so the model never under-counts.
fn closes_current(tag: &str, top: Group) -> bool {
    match top {
        Group::P => tag == "p" || closes_p(tag),
        Group::Li => tag == "li",
        Group::DtDd => matches!(tag, "dt" | "dd"),
        Group::Option => matches!(tag, "option" | "optgroup"),
        Group::Cell => matches!(tag, "td" | "th" | "tr"),
        Group::Tr => tag == "tr",
        Group::None => false,
    }
}

/// Start tags that close an open `p` in button scope.
fn closes_p(tag: &str) -> bool {
    CLOSES_P.contains(&tag)
}

fn is_void(tag: &str) -> bool {
    VOID.contains(&tag)
}

fn is_raw_text(tag: &str) -> bool {
    RAW_TEXT.contains(&tag)
}

/// SVG/MathML elements whose children are HTML again.
fn is_integration_point(tag: &str) -> bool {
    INTEGRATION_POINTS.contains(&tag)
}

/// HTML start tags that end foreign content.
fn breaks_out(tag: &str) -> bool {
    BREAKS_OUT.contains(&tag)
}

fn kind_of(tag: &str) -> Kind {
    if BOUNDARY.contains(&tag) {
        Kind::Boundary
    } else if SPECIAL.contains(&tag) {
        Kind::Special
    } else {
        Kind::Plain
    }
}

// Tag sets from the HTML tree-construction rules (lowercase).

#[rustfmt::skip]
const CLOSES_P: &[&str] = &[
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hgroup", "hr", "listing", "main", "menu", "nav", "ol", "pre", "search", "section",
    "summary", "table", "ul", "xmp", "li", "dd", "dt", "plaintext",
];

#[rustfmt::skip]
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr", "image",
];

#[rustfmt::skip]
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
    "plaintext",
];

#[rustfmt::skip]
const INTEGRATION_POINTS: &[&str] = &[
    "foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext", "annotation-xml",
];

#[rustfmt::skip]
const BREAKS_OUT: &[&str] = &[
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing", "menu",
    "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike", "sub",
    "sup", "table", "tt", "u", "ul", "var", "font",
];

#[rustfmt::skip]
const BOUNDARY: &[&str] = &[
    "applet", "caption", "html", "table", "td", "th", "marquee", "object", "template", "svg",
    "math", "foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext", "annotation-xml",
    "select",
];

#[rustfmt::skip]
const SPECIAL: &[&str] = &[
    "address", "area", "article", "aside", "base", "basefont", "bgsound", "blockquote", "body",
    "br", "button", "center", "col", "colgroup", "dd", "details", "dir", "div", "dl", "dt", "embed",
    "fieldset", "figcaption", "figure", "footer", "form", "frame", "frameset", "h1", "h2", "h3",
    "h4", "h5", "h6", "head", "header", "hgroup", "hr", "iframe", "img", "input", "li", "link",
    "listing", "main", "menu", "meta", "nav", "noembed", "noframes", "noscript", "ol", "p", "param",
    "plaintext", "pre", "script", "search", "section", "source", "style", "summary", "tbody",
    "textarea", "tfoot", "thead", "tr", "track", "ul", "wbr", "xmp",
];

/// `<!--…-->`, or any other `<!…>` up to `>`; `i` is just past `<!`.
fn skip_declaration(b: &[u8], i: usize) -> usize {
    if b[i..].starts_with(b"--") {
        let body = i + 2;
        for short in [&b">"[..], b"->"] {
            if b[body..].starts_with(short) {
                return body + short.len();
            }
        }
        return memmem::find(&b[body..], b"-->").map_or(b.len(), |p| body + p + 3);
    }
    skip_past(b, i, b'>')
}

fn skip_past(b: &[u8], i: usize, c: u8) -> usize {
    memchr(c, &b[i..]).map_or(b.len(), |p| i + p + 1)
}

/// Skips a tag's attributes from `i`; returns the index past `>` (or the end) and whether it ended in `/>`.
fn tag_end(b: &[u8], mut i: usize) -> (usize, bool) {
    let mut slash = false;
    loop {
        match b.get(i) {
            None => return (b.len(), false),
            Some(b'>') => return (i + 1, slash),
            Some(b'/') => {
                slash = true;
                i += 1;
            }
            Some(c) if c.is_ascii_whitespace() => i += 1,
            Some(_) => {
                slash = false;
                // Attribute name (a leading `=` belongs to it), then an optional value.
                i += 1;
                while b
                    .get(i)
                    .is_some_and(|&c| !(c.is_ascii_whitespace() || matches!(c, b'/' | b'>' | b'=')))
                {
                    i += 1;
                }
                while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                if b.get(i) != Some(&b'=') {
                    continue;
                }
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                match b.get(i) {
                    Some(&q @ (b'"' | b'\'')) => i = skip_past(b, i + 1, q),
                    _ => {
                        while b
                            .get(i)
                            .is_some_and(|&c| !(c.is_ascii_whitespace() || c == b'>'))
                        {
                            i += 1;
                        }
                    }
                }
            }
        }
    }
}

/// Where the raw text of `<name>` ends: at its `</name` end tag (left for the caller), or the end of the input.
fn find_end_tag(b: &[u8], mut i: usize, name: &str) -> usize {
    let finder = memmem::Finder::new(b"</");
    while let Some(p) = finder.find(&b[i..]) {
        let at = i + p;
        let after = at + 2 + name.len();
        if b.get(at + 2..after)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && b.get(after)
                .is_none_or(|&c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>'))
        {
            return at;
        }
        i = at + 2;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> String {
        format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n))
    }

    #[test]
    fn shallow_pages_are_borrowed() {
        let samples = [
            nested(MAX_DEPTH),
            "<p>a<p>b<ul><li>1<li>2</ul><table><tr><td>1<td>2<tr><td>3</table>".repeat(1000),
            "<svg><path/><g/><circle/></svg><br><img><input>".repeat(1000),
            format!(
                "<script>{}</script><!--{}-->",
                "<div>".repeat(1000),
                "<div>".repeat(1000)
            ),
            "<b>unclosed <i>inline</b> tags</i>".repeat(1000),
        ];
        for html in &samples {
            assert!(
                matches!(cap_depth(html), Cow::Borrowed(_)),
                "{}",
                &html[..80]
            );
        }
    }

    #[test]
    fn deep_nesting_is_cut_at_the_cap() {
        let n = MAX_DEPTH + 100;
        let html = nested(n);
        assert_eq!(cap_depth(&html), nested(MAX_DEPTH));
    }

    #[test]
    fn dropped_tags_keep_text_and_quoted_brackets() {
        let html = format!(
            r#"{}<a title=">" href="/x">t</a><img src=y>{}"#,
            "<b>".repeat(MAX_DEPTH),
            "</b>".repeat(MAX_DEPTH)
        );
        let capped = cap_depth(&html);
        assert_eq!(
            capped,
            format!(
                "{}t<img src=y>{}",
                "<b>".repeat(MAX_DEPTH),
                "</b>".repeat(MAX_DEPTH)
            )
        );
    }

    #[test]
    fn self_closing_is_neutral_only_in_foreign_content() {
        let html = "<div/>".repeat(MAX_DEPTH + 1);
        assert!(matches!(cap_depth(&html), Cow::Owned(_)));
        let html = format!("<svg>{}</svg>", "<g/>".repeat(10 * MAX_DEPTH));
        assert!(matches!(cap_depth(&html), Cow::Borrowed(_)));
    }
}
