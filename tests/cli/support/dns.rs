//! The DNS server of the DNS tests (`net/dns.rs`, `net/dns_errors.rs`) and their helpers: one loopback address and
//! port, UDP and TCP, a hand-written RFC 1035 responder for A/AAAA with one TTL, NXDOMAIN for names it does not
//! know, SERVFAIL, truncation, silence, CNAMEs and a TCP port that hangs up on demand, and every query recorded
//! (name, type, transport, server-side time).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::support::*;

pub const TYPE_A: u16 = 1;

pub const TYPE_AAAA: u16 = 28;

const TYPE_SOA: u16 = 6;

const TYPE_CNAME: u16 = 5;

const CLASS_IN: u16 = 1;

/// What the server answers for a name; names it does not know get NXDOMAIN.
#[derive(Clone, Debug)]
pub enum Zone {
    /// A and AAAA records among these (an empty answer plus an SOA for the family without any).
    Addrs(Vec<IpAddr>),
    /// Over UDP an empty answer with the TC bit (truncated); over TCP the records.
    Truncated(Vec<IpAddr>),
    ServFail,
    /// Never answers.
    Silent,
    /// Answers A from these, never answers AAAA (as some broken middleboxes do).
    NoAaaa(Vec<IpAddr>),
    /// Never answers A; AAAA from these (an empty answer plus an SOA without any).
    NoA(Vec<IpAddr>),
    /// A: over UDP an empty answer with the TC bit, over TCP the connection closed without an answer; AAAA: an
    /// empty answer plus an SOA.
    TruncatedTcpCloses,
    /// Every query answered with a CNAME to this name and nothing else (no SOA).
    Cname(String),
    /// The n-th A query gets the n-th of these (the last repeats); AAAA has no records. With TTL 0, a name that
    /// answers one address and then another (DNS rebinding).
    Sequence(Vec<IpAddr>),
}

/// One query the server received.
struct Seen {
    name: String,
    rtype: u16,
    at: Instant,
    tcp: bool,
}

#[derive(Default)]
struct DnsState {
    zone: Mutex<HashMap<String, Zone>>,
    /// A queries answered so far per `Zone::Sequence` name.
    answered: Mutex<HashMap<String, usize>>,
    ttl: AtomicU32,
    queries: Mutex<Vec<Seen>>,
    /// Every UDP answer is preceded by a forged and a malformed datagram.
    noisy: AtomicBool,
}

/// A DNS server on one loopback address and port, UDP and TCP: answers A/AAAA from its zone with one TTL, and
/// records every query with its time.
pub struct Dns {
    pub addr: SocketAddr,
    state: Arc<DnsState>,
}

/// Bound tries to find a port free for both UDP and TCP.
const PORT_TRIES: usize = 20;

impl Dns {
    pub async fn start(ip: &str, ttl: u32) -> Dns {
        let (socket, listener) = Self::bind(ip).await;
        let addr = socket.local_addr().unwrap();
        let state = Arc::new(DnsState::default());
        state.ttl.store(ttl, Ordering::SeqCst);
        let st = state.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                let noisy = st.noisy.load(Ordering::SeqCst);
                if let Some(reply) = respond(&buf[..n], &st, false) {
                    if noisy {
                        // A reply with another ID and a malformed one first, as a spoofer would send.
                        let mut forged = reply.clone();
                        forged[0] ^= 0xFF;
                        let _ = socket.send_to(&forged, peer).await;
                        let _ = socket.send_to(&reply[..3], peer).await;
                    }
                    let _ = socket.send_to(&reply, peer).await;
                }
            }
        });
        let st = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_tcp(stream, st.clone()));
            }
        });
        Dns { addr, state }
    }

    async fn bind(ip: &str) -> (UdpSocket, TcpListener) {
        for _ in 0..PORT_TRIES {
            let socket = UdpSocket::bind((ip, 0)).await.unwrap();
            let port = socket.local_addr().unwrap().port();
            if let Ok(listener) = TcpListener::bind((ip, port)).await {
                return (socket, listener);
            }
        }
        panic!("no port free for both UDP and TCP on {ip}");
    }

    pub fn set(&self, name: &str, zone: Zone) -> &Dns {
        self.state.zone.lock().unwrap().insert(name.into(), zone);
        self
    }

    pub fn noisy(&self) -> &Dns {
        self.state.noisy.store(true, Ordering::SeqCst);
        self
    }

    pub fn arg(&self) -> String {
        self.addr.to_string()
    }

    /// Queries received for `name` of type `rtype`, either transport.
    pub fn count(&self, name: &str, rtype: u16) -> usize {
        self.times(name, rtype).len()
    }

    pub fn count_tcp(&self, name: &str, rtype: u16) -> usize {
        let q = self.state.queries.lock().unwrap();
        q.iter()
            .filter(|s| s.name == name && s.rtype == rtype && s.tcp)
            .count()
    }

    pub fn times(&self, name: &str, rtype: u16) -> Vec<Instant> {
        let q = self.state.queries.lock().unwrap();
        q.iter()
            .filter(|s| s.name == name && s.rtype == rtype)
            .map(|s| s.at)
            .collect()
    }

    pub fn total(&self) -> usize {
        self.state.queries.lock().unwrap().len()
    }

    /// Every (name, type, tcp) → count, for failure messages and the report.
    pub fn summary(&self) -> HashMap<(String, u16, bool), usize> {
        let mut out = HashMap::new();
        for s in self.state.queries.lock().unwrap().iter() {
            *out.entry((s.name.clone(), s.rtype, s.tcp)).or_default() += 1;
        }
        out
    }
}

