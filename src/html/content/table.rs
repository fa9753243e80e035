//! `<table>` → a GFM pipe table (Markdown) or tab-separated rows (text). A table that holds another table, or a
//! single column, is layout, not data: its cells are written as paragraphs instead.

use ego_tree::NodeRef;
use scraper::Node;

use super::render::{end_line, push_block, push_raw, Out, Renderer};

/// The table's rows, each its cells' elements: rows of `thead`/`tbody`/`tfoot` and direct rows, not those of a
/// nested table.
fn rows<'a>(table: NodeRef<'a, Node>) -> Vec<Vec<NodeRef<'a, Node>>> {
    let mut rows = Vec::new();
    let mut push_row = |tr: NodeRef<'a, Node>| {
        let cells = tr
            .children()
            .filter(|c| matches!(c.value(), Node::Element(e) if matches!(e.name(), "td" | "th")))
            .collect::<Vec<_>>();
        if !cells.is_empty() {
            rows.push(cells);
        }
    };
    for child in table.children() {
        let Node::Element(e) = child.value() else {
            continue;
        };
        match e.name() {
            "tr" => push_row(child),
            "thead" | "tbody" | "tfoot" => {
                for tr in child.children() {
                    if matches!(tr.value(), Node::Element(e) if e.name() == "tr") {
                        push_row(tr);
                    }
                }
            }
            _ => {}
        }
    }
    rows
}

fn holds_table(node: NodeRef<'_, Node>) -> bool {
    node.descendants()
        .skip(1)
        .any(|d| matches!(d.value(), Node::Element(e) if e.name() == "table"))
}

/// Renders one `<table>`.
pub(super) fn table(r: &mut Renderer<'_>, node: NodeRef<'_, Node>, out: &mut Out, depth: usize) {
    let rows = rows(node);
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    if width < 2 || rows.iter().flatten().any(|c| holds_table(*c)) {
        // Layout: each cell's content is a block of its own.
        for cell in rows.iter().flatten() {
            let mut sub = Out::default();
            for child in cell.children() {
                r.node(child, &mut sub, depth + 2);
            }
            let text = sub.s.trim().to_owned();
            if !text.is_empty() {
                push_block(out, &text);
            }
        }
        return;
    }
    let mut lines = Vec::with_capacity(rows.len() + 1);
    for (i, row) in rows.iter().enumerate() {
        let mut cells = Vec::with_capacity(width);
        for cell in row {
            if !r.visit() {
                break;
            }
            cells.push(r.cell(*cell, depth + 2));
        }
        if r.is_markdown() {
            cells.resize(width, String::new());
            let escaped: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
            lines.push(format!("| {} |", escaped.join(" | ")));
            if i == 0 {
                lines.push(format!("|{}", " --- |".repeat(width)));
            }
        } else {
            lines.push(cells.join("\t").trim_end().to_owned());
        }
    }
    if let Some(caption) = node
        .children()
        .find(|c| matches!(c.value(), Node::Element(e) if e.name() == "caption"))
    {
        let text = r.cell(caption, depth + 1);
        if !text.is_empty() {
            push_block(out, &text);
        }
    }
    push_block(out, "");
    for line in lines {
        push_raw(out, &line);
        end_line(out);
    }
    push_block(out, "");
}
