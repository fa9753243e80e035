//! `--save DIR`: every fetched body under `DIR/HOST_PORT/PATH`, byte for byte, and never outside DIR whatever the
//! URL says (`..`, encoded slashes and backslashes, NUL, device names, absolute-looking paths, redirects) or
//! whatever DIR already holds (a symlink).

use std::path::{Path, PathBuf};

use crate::support::*;

/// A raw server whose every answer is `PATH <the request target>`; `/redirect` sends a hostile Location.
async fn echo_server() -> std::net::SocketAddr {
    raw_server("127.0.0.1", |mut stream| async move {
        let head = read_request(&mut stream).await;
        let target = head.split(' ').nth(1).unwrap_or("/").to_owned();
        let reply = if target == "/redirect" {
            "HTTP/1.1 302 Found\r\nLocation: /../../../../tmp/redirected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
        } else {
            let body = format!("PATH {target}");
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        send(&mut stream, reply.as_bytes()).await;
    })
    .await
}

/// Every file under `dir` (symlinks not followed), as paths relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

const HOSTILE: [&str; 15] = [
    "/..%2F..%2F..%2Fescape",
    "/%2e%2e/%2e%2e/%2e%2e/dots",
    "/a%00b",
    "/CON",
    "/aux.txt",
    "/d./trailing.%20",
    "//etc/passwd",
    "/x%5C..%5C..%5Cwin",
    "/dir/",
    "/q?a=1",
    "/q?a=2",
    "/redirect",
    "/%C3%A9t%C3%A9",
    "/c:/windows/x",
    "/.%2e/..%2f/x",
];

#[tokio::test]
async fn hostile_urls_are_saved_inside_dir() {
    let addr = echo_server().await;
    let root = tempdir("save-hostile");
    let (dir, outside) = (root.join("dir"), root.join("outside"));
    std::fs::create_dir_all(&outside).unwrap();
    let long = format!("/{}", "L".repeat(400));
    let mut input: String = HOSTILE
        .iter()
        .map(|p| format!("http://{addr}{p}\n"))
        .collect();
    input += &format!("http://{addr}{long}\n");
    let run = crawlfish(&args(&["--save", dir.to_str().unwrap()]), &input).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.records.len(), HOSTILE.len() + 1);
    let canon_dir = dir.canonicalize().unwrap();
    for r in &run.records {
        let saved = r["saved"]
            .as_str()
            .unwrap_or_else(|| panic!("not saved: {r}"));
        let path = dir.join(saved);
        assert!(
            path.canonicalize().unwrap().starts_with(&canon_dir),
            "{saved} escapes"
        );
        assert!(
            Path::new(saved)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_))),
            "{saved}"
        );
        let final_url = url::Url::parse(r["final_url"].as_str().unwrap()).unwrap();
        let target = match final_url.query() {
            Some(q) => format!("{}?{q}", final_url.path()),
            None => final_url.path().to_owned(),
        };
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("PATH {target}"),
            "{r}"
        );
        assert!(
            saved.starts_with(&format!("127.0.0.1_{}/", addr.port())),
            "{saved}"
        );
    }
    let by = |p: &str| {
        run.record(&format!("http://{addr}{p}"))["saved"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let host = format!("127.0.0.1_{}", addr.port());
    assert_eq!(
        by("/..%2F..%2F..%2Fescape"),
        format!("{host}/.._.._.._escape")
    );
    assert_eq!(by("/dir/"), format!("{host}/dir/index.html"));
    assert_eq!(by("/CON"), format!("{host}/_CON"));
    assert_eq!(by("/a%00b"), format!("{host}/a_b"));
    assert_eq!(by("/redirect"), format!("{host}/tmp/redirected"));
    assert_ne!(by("/q?a=1"), by("/q?a=2"));
    assert!(by(&long).len() < 200);
    // Nothing outside DIR, no temporary file left, one file per distinct path.
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 2);
    let all = files(&dir);
    assert!(
        all.iter().all(|p| !p.to_string_lossy().contains(".tmp")),
        "{all:?}"
    );
    assert_eq!(all.len(), run.records.len(), "{all:?}");

    // A later run (as --resume or --state would) keeps what is there.
    let again = crawlfish(
        &args(&["--save", dir.to_str().unwrap()]),
        &format!("http://{addr}/new\n"),
    )
    .await;
    assert_eq!(again.records[0]["saved"], format!("{host}/new"));
    assert_eq!(files(&dir).len(), all.len() + 1);
    std::fs::remove_dir_all(&root).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_already_in_dir_is_not_followed() {
    let addr = echo_server().await;
    let root = tempdir("save-symlink");
    let (dir, outside) = (root.join("dir"), root.join("outside"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join(format!("127.0.0.1_{}", addr.port()))).unwrap();
    let input = format!("http://{addr}/a\nhttp://{addr}/sub/b\n");
    let run = crawlfish(&args(&["--save", dir.to_str().unwrap()]), &input).await;
    assert_eq!(run.records.len(), 2);
    for r in &run.records {
        assert_eq!(r["status"], 200);
        assert!(r.get("saved").is_none(), "{r}");
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert!(
        run.stderr.is_empty() || run.stderr.contains("not saved"),
        "{}",
        run.stderr
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[tokio::test]
async fn save_content_only_needs_content() {
    let run = crawlfish(
        &args(&["--save", "/nonexistent-crawlfish", "--save-content-only"]),
        "",
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--content"), "{}", run.stderr);
}

/// `--save` with `--content`: the page's text lands beside its body (`.md`), byte for byte the record's `content`;
/// with `--save-content-only` only the text is written and `saved` names it.
#[tokio::test]
async fn content_is_saved_beside_the_body_or_instead_of_it() {
    let addr = echo_server().await;
    let root = tempdir("save-content");
    let input = format!("http://{addr}/page\n");
    for only in [false, true] {
        let dir = root.join(if only { "only" } else { "beside" });
        let mut extra = vec![
            "--save",
            dir.to_str().unwrap(),
            "--content",
            "markdown",
            "--content-scope",
            "full",
        ];
        if only {
            extra.push("--save-content-only");
        }
        let run = crawlfish(&args(&extra), &input).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let r = &run.records[0];
        let text = r["content"].as_str().unwrap();
        assert!(text.contains("PATH /page"), "{r}");
        let saved = r["saved"].as_str().unwrap();
        let written = files(&dir);
        if only {
            assert!(saved.ends_with(".md"), "{r}");
            assert_eq!(written, vec![PathBuf::from(saved)]);
            assert_eq!(std::fs::read_to_string(dir.join(saved)).unwrap(), text);
        } else {
            assert_eq!(std::fs::read(dir.join(saved)).unwrap(), b"PATH /page");
            let md = written
                .iter()
                .find(|p| p.extension().is_some_and(|e| e == "md"));
            let md = md.unwrap_or_else(|| panic!("no .md beside the body: {written:?}"));
            assert_eq!(written.len(), 2, "{written:?}");
            assert_eq!(std::fs::read_to_string(dir.join(md)).unwrap(), text);
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}
