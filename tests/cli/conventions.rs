//! CLI conventions, run as a person would: values with units, `CRAWLFISH_*` environment variables (and their
//! precedence), `-d`, the hint for bare `crawlfish` on a terminal, the `-vv` request log, and `--generate`.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::core::tempdir;
use crate::support::*;

/// Limit on any single run here: these runs take milliseconds.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// What a run with extra environment variables produced.
struct EnvRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs crawlfish with `args`, the environment `env` (on top of `support::bin`'s empty one) and `stdin`.
async fn run_env(args: &[&str], env: &[(&str, &str)], stdin: &str) -> EnvRun {
    let mut child = bin()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    tokio::spawn(async move {
        let _ = input.write_all(stdin.as_bytes()).await;
    });
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("crawlfish finished in time")
        .unwrap();
    EnvRun {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A page of `n` bytes.
fn page_of(n: usize) -> String {
    "x".repeat(n)
}

#[tokio::test]
async fn durations_and_sizes_take_units_and_bare_numbers_keep_their_meaning() {
    let site = Site::start("127.0.0.1").await;
    site.route("/big", vec![Step::html(&page_of(3000))]);
    site.route(
        "/slow",
        vec![Step::html("late").delay(Duration::from_secs(20))],
    );
    let cases: [(&[&str], &str, u64); 6] = [
        (&["--max-body", "1k"], "/big", 1024),
        (&["--max-body", "2K"], "/big", 2048),
        (&["--max-body", "1.5KiB"], "/big", 1536),
        (&["--max-body", "100"], "/big", 100),
        (&["--max-body", "10M"], "/big", 3000),
        (&["--max-body", "10MiB"], "/big", 3000),
    ];
    for (extra, path, bytes) in cases {
        let run = crawlfish(&args(extra), &site.url(path)).await;
        assert_eq!(run.code, Some(0), "{extra:?}: {}", run.stderr);
        let r = run.record(&site.url(path));
        assert_eq!(r["bytes"], bytes, "{extra:?}");
        assert_eq!(r["truncated"], bytes < 3000, "{extra:?}");
    }
    // A timeout in milliseconds, in old-style fractional seconds, and composed: each ends /slow as `timeout`.
    for timeout in ["300ms", "0.3", "0m0.3s"] {
        let run = crawlfish(
            &[
                "-q",
                "-r",
                "0",
                "--ignore-robots",
                "--retries",
                "0",
                "--timeout",
                timeout,
            ],
            &site.url("/slow"),
        )
        .await;
        assert_eq!(
            run.kind(&site.url("/slow")),
            "timeout",
            "--timeout {timeout}"
        );
        assert!(
            run.elapsed < Duration::from_secs(10),
            "--timeout {timeout}: {:?}",
            run.elapsed
        );
    }
    // Bare seconds and the other duration flags still parse as before.
    let run = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--ignore-robots",
            "--timeout",
            "30",
            "--connect-timeout",
            "1m30s",
            "--max-retry-after",
            "2m",
        ],
        &site.url("/big"),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[tokio::test]
async fn bad_values_exit_2_naming_the_value_from_a_flag_or_the_environment() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    let bad: [(&str, &str); 16] = [
        ("timeout", "-1"),
        ("timeout", "0"),
        ("timeout", "nan"),
        ("timeout", "inf"),
        ("timeout", "5x"),
        ("timeout", "1e400"),
        ("timeout", "99999999999999999999h"),
        ("connect-timeout", "10 s"),
        ("max-retry-after", "0ms"),
        ("max-body", "-1"),
        ("max-body", "10MB"),
        ("max-body", "1.5"),
        ("max-body", "18446744073709551616"),
        ("max-body", "17179869184G"),
        ("max-body", "12q"),
        ("depth", "two"),
    ];
    for (flag, value) in bad {
        let from_flag = run_env(&[&format!("--{flag}={value}")], &[], &site.url("/")).await;
        let var = format!("CRAWLFISH_{}", flag.to_uppercase().replace('-', "_"));
        let from_env = run_env(&[], &[(&var, value)], &site.url("/")).await;
        for (how, run) in [("flag", &from_flag), ("env", &from_env)] {
            assert_eq!(
                run.code,
                Some(2),
                "--{flag} {value} by {how}: {}",
                run.stderr
            );
            assert!(
                run.stderr.contains(&format!("'{value}'")),
                "--{flag} {value} by {how}: the message names the value: {}",
                run.stderr
            );
            assert!(run.stdout.is_empty(), "{}", run.stdout);
        }
    }
    // An empty value from either place.
    let run = run_env(&["--max-body="], &[], "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let run = run_env(&[], &[("CRAWLFISH_TIMEOUT", "")], "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(site.total_hits(), 0, "usage errors come before any request");
}

#[tokio::test]
async fn every_option_reads_its_environment_variable_and_the_command_line_wins() {
    let site = Site::start("127.0.0.1").await;
    site.route("/big", vec![Step::html(&page_of(3000))]);
    let url = site.url("/big");
    let fast: &[&str] = &["-r", "0", "--ignore-robots"];
    let bytes = |run: &EnvRun| parse_lines(&run.stdout)[0]["bytes"].as_u64().unwrap();

    // environment over default
    let run = run_env(
        fast,
        &[("CRAWLFISH_MAX_BODY", "1k"), ("CRAWLFISH_QUIET", "1")],
        &url,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(bytes(&run), 1024);
    assert!(
        run.stderr.is_empty(),
        "CRAWLFISH_QUIET=1 is -q: {}",
        run.stderr
    );
    // command line over environment
    let mut with_flag = fast.to_vec();
    with_flag.extend(["--max-body", "2k"]);
    let run = run_env(&with_flag, &[("CRAWLFISH_MAX_BODY", "1k")], &url).await;
    assert_eq!(bytes(&run), 2048);
    // a false boolean is off
    let run = run_env(fast, &[("CRAWLFISH_QUIET", "false")], &url).await;
    assert!(
        run.stderr.contains("records in"),
        "summary shown: {}",
        run.stderr
    );
    // a repeatable option: the variable is one value, and -H on the command line replaces it
    let run = run_env(fast, &[("CRAWLFISH_HEADER", "X-From: env")], &url).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(site.header("/big", "x-from").as_deref(), Some("env"));
    let mut with_h = fast.to_vec();
    with_h.extend(["-H", "X-Other: cli"]);
    run_env(&with_h, &[("CRAWLFISH_HEADER", "X-From: env")], &url).await;
    assert_eq!(site.header("/big", "x-from"), None);
    assert_eq!(site.header("/big", "x-other").as_deref(), Some("cli"));
    // -v as a count
    let run = run_env(fast, &[("CRAWLFISH_VERBOSE", "2")], &url).await;
    assert!(run.stderr.contains("crawlfish::request"), "{}", run.stderr);
}

#[tokio::test]
async fn a_stray_variable_is_shown_in_help_and_validated_like_its_flag() {
    let dir = tempdir("stray-env");
    let missing = dir.join("no-such-dir").join("out.jsonl");
    let missing = missing.to_str().unwrap();
    let help = run_env(&["--help"], &[("CRAWLFISH_OUTPUT", missing)], "").await;
    assert_eq!(help.code, Some(0));
    assert!(
        help.stdout
            .contains(&format!("CRAWLFISH_OUTPUT={missing}]")),
        "{}",
        help.stdout
    );
    // The same error, word for word and code for code, from the variable as from the flag.
    let by_env = run_env(&["--resume"], &[("CRAWLFISH_OUTPUT", missing)], "").await;
    let by_flag = run_env(&["--resume", "-o", missing], &[], "").await;
    assert_eq!(by_env.code, Some(2), "{}", by_env.stderr);
    assert_eq!(by_env.code, by_flag.code);
    // ... plus a note naming the variable, so a value nobody typed can be traced.
    assert_eq!(
        by_env.stderr,
        format!(
            "{}crawlfish: note: options set from the environment: CRAWLFISH_OUTPUT\n",
            by_flag.stderr
        )
    );
    // Conflicts count environment values too: --state from the environment with -o on the command line.
    let run = run_env(&["-o", "x"], &[("CRAWLFISH_STATE", "d")], "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--state"), "{}", run.stderr);
    // A boolean that is neither true nor false is a usage error, not a silent "on".
    let run = run_env(&[], &[("CRAWLFISH_QUIET", "ture")], "").await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("'ture'"), "{}", run.stderr);
    // Actions never come from the environment: CRAWLFISH_SCHEMA does not replace a crawl with the schema.
    let run = run_env(
        &["-q"],
        &[("CRAWLFISH_SCHEMA", "1"), ("CRAWLFISH_GENERATE", "man")],
        "",
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    // Credentials in -H are not echoed by --help.
    let help = run_env(
        &["--help"],
        &[("CRAWLFISH_HEADER", "Authorization: secret")],
        "",
    )
    .await;
    assert!(!help.stdout.contains("secret"));
    assert!(
        help.stdout.contains("[env: CRAWLFISH_HEADER]"),
        "{}",
        help.stdout
    );
}

#[tokio::test]
async fn dash_d_is_depth() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", r#"<a href="/next">next</a>"#);
    site.html("/next", "end");
    let run = crawlfish(&args(&["-d", "1"]), &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.records.len(), 2);
    assert_eq!(run.record(&site.url("/next"))["depth"], 1);
}

/// Runs `command` (a shell line) on a pseudo-terminal (util-linux `script`) with `input` typed into it; returns
/// its exit code and everything it drew. `script -e` exits with the child's code.
async fn on_a_terminal(command: &str, input: &str) -> (Option<i32>, String) {
    let mut child = tokio::process::Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env_clear()
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("util-linux `script` is needed for this test");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("no silent wait on the terminal")
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn bare_crawlfish_on_a_terminal_hints_and_exits_2_but_an_explicit_dash_reads_it() {
    let bin = env!("CARGO_BIN_EXE_crawlfish");
    // Nothing typed: without the hint this would wait for the keyboard until the limit.
    let (code, screen) = on_a_terminal(bin, "").await;
    assert_eq!(code, Some(2), "{screen}");
    assert!(
        screen.contains(
            "crawlfish: no input: give FILE arguments or pipe URLs on stdin (crawlfish --help)"
        ),
        "{screen}"
    );
    assert_eq!(screen.trim_end().lines().count(), 1, "one line: {screen}");
    // `-` asks for the terminal: a URL typed, then Ctrl-D, is crawled.
    let dead = refused_port("127.0.0.1").await;
    let url = format!("http://{dead}/");
    let (code, screen) = on_a_terminal(
        &format!("{bin} -q --ignore-robots -"),
        &format!("{url}\n\x04"),
    )
    .await;
    assert_eq!(
        code,
        Some(1),
        "a refused connection is a failed URL: {screen}"
    );
    assert!(!screen.contains("no input"), "{screen}");
    assert!(screen.contains(r#""kind":"connect""#), "{screen}");
}

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
