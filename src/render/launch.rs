//! The browser process: found (`--browser`, else `chromium`, `chromium-browser`, `google-chrome` on `PATH`),
//! launched headless in its own process group with a fresh temporary profile and every switch that makes it
//! phone home turned off, and killed with its whole group (renderers, zygote, GPU helper) when [`Process`] is
//! dropped: at the end of a run, on a signal, on a panic's unwinding, on a recycle or a crash.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The names looked for on `PATH` when no `--browser` is given, in order.
pub(crate) const BROWSER_NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// How long a launched browser has to print its `DevTools` address.
const LAUNCH_DEADLINE: Duration = Duration::from_secs(60);

/// The switches every launch gets: headless, no sandbox (crawlfish may run as root), and nothing the browser
/// would fetch on its own (updates, safe browsing, metrics, sync, pings, QUIC). Anything it still asks for is
/// intercepted and answered through the polite path; the dead proxy is the backstop for a request that would
/// slip past the interception (a popup's, say): it cannot connect anywhere.
/// Every tab renders as if in front: a background tab's timers would be throttled to one a second.
const SWITCHES: [&str; 27] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--safebrowsing-disable-auto-update",
    "--no-pings",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--hide-scrollbars",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--remote-debugging-port=0",
];

/// Finds the browser: `explicit` if given (it must exist), else the first of [`BROWSER_NAMES`] on `path`.
/// The error says what was looked for and how to install one.
pub(crate) fn find(
    explicit: Option<&Path>,
    path: Option<&std::ffi::OsStr>,
) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_owned())
        } else {
            Err(format!("--browser {}: no such file", p.display()))
        };
    }
    let dirs: Vec<PathBuf> = path
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    for name in BROWSER_NAMES {
        if let Some(found) = dirs.iter().map(|d| d.join(name)).find(|f| f.is_file()) {
            return Ok(found);
        }
    }
    Err(format!(
        "--render needs Chromium or Chrome, and none of {} is on PATH: install one (Debian/Ubuntu: \
         `apt-get install chromium`), or name it with --browser PATH, or connect to a running one with \
         --browser-ws ws://HOST:PORT/devtools/browser/ID",
        BROWSER_NAMES.join(", ")
    ))
}

/// A launched browser: its process (the leader of its own group) and its temporary profile. Dropping it kills
/// the group, reaps the leader and removes the profile.
#[derive(Debug)]
pub(crate) struct Process {
    child: Child,
    profile: PathBuf,
}

impl Process {
    /// Launches `exe` and returns it with its `DevTools` websocket address (read from its stderr).
    pub(crate) fn launch(exe: &Path) -> Result<(Process, String), String> {
        let profile = std::env::temp_dir().join(format!(
            "crawlfish-browser-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir(&profile)
            .map_err(|e| format!("cannot make the browser profile {}: {e}", profile.display()))?;
        let spawned = Command::new(exe)
            .args(SWITCHES)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(format!("cannot start {}: {e}", exe.display()));
            }
        };
        let stderr = child.stderr.take();
        let process = Process { child, profile };
        let ws = stderr
            .ok_or_else(|| "the browser's stderr was not captured".to_owned())
            .and_then(devtools_address)?;
        Ok((process, ws))
    }

    /// The browser's process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }
}

/// Reads the browser's stderr on a thread until it prints `DevTools listening on ws://…`, within
/// [`LAUNCH_DEADLINE`]; the thread then drains the rest (so the browser never blocks on a full pipe).
fn devtools_address(stderr: std::process::ChildStderr) -> Result<String, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("browser-stderr".into())
        .spawn(move || {
            let mut said = Vec::new();
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("ws://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(Ok(line[at..].trim().to_owned()));
                    }
                } else if tx.is_some() && said.len() < 20 {
                    said.push(line);
                }
            }
            if let Some(tx) = tx {
                let _ = tx.send(Err(said.join("\n")));
            }
        })
        .map_err(|e| format!("cannot read the browser's stderr: {e}"))?;
    match rx.recv_timeout(LAUNCH_DEADLINE) {
        Ok(Ok(ws)) => Ok(ws),
        Ok(Err(said)) => Err(format!("the browser exited before listening: {said}")),
        Err(_) => Err(format!(
            "the browser did not open its DevTools port within {}s",
            LAUNCH_DEADLINE.as_secs()
        )),
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Helpers of the group may outlive the leader by a moment and still hold the profile open.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            kill_group(self.child.id());
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// SIGKILL to the process group led by `pid` (the browser was made its leader at launch).
fn kill_group(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}
