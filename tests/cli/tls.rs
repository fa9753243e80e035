//! TLS trust (`--cacert`, the system store through `SSL_CERT_FILE`, `-k`) and HTTP/2 end to end, against a TLS
//! server in the test process: a CA made at test time (rcgen) issues a leaf for `localhost`, `crawl.test` and
//! 127.0.0.1, served over tokio-rustls by hyper-util's auto builder (HTTP/2 or HTTP/1.1, as ALPN chose).
//! Nothing here depends on the machine's own trust store: the test CA is in none of them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

use crate::core::tempdir;
use crate::support::*;

/// ALPN offers of the test server.
pub const H2_AND_H1: &[&[u8]] = &[b"h2", b"http/1.1"];
pub const H1_ONLY: &[&[u8]] = &[b"http/1.1"];

/// A CA and the leaf it issued, made once per test binary.
pub struct TestCa {
    pub ca_pem: String,
    leaf: CertificateDer<'static>,
    key: Vec<u8>,
}

pub fn test_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "crawlfish test CA");
        let ca = params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let names = vec!["localhost".into(), "crawl.test".into(), "127.0.0.1".into()];
        let leaf = CertificateParams::new(names)
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        TestCa {
            ca_pem: ca.pem(),
            leaf: leaf.der().clone(),
            key: leaf_key.serialize_der(),
        }
    })
}

/// A TLS acceptor presenting the test CA's leaf, offering `alpn`.
pub fn acceptor(alpn: &[&[u8]]) -> tokio_rustls::TlsAcceptor {
    let ca = test_ca();
    server_acceptor(
        ca.leaf.clone(),
        PrivatePkcs8KeyDer::from(ca.key.clone()),
        alpn,
    )
}

fn server_acceptor(
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    alpn: &[&[u8]],
) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key.into())
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// One request as the TLS server saw it.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    pub version: Version,
    pub headers: HeaderMap,
}

#[derive(Default)]
struct Seen {
    hits: Mutex<Vec<Hit>>,
    connections: AtomicUsize,
}

/// An HTTPS site on one loopback address: every path is a small HTML page, `/robots.txt` a 404.
#[derive(Clone)]
pub struct TlsSite {
    pub addr: SocketAddr,
    seen: Arc<Seen>,
}

impl TlsSite {
    pub async fn start(ip: &str, alpn: &[&[u8]]) -> TlsSite {
        TlsSite::start_with(ip, acceptor(alpn)).await
    }

    /// A site serving with `acceptor`'s certificate (e.g. a self-signed one).
    pub async fn start_with(ip: &str, acceptor: tokio_rustls::TlsAcceptor) -> TlsSite {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let app = axum::Router::new().fallback(page).with_state(seen.clone());
        let counter = seen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.connections.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                let svc = TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to serve.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        TlsSite { addr, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.seen.hits.lock().unwrap().clone()
    }

    /// TCP connections accepted (TLS handshakes tried), served or not.
    pub fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }
}

async fn page(State(seen): State<Arc<Seen>>, req: Request) -> axum::response::Response {
    let path = req.uri().path().to_owned();
    seen.hits.lock().unwrap().push(Hit {
        path: path.clone(),
        version: req.version(),
        headers: req.headers().clone(),
    });
    let status = if path == "/robots.txt" { 404 } else { 200 };
    axum::response::Response::builder()
        .status(status)
        .header("content-type", "text/html")
        .body(axum::body::Body::from("<title>tls</title>"))
        .unwrap()
}

/// The test CA's certificate in a file, for `--cacert` or `SSL_CERT_FILE`.
pub fn ca_file(dir: &std::path::Path) -> String {
    let path = dir.join("ca.pem");
    std::fs::write(&path, &test_ca().ca_pem).unwrap();
    path.to_str().unwrap().to_owned()
}

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
