//! Test proxies for `net/proxy.rs`: an HTTP forward proxy (absolute-form requests forwarded, `CONNECT` tunnelled) and a
//! SOCKS5 server (no auth, or RFC 1929 username/password), both recording what they received. They connect only
//! to loopback addresses and resolve only the names a test gives them: nothing here asks a DNS server.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::support::raw_server;

/// One request as the HTTP proxy received it: its method, target (absolute URL or CONNECT's host:port) and
/// headers with lowercase names.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: HashMap<String, String>,
    pub at: Instant,
}

/// A forward proxy: one request per connection (it answers with `Connection: close`).
#[derive(Clone)]
pub struct HttpProxy {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Spoken to over TLS (`https://`).
    tls: bool,
}

impl HttpProxy {
    /// `auth`: the `Proxy-Authorization` value it requires (407 otherwise).
    pub async fn start(ip: &str, auth: Option<String>) -> HttpProxy {
        HttpProxy::serve(ip, auth, None).await
    }

    /// The same proxy spoken to over TLS (an `https://` proxy), with the test CA's certificate.
    pub async fn start_tls(ip: &str, auth: Option<String>) -> HttpProxy {
        HttpProxy::serve(
            ip,
            auth,
            Some(crate::support::tls::acceptor(&[b"http/1.1"])),
        )
        .await
    }

    async fn serve(ip: &str, auth: Option<String>, tls: Option<TlsAcceptor>) -> HttpProxy {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let tls_scheme = tls.is_some();
        let addr = raw_server(ip, move |stream| {
            let (log, auth, tls) = (log.clone(), auth.clone(), tls.clone());
            async move {
                let _ = match tls {
                    None => forward(stream, log, auth).await,
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => forward(s, log, auth).await,
                        Err(_) => Ok(()),
                    },
                };
            }
        })
        .await;
        HttpProxy {
            addr,
            seen,
            tls: tls_scheme,
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn targets(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.target).collect()
    }
}

/// The loopback address for `host` (an IP, `localhost`, or a name in `names`); anything else is refused.
fn loopback(host: &str, names: &HashMap<String, IpAddr>) -> Option<IpAddr> {
    let ip = match host.trim_start_matches('[').trim_end_matches(']') {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        h => h.parse().ok().or_else(|| names.get(h).copied())?,
    };
    ip.is_loopback().then_some(ip)
}

