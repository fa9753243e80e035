//! Rendering one fetched page in the browser (`--render`), with every request the page makes answered through
//! the polite path: the document itself from the response already fetched (no second request), every other
//! request by [`Polite::get_for_render`] (robots.txt of its host, that host's limiter and backoff, `-H` and
//! userinfo only to the listed URL's origin, the `-vv` line, the WARC capture). Images, fonts and media get an
//! empty 204 unless `--render-assets`; past `--render-max-requests` a request is failed; a method other than
//! GET is failed (crawlfish sends only GETs). Ready is network idle (nothing in flight for
//! [`crate::render::IDLE`] after the load event) or `--render-wait`'s selector, within `--render-timeout`; then
//! `document.documentElement.outerHTML` is read, and the caller parses it as it would a fetched body.
//!
//! Must not write records nor fetch except through [`Polite`].

use std::sync::Arc;

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use serde_json::json;
use tokio::time::Instant;
use url::Url;

use crate::net::fetch::Response;
use crate::polite::Polite;
use crate::record::{ErrorKind, FetchError};
use crate::render::tab::{Paused, TabEvent};
use crate::render::{Renderer, Tab, IDLE};
use crate::url::scope::Root;

/// How often readiness is checked while the page is quiet.
const TICK: std::time::Duration = std::time::Duration::from_millis(100);
/// Resource types not fetched without `--render-assets`.
const ASSETS: [&str; 3] = ["Image", "Font", "Media"];

/// A rendered page.
#[derive(Debug)]
pub(crate) struct Rendered {
    /// `document.documentElement.outerHTML` once ready (or at the deadline).
    pub(crate) html: String,
    pub(crate) ms: u64,
    /// The screenshot's file name under `--screenshot` DIR.
    pub(crate) screenshot: Option<String>,
    /// Set when the page was not ready by the deadline: the DOM was read as it stood.
    pub(crate) late: Option<String>,
}

/// What the page fetched, answered in the tab.
type Answer = (String, Result<Response, FetchError>);

/// Renders `doc` (a fetched HTML response descending from `root`), once more in a fresh tab if the first try
/// failed (a crashed browser is restarted by the renderer); `Err` with the browser's message after two failures.
pub(crate) async fn render(
    renderer: &Renderer,
    polite: &Polite,
    root: &Arc<Root>,
    doc: &Response,
    max_body: u64,
) -> Result<Rendered, String> {
    match bounded(renderer, polite, root, doc, max_body).await {
        Ok(r) => Ok(r),
        Err(first) => {
            tracing::debug!(url = %doc.final_url, error = %first, "rendering failed; retrying once");
            bounded(renderer, polite, root, doc, max_body).await
        }
    }
}

/// Time past `--render-timeout` allowed for reading the DOM and the screenshot.
const READ_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// [`render_once`] within `--render-timeout` plus [`READ_GRACE`], whatever the page does: a script that never
/// yields (`while(true){}`) leaves every `DevTools` call on its page unanswered, and the run hung there with no
/// record (found by the attack run). The tab is dropped (closed) with the future.
async fn bounded(
    renderer: &Renderer,
    polite: &Polite,
    root: &Arc<Root>,
    doc: &Response,
    max_body: u64,
) -> Result<Rendered, String> {
    let bound = renderer.options().timeout + READ_GRACE;
    match tokio::time::timeout(bound, render_once(renderer, polite, root, doc, max_body)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "rendering did not end within {bound:?} (--render-timeout plus {READ_GRACE:?} to read the DOM): \
             the page's scripts kept the browser busy"
        )),
    }
}

/// The state of one page's loading.
struct Load {
    inflight: usize,
    last: Instant,
    navigated: bool,
    loaded: bool,
    requests: u32,
    doc_served: bool,
}

impl Load {
    fn new(at: Instant) -> Load {
        Load {
            inflight: 0,
            last: at,
            navigated: false,
            loaded: false,
            requests: 0,
            doc_served: false,
        }
    }
}

async fn render_once(
    renderer: &Renderer,
    polite: &Polite,
    root: &Arc<Root>,
    doc: &Response,
    max_body: u64,
) -> Result<Rendered, String> {
    let cfg = renderer.options();
    let mut tab = renderer.open().await?;
    let started = Instant::now();
    let late = load(&mut tab, polite, root, doc, max_body, renderer, started).await?;
    let html = tab
        .eval("document.documentElement ? document.documentElement.outerHTML : ''")
        .await?;
    let html = html.as_str().unwrap_or_default().to_owned();
    let screenshot = match &cfg.screenshot {
        Some(dir) => Some(screenshot(&tab, dir, doc.final_url.as_str()).await?),
        None => None,
    };
    drop(tab);
    Ok(Rendered {
        html,
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        screenshot,
        late,
    })
}

