//! What crawlfish leaves on a terminal: server text in logs is escaped (text and JSON), colour only on a terminal
//! without `NO_COLOR`, and a hangup (SIGHUP) flushes like SIGTERM, even when the terminal is gone.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::support::*;

/// Control characters a hostile server puts in what crawlfish logs: ESC sequences (colour, clear screen), BEL,
/// CR (overwrites a line), DEL and C1 controls (U+009B is an 8-bit CSI).
const HOSTILE: &str = "\x1b[31mred\x1b[2J\x07\r\x7f\u{9b}31m\u{85}";

/// Wildcards in the hostile robots.txt rule (`texting_robots` could not compile 40 with a `$`; `robots.rs` can).
const STARS: usize = 40;

/// A site whose robots.txt and sitemap carry `HOSTILE`: a heavily starred Allow rule (matched, never logged) and a
/// sitemap entity name (quick-xml's error quotes it into the log).
async fn hostile_site() -> Site {
    let site = Site::start("127.0.0.1").await;
    let mut rule = String::from("/");
    for c in ('a'..='z').cycle().take(STARS) {
        rule.push('*');
        rule.push(c);
    }
    // A robots.txt line ends at CR, so the rule carries everything else.
    let robots = format!(
        "User-agent: *\nAllow: {rule}{}$\nSitemap: {}\n",
        HOSTILE.replace('\r', ""),
        site.url("/sitemap.xml")
    );
    site.route("/robots.txt", vec![Step::new(200, robots)]);
    let sitemap = format!("<urlset><url><loc>&{HOSTILE};</loc></url></urlset>");
    site.route("/sitemap.xml", vec![Step::new(200, sitemap)]);
    site.html("/", "<title>home</title>");
    site
}

/// Raw characters that must not reach a terminal: C0 controls, DEL and C1 controls.
fn raw_controls(line: &str) -> Vec<char> {
    line.chars()
        .filter(|c| c.is_ascii_control() || ('\u{80}'..='\u{9f}').contains(c))
        .collect()
}

#[tokio::test]
async fn server_text_in_text_logs_has_its_control_characters_escaped() {
    let site = hostile_site().await;
    let run = crawlfish(&["-v", "-r", "0", "--sitemap"], &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("unrecognized entity"),
        "the sitemap error is logged: {}",
        run.stderr
    );
    assert!(run.stderr.ends_with('\n'));
    for line in run.stderr.lines() {
        assert_eq!(
            raw_controls(line),
            Vec::<char>::new(),
            "raw control in {line:?}"
        );
    }
    // Escaped, not removed: the reader still sees what the server sent.
    assert!(run.stderr.contains("\\x1b[31mred"), "{}", run.stderr);
}

#[tokio::test]
async fn server_text_in_json_logs_is_escaped_and_keeps_its_value() {
    let site = hostile_site().await;
    let run = crawlfish(
        &["-v", "--log-format", "json", "-r", "0", "--sitemap"],
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let mut quoted = false;
    for line in run.stderr.lines() {
        assert_eq!(
            raw_controls(line),
            Vec::<char>::new(),
            "raw control in {line:?}"
        );
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        quoted |= value["fields"]["error"]
            .as_str()
            .is_some_and(|e| e.contains(HOSTILE));
    }
    assert!(
        quoted,
        "the sitemap error, decoded, is the server's text: {}",
        run.stderr
    );
}

/// Whether `screen` holds an SGR (colour) sequence: ESC `[`, parameters, then `m`. Cursor moves and line clears
/// (the progress bar's) end in other letters.
fn has_colour(screen: &str) -> bool {
    screen.split("\x1b[").skip(1).any(|rest| {
        rest.chars()
            .find(|c| !c.is_ascii_digit() && *c != ';')
            .is_some_and(|c| c == 'm')
    })
}

#[tokio::test]
async fn logs_in_a_pipe_have_no_colour() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok"); // no sitemap.xml: info-level log lines with -v
    let run = crawlfish(&["-v", "-r", "0", "--sitemap"], &site.url("/")).await;
    assert!(run.stderr.contains("INFO"), "{}", run.stderr);
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
}

