//! `--render auto`'s rule: does a fetched page look like an app shell, an HTML page whose content only scripts
//! will make? Pure and linear over the page; the browser is only started for pages it says yes to.
//!
//! The rule: the page loads a script (`<script src=…>` or `type=module`) **and** one of
//! - an empty mount element: `id` = `root`, `app`, `__next`, `__nuxt`, `___gatsby`, `svelte` or `q-app`
//!   with nothing but whitespace before its end tag;
//! - a `<noscript>` that mentions JavaScript ("You need to enable JavaScript to run this app.");
//! - under [`MIN_TEXT`] characters of visible text (outside `<head>`, `<script>`, `<style>`, `<noscript>`,
//!   `<template>`, whitespace collapsed) and under [`MIN_LINKS`] `<a href`.
//!
//! A page without any script is never a shell: nothing would change it. Measured in `shell/tests.rs`.

/// Visible characters under which a page with a script counts as empty.
pub(crate) const MIN_TEXT: usize = 200;
/// `<a href` under which a page with a script and little text counts as empty.
pub(crate) const MIN_LINKS: usize = 3;

/// The mount points of the common frameworks (React's `create-react-app` and Vite, Vue, Next, Nuxt, Gatsby,
/// Svelte, Quasar).
const MOUNTS: [&str; 7] = [
    "root",
    "app",
    "__next",
    "__nuxt",
    "___gatsby",
    "svelte",
    "q-app",
];
/// Elements whose text is not visible.
const HIDDEN: [&str; 5] = ["head", "script", "style", "noscript", "template"];

/// Whether `html` looks like an app shell (see the module's rule).
#[must_use]
pub(crate) fn is_app_shell(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    if !loads_script(&lower) {
        return false;
    }
    empty_mount(&lower) || noscript_asks(&lower) || {
        let (text, links) = visible(&lower);
        text < MIN_TEXT && links < MIN_LINKS
    }
}

/// A `<script>` with `src` or `type=module`.
fn loads_script(lower: &str) -> bool {
    tags(lower, "<script").any(|tag| tag.contains("src=") || tag.contains("module"))
}

/// The opening tags named `open` (`<script`): each from its name to its `>`.
fn tags<'a>(lower: &'a str, open: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    lower.match_indices(open).filter_map(move |(at, _)| {
        let rest = &lower[at + open.len()..];
        let boundary = rest.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/');
        let end = rest.find('>')?;
        boundary.then(|| &rest[..end])
    })
}

fn empty_mount(lower: &str) -> bool {
    MOUNTS.iter().any(|id| {
        [
            format!("id=\"{id}\""),
            format!("id='{id}'"),
            format!("id={id}"),
        ]
        .iter()
        .any(|attr| {
            lower.match_indices(attr.as_str()).any(|(at, _)| {
                let after = &lower[at + attr.len()..];
                let next = after.chars().next();
                let whole =
                    matches!(next, Some(c) if c.is_ascii_whitespace() || c == '>' || c == '/');
                let Some(gt) = after.find('>') else {
                    return false;
                };
                whole && after[gt + 1..].trim_start().starts_with("</")
            })
        })
    })
}

fn noscript_asks(lower: &str) -> bool {
    lower.match_indices("<noscript").any(|(at, _)| {
        let body = &lower[at..];
        let end = body.find("</noscript").unwrap_or(body.len());
        body[..end].contains("javascript")
    })
}

/// Visible characters (whitespace runs count as one) and `<a href` count, outside [`HIDDEN`] elements.
fn visible(lower: &str) -> (usize, usize) {
    let (mut text, mut links, mut space) = (0, 0, true);
    let mut rest = lower;
    while let Some(lt) = rest.find('<') {
        text += count(&rest[..lt], &mut space);
        rest = &rest[lt..];
        if let Some(name) = HIDDEN.iter().find(|n| opens(rest, n)) {
            let close = format!("</{name}");
            rest = rest.find(&close).map_or("", |c| &rest[c + close.len()..]);
            continue;
        }
        if opens(rest, "a") && rest[..rest.find('>').unwrap_or(rest.len())].contains("href") {
            links += 1;
        }
        rest = rest.find('>').map_or("", |gt| &rest[gt + 1..]);
    }
    (text + count(rest, &mut space), links)
}

/// Whether `s` (at a `<`) opens the element `name`.
fn opens(s: &str, name: &str) -> bool {
    s.get(1..=name.len()) == Some(name)
        && s[1 + name.len()..]
            .starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
}

fn count(s: &str, space: &mut bool) -> usize {
    let mut n = 0;
    for c in s.chars() {
        if c.is_whitespace() {
            if !*space {
                n += 1;
                *space = true;
            }
        } else {
            n += 1;
            *space = false;
        }
    }
    n
}

#[cfg(test)]
mod tests;
