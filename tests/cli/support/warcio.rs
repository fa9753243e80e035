//! WARC files read back by an independent reader, Python's `warcio` (`warcio check`, `warcio index`), and by hand
//! at a record's offset.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// Runs `PYTHON -m warcio.cli ARGS` with the Python [`python`] found or made.
pub(crate) fn warcio(args: &[&str]) -> (bool, String) {
    let out = Command::new(python())
        .args(["-m", "warcio.cli"])
        .args(args)
        .output()
        .expect("the Python found for warcio runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A Python that has warcio, found once per test run: `python3` itself when it has warcio, otherwise the
/// virtual environment `target/test-venv` (made the first time with `python3 -m venv` and `pip install warcio`,
/// from PyPI, then reused). A stock Debian or Ubuntu Python refuses `pip install` outside a venv (PEP 668,
/// `externally-managed-environment`), which is why the tests install it there themselves. Fails, naming what to
/// install, when neither works.
fn python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(find_python) {
        Ok(p) => p,
        Err(why) => panic!(
            "the WARC tests read the archive back with warcio (Python, from PyPI): {why}\n\
             They need Python 3 with its venv module (Debian/Ubuntu: `apt-get install python3-venv`) and PyPI \
             reachable once, or a `python3` that already has warcio."
        ),
    }
}

fn find_python() -> Result<PathBuf, String> {
    if has_warcio(Path::new("python3")) {
        return Ok("python3".into());
    }
    // The target directory (CARGO_TARGET_DIR honoured): the one the binary under test was built into.
    let target = Path::new(env!("CARGO_BIN_EXE_crawlfish"))
        .ancestors()
        .nth(2)
        .ok_or("no target directory")?;
    let venv = target.join("test-venv");
    let python = venv.join("bin").join("python");
    // Another test process (another `cargo test`, nextest) may be making it: one at a time, the rest wait.
    let lock = std::fs::File::create(target.join("test-venv.lock")).map_err(|e| e.to_string())?;
    lock.lock().map_err(|e| e.to_string())?;
    if has_warcio(&python) {
        return Ok(python);
    }
    eprintln!(
        "making {} with warcio for the WARC tests (once)",
        venv.display()
    );
    let _ = std::fs::remove_dir_all(&venv);
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "warcio",
    ]))?;
    if has_warcio(&python) {
        Ok(python)
    } else {
        Err(format!("{} still cannot import warcio", python.display()))
    }
}

fn has_warcio(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import warcio.cli"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs CMD; its stderr in the error when it fails (also `pywb.rs`'s installer).
pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `warcio index` of FILE: one JSON object per record.
pub(crate) fn index(path: &str) -> Vec<Value> {
    let (ok, out) = warcio(&[
        "index",
        "-f",
        "warc-type,warc-target-uri,offset,warc-truncated,warc-payload-digest,http:status",
        path,
    ]);
    assert!(ok, "warcio index failed: {out}");
    // warcio's index lines are JSON, not records: parsed without the record schema.
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

/// `warcio check -v FILE` must pass; its output.
pub(crate) fn check(path: &str) -> String {
    let (ok, out) = warcio(&["check", "-v", path]);
    assert!(ok, "warcio check failed:\n{out}");
    assert!(!out.contains("invalid"), "{out}");
    out
}

/// The record in the gzip member at `offset`, decompressed: its WARC header and its block.
pub(crate) fn record_at(path: &str, offset: u64) -> (String, Vec<u8>) {
    let mut f = std::fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut text)
        .unwrap();
    let split = text.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(text[..split].to_vec()).unwrap();
    (head, text[split + 4..].to_vec())
}

pub(crate) fn field<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}