/// Runs crawlfish with `-v` on a pseudo-terminal (util-linux `script`) and returns what it drew.
async fn on_a_terminal(site: &Site, no_color: Option<&str>) -> String {
    let dir = tempdir(&format!("colour-{}", no_color.is_some()));
    let list = dir.join("urls.txt");
    std::fs::write(&list, site.url("/")).unwrap();
    let cmd = format!(
        "{} -v -r 0 --sitemap -o {} {}",
        env!("CARGO_BIN_EXE_crawlfish"),
        dir.join("out.jsonl").display(),
        list.display()
    );
    let mut script = tokio::process::Command::new("script");
    script
        .args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .env("TERM", "xterm");
    if let Some(v) = no_color {
        script.env("NO_COLOR", v);
    }
    let out = script
        .output()
        .await
        .expect("util-linux `script` is needed for this test");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn colour_on_a_terminal_unless_no_color_is_set() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    let coloured = on_a_terminal(&site, None).await;
    assert!(coloured.contains("INFO"), "{coloured:?}");
    assert!(
        has_colour(&coloured),
        "a terminal gets colour: {coloured:?}"
    );
    let plain = on_a_terminal(&site, Some("1")).await;
    assert!(plain.contains("INFO"), "{plain:?}");
    assert!(!has_colour(&plain), "NO_COLOR is obeyed: {plain:?}");
}

#[tokio::test]
async fn sighup_flushes_complete_lines_and_exits_129_even_with_stderr_gone() {
    for stderr_gone in [false, true] {
        let site = Site::start("127.0.0.1").await;
        site.html("/fast", "<title>fast</title>");
        site.route(
            "/hang",
            vec![Step::html("late").delay(Duration::from_secs(60))],
        );
        let input = format!("{}\n{}\n", site.url("/fast"), site.url("/hang"));
        // Not quiet: the notice and the summary are written after the hangup, to a closed pipe in the second run
        // (a closed terminal), and must not turn the exit into a panic.
        let mut child = spawn_with_input(&["-r", "0", "--ignore-robots"], input);
        let stderr = child.stderr.take().unwrap();
        let stderr = if stderr_gone {
            drop(stderr);
            None
        } else {
            Some(stderr)
        };
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        tokio::time::timeout(RUN_LIMIT, stdout.read_line(&mut first))
            .await
            .expect("a line within RUN_LIMIT")
            .unwrap();
        let first: serde_json::Value = serde_json::from_str(&first).unwrap();
        assert_eq!(first["url"], site.url("/fast"));
        wait_until("the hanging request", Duration::from_secs(10), || {
            site.hits("/hang") > 0
        })
        .await;
        kill(&child, "-HUP").await;
        let mut rest = String::new();
        let status = tokio::time::timeout(Duration::from_secs(10), async {
            stdout.read_to_string(&mut rest).await.unwrap();
            child.wait().await.unwrap()
        })
        .await
        .expect("no exit within the grace period");
        assert_eq!(status.code(), Some(129), "stderr gone: {stderr_gone}");
        assert!(
            parse_lines(&rest).is_empty(),
            "no record for the hang: {rest}"
        );
        if let Some(mut stderr) = stderr {
            let mut text = String::new();
            stderr.read_to_string(&mut text).await.unwrap();
            assert!(text.contains("interrupted"), "{text}");
            assert!(text.contains("crawlfish: 1 records"), "{text}");
        }
    }
}

#[tokio::test]
async fn progress_bar_only_on_a_terminal() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/slow",
        vec![Step::html("x").delay(Duration::from_millis(800))],
    );
    let dir = tempdir("tty");
    let list = dir.join("urls.txt");
    std::fs::write(&list, site.url("/slow")).unwrap();
    let cmd = format!(
        "{} -r 0 --ignore-robots -o {} {}",
        env!("CARGO_BIN_EXE_crawlfish"),
        dir.join("out.jsonl").display(),
        list.display()
    );
    // util-linux `script` runs the command on a pseudo-terminal and copies what it drew to stdout.
    let out = tokio::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .env("TERM", "xterm")
        .output()
        .await
        .expect("util-linux `script` is needed for this test");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("in flight"),
        "no progress bar on a terminal: {screen:?}"
    );
    assert!(screen.contains("crawlfish: 1 records"), "{screen:?}");

    // The same run with stderr on a pipe: only the summary line, no bar.
    let piped = crawlfish(&["-r", "0", "--ignore-robots"], &site.url("/slow")).await;
    assert!(!piped.stderr.contains("in flight"), "{}", piped.stderr);
    assert!(
        piped.stderr.starts_with("crawlfish: 1 records"),
        "{}",
        piped.stderr
    );
}
