//! The layer rule of `ARCHITECTURE.md`, enforced: every `crate::` and `super::` path in `src/**/*.rs` may name
//! only its own top-level module or one below it in [`LAYERS`], and no file-level import circle may exist.
//!
//! A source-level check (no compiler plugin): comments and inline `#[cfg(test)] mod tests { … }` blocks are
//! skipped, and so are `tests.rs` files (tests may reach anything, e.g. build a config from flags), `pub use` re-exports are the facade of a folder and not a dependency of its
//! code, and `lib.rs`/`main.rs` (the facade and the binary) are exempt.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom to top. A module may import from modules listed before it (lower layers, or earlier in its own layer)
/// and from itself, never from one listed after it. Keep in step with the table in `ARCHITECTURE.md` and `lib.rs`.
const LAYERS: &[(&str, &[&str])] = &[
    ("pure rules", &["digest", "url", "record", "robots", "html"]),
    (
        "I/O adapters",
        &["input", "net", "output", "warc", "render"],
    ),
    ("politeness", &["polite"]),
    ("crawl engine", &["crawl"]),
    ("run wiring", &["config", "app"]),
    ("shell", &["cli"]),
];

fn rank(top: &str) -> Option<usize> {
    LAYERS
        .iter()
        .flat_map(|(_, ms)| ms.iter())
        .position(|m| *m == top)
}

/// A source file and the module path it defines (`["net", "dns"]` for `src/net/dns/mod.rs`).
struct Source {
    path: PathBuf,
    module: Vec<String>,
    text: String,
}

fn sources(src: &Path) -> Vec<Source> {
    let mut out = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    let mut guard = 0;
    while let Some(dir) = dirs.pop() {
        guard += 1;
        assert!(guard < 10_000, "too many folders under src/");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap();
                let mut module: Vec<String> = rel
                    .iter()
                    .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned())
                    .collect();
                if module.last().is_some_and(|l| l == "mod") {
                    module.pop();
                }
                let text = std::fs::read_to_string(&path).unwrap();
                out.push(Source { path, module, text });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The code of a file that counts: no comments, no inline test module, no re-export lines.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let t = line.trim_start();
        if t == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|(_, n)| n.trim_start().starts_with("mod tests {"))
        {
            break; // the inline tests run to the end of the file, by convention
        }
        if t.starts_with("//") || t.starts_with("pub use ") || t.starts_with("pub(crate) use ") {
            continue;
        }
        let code = t.split("//").next().unwrap_or("");
        out.push((i + 1, code.to_owned()));
    }
    out
}

/// Every path after `crate::` or `super::` in `code` (a `use` group `{a::b, c}` expanded), with which it was.
fn paths(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut out = Vec::new();
    for (kw, is_super) in [("crate::", false), ("super::", true)] {
        let mut rest = code;
        while let Some(at) = rest.find(kw) {
            let before = rest[..at].chars().last();
            rest = &rest[at + kw.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') && !is_super {
                continue; // `crawlfish::crate::` cannot occur; `x::super::` is a climb within a path
            }
            let mut supers = 0;
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                supers += 1;
                tail = t;
            }
            for p in expand(tail) {
                let mut full: Vec<String> = vec!["super".into(); supers];
                full.extend(p);
                out.push((is_super, full));
            }
        }
    }
    out
}

/// `a::b::{c, d::e}` → `[a,b,c]`, `[a,b,d,e]`; stops at the first character that ends a path.
fn expand(text: &str) -> Vec<Vec<String>> {
    let mut segs = Vec::new();
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end > 0 {
            segs.push(rest[..end].to_owned());
        }
        rest = &rest[end..];
        if let Some(r) = rest.strip_prefix("::") {
            if let Some(group) = r.strip_prefix('{') {
                let mut depth = 1;
                let mut close = group.len();
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        close = i;
                        break;
                    }
                }
                let mut out = Vec::new();
                let mut depth = 0;
                let mut start = 0;
                let inner = &group[..close];
                for (i, c) in inner.char_indices().chain([(inner.len(), ',')]) {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            for tail in expand(inner[start..i].trim()) {
                                let mut p = segs.clone();
                                p.extend(tail);
                                out.push(p);
                            }
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                return out;
            }
            rest = r;
        } else {
            return vec![segs];
        }
    }
}

