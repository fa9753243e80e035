//! `CRAWLFISH_*` environment variables: every option reads one, the command line wins, a stray or empty one is
//! validated like its flag, on/off variables that say off are as if unset, and `-v` names the ones in use.

use super::page_of;
use crate::support::*;

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

/// `CRAWLFISH_EXCLUDE=` would be the regex "" (every link dropped, exit 0, nothing said): a usage error naming
/// the variable instead, before any request.
// Guards: an empty `CRAWLFISH_EXCLUDE=` became the regex "" and silently dropped every link.
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
// Guards: an invalid `CRAWLFISH_*` variable made `--schema` and `--generate` exit 2.
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
// Guards: options set from the environment were invisible in `-v` logs.
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

/// `--resume`'s rules (`requires -o`, `conflicts with --state`) apply only when it is on.
// Guards: `CRAWLFISH_RESUME=0` (off) counted as given for `--resume`, so a run with it switched off exited 2.
#[tokio::test]
async fn an_on_off_variable_that_says_off_is_as_if_unset() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    let dir = tempdir("resume-off");
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

/// `--keep` means nothing without `--state`: exit 2 like the other dependent flags, typed or from the
/// environment (also at its default value), before anything is read or fetched.
#[tokio::test]
async fn keep_without_state_is_a_usage_error_from_the_flag_or_the_environment() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    for (argv, env) in [
        (vec!["--keep", "3"], vec![]),
        (vec!["--keep", "10"], vec![]),
        (vec![], vec![("CRAWLFISH_KEEP", "3")]),
    ] {
        let run = run_env(&argv, &env, &site.url("/")).await;
        assert_eq!(run.code, Some(2), "{argv:?} {env:?}: {}", run.stderr);
        assert!(run.stderr.contains("--state"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    assert_eq!(site.total_hits(), 0);
}
