//! The TLS site of the trust, HTTP/2 and proxy tests: a CA made at test time (rcgen) issues a leaf for `localhost`,
//! `crawl.test` and 127.0.0.1, served over tokio-rustls by hyper-util's auto builder (HTTP/2 or HTTP/1.1, as ALPN
//! chose). The test CA is in no trust store of the machine.

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

pub fn server_acceptor(
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
