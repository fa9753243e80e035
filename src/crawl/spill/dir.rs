//! The spill's private directory, shared by the frontier's job segments ([`super::Spill`]) and the seen-set's
//! runs on disk ([`crate::crawl::seen`]): made at the first write, so a crawl that fits in memory never touches
//! disk, and removed with everything in it when its last holder is dropped.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `PARENT/crawlfish-spill-PID-N`, made on first use.
#[derive(Debug)]
pub(crate) struct PrivateDir {
    parent: PathBuf,
    dir: OnceLock<PathBuf>,
}

impl PrivateDir {
    /// A directory to be made inside `parent` when first asked for.
    #[must_use]
    pub(crate) fn new(parent: PathBuf) -> PrivateDir {
        PrivateDir {
            parent,
            dir: OnceLock::new(),
        }
    }

    /// Where the directory is (to be) made.
    #[must_use]
    pub(crate) fn parent(&self) -> &Path {
        &self.parent
    }

    /// The directory, once made.
    #[must_use]
    pub(crate) fn made(&self) -> Option<&Path> {
        self.dir.get().map(PathBuf::as_path)
    }

    /// The directory, made now if it was not yet.
    pub(crate) fn get(&self) -> io::Result<&Path> {
        if let Some(d) = self.dir.get() {
            return Ok(d);
        }
        let d = make_private_dir(&self.parent)?;
        // One owner (the scheduler's frontier) asks: the cell is empty here.
        Ok(self.dir.get_or_init(|| d))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        // Segments and runs hold no data worth keeping once the run ends: the directory goes with them.
        if let Some(dir) = self.dir.get() {
            if let Err(e) = std::fs::remove_dir_all(dir) {
                tracing::warn!(
                    "could not remove the spill directory {}: {e}",
                    dir.display()
                );
            }
        }
    }
}

/// Makes `parent/crawlfish-spill-PID-N`, readable by this user only (queued URLs may be private).
fn make_private_dir(parent: &Path) -> io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::create_dir_all(parent)?;
    let pid = std::process::id();
    // Bounded: a name is taken only by another run of this same pid (a stale directory); 1,000 tries is plenty.
    for n in 0..1000 {
        let dir = parent.join(format!("crawlfish-spill-{pid}-{n}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "no free spill directory name in {}",
        parent.display()
    )))
}
