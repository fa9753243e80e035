//! Cases an attack run found in the command-line conventions (each failed before its fix): an empty variable,
//! stray variables breaking `--schema`/`--generate`, the environment invisible in logs and after the terminal
//! hint, and a plain-text line in a `--log-format json` stderr on SIGINT.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::conventions::{on_a_terminal, run_env};
use crate::support::*;

/// `CRAWLFISH_EXCLUDE=` would be the regex "" (every link dropped, exit 0, nothing said): a usage error naming
/// the variable instead, before any request.
#[tokio::test]
async fn an_empty_variable_is_a_usage_error_naming_it() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", r#"<a href="/a">a</a>"#);
    site.html("/a", "a");
    let run = run_env(
        &args(&["-d", "1"]),
        &[("CRAWLFISH_EXCLUDE", "")],
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("CRAWLFISH_EXCLUDE is set but empty"),
        "{}",
        run.stderr
    );
    assert_eq!(site.total_hits(), 0);
    assert!(run.stdout.is_empty());
}

/// `--schema` and `--generate` print without reading option variables: an invalid or incomplete one in the
/// environment does not break them.
#[tokio::test]
async fn schema_and_generate_ignore_stray_variables() {
    let stray = [("CRAWLFISH_TIMEOUT", "5x"), ("CRAWLFISH_RESUME", "1")];
    for action in [&["--schema"][..], &["--generate", "complete-bash"][..]] {
        let run = run_env(action, &stray, "").await;
        assert_eq!(run.code, Some(0), "{action:?}: {}", run.stderr);
        assert!(!run.stdout.is_empty(), "{action:?}");
    }
    // A real run still reads them (and refuses the bad one).
    let run = run_env(&["-"], &stray, "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
}

/// `-v` names the variables that shaped the run (a stray CRAWLFISH_SHARD drops URLs), hiding -H's value.
#[tokio::test]
async fn dash_v_lists_the_options_set_from_the_environment() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    let env = [
        ("CRAWLFISH_SHARD", "0/1"),
        ("CRAWLFISH_HEADER", "Authorization: secret-token"),
    ];
    let run = run_env(&["-v", "-r", "0", "--ignore-robots"], &env, &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("options set from the environment"))
        .unwrap_or_else(|| panic!("no line: {}", run.stderr));
    assert!(line.contains("CRAWLFISH_SHARD=0/1"), "{line}");
    assert!(line.contains("CRAWLFISH_HEADER=***"), "{line}");
    assert!(!run.stderr.contains("secret-token"), "{}", run.stderr);
    // Without -v: nothing.
    let run = run_env(&["-r", "0", "--ignore-robots"], &env, &site.url("/")).await;
    assert!(
        !run.stderr.contains("options set from the environment"),
        "{}",
        run.stderr
    );
}

/// The terminal hint is a usage error like the others: it names the variables in use.
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

/// SIGINT with `--log-format json`: every stderr line, the interrupt notice included, is one JSON value.
#[tokio::test]
async fn sigint_keeps_json_logs_json() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/hang",
        vec![Step::html("late").delay(Duration::from_secs(60))],
    );
    let mut child = spawn_with_input(
        &["-r", "0", "--ignore-robots", "--log-format", "json"],
        site.url("/hang"),
    );
    wait_until("the request", Duration::from_secs(10), || {
        site.hits("/hang") > 0
    })
    .await;
    kill(&child, "-INT");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut notice = String::new();
    stderr.read_line(&mut notice).await.unwrap();
    let value: serde_json::Value =
        serde_json::from_str(&notice).unwrap_or_else(|e| panic!("not JSON ({e}): {notice}"));
    assert!(value.to_string().contains("interrupt again"), "{notice}");
    kill(&child, "-INT");
    assert_eq!(
        exit_code_within(&mut child, Duration::from_secs(10)).await,
        Some(130)
    );
}

/// Found by the fourth attack run: `CRAWLFISH_RESUME=0` (off) counted as "given" for `--resume`'s rules
/// (`requires -o`, `conflicts with --state`), so a run the variable switched off exited 2.
#[tokio::test]
async fn an_on_off_variable_that_says_off_is_as_if_unset() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    let dir = crate::core::tempdir("resume-off");
    let state = dir.join("s");
    let s = state.to_str().unwrap();
    for off in ["0", "false", "OFF", "n"] {
        let run = run_env(
            &args(&["--state", s]),
            &[("CRAWLFISH_RESUME", off)],
            &site.url("/"),
        )
        .await;
        assert_eq!(run.code, Some(0), "CRAWLFISH_RESUME={off}: {}", run.stderr);
        let run = run_env(&args(&[]), &[("CRAWLFISH_RESUME", off)], &site.url("/")).await;
        assert_eq!(run.code, Some(0), "CRAWLFISH_RESUME={off}: {}", run.stderr);
    }
    // On still means on: it needs -o.
    let run = run_env(&args(&[]), &[("CRAWLFISH_RESUME", "1")], &site.url("/")).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}
