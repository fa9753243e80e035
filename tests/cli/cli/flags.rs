//! CLI conventions, run as a person would: values with units, bad values, `-d`, the hint for bare `crawlfish` on a
//! terminal, and `--generate` (man page and completions from the same command the binary parses).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::page_of;
use crate::support::*;

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
pub async fn on_a_terminal(command: &str, input: &str) -> (Option<i32>, String) {
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

/// The terminal hint is a usage error like the others: it names the variables in use.
// Guards: the bare-`crawlfish` terminal hint did not name the `CRAWLFISH_*` variables in use.
#[tokio::test]
async fn the_terminal_hint_names_the_variables_in_use() {
    let bin = env!("CARGO_BIN_EXE_crawlfish");
    let (code, screen) = on_a_terminal(&format!("CRAWLFISH_DEPTH=1 {bin}"), "").await;
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("no input"), "{screen}");
    assert!(
        screen.contains("options set from the environment: CRAWLFISH_DEPTH"),
        "{screen}"
    );
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
