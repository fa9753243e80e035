//! Replay in pywb, the web archive replay system (`wayback`), as an outside reader of crawlfish's WARC: what a
//! user of the archive sees at each capture date. pywb is installed from PyPI into `target/pywb-venv` the first
//! time (as `warcio.rs` does for warcio), then reused.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::warcio::run;
use std::time::{Duration, Instant};

/// The `bin` directory of a virtual environment with pywb.
fn bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BIN.get_or_init(make) {
        Ok(p) => p,
        Err(why) => panic!(
            "the replay tests install pywb from PyPI into a venv: {why}\n\
             They need Python 3 with its venv module (Debian/Ubuntu: `apt-get install python3-venv`) and PyPI \
             reachable once."
        ),
    }
}

fn make() -> Result<PathBuf, String> {
    let target = Path::new(env!("CARGO_BIN_EXE_crawlfish"))
        .ancestors()
        .nth(2)
        .ok_or("no target directory")?;
    let venv = target.join("pywb-venv");
    let bin = venv.join("bin");
    let lock = std::fs::File::create(target.join("pywb-venv.lock")).map_err(|e| e.to_string())?;
    lock.lock().map_err(|e| e.to_string())?;
    if bin.join("wayback").exists() {
        return Ok(bin);
    }
    eprintln!(
        "making {} with pywb for the replay tests (once)",
        venv.display()
    );
    let _ = std::fs::remove_dir_all(&venv);
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(bin.join("python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "pywb",
    ]))?;
    if bin.join("wayback").exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} has no wayback after pip install pywb",
            bin.display()
        ))
    }
}

/// A pywb collection of `warcs` served by `wayback` on loopback; the server is killed on drop.
pub(crate) struct Replay {
    server: std::process::Child,
    port: u16,
}

impl Replay {
    /// Makes collection `c` in `dir`, adds `warcs`, starts `wayback` and waits (at most 60 s) until it answers.
    pub(crate) fn start(dir: &Path, warcs: &[PathBuf]) -> Replay {
        let bin = bin();
        std::fs::create_dir_all(dir).unwrap();
        run(Command::new(bin.join("wb-manager"))
            .current_dir(dir)
            .args(["init", "c"]))
        .unwrap();
        run(Command::new(bin.join("wb-manager"))
            .current_dir(dir)
            .args(["add", "c"])
            .args(warcs))
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Command::new(bin.join("wayback"))
            .current_dir(dir)
            .args(["-p", &port.to_string(), "-b", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let replay = Replay { server, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "wayback did not start in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        replay
    }

    /// The status and body pywb replays for `url` at `timestamp` (14 digits), as the archive holds it (`id_`).
    pub(crate) fn get(&self, timestamp: &str, url: &str) -> (u16, Vec<u8>) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET /c/{timestamp}id_/{url} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&out[..split]).into_owned();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, out[split + 4..].to_vec())
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
