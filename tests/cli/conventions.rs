//! CLI conventions, run as a person would: values with units, `CRAWLFISH_*` environment variables (and their
//! precedence), `-d`, and the hint for bare `crawlfish` on a terminal. The `-vv` request log and `--generate` are
//! in `conventions_output.rs`.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::core::tempdir;
use crate::support::*;

/// Limit on any single run here: these runs take milliseconds.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

/// What a run with extra environment variables produced.
pub struct EnvRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs crawlfish with `args`, the environment `env` (on top of `support::bin`'s empty one) and `stdin`.
pub async fn run_env(args: &[&str], env: &[(&str, &str)], stdin: &str) -> EnvRun {
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
