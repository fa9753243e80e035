//! The cookie jar's files: `--cookies FILE` read before anything is opened, `--state DIR`'s `cookies.txt` read
//! once DIR is locked, and at the end `--save-cookies FILE` (always) and DIR's `cookies.txt` (a complete run's
//! only, as its records become the newest) written, each atomically ([`crate::net::cookies::Jar::save`]).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::net::cookies::Jar;
use crate::output::state;

/// `--state DIR`'s jar file, when the run has DIR and a jar.
fn state_file(cfg: &Config) -> Option<PathBuf> {
    let (dir, _) = cfg.output.state.as_ref()?;
    cfg.net.cookies.enabled.then(|| dir.join(state::COOKIES))
}

/// `--cookies FILE` into the jar.
///
/// # Errors
/// FILE cannot be read.
pub(crate) fn load_flag(cfg: &Config, jar: Option<&Arc<Jar>>) -> Result<()> {
    if let (Some(jar), Some(file)) = (jar, &cfg.net.cookies.load) {
        let kept = jar
            .load(file)
            .with_context(|| format!("--cookies: cannot read {}", file.display()))?;
        tracing::info!(file = %file.display(), cookies = kept, "cookies loaded");
    }
    Ok(())
}

/// `--state DIR`'s `cookies.txt` into the jar (DIR is locked by now); a missing file is the first run's, an
/// unreadable one a warning (the run's files may already be cut: failing now would lose more than the cookies).
pub(crate) fn load_state(cfg: &Config, jar: Option<&Arc<Jar>>) {
    let (Some(jar), Some(file)) = (jar, state_file(cfg)) else {
        return;
    };
    if std::fs::symlink_metadata(&file).is_err() {
        return;
    }
    if let Err(e) = jar.load(&file) {
        tracing::warn!(file = %file.display(), "--state: cookies not read: {e}");
    }
}

/// Writes the jar at the run's end: `--save-cookies FILE` always, DIR's `cookies.txt` only if `complete` (and
/// only once there is a cookie to keep, or to replace).
///
/// # Errors
/// A file could not be written (the other is still tried).
pub(crate) fn save(cfg: &Config, jar: Option<&Arc<Jar>>, complete: bool) -> Result<(), String> {
    let Some(jar) = jar else { return Ok(()) };
    let keep_session = cfg.net.cookies.keep_session;
    let state = state_file(cfg).filter(|_| complete);
    let mut failed = Vec::new();
    for (flag, file) in [
        ("--save-cookies", cfg.net.cookies.save.clone()),
        ("--state", state),
    ] {
        let Some(file) = file else { continue };
        // No cookie and no file yet: DIR gets no `cookies.txt` for a site that sets none.
        if flag == "--state" && jar.nothing_to_save(keep_session) && !file.exists() {
            continue;
        }
        if let Err(e) = jar.save(&file, keep_session) {
            failed.push(format!("{flag}: cannot write {}: {e}", file.display()));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}