/// DNS over TCP: each message with a two-byte length before it (RFC 1035 4.2.2), several per connection.
async fn serve_tcp(mut stream: TcpStream, state: Arc<DnsState>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        // No reply: the connection is closed (a TCP query is never left unanswered on an open connection).
        let Some(reply) = respond(&query, &state, true) else {
            return;
        };
        let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

/// One reply to one query (RFC 1035 wire format), or none (a silent name, or not a query we can read).
fn respond(query: &[u8], state: &DnsState, tcp: bool) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(query.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let rtype = u16::from_be_bytes([*query.get(i)?, *query.get(i + 1)?]);
    let question_end = i + 4;
    if query.len() < question_end {
        return None;
    }
    let name = labels.join(".");
    state.queries.lock().unwrap().push(Seen {
        name: name.clone(),
        rtype,
        at: Instant::now(),
        tcp,
    });
    let zone = state.zone.lock().unwrap().get(&name).cloned();
    let ttl = state.ttl.load(Ordering::SeqCst);
    let records = |ips: &[IpAddr]| -> Vec<(u16, Vec<u8>)> {
        ips.iter()
            .filter_map(|ip| match (ip, rtype) {
                (IpAddr::V4(v4), TYPE_A) => Some((rtype, v4.octets().to_vec())),
                (IpAddr::V6(v6), TYPE_AAAA) => Some((rtype, v6.octets().to_vec())),
                _ => None,
            })
            .collect()
    };
    let (rcode, truncated, answers): (u8, bool, Vec<(u16, Vec<u8>)>) = match zone {
        Some(Zone::Silent) => return None,
        Some(Zone::NoAaaa(_)) if rtype == TYPE_AAAA => return None,
        Some(Zone::NoAaaa(ips)) => (0, false, records(&ips)),
        Some(Zone::NoA(_)) if rtype == TYPE_A => return None,
        Some(Zone::NoA(ips)) => (0, false, records(&ips)),
        Some(Zone::TruncatedTcpCloses) if rtype != TYPE_A => (0, false, vec![]),
        Some(Zone::TruncatedTcpCloses) if tcp => return None,
        Some(Zone::TruncatedTcpCloses) => (0, true, vec![]),
        Some(Zone::Cname(target)) => {
            let mut rdata = Vec::new();
            for label in target.split('.').filter(|l| !l.is_empty()) {
                rdata.push(label.len() as u8);
                rdata.extend_from_slice(label.as_bytes());
            }
            rdata.push(0);
            (0, false, vec![(TYPE_CNAME, rdata)])
        }
        Some(Zone::ServFail) => (2, false, vec![]),
        None => (3, false, vec![]),
        Some(Zone::Addrs(ips)) => (0, false, records(&ips)),
        Some(Zone::Truncated(_)) if !tcp => (0, true, vec![]),
        Some(Zone::Truncated(ips)) => (0, false, records(&ips)),
        Some(Zone::Sequence(_)) if rtype != TYPE_A => (0, false, vec![]),
        Some(Zone::Sequence(ips)) => {
            let mut answered = state.answered.lock().unwrap();
            let n = answered.entry(name.clone()).or_default();
            let ip = ips[(*n).min(ips.len() - 1)];
            *n += 1;
            (0, false, records(&[ip]))
        }
    };
    let negative = answers.is_empty() && rcode != 2 && !truncated;
    let ancount = u16::try_from(answers.len()).expect("at most 65,535 records");
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[..2]); // ID
                                        // QR, AA, TC when truncated, RD as asked
    out.push(0x80 | 0x04 | if truncated { 0x02 } else { 0 } | (query[2] & 0x01));
    out.push(0x80 | rcode); // RA
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ancount.to_be_bytes());
    out.extend_from_slice(&u16::from(negative).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&query[12..question_end]);
    for (rr_type, rdata) in &answers {
        out.extend_from_slice(&[0xC0, 0x0C]); // the question's name
        out.extend_from_slice(&rr_type.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    if negative {
        // An SOA in the authority section carries the negative TTL (RFC 2308), as real servers send it.
        out.push(0); // owner: the root
        out.extend_from_slice(&TYPE_SOA.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&22u16.to_be_bytes());
        out.extend_from_slice(&[0, 0]); // MNAME, RNAME: the root
        for field in [1u32, 3600, 600, 86400, ttl] {
            out.extend_from_slice(&field.to_be_bytes()); // serial, refresh, retry, expire, minimum
        }
    }
    Some(out)
}

pub fn v4(ip: &str) -> Vec<IpAddr> {
    vec![IpAddr::V4(ip.parse::<Ipv4Addr>().unwrap())]
}

/// Each `--dns-server` value exits 2 naming it, with no record written.
pub(crate) async fn assert_refused(values: &[&str]) {
    for bad in values {
        let run = crawlfish(&args(&["--dns-server", bad]), "http://127.0.0.1:9/\n").await;
        assert_eq!(run.code, Some(2), "{bad:?}: {}", run.stderr);
        assert!(run.records.is_empty());
        assert!(
            run.stderr.contains(&format!("--dns-server {bad:?}")),
            "{bad:?}: {}",
            run.stderr
        );
    }
}

/// `-q -r 0 --ignore-robots --timeout SECS --dns-server DNS`: one lookup's outcome, quickly.
pub(crate) fn quick<'a>(dns: &'a str, secs: &'a str) -> Vec<&'a str> {
    vec![
        "-q",
        "-r",
        "0",
        "--ignore-robots",
        "--timeout",
        secs,
        "--dns-server",
        dns,
    ]
}

pub fn with_dns<'a>(dns: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = args(&["--dns-server", dns]);
    v.extend_from_slice(extra);
    v
}
