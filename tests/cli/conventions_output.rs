//! CLI conventions that print: the `-vv` request log (one line per request the servers saw) and `--generate`
//! (man page and completions from the same command the binary parses).

use std::process::Stdio;

use serde_json::Value;

use crate::conventions::{run_env, RUN_LIMIT};
use crate::core::tempdir;
use crate::support::*;

/// A site with a redirect, a 404, a 503-then-200 retry, robots.txt and (through `--sitemap`) a sitemap request.
async fn busy_site() -> Site {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nAllow: /\n")],
    );
    site.route("/r", vec![Step::new(301, "").header("location", "/a")]);
    site.html("/a", "arrived");
    site.route("/missing", vec![Step::new(404, "gone")]);
    site.route(
        "/flaky",
        vec![
            Step::new(503, "busy").header("retry-after", "0"),
            Step::html("ok"),
        ],
    );
    site
}

fn input(site: &Site) -> String {
    ["/r", "/missing", "/flaky"].map(|p| site.url(p)).join("\n")
}

#[tokio::test]
async fn dash_vv_logs_one_line_per_request_the_servers_saw() {
    let site = busy_site().await;
    let run = crawlfish(&["-vv", "-r", "0", "--sitemap"], &input(&site)).await;
    assert_eq!(run.code, Some(1), "the 404 fails the run: {}", run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("crawlfish::request"))
        .collect();
    // robots.txt, /r, /a, /missing, /flaky twice, /sitemap.xml
    assert_eq!(site.total_hits(), 7, "{:?}", site.hit_times());
    assert_eq!(lines.len(), site.total_hits(), "{}", run.stderr);
    for l in &lines {
        for field in [
            "method=GET",
            "url=http://",
            "ms=",
            "attempt=",
            "purpose=",
            "hop=",
        ] {
            assert!(l.contains(field), "{field} in {l}");
        }
        assert!(l.contains("status="), "{l}");
    }
    let one = |needle: &[&str]| {
        let n = lines
            .iter()
            .filter(|l| needle.iter().all(|x| l.contains(x)))
            .count();
        assert_eq!(n, 1, "{needle:?} in {lines:#?}");
    };
    one(&[
        &format!("url={} ", site.url("/robots.txt")),
        "status=200",
        "purpose=robots",
    ]);
    one(&[&format!("url={} ", site.url("/r")), "status=301", "hop=0"]);
    one(&[
        &format!("url={} ", site.url("/a")),
        "status=200",
        "hop=1",
        "purpose=page",
    ]);
    one(&[
        &format!("url={} ", site.url("/missing")),
        "status=404",
        "attempt=1",
    ]);
    one(&[
        &format!("url={} ", site.url("/flaky")),
        "status=503",
        "attempt=1",
    ]);
    one(&[
        &format!("url={} ", site.url("/flaky")),
        "status=200",
        "attempt=2",
    ]);
    one(&[
        &format!("url={} ", site.url("/sitemap.xml")),
        "status=404",
        "purpose=sitemap",
    ]);

    // -v (one) shows none of them; -q neither.
    for quiet in ["-v", "-q"] {
        let site = busy_site().await;
        let run = crawlfish(&[quiet, "-r", "0", "--sitemap"], &input(&site)).await;
        assert_eq!(site.total_hits(), 7);
        assert!(
            !run.stderr.contains("crawlfish::request"),
            "{quiet}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("attempt="), "{quiet}: {}", run.stderr);
    }
}

#[tokio::test]
async fn dash_vv_json_logs_carry_the_same_fields_and_errors_name_their_kind() {
    let site = busy_site().await;
    let dead = refused_port("127.0.0.1").await;
    let dead_url = format!("http://{dead}/x");
    let stdin = format!("{}\n{dead_url}", input(&site));
    let run = crawlfish(
        &["-vv", "-r", "0", "--retries", "1", "--log-format", "json"],
        &stdin,
    )
    .await;
    let requests: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["target"] == "crawlfish::request")
        .collect();
    assert_eq!(requests.len(), site.total_hits() + 1, "{}", run.stderr);
    for r in &requests {
        let f = &r["fields"];
        assert_eq!(f["method"], "GET");
        assert!(
            f["url"].is_string() && f["ms"].is_u64() && f["attempt"].is_u64(),
            "{r}"
        );
        assert!(
            f["status"].is_u64() != f["error"].is_string(),
            "status or error: {r}"
        );
    }
    // The refused port: robots.txt fails once (no retry for robots.txt), so the URL itself is never requested.
    let dead_lines: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            r["fields"]["url"]
                .as_str()
                .unwrap()
                .contains(&dead.to_string())
        })
        .collect();
    assert_eq!(dead_lines.len(), 1, "{dead_lines:?}");
    assert_eq!(dead_lines[0]["fields"]["error"], "connect");
    assert_eq!(dead_lines[0]["fields"]["purpose"], "robots");
}

#[tokio::test]
async fn generate_prints_each_kind_from_the_same_command() {
    let dir = tempdir("generate");
    for kind in [
        "man",
        "complete-bash",
        "complete-zsh",
        "complete-fish",
        "complete-powershell",
    ] {
        // No input needed, none read: stdin stays open and empty.
        let run = run_env(&["--generate", kind], &[], "").await;
        assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
        // roff escapes the hyphen.
        assert!(
            run.stdout.contains("max-body") || run.stdout.contains("max\\-body"),
            "{kind}"
        );
        assert!(run.stderr.is_empty(), "{kind}: {}", run.stderr);
        let file = dir.join(kind);
        std::fs::write(&file, &run.stdout).unwrap();
        match kind {
            "man" => {
                let th = run
                    .stdout
                    .lines()
                    .find(|l| l.starts_with(".TH "))
                    .unwrap_or_default();
                assert!(
                    th.starts_with(".TH crawlfish 1"),
                    "a roff page: {}",
                    &run.stdout[..200]
                );
                assert!(
                    run.stdout.contains("CRAWLFISH_MAX_BODY"),
                    "env annotations are in the page"
                );
                assert!(run.stdout.contains("10MiB"));
                // Render it when groff is installed (it is not a requirement of the test suite).
                if let Ok(out) = std::process::Command::new("groff")
                    .args(["-man", "-Tascii", "-P-cbou", "-ww"])
                    .arg(&file)
                    .output()
                {
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let text = String::from_utf8_lossy(&out.stdout);
                    assert!(text.contains("max-body"), "{text}");
                    assert!(
                        out.stderr.is_empty(),
                        "groff warnings: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
            "complete-bash" => {
                let out = std::process::Command::new("bash")
                    .arg("-n")
                    .arg(&file)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "bash -n: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(run.stdout.contains("complete -F"), "registers a completion");
            }
            _ => {}
        }
    }
    // A full disk is an error (exit 2); a reader that went away (`| head`) is a normal end, as for records.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = bin()
        .args(["--generate", "man"])
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write the output"));
    let mut child = bin()
        .args(["--generate", "complete-zsh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = run_env(&["--generate", "nroff"], &[], "").await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("'nroff'"), "{}", run.stderr);
}
