//! Which TLS servers are trusted: the bundled webpki roots, the system's trust store beside them, `--cacert`
//! files, or nothing at all with `-k/--insecure`. Reads the `--cacert` files when the command line is checked
//! (a bad file is a usage error before any network I/O), and builds the one rustls configuration that every
//! client of the run shares ([`crate::net::proxy`] hands it to reqwest).
//!
//! Must not touch proxies ([`crate::net::proxy`]), name resolution or requests ([`crate::net::fetch`]).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The largest `--cacert` file read (a system bundle of every public root is ~220 KB).
const MAX_CACERT_BYTES: u64 = 16 << 20;
/// How long a `--cacert` pipe may take to reach its end (`<(cat ca.pem)` takes ms; a FIFO nobody opens never does).
const CACERT_PIPE_TIMEOUT: Duration = Duration::from_secs(5);
/// ALPN, in preference order: HTTP/2 where the server offers it (as reqwest's own configuration does).
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// `--cacert` and `-k`, checked: the certificates parsed, not yet a TLS configuration.
#[derive(Clone, Default)]
pub struct Trust {
    /// The certificates of every `--cacert` file, in order.
    extra: Vec<CertificateDer<'static>>,
    /// `-k/--insecure`: no certificate is verified.
    pub insecure: bool,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("extra_roots", &self.extra.len())
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl Trust {
    /// Reads every `--cacert` FILE: each must hold at least one PEM certificate usable as a trust anchor.
    ///
    /// # Errors
    /// A usage error naming the file: unreadable, not PEM, no certificate, or a certificate rustls rejects.
    pub fn from_flags(cacert: &[PathBuf], insecure: bool) -> Result<Trust> {
        let mut extra = Vec::new();
        for path in cacert {
            extra.extend(read_pem_certificates(path)?);
        }
        Ok(Trust { extra, insecure })
    }

    /// The one TLS configuration of the run, shared by every client (reqwest's own `rustls-tls-native-roots`
    /// would read the system store again for each client, and crawlfish builds one per host).
    #[must_use]
    pub(crate) fn client_config(&self) -> rustls::ClientConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = Arc::new(Roots {
            provider: provider.clone(),
            extra: self.extra.clone(),
            insecure: self.insecure,
            verifier: OnceLock::new(),
        });
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| unreachable!("ring supports the default TLS versions"))
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        config
    }
}

/// The usual webpki verification against the bundled roots, the system's and `--cacert`'s, built at the first
/// certificate to verify: reading the system store (~150 certificates from /etc/ssl here) and checking the first
/// chain costs ~2 ms in a release build, which a run of http:// URLs never pays.
///
/// With `insecure` (`-k`) any certificate is accepted for any name, and no store is read. The handshake's
/// signatures are still checked against the certificate the server sent, so the connection is at least bound to
/// that key (as curl -k does).
#[derive(Debug)]
struct Roots {
    provider: Arc<CryptoProvider>,
    extra: Vec<CertificateDer<'static>>,
    insecure: bool,
    verifier: OnceLock<Arc<dyn ServerCertVerifier>>,
}

impl Roots {
    fn verifier(&self) -> &dyn ServerCertVerifier {
        self.verifier
            .get_or_init(|| {
                let roots = Arc::new(self.roots());
                let verifier: Arc<dyn ServerCertVerifier> =
                    WebPkiServerVerifier::builder_with_provider(roots, self.provider.clone())
                        .build()
                        // Only an empty store fails, and the bundled roots are never empty.
                        .unwrap_or_else(|_| unreachable!("the bundled roots are not empty"));
                verifier
            })
            .as_ref()
    }

    /// Bundled roots, then the system's, then `--cacert`'s. A system store that is missing or unreadable is
    /// logged at debug level and skipped: the bundled roots still work on a machine without one.
    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        // On a thread of its own and bounded in time: this runs inside a handshake, on a runtime thread.
        let native = store::load_with_timeout(store::load, store::STORE_TIMEOUT);
        if !native.refused.is_empty() {
            tracing::warn!(
                "system trust store: {}; bundled roots and --cacert only",
                native.refused.join("; ")
            );
        }
        // Stores carry old or odd certificates that rustls cannot use; each is skipped, as reqwest does.
        let (added, skipped) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, skipped, "system trust store read");
        for cert in &self.extra {
            // Checked when the file was read (`read_pem_certificates`).
            let _ = roots.add(cert.clone());
        }
        roots
    }
}

