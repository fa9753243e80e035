//! Bounded `--select`: the DOM for a page is built and queried in time linear in its size, and the extracted
//! text of a record is capped at [`MAX_EXTRACT_BYTES`].
//!
//! Three limits, each a backstop for what the one before cannot see:
//! 1. [`crate::html::nesting::cap_depth`] flattens nesting past 512 elements before html5ever runs (the common attack:
//!    deep nesting makes html5ever's tree builder quadratic).
//! 2. html5ever is fed in `CHUNK`-sized pieces through a sink that counts its work (element names read while
//!    walking the stack of open elements, nodes created and appended, and each appended node's depth); once
//!    [`WORK_BUDGET`] is spent the rest of the page is not parsed. This catches mis-nesting that html5ever itself
//!    amplifies (re-opened formatting elements), and also bounds selector matching, which is O(depth) per element.
//! 3. Collecting values stops once [`MAX_EXTRACT_BYTES`] of JSON are used or [`MAX_TEXT_VISITS`] nodes have been
//!    walked for text, so 20,000 nested `<div>`s never build 20,000 copies of the page's text.
//!
//! When any limit cut something, the extract gets a last entry [`TRUNCATED_KEY`] listing the names whose values
//! may be incomplete (so every value is still a list of strings).

use std::cell::Cell;

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName};
use scraper::{ElementRef, Html, HtmlTreeSink, Node};
use std::borrow::Cow;

use crate::html::Extractor;
use crate::record::Extract;

/// Most JSON bytes of extracted values in one record: the values' escaped text plus 3 (`"",`) per value.
pub(crate) const MAX_EXTRACT_BYTES: usize = 1 << 20;

/// The extract key that marks a cut: its value lists the `--select` names whose values may be incomplete. It is
/// reserved: no `--select` NAME may use it.
pub(crate) const TRUNCATED_KEY: &str = "_truncated";

/// Units of tree-builder work per page (one per element name read, node created or appended, ancestor counted).
/// A normal 10 MB page needs about a quarter of it.
pub(crate) const WORK_BUDGET: u64 = 64_000_000;

/// Most nodes walked collecting text, over all matches of all selectors on a page.
pub(crate) const MAX_TEXT_VISITS: usize = 32_000_000;

/// Input fed to html5ever between two budget checks (bytes).
const CHUNK: usize = 16 * 1024;

/// Depth at which an appended node ends parsing: past anything [`crate::html::nesting::cap_depth`] lets through.
const DEPTH_LIMIT: u64 = 4 * crate::html::nesting::MAX_DEPTH as u64;

/// JSON bytes a value costs besides its text: two quotes and a comma.
const VALUE_OVERHEAD: usize = 3;

/// Parses `html` and applies `extractors`, within the limits above.
#[must_use]
pub(crate) fn extract(html: &str, extractors: &[Extractor]) -> Extract {
    let capped = crate::html::nesting::cap_depth(html);
    let (doc, complete) = parse_bounded(&capped);
    let mut budget = Budget {
        bytes: MAX_EXTRACT_BYTES,
        visits: MAX_TEXT_VISITS,
    };
    let mut out = Vec::with_capacity(extractors.len() + 1);
    let mut cut = Vec::new();
    for x in extractors {
        let (values, all) = extract_one(&doc, x, &mut budget);
        if !(all && complete) {
            cut.push(x.name.clone());
        }
        out.push((x.name.clone(), values));
    }
    if !cut.is_empty() {
        out.push((TRUNCATED_KEY.to_owned(), cut));
    }
    Extract(out)
}

/// Parses with html5ever (via scraper's sink) until the page ends or [`WORK_BUDGET`] is spent; the flag is false
/// when parsing stopped early.
pub(crate) fn parse_bounded(html: &str) -> (Html, bool) {
    let sink = Metered {
        inner: HtmlTreeSink::new(Html::new_document()),
        work: Cell::new(0),
    };
    let mut parser = html5ever::parse_document(sink, html5ever::ParseOpts::default());
    let mut rest = html;
    let mut complete = true;
    while !rest.is_empty() {
        if parser.tokenizer.sink.sink.work.get() > WORK_BUDGET {
            complete = false;
            break;
        }
        let mut at = rest.len().min(CHUNK);
        while !rest.is_char_boundary(at) {
            at += 1;
        }
        let (chunk, tail) = rest.split_at(at);
        parser.process(StrTendril::from_slice(chunk));
        rest = tail;
    }
    (parser.finish(), complete)
}

type Id = <HtmlTreeSink as TreeSink>::Handle;

/// scraper's sink, counting the tree builder's work.
struct Metered {
    inner: HtmlTreeSink,
    work: Cell<u64>,
}

impl Metered {
    fn charge(&self, units: u64) {
        self.work.set(self.work.get().saturating_add(units));
    }