/// Reads the request head (up to the blank line), at most `MAX_HEAD` bytes.
async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> String {
    const MAX_HEAD: usize = 64 * 1024;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < MAX_HEAD {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => break,
            Ok(_) => buf.push(byte[0]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

async fn forward(
    mut client: impl AsyncRead + AsyncWrite + Unpin,
    log: Arc<Mutex<Vec<Seen>>>,
    auth: Option<String>,
) -> std::io::Result<()> {
    let head = read_head(&mut client).await;
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        first.next().unwrap_or_default(),
        first.next().unwrap_or_default(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    log.lock().unwrap().push(Seen {
        method: method.to_owned(),
        target: target.to_owned(),
        headers: headers.iter().cloned().collect(),
        at: Instant::now(),
    });
    let given = headers.iter().find(|(k, _)| k == "proxy-authorization");
    if auth.is_some() && given.map(|(_, v)| v) != auth.as_ref() {
        let refusal = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\n\
                       Content-Length: 0\r\nConnection: close\r\n\r\n";
        return client.write_all(refusal.as_bytes()).await;
    }
    let names = HashMap::new();
    if method == "CONNECT" {
        let (host, port) = target.rsplit_once(':').unwrap_or_default();
        let ip = loopback(host, &names).expect("the proxy only tunnels to loopback");
        let mut origin = TcpStream::connect((ip, port.parse().unwrap())).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut origin).await?;
        return Ok(());
    }
    let url = url::Url::parse(target).expect("a forward proxy gets absolute-form targets");
    let ip = loopback(url.host_str().unwrap(), &names).expect("loopback origins only");
    let mut origin = TcpStream::connect((ip, url.port_or_known_default().unwrap())).await?;
    let mut req = format!(
        "{method} {} HTTP/1.1\r\n",
        &url[url::Position::BeforePath..]
    );
    for (k, v) in &headers {
        // Hop-by-hop: the proxy's credentials stop here, as a real proxy's do.
        if !matches!(
            k.as_str(),
            "proxy-authorization" | "proxy-connection" | "connection"
        ) {
            req += &format!("{k}: {v}\r\n");
        }
    }
    req += "connection: close\r\n\r\n";
    origin.write_all(req.as_bytes()).await?;
    tokio::io::copy(&mut origin, &mut client).await?;
    Ok(())
}

/// What a SOCKS5 client asked for: a name (socks5h) or an address (socks5, resolved by the client).
#[derive(Clone, Debug, PartialEq)]
pub enum Dest {
    Name(String),
    Ip(IpAddr),
}

#[derive(Clone, Debug)]
pub struct SocksSeen {
    pub dest: Dest,
    pub login: Option<(String, String)>,
}

#[derive(Clone)]
pub struct Socks {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<SocksSeen>>>,
}

impl Socks {
    /// `names`: what it resolves a socks5h name to; `login`: the user and password it requires (RFC 1929).
    pub async fn start(
        ip: &str,
        names: HashMap<String, IpAddr>,
        login: Option<(String, String)>,
    ) -> Socks {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let addr = raw_server(ip, move |stream| {
            let (log, names, login) = (log.clone(), names.clone(), login.clone());
            async move {
                let _ = socks5(stream, log, names, login).await;
            }
        })
        .await;
        Socks { addr, seen }
    }

    pub fn seen(&self) -> Vec<SocksSeen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_string(c: &mut TcpStream) -> std::io::Result<String> {
    let len = c.read_u8().await?;
    let mut buf = vec![0; usize::from(len)];
    c.read_exact(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

async fn socks5(
    mut c: TcpStream,
    log: Arc<Mutex<Vec<SocksSeen>>>,
    names: HashMap<String, IpAddr>,
    login: Option<(String, String)>,
) -> std::io::Result<()> {
    const FAILED: [u8; 10] = [5, 1, 0, 1, 0, 0, 0, 0, 0, 0];
    assert_eq!(c.read_u8().await?, 5, "SOCKS version");
    let n = c.read_u8().await?;
    let mut methods = vec![0; usize::from(n)];
    c.read_exact(&mut methods).await?;
    let method = if login.is_some() { 2 } else { 0 };
    if !methods.contains(&method) {
        return c.write_all(&[5, 0xff]).await;
    }
    c.write_all(&[5, method]).await?;
    let mut given = None;
    if method == 2 {
        assert_eq!(c.read_u8().await?, 1, "RFC 1929 version");
        let pair = (read_string(&mut c).await?, read_string(&mut c).await?);
        let ok = Some(&pair) == login.as_ref();
        c.write_all(&[1, u8::from(!ok)]).await?;
        if !ok {
            return Ok(());
        }
        given = Some(pair);
    }
    let mut req = [0u8; 4];
    c.read_exact(&mut req).await?;
    let dest = match req[3] {
        1 => {
            let mut ip = [0u8; 4];
            c.read_exact(&mut ip).await?;
            Dest::Ip(IpAddr::from(ip))
        }
        3 => Dest::Name(read_string(&mut c).await?),
        4 => {
            let mut ip = [0u8; 16];
            c.read_exact(&mut ip).await?;
            Dest::Ip(IpAddr::from(ip))
        }
        _ => return c.write_all(&FAILED).await,
    };
    let port = c.read_u16().await?;
    log.lock().unwrap().push(SocksSeen {
        dest: dest.clone(),
        login: given,
    });
    let ip = match &dest {
        Dest::Ip(ip) => ip.is_loopback().then_some(*ip),
        Dest::Name(name) => loopback(name, &names),
    };
    let Some(ip) = ip else {
        return c.write_all(&FAILED).await;
    };
    let mut origin = TcpStream::connect((ip, port)).await?;
    c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut c, &mut origin).await?;
    Ok(())
}

/// Environment variables for the child.
pub type Env<'a> = &'a [(&'a str, &'a str)];

pub fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        data_encoding::BASE64.encode(format!("{user}:{pass}").as_bytes())
    )
}
