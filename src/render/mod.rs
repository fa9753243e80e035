//! The browser, as an I/O adapter for `--render`: one Chromium/Chrome per run (launched by `launch.rs`, or an
//! already running one reached with `--browser-ws`), spoken to over the `DevTools` protocol by a small hand-written
//! client (`cdp.rs`), and tabs (`tab.rs`) with every request they make paused for the caller to answer. At most
//! `--render-concurrency` tabs at once; the browser is replaced after `--render-recycle` pages and after it died.
//!
//! Owns the browser process, its profile, the `DevTools` connection and the screenshots' files. Must not fetch
//! anything nor decide what a paused request gets: the caller answers it through the polite path
//! (`crate::crawl::render`), so this module imports nothing from `polite` or above.

mod cdp;
pub(crate) mod launch;
pub(crate) mod tab;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};

pub(crate) use tab::Tab;

/// `--render-max-requests`' default: requests one rendered page may make.
pub(crate) const DEFAULT_MAX_REQUESTS: u32 = 200;
/// `--render-timeout`'s default: the deadline of one page's rendering.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// `--render-concurrency`'s default: tabs open at once.
pub(crate) const DEFAULT_CONCURRENCY: u32 = 4;
/// `--render-recycle`'s default: pages rendered before the browser is replaced.
pub(crate) const DEFAULT_RECYCLE: u64 = 500;
/// Network idle: no request in flight for this long.
pub(crate) const IDLE: Duration = Duration::from_millis(500);

/// `--render`: when a page is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RenderMode {
    // Plain comments, as on `Scope`: doc comments would switch clap's --help to its long layout.
    // Never (the default): pages are parsed as fetched.
    #[default]
    Never,
    // When the fetched HTML looks like an app shell (`crate::html::shell`).
    Auto,
    // Every HTML page.
    Always,
}

/// Which browser renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Browser {
    /// Launched from this executable.
    Launch(PathBuf),
    /// Already running, reached at this `DevTools` websocket address (`--browser-ws`).
    Connect(String),
}

/// What rendering is built with.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// `--render`.
    pub mode: RenderMode,
    /// `--browser`, `--browser-ws`, or the one found on `PATH`.
    pub browser: Browser,
    /// `--render-assets`: images, fonts and media are fetched too (else answered with an empty 204).
    pub assets: bool,
    /// `--render-max-requests`: requests one page may make (the document included).
    pub max_requests: u32,
    /// `--render-wait CSS`: ready when this selector matches (instead of network idle).
    pub wait: Option<String>,
    /// `--render-timeout`: the deadline of one page's rendering.
    pub timeout: Duration,
    /// `--render-concurrency`: tabs open at once.
    pub concurrency: usize,
    /// `--render-recycle`: pages before the browser is replaced.
    pub recycle: u64,
    /// `--screenshot DIR`: a PNG per rendered page.
    pub screenshot: Option<PathBuf>,
}

/// A running browser: its connection, its process (unless connected to), the pages it has opened. Dropped
/// when the last of its tabs closes after it was replaced: the process group is killed then.
#[derive(Debug)]
pub(crate) struct Instance {
    cdp: Arc<cdp::Cdp>,
    process: Option<launch::Process>,
    pages: AtomicU64,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.cdp.close();
        drop(self.process.take());
    }
}

/// The run's renderer: hands out tabs, replacing the browser when it is used up or dead.
#[derive(Debug)]
pub(crate) struct Renderer {
    cfg: Arc<RenderOptions>,
    tabs: Arc<Semaphore>,
    current: Mutex<Option<Arc<Instance>>>,
}

impl Renderer {
    #[must_use]
    pub(crate) fn new(cfg: Arc<RenderOptions>) -> Renderer {
        Renderer {
            tabs: Arc::new(Semaphore::new(cfg.concurrency.max(1))),
            cfg,
            current: Mutex::new(None),
        }
    }

    #[must_use]
    pub(crate) fn options(&self) -> &RenderOptions {
        &self.cfg
    }

    /// A new tab, once one of `--render-concurrency` is free; the browser is (re)started first when there is
    /// none yet, it died, or it has opened `--render-recycle` pages.
    pub(crate) async fn open(&self) -> Result<Tab, String> {
        let permit = self
            .tabs
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| "the renderer is closed".to_owned())?;
        let inst = {
            let mut current = self.current.lock().await;
            let usable = current.as_ref().filter(|i| {
                !i.cdp.is_closed() && i.pages.load(Ordering::Relaxed) < self.cfg.recycle
            });
            let inst = if let Some(i) = usable {
                i.clone()
            } else {
                *current = None;
                let fresh = Arc::new(self.start().await?);
                *current = Some(fresh.clone());
                fresh
            };
            inst.pages.fetch_add(1, Ordering::Relaxed);
            inst
        };
        Tab::open(inst, permit).await
    }

    async fn start(&self) -> Result<Instance, String> {
        let (process, ws) = match &self.cfg.browser {
            Browser::Launch(exe) => {
                let exe = exe.clone();
                let launched = tokio::task::spawn_blocking(move || launch::Process::launch(&exe))
                    .await
                    .map_err(|e| format!("browser launch failed: {e}"))??;
                (Some(launched.0), launched.1)
            }
            Browser::Connect(ws) => (None, ws.clone()),
        };
        if let Some(p) = &process {
            tracing::debug!(pid = p.id(), ws = %ws, "browser started");
        }
        let cdp = cdp::Cdp::connect(&ws).await?;
        Ok(Instance {
            cdp,
            process,
            pages: AtomicU64::new(0),
        })
    }
}

/// Writes a screenshot (base64 PNG from the browser) for `url` into `dir`; returns its name relative to `dir`.
pub(crate) fn save_screenshot(
    dir: &std::path::Path,
    url: &str,
    png_b64: &str,
) -> Result<String, String> {
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(png_b64)
        .map_err(|e| format!("screenshot: {e}"))?;
    let name = format!("{:032x}.png", xxhash_rust::xxh3::xxh3_128(url.as_bytes()));
    std::fs::write(dir.join(&name), png)
        .map_err(|e| format!("cannot write screenshot {}: {e}", dir.join(&name).display()))?;
    Ok(name)
}