    /// Charges for an append under `parent`: one unit per ancestor, up to [`DEPTH_LIMIT`]; reaching it spends
    /// the whole budget, so a DOM deeper than that is never built past the current chunk.
    fn charge_depth(&self, parent: Id) {
        let html = self.inner.0.borrow();
        let depth = html.tree.get(parent).map_or(0, |n| {
            n.ancestors().take(DEPTH_LIMIT as usize).count() as u64
        });
        self.charge(depth + 1);
        if depth + 1 >= DEPTH_LIMIT {
            self.work.set(u64::MAX);
        }
    }

    fn charge_child(&self, parent: Id, child: &NodeOrText<Id>) {
        match child {
            NodeOrText::AppendNode(_) => self.charge_depth(parent),
            NodeOrText::AppendText(_) => self.charge(1),
        }
    }
}

impl TreeSink for Metered {
    type Handle = <HtmlTreeSink as TreeSink>::Handle;
    type Output = Html;
    type ElemName<'a> = <HtmlTreeSink as TreeSink>::ElemName<'a>;

    fn finish(self) -> Html {
        self.inner.finish()
    }
    fn parse_error(&self, msg: Cow<'static, str>) {
        self.inner.parse_error(msg);
    }
    fn get_document(&self) -> Self::Handle {
        self.inner.get_document()
    }
    fn elem_name<'a>(&'a self, target: &'a Self::Handle) -> Self::ElemName<'a> {
        self.charge(1);
        self.inner.elem_name(target)
    }
    fn create_element(
        &self,
        name: QualName,
        attrs: Vec<Attribute>,
        flags: ElementFlags,
    ) -> Self::Handle {
        self.charge(1);
        self.inner.create_element(name, attrs, flags)
    }
    fn create_comment(&self, text: StrTendril) -> Self::Handle {
        self.charge(1);
        self.inner.create_comment(text)
    }
    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Self::Handle {
        self.charge(1);
        self.inner.create_pi(target, data)
    }
    fn append(&self, parent: &Self::Handle, child: NodeOrText<Self::Handle>) {
        self.charge_child(*parent, &child);
        self.inner.append(parent, child);
    }
    fn append_based_on_parent_node(
        &self,
        element: &Self::Handle,
        prev_element: &Self::Handle,
        child: NodeOrText<Self::Handle>,
    ) {
        self.charge_child(*prev_element, &child);
        self.inner
            .append_based_on_parent_node(element, prev_element, child);
    }
    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.charge(1);
        self.inner
            .append_doctype_to_document(name, public_id, system_id);
    }
    fn get_template_contents(&self, target: &Self::Handle) -> Self::Handle {
        self.inner.get_template_contents(target)
    }
    fn same_node(&self, x: &Self::Handle, y: &Self::Handle) -> bool {
        self.inner.same_node(x, y)
    }
    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode);
    }
    fn append_before_sibling(&self, sibling: &Self::Handle, new_node: NodeOrText<Self::Handle>) {
        self.charge_child(*sibling, &new_node);
        self.inner.append_before_sibling(sibling, new_node);
    }
    fn add_attrs_if_missing(&self, target: &Self::Handle, attrs: Vec<Attribute>) {
        self.charge(1 + attrs.len() as u64);
        self.inner.add_attrs_if_missing(target, attrs);
    }
    fn remove_from_parent(&self, target: &Self::Handle) {
        self.charge(1);
        self.inner.remove_from_parent(target);
    }
    fn reparent_children(&self, node: &Self::Handle, new_parent: &Self::Handle) {
        self.charge_depth(*new_parent);
        self.inner.reparent_children(node, new_parent);
    }
}

/// What is left for the rest of a record's values.
struct Budget {
    bytes: usize,
    visits: usize,
}

/// One selector's values, and whether they are all there (false when the budget cut them).
fn extract_one(doc: &Html, x: &Extractor, budget: &mut Budget) -> (Vec<String>, bool) {
    let mut values = Vec::new();
    for el in doc.select(&x.selector) {
        let (value, whole) = match &x.attr {
            Some(attr) => match el.value().attr(attr) {
                Some(v) if budget.bytes >= VALUE_OVERHEAD => {
                    budget.bytes -= VALUE_OVERHEAD;
                    take(v, &mut budget.bytes)
                }
                Some(_) => return (values, false),
                None => continue,
            },
            None if budget.bytes >= VALUE_OVERHEAD => {
                budget.bytes -= VALUE_OVERHEAD;
                text(el, budget)
            }
            None => return (values, false),
        };
        values.push(value);
        if !whole {
            return (values, false);
        }
    }
    (values, true)
}

/// JSON bytes a character costs (an upper bound: control characters are counted as `\u00XX`).
fn json_cost(c: char) -> usize {
    match c {
        '"' | '\\' => 2,
        c if c < ' ' => 6,
        c => c.len_utf8(),
    }
}

/// `s` up to what `bytes` pays for, cut at a char boundary; and whether it is whole.
fn take(s: &str, bytes: &mut usize) -> (String, bool) {
    for (i, c) in s.char_indices() {
        let cost = json_cost(c);
        if cost > *bytes {
            return (s[..i].to_owned(), false);
        }
        *bytes -= cost;
    }
    (s.to_owned(), true)
}

