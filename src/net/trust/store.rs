//! The system's trust store, read with bounds: `SSL_CERT_FILE` and `SSL_CERT_DIR` name any path the environment
//! likes (`/dev/zero`, a FIFO, `/proc`), and rustls-native-certs reads whatever they name, without a size limit
//! and blocking on a FIFO or `/proc/kmsg`. Here only regular, non-empty files are read, each and all together at
//! most [`MAX_STORE_BYTES`], and the whole read runs on a thread of its own that the caller waits for at most
//! [`STORE_TIMEOUT`]: a store that cannot be read in time is skipped with one warning, never a hung run.
//!
//! Must not build the TLS configuration or read `--cacert` ([`crate::net::trust`]).

use std::ffi::OsString;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// The most bytes read from the system store, every file together (a distribution's bundle is ~220 KB, and
/// `/etc/ssl/certs` holds it plus one file per root: ~0.5 MB).
pub(super) const MAX_STORE_BYTES: u64 = 16 << 20;
/// The longest a handshake waits for the system store: a local disk reads it in a few ms.
pub(super) const STORE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most entries looked at in each `SSL_CERT_DIR` directory (one per root: ~150 on a distribution).
const MAX_DIR_ENTRIES: usize = 10_000;

/// The certificates of the system store, and what was refused or skipped (for one warning).
#[derive(Default)]
pub(super) struct Store {
    pub(super) certs: Vec<CertificateDer<'static>>,
    pub(super) refused: Vec<String>,
}

/// Reads the store on a thread of its own, waiting at most `timeout`: on timeout the thread is left to finish (or
/// to block; the process does not wait for it at exit) and the store counts as empty.
pub(super) fn load_with_timeout(
    load: impl FnOnce() -> Store + Send + 'static,
    timeout: Duration,
) -> Store {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("trust-store".into())
        .spawn(move || {
            let _ = tx.send(load());
        });
    if let Err(e) = spawned {
        return refused(format!("cannot start a thread to read it ({e})"));
    }
    rx.recv_timeout(timeout).unwrap_or_else(|_| {
        refused(format!(
            "not read within {timeout:?} (SSL_CERT_FILE or SSL_CERT_DIR on a slow or blocking file?)"
        ))
    })
}

fn refused(why: String) -> Store {
    Store {
        certs: Vec::new(),
        refused: vec![why],
    }
}

/// `SSL_CERT_FILE`/`SSL_CERT_DIR` if either is set (as rustls-native-certs chooses), read with bounds; else the
/// distribution's own locations, through rustls-native-certs.
pub(super) fn load() -> Store {
    let file = std::env::var_os("SSL_CERT_FILE");
    let dirs = std::env::var_os("SSL_CERT_DIR");
    if file.is_none() && dirs.is_none() {
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!(error = %e, "system trust store");
        }
        return Store {
            certs: native.certs,
            refused: Vec::new(),
        };
    }
    load_paths(file.map(PathBuf::from).as_deref(), dirs)
}

fn load_paths(file: Option<&Path>, dirs: Option<OsString>) -> Store {
    let mut store = Store::default();
    let mut budget = MAX_STORE_BYTES;
    if let Some(file) = file {
        if let Err(why) = read_file(file, &mut budget, &mut store.certs) {
            store
                .refused
                .push(format!("SSL_CERT_FILE {}: {why}", file.display()));
        }
    }
    let dirs = dirs.map(|d| std::env::split_paths(&d).collect::<Vec<_>>());
    for dir in dirs.iter().flatten().filter(|d| !d.as_os_str().is_empty()) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "system trust store");
                continue;
            }
        };
        for entry in entries.take(MAX_DIR_ENTRIES).flatten() {
            let path = entry.path();
            // Directories, devices, FIFOs and empty files (all of /proc) are skipped, as a dangling link is.
            if let Err(why) = read_file(&path, &mut budget, &mut store.certs) {
                if why.starts_with(OVER) {
                    store
                        .refused
                        .push(format!("SSL_CERT_DIR {}: {why}", path.display()));
                    return store;
                }
                tracing::debug!(file = %path.display(), why, "system trust store: skipped");
            }
        }
    }
    store
        .certs
        .sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    store.certs.dedup();
    store
}

const OVER: &str = "over";

/// One regular file's PEM certificates, its bytes taken from `budget`. Checked before it is opened: opening a
/// FIFO blocks, reading a device never ends.
fn read_file(
    path: &Path,
    budget: &mut u64,
    certs: &mut Vec<CertificateDer<'static>>,
) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it ({e})"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() == 0 {
        return Err("empty".into());
    }
    if meta.len() > *budget {
        return Err(format!(
            "{OVER} {MAX_STORE_BYTES} bytes in all, not read (the system store is smaller)"
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(meta.len()).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read it ({e})"))?;
    *budget -= bytes.len() as u64;
    // Stores carry blocks rustls cannot parse: each is skipped, as rustls-native-certs does.
    certs.extend(CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_blocks_is_given_up_after_the_timeout() {
        let (_keep, rx) = mpsc::channel::<()>();
        let started = std::time::Instant::now();
        let store = load_with_timeout(
            move || {
                let _ = rx.recv();
                Store::default()
            },
            Duration::from_millis(50),
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(store.certs.is_empty());
        assert!(
            store.refused[0].contains("not read within"),
            "{:?}",
            store.refused
        );
    }

    #[test]
    fn devices_proc_and_oversized_files_are_not_read() {
        let store = load_paths(Some(Path::new("/dev/zero")), Some("/proc:/dev".into()));
        assert!(store.certs.is_empty());
        assert_eq!(store.refused.len(), 1, "{:?}", store.refused);
        assert!(store.refused[0].contains("/dev/zero: not a regular file"));
        let dir = std::env::temp_dir().join(format!("crawlfish-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.pem");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_STORE_BYTES + 1)
            .unwrap();
        let store = load_paths(Some(&big), None);
        assert!(store.refused[0].contains("over"), "{:?}", store.refused);
        let store = load_paths(None, Some(dir.clone().into_os_string()));
        assert!(store.refused[0].contains("over"), "{:?}", store.refused);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
