//! Drops the rendered blocks that rs-trafilatura's own text left out.
//!
//! Its HTML of the main content still holds what its text extraction filters: the headline, bylines, dates,
//! share bars and image credits (on the benchmark, `bench/content_eval.py`, rendering its HTML whole scored
//! precision 0.910 against 0.927 for its text). Its text has no structure, so the blocks are rendered from the HTML
//! and each is kept only when its letters occur in the text, in order.

use memchr::memmem;

/// Letters a block's match may start after the previous match: what the text holds that the rendering does not.
const SLACK: usize = 256;

/// A block found further on than [`SLACK`] is kept only when it is this long (in letters): a short line (a
/// date, "Share") found far ahead is a coincidence, and jumping there would drop the blocks in between.
const FAR_MATCH_MIN: usize = 40;

/// Share of the reference's letters the kept blocks must cover; below it the text and the HTML came from
/// different places (rs-trafilatura replaces its text by a JSON-LD body or merged sections but keeps the HTML),
/// and the rendering is kept whole. Without this, 2 benchmark pages lost their whole content.
const MIN_COVER: f64 = 0.8;

/// `rendered` with its paragraphs (`\n\n`-separated) not found in `reference` removed. Searches are bounded:
/// once they have read 16 times the reference, the remaining blocks are kept as they are.
pub(super) fn keep_blocks_in(rendered: &str, reference: &str, markdown: bool) -> String {
    let hay = letters(reference, false);
    let mut budget = hay.len().saturating_mul(16).max(1 << 16);
    let mut cursor = 0;
    let mut found = 0;
    let mut out = String::with_capacity(rendered.len());
    for block in rendered.split("\n\n") {
        let needle = letters(block, markdown);
        let keep = if needle.is_empty() || budget == 0 {
            true
        } else {
            let rest = &hay[cursor..];
            let near = &rest[..rest.len().min(needle.len() + SLACK)];
            budget = budget.saturating_sub(near.len());
            let at = match memmem::find(near, &needle) {
                Some(at) => Some(at),
                None if needle.len() >= FAR_MATCH_MIN => {
                    budget = budget.saturating_sub(rest.len());
                    memmem::find(rest, &needle)
                }
                None => None,
            };
            if let Some(at) = at {
                cursor += at + needle.len();
                found += needle.len();
            }
            at.is_some()
        };
        if keep && !block.trim().is_empty() {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(block);
        }
    }
    if (found as f64) < MIN_COVER * hay.len() as f64 {
        return rendered.to_owned();
    }
    out
}

/// The lowercase letters and digits of `s`; for Markdown, without link targets, images and list numbers.
fn letters(s: &str, markdown: bool) -> Vec<u8> {
    let mut out = String::with_capacity(s.len());
    if markdown {
        for line in s.lines() {
            let body = line.trim_start();
            let digits = body.bytes().take_while(u8::is_ascii_digit).count();
            let body = if digits > 0 && body[digits..].starts_with(". ") {
                &body[digits + 2..]
            } else {
                body
            };
            push_letters(&mut out, &strip_targets(body));
        }
    } else {
        push_letters(&mut out, s);
    }
    out.into_bytes()
}

fn push_letters(out: &mut String, s: &str) {
    out.extend(
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase),
    );
}

/// A Markdown line without images (`![alt](src)`) and link targets (`](href)`).
fn strip_targets(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let (before, after) = rest.split_at(at);
        match before.rfind("![") {
            Some(img) => out.push_str(&before[..img]),
            None => out.push_str(before),
        }
        rest = after.find(')').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_blocks_of_the_text_in_order() {
        let rendered =
            "# Headline\n\nNovember 20\n\nFirst paragraph of the story.\n\n![](http://x/i.png)\n\n\
                        Second [paragraph](http://x/p) here.\n\n1. item one\n2. item two\n\nShare";
        let reference = "First paragraph of the story. Second paragraph here. item one item two";
        assert_eq!(keep_blocks_in(rendered, "something else", true), rendered);
        assert_eq!(
            keep_blocks_in(rendered, reference, true),
            "First paragraph of the story.\n\n![](http://x/i.png)\n\nSecond [paragraph](http://x/p) here.\n\n\
             1. item one\n2. item two"
        );
    }

    #[test]
    fn a_short_line_found_far_ahead_is_dropped() {
        let long = "word ".repeat(100);
        let rendered = format!("Share\n\n{}", long.trim_end());
        let reference = format!("{long} Share");
        assert_eq!(
            keep_blocks_in(&rendered, &reference, false),
            long.trim_end()
        );
    }
}
