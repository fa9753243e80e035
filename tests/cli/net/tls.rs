//! TLS trust (`--cacert`, the system store through `SSL_CERT_FILE`/`SSL_CERT_DIR`, `-k`) and HTTP/2 end to end,
//! against the TLS site of `support/tls.rs`. A store or `--cacert` that is a device, a FIFO or `/proc` must not
//! hang the run or fill memory. Nothing here depends on the machine's own trust store: the test CA is in none of
//! them.

use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::http::Version;
use rcgen::KeyPair;
use tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer;

use crate::support::tls::{ca_file, server_acceptor, test_ca, TlsSite, H1_ONLY, H2_AND_H1};
use crate::support::*;

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_a_tls_error() {
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let url = site.url("/");
    let run = crawlfish(&args(&[]), &format!("{url}\n")).await;
    assert_eq!(run.kind(&url), "tls", "{:?}", run.records);
    assert!(site.hits().is_empty());
    assert_eq!(run.code, Some(1));
}

/// Issue 11's end-to-end test of `ip` and `http_version` on HTTP/2: the real binary, TLS with ALPN h2.
#[tokio::test]
async fn http2_over_tls_with_cacert_reports_ip_and_http_version() {
    let dir = tempdir("tls-h2");
    let ca = ca_file(&dir);
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let url = site.url("/");
    let named = format!("https://crawl.test:{}/", site.addr.port());
    let resolve = format!("crawl.test:{}:127.0.0.1", site.addr.port());
    let input = format!("{url}\n{named}\n");
    let run = crawlfish(&args(&["--cacert", &ca, "--resolve", &resolve]), &input).await;
    for u in [&url, &named] {
        let r = run.record(u);
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["http_version"], "HTTP/2", "{r}");
        assert_eq!(r["ip"], "127.0.0.1", "{r}");
        assert_eq!(r["title"], "tls", "{r}");
    }
    let hits = site.hits();
    assert_eq!(hits.len(), 2);
    assert!(
        hits.iter().all(|h| h.version == Version::HTTP_2),
        "{hits:?}"
    );
    assert_eq!(run.code, Some(0));
}

#[tokio::test]
async fn a_name_the_certificate_does_not_cover_is_a_tls_error() {
    let dir = tempdir("tls-name");
    let ca = ca_file(&dir);
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let url = format!("https://other.test:{}/", site.addr.port());
    let resolve = format!("other.test:{}:127.0.0.1", site.addr.port());
    let run = crawlfish(
        &args(&["--cacert", &ca, "--resolve", &resolve]),
        &format!("{url}\n"),
    )
    .await;
    assert_eq!(run.kind(&url), "tls", "{:?}", run.records);
    assert!(site.hits().is_empty());
}

#[tokio::test]
async fn a_server_offering_only_http1_is_reported_as_http_1_1() {
    let dir = tempdir("tls-h1");
    let ca = ca_file(&dir);
    let site = TlsSite::start("127.0.0.1", H1_ONLY).await;
    let url = site.url("/");
    let run = crawlfish(&args(&["--cacert", &ca]), &format!("{url}\n")).await;
    let r = run.record(&url);
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["http_version"], "HTTP/1.1", "{r}");
    assert_eq!(site.hits()[0].version, Version::HTTP_11);
}

#[tokio::test]
async fn a_cacert_file_may_hold_several_certificates() {
    let dir = tempdir("tls-bundle");
    let other = rcgen::generate_simple_self_signed(vec!["elsewhere.test".to_owned()]).unwrap();
    let path = dir.join("bundle.pem");
    std::fs::write(&path, format!("{}{}", other.cert.pem(), test_ca().ca_pem)).unwrap();
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let url = site.url("/");
    let run = crawlfish(
        &args(&["--cacert", path.to_str().unwrap()]),
        &format!("{url}\n"),
    )
    .await;
    assert_eq!(run.record(&url)["status"], 200, "{:?}", run.records);
}