/// An element's text with ASCII whitespace runs collapsed to one space and trimmed (as [`crate::html::collapse`] of
/// all its text), built within the budget; and whether it is whole.
fn text(el: ElementRef<'_>, budget: &mut Budget) -> (String, bool) {
    let mut out = String::new();
    let mut space = false;
    for node in el.descendants() {
        if budget.visits == 0 {
            return (out, false);
        }
        budget.visits -= 1;
        let Node::Text(t) = node.value() else {
            continue;
        };
        for c in t.chars() {
            if c.is_ascii_whitespace() {
                space = true;
                continue;
            }
            let sep = space && !out.is_empty();
            let cost = json_cost(c) + usize::from(sep);
            if cost > budget.bytes {
                return (out, false);
            }
            budget.bytes -= cost;
            if sep {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{collapse, parse_page};
    use url::Url;

    fn strs(links: &[String]) -> Vec<&str> {
        links.iter().map(String::as_str).collect()
    }

    /// `n` nested `<div>`s, each starting with a word, after a title and a link.
    fn nested_divs(n: usize) -> String {
        format!(
            "<title>deep</title><a href='/l'>l</a>{}{}",
            "<div>word ".repeat(n),
            "</div>".repeat(n)
        )
    }

    fn deep_select(n: usize) {
        let xs = [
            Extractor::parse("x=div").unwrap(),
            Extractor::parse("y=a@href").unwrap(),
        ];
        let html = nested_divs(n);
        let started = std::time::Instant::now();
        let p = parse_page(&html, &Url::parse("http://h.test/").unwrap(), &xs);
        // A hang guard only (debug build); release timings are in the commit message.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(p.title.as_deref(), Some("deep"));
        assert_eq!(strs(&p.links), ["http://h.test/l"]);
        let extract = p.extract.unwrap();
        let json = serde_json::to_string(&extract).unwrap();
        assert!(json.len() <= MAX_EXTRACT_BYTES + 100, "{}", json.len());
        let e = extract.0;
        assert_eq!(e.len(), 3);
        assert!(e[0].1[0].starts_with("word word"));
        assert_eq!(e[2], (TRUNCATED_KEY.into(), vec!["x".into(), "y".into()]));
    }

    #[test]
    fn select_on_100k_nested_divs_is_bounded() {
        deep_select(100_000);
    }

    #[test]
    fn select_on_1m_nested_divs_is_bounded() {
        deep_select(1_000_000);
    }

    #[test]
    fn uncut_extracts_have_no_marker_and_the_marker_name_is_reserved() {
        let xs = [Extractor::parse("x=div").unwrap()];
        let html = "<div>a<div>b</div></div>";
        let e = parse_page(html, &Url::parse("http://h.test/").unwrap(), &xs)
            .extract
            .unwrap()
            .0;
        assert_eq!(e, [("x".into(), vec!["ab".into(), "b".into()])]);
        assert!(Extractor::parse("_truncated=p").is_err());
    }

    /// The bounded path against plain scraper (the code before the bound) on ordinary markup: same values.
    #[test]
    fn bounded_select_matches_plain_scraper() {
        let samples = [
            "<table><tr><td> a <td>b<tr><td>c</table><p>x<p>y <b>z<i>w</b>v</i><ul><li>1<li>2</ul>",
            "<div><svg><g/><title>t</title></svg> after <!-- c --><script>s</script>\n\t tail&amp;</div>",
            "<body><div title=\"q&quot;\">a<span>b</span> c </div><template><div>t</div></template>",
            "<dl><dt>k<dd>v<dt>k2<dd>v2</dl><select><option>o1<option>o2</select><div>é ☃</div>",
        ];
        let specs = [
            "d=div",
            "t=td",
            "all=*",
            "s=span",
            "o=option",
            "dd=dt, dd",
            "ti=div@title",
            "p=p",
        ];
        let xs: Vec<Extractor> = specs.iter().map(|s| Extractor::parse(s).unwrap()).collect();
        let url = Url::parse("http://h.test/").unwrap();
        for html in samples {
            let doc = Html::parse_document(html);
            let want: Vec<(String, Vec<String>)> = xs
                .iter()
                .map(|x| {
                    let values = doc
                        .select(&x.selector)
                        .filter_map(|el| match &x.attr {
                            Some(a) => el.value().attr(a).map(str::to_owned),
                            None => Some(collapse(&el.text().collect::<String>())),
                        })
                        .collect();
                    (x.name.clone(), values)
                })
                .collect();
            assert_eq!(
                parse_page(html, &url, &xs).extract.unwrap().0,
                want,
                "{html}"
            );
        }
    }

    #[test]
    fn values_are_cut_at_the_cap_on_a_char_boundary() {
        let xs = [Extractor::parse("x=p@title").unwrap()];
        let html = format!("<p title='{}'>", "é".repeat(MAX_EXTRACT_BYTES));
        let e = parse_page(&html, &Url::parse("http://h.test/").unwrap(), &xs)
            .extract
            .unwrap()
            .0;
        assert_eq!(e[0].1[0].len(), MAX_EXTRACT_BYTES - 4);
        assert_eq!(e[1], (TRUNCATED_KEY.into(), vec!["x".into()]));
    }
}
