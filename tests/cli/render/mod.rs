//! `--render`: the real browser (Chromium) against local single-page apps, each test's inner half inside a
//! private network namespace (`support/netns.rs`), so the browser could not reach anything but loopback even if
//! a request slipped past the interception. Without a browser on PATH the tests say so on stderr and pass;
//! `CRAWLFISH_REQUIRE_BROWSER=1` (as CI sets it) turns that into a failure.

mod process;
mod spa;

use std::path::PathBuf;

/// The browser the tests use: the first of chromium, chromium-browser, google-chrome on the test's PATH.
/// `None` (the test is skipped, loudly) when there is none, unless `CRAWLFISH_REQUIRE_BROWSER=1`.
pub fn browser(test: &str) -> Option<String> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .flat_map(|d| ["chromium", "chromium-browser", "google-chrome"].map(|n| d.join(n)))
            .find(|f| f.is_file())
    });
    match found {
        Some(p) => Some(p.display().to_string()),
        None if std::env::var("CRAWLFISH_REQUIRE_BROWSER").as_deref() == Ok("1") => panic!(
            "{test}: CRAWLFISH_REQUIRE_BROWSER=1 but no chromium, chromium-browser or google-chrome is on PATH \
             (Debian: apt-get install chromium)"
        ),
        None => {
            eprintln!(
                "SKIPPED {test}: no chromium, chromium-browser or google-chrome on PATH (Debian: apt-get install \
                 chromium); set CRAWLFISH_REQUIRE_BROWSER=1 to make this a failure"
            );
            None
        }
    }
}

/// A fresh, empty temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "crawlfish-render-test-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