impl ServerCertVerifier for Roots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        self.verifier().verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The bytes of one `--cacert` file: a regular file, or a pipe (`--cacert <(…)`, a FIFO) read on a thread of its
/// own for at most [`CACERT_PIPE_TIMEOUT`] (opening a FIFO nobody writes to blocks for ever). Devices, directories
/// and sockets are refused before they are opened (`/dev/zero` never ends). At most `MAX_CACERT_BYTES + 1` bytes.
fn read_cacert_bytes(path: &Path) -> Result<Vec<u8>> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).with_context(|| format!("--cacert {shown}: cannot read it"))?;
    let read = |path: &Path| -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)?
            .take(MAX_CACERT_BYTES + 1)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    if meta.is_file() {
        return read(path).with_context(|| format!("--cacert {shown}: cannot read it"));
    }
    if !is_fifo(&meta) {
        bail!("--cacert {shown}: not a regular file or a pipe (a directory or a device?)");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::Builder::new()
        .name("cacert-pipe".into())
        .spawn(move || {
            let _ = tx.send(read(&owned));
        })
        .with_context(|| format!("--cacert {shown}: cannot start a thread to read it"))?;
    match rx.recv_timeout(CACERT_PIPE_TIMEOUT) {
        Ok(bytes) => bytes.with_context(|| format!("--cacert {shown}: cannot read it")),
        Err(_) => bail!(
            "--cacert {shown}: a pipe that gave no end of file within {CACERT_PIPE_TIMEOUT:?} (nothing writes to it?)"
        ),
    }
}

#[cfg(unix)]
fn is_fifo(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    meta.file_type().is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_: &std::fs::Metadata) -> bool {
    false
}

/// The certificates of one PEM file; every failure names the file.
fn read_pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let shown = path.display();
    // Bounded: `--cacert /dev/zero` must not fill memory, nor a FIFO block the run.
    let bytes = read_cacert_bytes(path)?;
    if bytes.len() as u64 > MAX_CACERT_BYTES {
        bail!("--cacert {shown}: larger than {MAX_CACERT_BYTES} bytes, not a certificate file");
    }
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--cacert {shown}: not a valid PEM file ({e})"))?;
    if certs.is_empty() {
        bail!("--cacert {shown}: no certificate in it (expected PEM '-----BEGIN CERTIFICATE-----' blocks)");
    }
    let mut check = RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        check.add(cert.clone()).map_err(|e| {
            anyhow::anyhow!(
                "--cacert {shown}: certificate {} is not usable as a trust anchor ({e})",
                i + 1
            )
        })?;
    }
    Ok(certs)
}

mod store;

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("crawlfish-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn cacert_files_that_are_not_certificates_are_usage_errors() {
        let missing = PathBuf::from("/nonexistent/crawlfish/ca.pem");
        let empty = file("empty.pem", b"");
        let garbage = file("garbage.pem", b"\x00\x01 not a certificate\n");
        let bad_base64 = file(
            "bad.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        let key_only = file(
            "key.pem",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let not_der = file(
            "notder.pem",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let zeros = PathBuf::from("/dev/zero");
        let dir = std::env::temp_dir();
        for p in [
            missing, empty, garbage, bad_base64, key_only, not_der, zeros, dir,
        ] {
            let err = Trust::from_flags(std::slice::from_ref(&p), false)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&p.display().to_string()), "{err}");
        }
    }

    /// What `openssl s_client -showcerts` or a Windows export leaves around the blocks: text and CRLF.
    #[test]
    fn pem_with_text_around_and_crlf_is_read() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params
            .self_signed(&key)
            .unwrap()
            .pem()
            .replace('\n', "\r\n");
        let text = format!("subject=CN = test\r\nissuer=CN = test\r\n{pem}{pem}trailing words\n");
        let p = file("showcerts.pem", text.as_bytes());
        let t = Trust::from_flags(&[p], false).unwrap();
        assert_eq!(t.extra.len(), 2);
    }

    #[test]
    fn configuration_offers_h2_then_http1() {
        for insecure in [false, true] {
            let c = Trust {
                extra: vec![],
                insecure,
            }
            .client_config();
            assert_eq!(c.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        }
    }
}
