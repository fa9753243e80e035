//! `--metrics ADDR` and `--metrics-file FILE`: the run's counters in the Prometheus text format ([`text`]), served
//! over HTTP during the run ([`serve`]) and written atomically to a file (a temp file beside it, then a rename)
//! every [`FILE_INTERVAL`] and at exit, for `node_exporter`'s textfile collector.
//!
//! Reads counters the lower layers keep anyway: the writer's [`Progress`] (records) and the polite path's
//! [`Meter`] (requests); a scrape costs a few dozen relaxed loads. The address is bound, and the file written
//! once, before anything is fetched: a port in use or an unwritable file is a run-level error (exit 2).

mod serve;
mod text;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::net::meter::Meter;
use crate::output::Progress;

/// How often `--metrics-file` is rewritten during a run (not a flag).
pub(crate) const FILE_INTERVAL: Duration = Duration::from_secs(10);

/// What the exposition reads.
#[derive(Debug)]
struct Sources {
    progress: Arc<Progress>,
    meter: Arc<Meter>,
}

impl Sources {
    fn render(&self) -> String {
        text::render(&self.progress, &self.meter)
    }
}

/// `--metrics`' listener bound and `--metrics-file` checked, before the run starts.
#[derive(Debug)]
pub(crate) struct Bound {
    listener: Option<std::net::TcpListener>,
    file: Option<PathBuf>,
    meter: Arc<Meter>,
}

/// The metrics of a running crawl; [`finish`] writes the file a last time and stops the server.
#[derive(Debug)]
pub(crate) struct Running {
    sources: Arc<Sources>,
    file: Option<PathBuf>,
    stop: CancellationToken,
    /// The periodic writer, awaited before the last write (both write the same temp file).
    writer: Option<tokio::task::JoinHandle<()>>,
}

/// Binds `--metrics` and writes `--metrics-file` (all zeros) when given; `None` when neither is. Called before
/// the run's files are opened and any request is sent: a port in use is the run's error (exit 2), nothing touched.
pub(crate) fn bind(cfg: &Config) -> Result<Option<Bound>> {
    if cfg.metrics.is_none() && cfg.metrics_file.is_none() {
        return Ok(None);
    }
    let listener = match cfg.metrics {
        Some(addr) => {
            let l = std::net::TcpListener::bind(addr)
                .with_context(|| format!("--metrics {addr}: cannot listen"))?;
            l.set_nonblocking(true)
                .with_context(|| format!("--metrics {addr}"))?;
            Some(l)
        }
        None => None,
    };
    let meter = Arc::new(Meter::default());
    if let Some(file) = &cfg.metrics_file {
        write_atomically(file, &text::render(&Progress::default(), &meter))
            .with_context(|| format!("--metrics-file {}", file.display()))?;
    }
    Ok(Some(Bound {
        listener,
        file: cfg.metrics_file.clone(),
        meter,
    }))
}

/// Starts serving and the periodic file writes of `bound`, reading `progress`.
pub(crate) fn start(bound: Option<Bound>, progress: &Arc<Progress>) -> Result<Option<Running>> {
    bound.map(|b| b.start(progress.clone())).transpose()
}

/// After the run: [`Running::finish`], when metrics run.
pub(crate) async fn finish(running: Option<Running>) {
    if let Some(running) = running {
        running.finish().await;
    }
}

impl Bound {
    /// Starts serving and the periodic file writes, reading `progress`.
    pub(crate) fn start(self, progress: Arc<Progress>) -> Result<Running> {
        let sources = Arc::new(Sources {
            progress,
            meter: self.meter,
        });
        let stop = CancellationToken::new();
        if let Some(l) = self.listener {
            let listener = tokio::net::TcpListener::from_std(l).context("--metrics")?;
            serve::spawn(listener, sources.clone(), stop.clone());
        }
        let writer = self
            .file
            .as_ref()
            .map(|file| spawn_file_writer(file.clone(), sources.clone(), stop.clone()));
        Ok(Running {
            sources,
            file: self.file,
            stop,
            writer,
        })
    }
}

impl Running {
    /// The polite path's request counters.
    pub(crate) fn meter(&self) -> Arc<Meter> {
        self.sources.meter.clone()
    }

    /// Once every record is written: the file's last write (a failure is logged), and the server stops.
    pub(crate) async fn finish(self) {
        self.stop.cancel();
        if let Some(writer) = self.writer {
            let _ = writer.await;
        }
        if let Some(file) = &self.file {
            if let Err(e) = write_file(file.clone(), self.sources.render()).await {
                tracing::error!(file = %file.display(), error = %e, "--metrics-file: cannot write");
            }
        }
    }
}

fn spawn_file_writer(
    file: PathBuf,
    sources: Arc<Sources>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FILE_INTERVAL);
        tick.tick().await; // the first tick is immediate: the file was just written by `bind`
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(e) = write_file(file.clone(), sources.render()).await {
                tracing::warn!(file = %file.display(), error = %e, "--metrics-file: cannot write");
            }
        }
    })
}

async fn write_file(file: PathBuf, text: String) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || write_atomically(&file, &text))
        .await
        .map_err(std::io::Error::other)?
}

/// Writes `text` to a temp file beside `file`, then renames it over `file`: a reader sees the old or the new text.
fn write_atomically(file: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, file));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
