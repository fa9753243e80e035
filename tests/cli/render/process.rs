//! The browser process: looked for and named when missing; gone, with all its children and its profile, after
//! every way a run ends; replaced when it crashes (the page retried once).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::render::browser;
use crate::support::netns::{inner_name, require_inside, run_inside};
use crate::support::*;

macro_rules! inside {
    ($($outer:ident => $inner:ident),* $(,)?) => {$(
        #[test]
        fn $outer() {
            run_inside(&inner_name(module_path!(), stringify!($inner)));
        }
    )*};
}

inside! {
    no_process_of_the_browser_outlives_crawlfish_however_it_ends => inside_cleanup,
    a_crashed_browser_is_replaced_and_its_page_retried => inside_crash,
    the_browser_is_replaced_after_render_recycle_pages => inside_recycle,
}

#[tokio::test]
async fn without_a_browser_render_is_exit_2_naming_what_was_looked_for() {
    // The test binary's children run with an empty environment: no PATH, so no browser is found.
    let run = crawlfish(&["-q", "--render", "always"], "http://127.0.0.1:9/\n").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    for said in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "apt-get install chromium",
        "--browser",
    ] {
        assert!(run.stderr.contains(said), "names {said:?}: {}", run.stderr);
    }
    let run = crawlfish(
        &["-q", "--render", "auto", "--browser", "/nonexistent/chrome"],
        "",
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/chrome"), "{}", run.stderr);
    // Without --render nothing is looked for.
    let run = crawlfish(&["-q"], "").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

/// A `--render-wait` that is not a CSS selector is a usage error (exit 2) before anything is fetched, not an
/// error on every page (it was: the browser's querySelector threw, every record kind `render`, exit 1).
#[tokio::test]
async fn an_invalid_render_wait_is_exit_2() {
    let args = [
        "-q",
        "--render",
        "always",
        "--browser-ws",
        "ws://127.0.0.1:9/x",
        "--render-wait",
        "[[[",
    ];
    let run = crawlfish(&args, "http://127.0.0.1:9/\n").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--render-wait"), "{}", run.stderr);
    assert!(run.records.is_empty());
}

/// Every process: pid → (parent, name).
fn processes() -> HashMap<u32, (u32, String)> {
    let mut all = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let ppid = stat[close + 2..]
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        all.insert(pid, (ppid, name));
    }
    all
}

/// The descendants of `root` now.
fn descendants(root: u32) -> HashSet<u32> {
    let all = processes();
    let mut found = HashSet::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, (ppid, _)) in &all {
            if *ppid == p && found.insert(*pid) {
                frontier.push(*pid);
            }
        }
    }
    found
}

fn alive(pids: &HashSet<u32>) -> Vec<u32> {
    pids.iter()
        .copied()
        .filter(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        .collect()
}

fn profiles(pid: u32) -> Vec<String> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("crawlfish-browser-{pid}-")))
        .collect()
}

/// A page that never becomes idle (so the run is still rendering when it is stopped).
fn busy_site(site: &Site) {
    site.html(
        "/busy",
        "<html><body><script>setInterval(() => fetch('/tick'), 50);</script></body></html>",
    );
    site.route("/tick", vec![Step::new(200, "{}")]);
}

#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_cleanup() {
    require_inside();
    let Some(chromium) = browser("inside_cleanup") else {
        return;
    };
    let site = Site::start("127.0.0.1").await;
    busy_site(&site);
    for signal in [None, Some("-INT"), Some("-TERM"), Some("-HUP")] {
        let timeout = if signal.is_none() { "2s" } else { "60s" };
        let args = [
            "-q",
            "-r",
            "0",
            "--ignore-robots",
            "--render",
            "always",
            "--browser",
            &chromium,
            "--render-timeout",
            timeout,
        ];
        let mut child = spawn_with_input(&args, format!("{}\n", site.url("/busy")));
        let pid = child.id().unwrap();
        let ticks = site.hits("/tick");
        // The browser is up and the page is running its script once /tick is asked for.
        wait_until("the page's polling", Duration::from_secs(90), || {
            site.hits("/tick") > ticks + 2
        })
        .await;
        let browser_pids = descendants(pid);
        assert!(
            browser_pids.len() >= 2,
            "{signal:?}: the browser and its helpers: {browser_pids:?}"
        );
        assert_eq!(profiles(pid).len(), 1, "{signal:?}: one temporary profile");
        if let Some(sig) = signal {
            kill(&child, sig).await;
        }
        let code = exit_code_within(&mut child, Duration::from_secs(30)).await;
        let expected = match signal {
            None => Some(0),
            Some("-INT") => Some(130),
            Some("-TERM") => Some(143),
            _ => Some(129),
        };
        assert_eq!(code, expected, "{signal:?}");
        // Bounded poll: SIGKILLed processes vanish from /proc once reaped.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !alive(&browser_pids).is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            alive(&browser_pids),
            Vec::<u32>::new(),
            "{signal:?}: browser processes left behind"
        );
        assert_eq!(
            profiles(pid),
            Vec::<String>::new(),
            "{signal:?}: the profile is removed"
        );
    }
}

#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_crash() {
    require_inside();
    let Some(chromium) = browser("inside_crash") else {
        return;
    };
    let site = Site::start("127.0.0.1").await;
    busy_site(&site);
    let args = [
        "-q",
        "-r",
        "0",
        "--ignore-robots",
        "--render",
        "always",
        "--browser",
        &chromium,
        "--render-timeout",
        "4s",
        "--render-concurrency",
        "1",
    ];
    let child = spawn_with_input(&args, format!("{}\n", site.url("/busy")));
    let pid = child.id().unwrap();
    wait_until("the page's polling", Duration::from_secs(90), || {
        site.hits("/tick") > 2
    })
    .await;
    let leader = *descendants(pid)
        .iter()
        .find(|p| processes().get(p).is_some_and(|(ppid, _)| *ppid == pid))
        .unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", &leader.to_string()])
        .status()
        .unwrap();
    let ticks = site.hits("/tick");
    // The retry runs in a new browser: the page polls again.
    wait_until(
        "the retried page's polling",
        Duration::from_secs(90),
        || site.hits("/tick") > ticks + 2,
    )
    .await;
    let out = child.wait_with_output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let records = parse_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["rendered"], true, "{}", records[0]);
}

#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_recycle() {
    require_inside();
    let Some(chromium) = browser("inside_recycle") else {
        return;
    };
    let site = Site::start("127.0.0.1").await;
    let input: String = (0..3)
        .map(|i| {
            let path = format!("/p{i}");
            site.html(
                &path,
                &format!("<title>static</title><script>document.title = 'p{i}';</script>"),
            );
            format!("{}\n", site.url(&path))
        })
        .collect();
    let args = [
        "-r",
        "0",
        "--ignore-robots",
        "--render",
        "always",
        "--browser",
        &chromium,
        "--render-recycle",
        "2",
        "--render-concurrency",
        "1",
    ];
    let run = crawlfish_env(&args, &input, &[("RUST_LOG", "crawlfish::render=debug")]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.records.iter().all(|r| r["rendered"] == true),
        "{:?}",
        run.records
    );
    let launches = run.stderr.matches("browser started").count();
    assert_eq!(
        launches, 2,
        "3 pages at --render-recycle 2: two browsers\n{}",
        run.stderr
    );
}
