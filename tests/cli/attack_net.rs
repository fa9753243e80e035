//! What an attack run found in trust and name resolution, each kept as a test: a system store
//! (`SSL_CERT_FILE`/`SSL_CERT_DIR`) naming a device, a FIFO or `/proc` must not hang the run or fill memory;
//! `--cacert` on a FIFO nobody writes to exits 2, on a pipe from process substitution works; a `socks5://`
//! proxy (local resolution) never sends an address to the DNS server.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::core::tempdir;
use crate::dns::server::Dns;
use crate::proxy_servers::{Dest, Socks};
use crate::support::*;
use crate::tls::{ca_file, TlsSite, H2_AND_H1};

/// As `FAST` but not quiet: the warnings are what is checked.
const LOUD: [&str; 5] = ["-r", "0", "--ignore-robots", "--timeout", "5"];
/// Far above crawlfish's own bounds (5 s for a store or a `--cacert` pipe), far below the 60 s of `crawlfish_env`.
const ENDS_WITHIN: Duration = Duration::from_secs(20);

fn loud<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = LOUD.to_vec();
    v.extend_from_slice(extra);
    v
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// `SSL_CERT_FILE` on `/dev/zero` (read to exhaustion before: abort, no record), on a FIFO nobody writes to
/// (blocked the handshake and SIGTERM before), `SSL_CERT_DIR` on `/proc` (blocked on /proc/kmsg): the run ends
/// at once with its record, the `--cacert` root still trusted, and one warning naming the refused store.
#[tokio::test]
async fn a_system_store_on_a_device_a_fifo_or_proc_is_skipped_with_one_warning() {
    let dir = tempdir("attack-store");
    let ca = ca_file(&dir);
    let fifo = dir.join("fifo.pem");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    // 127.0.0.1: the address the test CA's leaf names.
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let url = site.url("/");
    let input = format!("{url}\n");
    // A directory warns only if it holds a file over the cap (/proc/kcore, where the machine has one).
    for (var, value, file) in [
        ("SSL_CERT_FILE", "/dev/zero", true),
        ("SSL_CERT_FILE", fifo, true),
        ("SSL_CERT_DIR", "/proc", false),
        ("SSL_CERT_DIR", "/dev", false),
    ] {
        let started = Instant::now();
        let run = crawlfish_env(&loud(&["--cacert", &ca]), &input, &[(var, value)]).await;
        assert!(
            started.elapsed() < ENDS_WITHIN,
            "{var}={value}: {:?}",
            started.elapsed()
        );
        assert_eq!(run.code, Some(0), "{var}={value}: {}", run.stderr);
        assert_eq!(
            run.record(&url)["status"],
            200,
            "{var}={value}: {:?}",
            run.records
        );
        let warnings = run.stderr.matches("system trust store").count();
        if file {
            assert_eq!(warnings, 1, "{var}={value}: {}", run.stderr);
            assert!(run.stderr.contains(value), "{var}={value}: {}", run.stderr);
        } else {
            assert!(warnings <= 1, "{var}={value}: {}", run.stderr);
        }
    }
}

/// `--cacert` on a FIFO nobody writes to exits 2 naming it (it hung before), on a device too (`/dev/zero` was
/// read to the 16 MiB cap); a pipe from process substitution, `--cacert <(cat ca.pem)`, is read.
#[tokio::test]
async fn cacert_refuses_devices_and_silent_fifos_but_reads_a_pipe() {
    let dir = tempdir("attack-cacert");
    let ca = ca_file(&dir);
    let fifo = dir.join("silent.pem");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    // 127.0.0.1: the address the test CA's leaf names.
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let url = site.url("/");
    let input = format!("{url}\n");
    for (bad, says) in [
        (fifo, "a pipe that gave no end of file"),
        ("/dev/zero", "not a regular file"),
    ] {
        let started = Instant::now();
        let run = crawlfish(&args(&["--cacert", bad]), &input).await;
        assert!(
            started.elapsed() < ENDS_WITHIN,
            "{bad}: {:?}",
            started.elapsed()
        );
        assert_eq!(run.code, Some(2), "{bad}: {}", run.stderr);
        assert!(
            run.stderr.contains(bad) && run.stderr.contains(says),
            "{}",
            run.stderr
        );
        assert!(run.records.is_empty());
        assert!(site.hits().is_empty());
    }
    let script = r#""$0" -q -r 0 --ignore-robots --timeout 5 --cacert <(cat "$1") -"#;
    let mut child = tokio::process::Command::new("bash")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .args(["-c", script, env!("CARGO_BIN_EXE_crawlfish"), &ca])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(ENDS_WITHIN, child.wait_with_output())
        .await
        .expect("the run ends")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let records = parse_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], 200, "{records:?}");
}

/// With `socks5://` (names resolved here) a URL with an address is connected to through the proxy by that
/// address, and the DNS server hears nothing (before: the address was asked as a name, and failed as `dns`).
#[tokio::test]
async fn socks5_sends_a_urls_address_without_asking_dns() {
    let origin = Site::start("127.0.0.93").await;
    origin.html("/", "<title>o</title>");
    let socks = Socks::start("127.0.0.94", HashMap::new(), None).await;
    let dns = Dns::start("127.0.0.95", 300).await;
    let url = origin.url("/");
    let proxy = format!("socks5://{}", socks.addr);
    let run = crawlfish(
        &args(&["--proxy", &proxy, "--dns-server", &dns.arg()]),
        &format!("{url}\n"),
    )
    .await;
    assert_eq!(run.record(&url)["status"], 200, "{:?}", run.records);
    assert_eq!(dns.total(), 0, "{:?}", dns.summary());
    let seen = socks.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].dest, Dest::Ip("127.0.0.93".parse().unwrap()));
}
