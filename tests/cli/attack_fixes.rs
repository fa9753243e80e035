//! Breaks found by an attack run (a tester with only the README and the binary), each kept as a test: `-o` and
//! `--state` files untouched when `--warc` is refused, long URLs kept whole in error records (so `--resume` skips
//! them), and `--resolve` names with a final dot.

use crate::core::tempdir;
use crate::support::*;

/// A query long enough to pass the old 2,048-character cut, well under the 8 KiB input-line limit.
fn long_query() -> String {
    format!("?q={}", "x".repeat(4000))
}

#[tokio::test]
async fn long_urls_of_error_records_are_kept_whole_so_resume_skips_them() {
    let site = Site::start("127.0.0.3").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nDisallow: /private\n")],
    );
    let refused = refused_port("127.0.0.3").await;
    let urls = [
        format!("http://{refused}/{}", long_query()),
        format!("http://long.invalid/{}", long_query()),
        site.url(&format!("/private{}", long_query())),
    ];
    let dir = tempdir("long-url-resume");
    let list = dir.join("urls.txt");
    std::fs::write(&list, urls.join("\n") + "\n").unwrap();
    let out = dir.join("out.jsonl");
    let (list, out_s) = (list.to_str().unwrap(), out.to_str().unwrap());
    for resume in [false, true, true] {
        let mut a = vec![
            "-q",
            "-r",
            "0",
            "--retries",
            "0",
            "--timeout",
            "5",
            "-o",
            out_s,
        ];
        if resume {
            a.push("--resume");
        }
        a.push(list);
        let run = crawlfish(&a, "").await;
        // The resumed runs have nothing left to do (a URL fetched again would make them exit 1).
        let want = if resume { 0 } else { 1 };
        assert_eq!(run.code, Some(want), "resume: {resume}: {}", run.stderr);
    }
    let records = parse_lines(&std::fs::read_to_string(&out).unwrap());
    let kinds: Vec<(usize, &str)> = records
        .iter()
        .map(|r| {
            (
                r["url"].as_str().unwrap().len(),
                r["error"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        records.len(),
        3,
        "one record per URL after two --resumes: {kinds:?}"
    );
    for (url, kind) in urls.iter().zip(["connect", "dns", "robots_disallowed"]) {
        let r = records.iter().find(|r| r["url"] == url.as_str());
        let r = r.unwrap_or_else(|| panic!("no record with the whole URL ({kind}): {kinds:?}"));
        assert_eq!(r["error"]["kind"], kind);
    }
    assert_eq!(site.total_hits(), 1, "only robots.txt, once");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn resolve_ignores_one_final_dot_on_either_side() {
    let site = Site::start("127.0.0.4").await;
    let port = site.addr.port();
    for path in ["/dot-in-url", "/dot-in-flag", "/dot-in-both"] {
        site.html(path, "<title>t</title>");
    }
    // `.invalid` names: should an override not apply, the name fails at once, without a DNS query.
    let input = format!(
        "http://a.invalid.:{port}/dot-in-url\nhttp://b.invalid:{port}/dot-in-flag\nhttp://c.invalid.:{port}/dot-in-both\n"
    );
    let (a, b, c) = (
        format!("a.invalid:{port}:127.0.0.4"),
        format!("B.invalid.:{port}:127.0.0.4"),
        format!("c.invalid.:{port}:127.0.0.4"),
    );
    let run = crawlfish(
        &args(&["--resolve", &a, "--resolve", &b, "--resolve", &c]),
        &input,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.records.len(), 3);
    for r in &run.records {
        assert_eq!(r["status"], 200, "{r}");
    }
    for path in ["/dot-in-url", "/dot-in-flag", "/dot-in-both"] {
        assert_eq!(site.hits(path), 1, "{path}");
    }
}

#[tokio::test]
async fn resolve_refuses_a_host_with_an_empty_label() {
    for bad in [
        "a.invalid..:80:127.0.0.4",
        ".:80:127.0.0.4",
        "a..invalid:80:127.0.0.4",
    ] {
        let run = crawlfish(&args(&["--resolve", bad]), "http://a.invalid/\n").await;
        assert_eq!(run.code, Some(2), "{bad}: {}", run.stderr);
        assert!(run.stderr.contains(bad), "{bad}: {}", run.stderr);
        assert!(run.records.is_empty());
    }
}