/// The deepest module file a path names, as a module path.
fn resolve(path: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

struct Edge {
    from: usize,
    to: Vec<String>,
    line: usize,
}

/// A folder's re-exports (`pub(crate) use child::{A, B}` in its `mod.rs`): `(folder, name)` → the module that
/// defines the name, so an import of `crate::folder::A` counts as one of the child, as the compiler sees it.
fn reexports(files: &[Source]) -> BTreeMap<(Vec<String>, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for f in files {
        for line in f.text.lines() {
            let t = line.trim_start();
            let Some(rest) = t
                .strip_prefix("pub use ")
                .or_else(|| t.strip_prefix("pub(crate) use "))
            else {
                continue;
            };
            let rest = rest.trim_end_matches(';');
            let relative = !rest.starts_with("crate::");
            for p in expand(rest.trim_start_matches("crate::")) {
                let Some((name, path)) = p.split_last() else {
                    continue;
                };
                let mut source = if relative {
                    f.module.clone()
                } else {
                    Vec::new()
                };
                source.extend(path.iter().cloned());
                out.insert((f.module.clone(), name.clone()), source);
            }
        }
    }
    out
}

fn edges(files: &[Source]) -> Vec<Edge> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let exported = reexports(files);
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if f.module.len() == 1 && (f.module[0] == "lib" || f.module[0] == "main") {
            continue;
        }
        if f.module.last().is_some_and(|m| m == "tests") {
            continue; // a folder's `tests.rs` is test code, like an inline `mod tests`
        }
        for (line, code) in code_lines(&f.text) {
            for (is_super, p) in paths(&code) {
                let mut abs = if is_super || p.first().is_some_and(|s| s == "super") {
                    f.module.clone()
                } else {
                    Vec::new()
                };
                for seg in p {
                    if seg == "super" {
                        abs.pop();
                    } else {
                        abs.push(seg);
                    }
                }
                if abs.first().is_some_and(|s| s == "self") {
                    continue;
                }
                if let Some(mut to) = resolve(&abs, &modules) {
                    if let Some(name) = abs.get(to.len()) {
                        if let Some(source) = exported.get(&(to.clone(), name.clone())) {
                            if let Some(s) = resolve(source, &modules) {
                                to = s;
                            }
                        }
                    }
                    if to != f.module {
                        out.push(Edge { from: i, to, line });
                    }
                }
            }
        }
    }
    out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The violations of the layer rule in the tree at `src`, as `file:line: message` lines.
pub(crate) fn upward_imports(src: &Path) -> Vec<String> {
    let files = sources(src);
    let mut bad = Vec::new();
    for f in &files {
        let top = &f.module[0];
        if top != "lib" && top != "main" && rank(top).is_none() {
            bad.push(format!(
                "{}: module `{top}` is in no layer of LAYERS",
                f.path.display()
            ));
        }
    }
    for e in edges(&files) {
        let f = &files[e.from];
        let (from, to) = (&f.module[0], &e.to[0]);
        if from == to {
            continue;
        }
        match (rank(from), rank(to)) {
            (Some(a), Some(b)) if b < a => {}
            _ => bad.push(format!(
                "{}:{}: `{from}` imports `crate::{}`, which is not below it in the layer table",
                f.path.display(),
                e.line,
                e.to.join("::")
            )),
        }
    }
    bad
}

/// One import circle between files, if there is one, as the module paths around it.
pub(crate) fn circle(src: &Path) -> Option<Vec<String>> {
    let files = sources(src);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in edges(&files) {
        graph
            .entry(files[e.from].module.join("::"))
            .or_default()
            .insert(e.to.join("::"));
    }
    // Depth-first search with colours; the stack gives the circle.
    let mut state: BTreeMap<String, u8> = BTreeMap::new();
    let nodes: Vec<String> = graph.keys().cloned().collect();
    for start in nodes {
        if state.contains_key(&start) {
            continue;
        }
        let mut stack: Vec<(String, Vec<String>)> = vec![(
            start.clone(),
            graph
                .get(&start)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
        )];
        state.insert(start, 1);
        while let Some((node, next)) = stack.last_mut() {
            if let Some(n) = next.pop() {
                match state.get(&n) {
                    Some(1) => {
                        let at = stack.iter().position(|(m, _)| *m == n).unwrap();
                        let mut c: Vec<String> =
                            stack[at..].iter().map(|(m, _)| m.clone()).collect();
                        c.push(n);
                        return Some(c);
                    }
                    Some(_) => {}
                    None => {
                        state.insert(n.clone(), 1);
                        let succ = graph
                            .get(&n)
                            .map(|s| s.iter().cloned().collect())
                            .unwrap_or_default();
                        stack.push((n, succ));
                    }
                }
            } else {
                state.insert(node.clone(), 2);
                stack.pop();
            }
        }
    }
    None
}

#[test]
fn no_module_imports_upward() {
    let bad = upward_imports(&src_dir());
    assert!(
        bad.is_empty(),
        "imports against the layer table:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_file_level_import_circle() {
    if let Some(c) = circle(&src_dir()) {
        panic!("import circle: {}", c.join(" -> "));
    }
}

// The check itself must be able to fail: a copy of src/ with one upward import added (a pure rule reaching the
// crawl engine), and one with a circle between two adapters' files.
#[test]
fn the_layer_check_catches_an_added_upward_import_and_circle() {
    let tmp = std::env::temp_dir().join(format!("crawlfish-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&src_dir(), &tmp);
    assert!(upward_imports(&tmp).is_empty());
    let digest = tmp.join("digest.rs");
    let text = std::fs::read_to_string(&digest).unwrap();
    std::fs::write(
        &digest,
        format!("use crate::crawl::frontier::Frontier;\n{text}"),
    )
    .unwrap();
    let bad = upward_imports(&tmp);
    assert!(
        bad.len() == 1
            && bad[0].contains("digest.rs:1:")
            && bad[0].contains("crate::crawl::frontier"),
        "{bad:?}"
    );
    std::fs::write(&digest, text).unwrap();
    assert!(circle(&tmp).is_none());
    let a = tmp.join("url/shard.rs");
    let t = std::fs::read_to_string(&a).unwrap();
    std::fs::write(&a, format!("use crate::url::normalize;\n{t}")).unwrap();
    let m = tmp.join("url/mod.rs");
    let t = std::fs::read_to_string(&m).unwrap();
    std::fs::write(&m, format!("use crate::url::shard::Shard;\n{t}")).unwrap();
    let c = circle(&tmp).expect("the added circle is found");
    assert!(
        c.contains(&"url".to_owned()) && c.contains(&"url::shard".to_owned()),
        "{c:?}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