/// A self-signed leaf (not a CA) is its own trust anchor; a CA certificate serving as the leaf is refused by
/// rustls (README says so and what to do).
#[tokio::test]
async fn a_self_signed_leaf_can_be_its_own_cacert() {
    let dir = tempdir("tls-self-signed");
    let leaf = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let path = dir.join("leaf.pem");
    std::fs::write(&path, leaf.cert.pem()).unwrap();
    let key = PrivatePkcs8KeyDer::from(leaf.signing_key.serialize_der());
    let acceptor = server_acceptor(leaf.cert.der().clone(), key, H2_AND_H1);
    let site = TlsSite::start_with("127.0.0.1", acceptor).await;
    let url = site.url("/");
    let run = crawlfish(
        &args(&["--cacert", path.to_str().unwrap()]),
        &format!("{url}\n"),
    )
    .await;
    assert_eq!(run.record(&url)["status"], 200, "{:?}", run.records);
}

/// `-k`: no verification, one warning per run (not per request), and `-q` silences it as it does every warning.
#[tokio::test]
async fn insecure_fetches_anything_and_warns_once_per_run() {
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let urls: Vec<String> = (0..3).map(|i| site.url(&format!("/p{i}"))).collect();
    let input = urls.join("\n") + "\n";
    let loud = ["-r", "0", "--ignore-robots", "--timeout", "5", "-k"];
    let run = crawlfish(&loud, &input).await;
    for u in &urls {
        assert_eq!(run.record(u)["status"], 200, "{:?}", run.records);
    }
    let warnings = run
        .stderr
        .lines()
        .filter(|l| l.contains("--insecure"))
        .count();
    assert_eq!(warnings, 1, "{}", run.stderr);
    let quiet = crawlfish(&args(&["--insecure"]), &input).await;
    assert_eq!(quiet.records.len(), 3);
    assert!(!quiet.stderr.contains("--insecure"), "{}", quiet.stderr);
}

#[tokio::test]
async fn an_unusable_cacert_exits_2_before_any_request() {
    let dir = tempdir("tls-badca");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, b"this is not a certificate\n").unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, b"").unwrap();
    let key = dir.join("key.pem");
    std::fs::write(&key, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let missing = dir.join("missing.pem");
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let out = dir.join("out.jsonl");
    for file in [&garbage, &empty, &key, &missing] {
        let f = file.to_str().unwrap();
        let run = crawlfish(
            &args(&["--cacert", f, "-o", out.to_str().unwrap()]),
            &format!("{}\n", site.url("/")),
        )
        .await;
        assert_eq!(run.code, Some(2), "{f}: {}", run.stderr);
        assert!(run.stderr.contains(f), "names the file: {}", run.stderr);
        assert!(!out.exists(), "-o is not touched");
    }
    assert_eq!(site.connections(), 0, "nothing fetched");
}

/// The system store is read beside the bundled roots: `SSL_CERT_FILE` (set on the child only) points it at the
/// test CA. And with no system store at all, `--cacert` and the bundled roots still work.
#[tokio::test]
async fn the_system_trust_store_is_used_and_may_be_missing() {
    let dir = tempdir("tls-system");
    let ca = ca_file(&dir);
    let site = TlsSite::start("127.0.0.1", H2_AND_H1).await;
    let url = site.url("/");
    let input = format!("{url}\n");
    let run = crawlfish_env(&args(&[]), &input, &[("SSL_CERT_FILE", &ca)]).await;
    assert_eq!(run.record(&url)["status"], 200, "{:?}", run.records);
    let nowhere = dir.join("none");
    let nowhere = nowhere.to_str().unwrap();
    let no_store = [("SSL_CERT_FILE", nowhere), ("SSL_CERT_DIR", nowhere)];
    let run = crawlfish_env(&args(&[]), &input, &no_store).await;
    assert_eq!(run.kind(&url), "tls", "{:?}", run.records);
    let run = crawlfish_env(&args(&["--cacert", &ca]), &input, &no_store).await;
    assert_eq!(run.record(&url)["status"], 200, "{:?}", run.records);
}

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
// Guards: `SSL_CERT_FILE`/`SSL_CERT_DIR` on a device, FIFO or `/proc` hung the run or read without bound.
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
// Guards: `--cacert` on a FIFO nobody writes to hung, and on `/dev/zero` read 16 MiB.
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