/// Answers the page's requests until it is ready or the deadline passes; `Some` says it was the deadline.
async fn load(
    tab: &mut Tab,
    polite: &Polite,
    root: &Arc<Root>,
    doc: &Response,
    max_body: u64,
    renderer: &Renderer,
    started: Instant,
) -> Result<Option<String>, String> {
    let cfg = renderer.options();
    let deadline = started + cfg.timeout;
    let mut nav = Some(Box::pin(
        tab.start("Page.navigate", &json!({"url": doc.final_url.as_str()})),
    ));
    let mut fetches: FuturesUnordered<_> = FuturesUnordered::new();
    let mut load = Load::new(started);
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {
                return Ok(Some(format!(
                    "not ready within {:?} ({} requests in flight); the DOM was read as it stood",
                    cfg.timeout, load.inflight
                )));
            }
            ev = tab.next() => {
                match ev? {
                    TabEvent::Paused(p) => {
                        if let Some(f) = answer(tab, &mut load, p, doc, renderer) {
                            let (polite, root) = (polite.clone(), root.clone());
                            load.inflight += 1;
                            fetches.push(async move {
                                let trip = polite.get_for_render(&f.1, &root, max_body).await;
                                (f.0, trip.result)
                            });
                        }
                    }
                    TabEvent::Loaded => load.loaded = true,
                    TabEvent::Other => {}
                }
            }
            Some(r) = async { nav.as_mut()?.await.into() }, if nav.is_some() => {
                nav = None;
                let r: serde_json::Value = r?;
                if let Some(e) = r.get("errorText").and_then(|e| e.as_str()) {
                    return Err(format!("navigation failed: {e}"));
                }
                load.navigated = true;
                load.last = Instant::now();
            }
            Some(done) = fetches.next(), if !fetches.is_empty() => {
                deliver(tab, done);
                load.inflight -= 1;
                load.last = Instant::now();
            }
            _ = tick.tick() => {
                if ready(tab, &load, cfg.wait.as_deref()).await? {
                    return Ok(None);
                }
            }
        }
    }
}

/// Whether the page is ready: `--render-wait`'s selector matches, or (without it) the network has been idle
/// for [`IDLE`] since the load event.
async fn ready(tab: &Tab, load: &Load, wait: Option<&str>) -> Result<bool, String> {
    if !load.navigated {
        return Ok(false);
    }
    match wait {
        Some(css) => {
            let expr = format!("!!document.querySelector({})", serde_json::Value::from(css));
            Ok(tab.eval(&expr).await?.as_bool().unwrap_or(false))
        }
        None => Ok(load.loaded && load.inflight == 0 && load.last.elapsed() >= IDLE),
    }
}

/// Answers what can be answered at once (the document from the fetched response, assets with 204, refusals);
/// returns the request to fetch through the polite path otherwise.
fn answer(
    tab: &Tab,
    load: &mut Load,
    p: Paused,
    doc: &Response,
    renderer: &Renderer,
) -> Option<(String, Url)> {
    let cfg = renderer.options();
    load.requests += 1;
    load.last = Instant::now();
    if !load.doc_served && p.resource == "Document" && p.url == doc.final_url.as_str() {
        load.doc_served = true;
        let ct = doc.content_type.as_deref().unwrap_or("text/html");
        tab.fulfill(&p.id, doc.status, &[("Content-Type", ct)], &doc.body);
        return None;
    }
    if load.requests > cfg.max_requests {
        tab.fail(&p.id, "BlockedByClient");
        return None;
    }
    if !cfg.assets && ASSETS.contains(&p.resource.as_str()) {
        tab.fulfill(&p.id, 204, &[], &[]);
        return None;
    }
    match crate::url::normalize(&p.url) {
        Ok(url) if p.method == "GET" => Some((p.id, url)),
        _ => {
            tab.fail(&p.id, "BlockedByClient");
            None
        }
    }
}

/// Hands a fetched answer to the page.
fn deliver(tab: &Tab, (id, result): Answer) {
    match result {
        Ok(resp) => {
            let ct = resp
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream");
            tab.fulfill(&id, resp.status, &[("Content-Type", ct)], &resp.body);
        }
        Err(e) => {
            let reason = match e.kind() {
                ErrorKind::RobotsDisallowed | ErrorKind::BlockedAddress => "BlockedByClient",
                ErrorKind::Timeout => "TimedOut",
                ErrorKind::Dns => "NameNotResolved",
                ErrorKind::Connect => "ConnectionRefused",
                _ => "Failed",
            };
            tab.fail(&id, reason);
        }
    }
}

async fn screenshot(tab: &Tab, dir: &std::path::Path, url: &str) -> Result<String, String> {
    let shot = tab
        .call("Page.captureScreenshot", &json!({"format": "png"}))
        .await?;
    let data = shot["data"].as_str().unwrap_or_default();
    crate::render::save_screenshot(dir, url, data)
}
