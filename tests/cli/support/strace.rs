//! Runs crawlfish under `strace -e inject=…` to make one system call fail (or kill the process) on purpose. Tests
//! that need it skip, saying so, when `strace` is not installed (`.ci/run` installs it).

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;

/// How a run under strace ended.
pub struct Traced {
    pub code: Option<i32>,
    pub stderr: String,
}

/// `strace` on PATH, or `None` (the caller skips with a message).
pub fn strace() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join("strace"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "SKIPPED: strace is not installed (apt-get install -y strace); this test needs it"
        );
    }
    found
}

/// crawlfish with `args` and `stdin`, under `strace -f -e inject=INJECT` (strace's own output discarded).
pub async fn crawlfish_under(strace: &PathBuf, inject: &str, args: &[&str], stdin: &str) -> Traced {
    let mut child = tokio::process::Command::new(strace)
        .args([
            "-f",
            "-o",
            "/dev/null",
            "-e",
            inject,
            env!("CARGO_BIN_EXE_crawlfish"),
        ])
        .args(args)
        .env_clear()
        .kill_on_drop(true)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("crawlfish under strace did not end within 60 s")
        .unwrap();
    Traced {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
