//! Test fixtures: a scriptable HTTP site (axum on a loopback address, port 0) that counts hits with server-side
//! timestamps and in-flight peaks, raw TCP servers for byte-level misbehaviour, and a runner for the real binary.
//! Every server binds to 127.0.0.0/8 only, except inside a private network namespace (`netns`: only loopback up).
//! The other scripted servers are in the submodules: `dns` (a DNS server), `proxy` (HTTP and SOCKS5 proxies),
//! `tls` (a TLS site and its test CA); `warcio` reads WARC files back; `strace` makes a system call fail on purpose.

pub mod dns;
pub mod netns;
pub mod proxy;
pub mod pywb;
pub mod strace;
pub mod tls;
pub mod warcio;

mod files;
mod gate;
pub use files::{age, dir_snapshot, tempdir};
pub use gate::Gate;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Step {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
    /// Answered only once this gate is open.
    pub gate: Option<Gate>,
}

impl Step {
    pub fn html(body: &str) -> Step {
        Step::new(200, body).header("content-type", "text/html; charset=utf-8")
    }
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Step {
        Step {
            status,
            headers: vec![],
            body: body.into(),
            delay: Duration::ZERO,
            gate: None,
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Step {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Step {
        self.delay = d;
        self
    }
    pub fn held(mut self, gate: &Gate) -> Step {
        self.gate = Some(gate.clone());
        self
    }
}

#[derive(Default)]
struct SiteState {
    /// Path (with query) → answers in order; the last one repeats.
    routes: Mutex<HashMap<String, Vec<Step>>>,
    hits: Mutex<Vec<(String, Instant)>>,
    /// (path, method) of every request, in order.
    methods: Mutex<Vec<(String, String)>>,
    /// The request headers of the last request per path.
    headers: Mutex<HashMap<String, axum::http::HeaderMap>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A scripted site on one loopback address.
#[derive(Clone)]
pub struct Site {
    pub addr: SocketAddr,
    state: Arc<SiteState>,
}

impl Site {
    pub async fn start(ip: &str) -> Site {
        Site::serve(TcpListener::bind((ip, 0)).await.unwrap())
    }

    /// A site on exactly `addr` (another address with the port of a site already running, for a name that
    /// resolves to one and then the other).
    pub async fn start_at(addr: SocketAddr) -> Site {
        Site::serve(TcpListener::bind(addr).await.unwrap())
    }

    fn serve(listener: TcpListener) -> Site {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(SiteState::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Site { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn route(&self, path: &str, steps: Vec<Step>) -> &Site {
        self.state.routes.lock().unwrap().insert(path.into(), steps);
        self
    }

    pub fn html(&self, path: &str, body: &str) -> &Site {
        self.route(path, vec![Step::html(body)])
    }

    pub fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }

    pub fn hit_times(&self) -> Vec<(String, Instant)> {
        self.state.hits.lock().unwrap().clone()
    }

    /// The methods of the requests for `path`, in order.
    pub fn methods(&self, path: &str) -> Vec<String> {
        let methods = self.state.methods.lock().unwrap();
        methods
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, m)| m.clone())
            .collect()
    }

    pub fn total_hits(&self) -> usize {
        self.state.hits.lock().unwrap().len()
    }

    /// A header of the last request for `path`.
    pub fn header(&self, path: &str, name: &str) -> Option<String> {
        let headers = self.state.headers.lock().unwrap();
        let value = headers.get(path)?.get(name)?;
        Some(value.to_str().unwrap().to_owned())
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn handle(State(state): State<Arc<SiteState>>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    let n = {
        let mut hits = state.hits.lock().unwrap();
        let n = hits.iter().filter(|(p, _)| *p == path).count();
        hits.push((path.clone(), Instant::now()));
        n
    };
    state
        .headers
        .lock()
        .unwrap()
        .insert(path.clone(), req.headers().clone());
    state
        .methods
        .lock()
        .unwrap()
        .push((path.clone(), req.method().to_string()));
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let step = state
        .routes
        .lock()
        .unwrap()
        .get(&path)
        .map(|steps| steps[n.min(steps.len() - 1)].clone());
    let step = step.unwrap_or_else(|| Step::new(404, "not found"));
    tokio::time::sleep(step.delay).await;
    if let Some(gate) = &step.gate {
        gate.pass().await;
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut resp = Response::new(Body::from(step.body));
    *resp.status_mut() = StatusCode::from_u16(step.status).unwrap();
    for (k, v) in step.headers {
        resp.headers_mut().append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    resp
}

/// A raw TCP server: every connection is handed to `serve` (byte-level control for hostile cases).
pub async fn raw_server<F, Fut>(ip: &str, serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}

/// Reads the request head (up to the blank line) so the client is past sending.
pub async fn read_request(stream: &mut TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Writes `bytes` and ignores a peer that went away.
pub async fn send(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    stream.write_all(bytes).await.is_ok()
}

/// A port on `ip` with nothing listening: bound (without `SO_REUSEADDR`) and never listened on, and kept so for
/// the rest of the test binary, so no other test's server can be given the port and turn "refused" into an answer.
/// A connect to a bound socket that does not listen is refused like one to a free port.
pub async fn refused_port(ip: &str) -> SocketAddr {
    static HELD: Mutex<Vec<tokio::net::TcpSocket>> = Mutex::new(Vec::new());
    let addr: SocketAddr = (ip.parse::<std::net::IpAddr>().unwrap(), 0).into();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(addr).unwrap();
    let addr = socket.local_addr().unwrap();
    HELD.lock().unwrap().push(socket);
    addr
}

/// What a run of the real binary produced.
#[derive(Debug)]
pub struct Run {
    pub records: Vec<Value>,
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
    pub elapsed: Duration,
}

impl Run {
    pub fn by_url(&self) -> HashMap<String, Value> {
        self.records
            .iter()
            .map(|r| (r["url"].as_str().unwrap().to_owned(), r.clone()))
            .collect()
    }
    pub fn record(&self, url: &str) -> &Value {
        self.records
            .iter()
            .find(|r| r["url"] == url)
            .unwrap_or_else(|| panic!("no record for {url} in {:#?}", self.records))
    }
    pub fn kind(&self, url: &str) -> &str {
        self.record(url)["error"]["kind"].as_str().unwrap_or("none")
    }
}

pub fn bin() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crawlfish"));
    cmd.env_clear().kill_on_drop(true);
    cmd
}

/// Runs crawlfish with `args`, `stdin` as its input, and a 60 s safety limit.
pub async fn crawlfish(args: &[&str], stdin: &str) -> Run {
    crawlfish_env(args, stdin, &[]).await
}

/// Every line must be one complete JSON object, and a valid record (`schema/record.schema.json`).
pub fn parse_lines(text: &str) -> Vec<Value> {
    parse_checked(text, schema(false))
}

/// As [`parse_lines`], for `--fields` output: every field present must be valid, none is required.
pub fn parse_partial_lines(text: &str) -> Vec<Value> {
    parse_checked(text, schema(true))
}

fn parse_checked(text: &str, validator: &jsonschema::Validator) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}"));
            if let Some(first) = validator.iter_errors(&v).next() {
                panic!(
                    "record does not match schema/record.schema.json: {first} at {}: {l}",
                    first.instance_path()
                );
            }
            v
        })
        .collect()
}

/// The published record schema, compiled once per test binary; `partial` drops its `required` list.
pub fn schema(partial: bool) -> &'static jsonschema::Validator {
    static FULL: OnceLock<jsonschema::Validator> = OnceLock::new();
    static PARTIAL: OnceLock<jsonschema::Validator> = OnceLock::new();
    let cell = if partial { &PARTIAL } else { &FULL };
    cell.get_or_init(|| {
        let mut schema: Value = serde_json::from_str(crawlfish::RECORD_SCHEMA).unwrap();
        if partial {
            schema.as_object_mut().unwrap().remove("required");
        }
        jsonschema::draft202012::new(&schema).unwrap()
    })
}

/// Default flags for fast, deterministic tests: no robots, no rate limit, short timeouts, quiet.
pub const FAST: [&str; 6] = ["-q", "-r", "0", "--ignore-robots", "--timeout", "5"];

pub fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = FAST.to_vec();
    v.extend_from_slice(extra);
    v
}

/// As [`FAST`], with a `--timeout` no wait of a test reaches: for runs with a request held at a [`Gate`] (or a long
/// delay) while the test does other work. With FAST's 5 s, a loaded machine let the held request time out, so the
/// run wrote a record and ended (or exited 1) in the middle of the test.
pub const HELD: [&str; 6] = ["-q", "-r", "0", "--ignore-robots", "--timeout", "300"];

/// [`args`] on [`HELD`].
pub fn held_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = HELD.to_vec();
    v.extend_from_slice(extra);
    v
}

/// Starts crawlfish with `args`, feeds `input` to its stdin in the background (then closes it), and pipes its
/// stdout and stderr.
pub fn spawn_with_input(args: &[&str], input: impl Into<Vec<u8>>) -> tokio::process::Child {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.into();
    tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
    });
    child
}

/// Polls `cond` until it holds; fails the test after `limit`. For conditions only observable from outside
/// (a file's length, a server's hit count), never as a stand-in for a sleep.
pub async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Sends `signal` (e.g. "-INT") to the child once it catches it: for SIGINT, SIGTERM and SIGHUP, waits until the
/// child has installed its handlers (`SigCgt` in /proc). crawlfish installs them before its run starts (so a
/// request or a record implies them: `signal_handlers_are_installed_before_the_first_request`), but a test may
/// signal a child still starting up, when a signal takes its default action (no exit code).
pub async fn kill(child: &tokio::process::Child, signal: &str) {
    if matches!(signal, "-INT" | "-TERM" | "-HUP") {
        let pid = child.id().unwrap();
        wait_until("the child's signal handlers", RUN_LIMIT, || {
            caught_signals(pid) & HUP_INT_TERM == HUP_INT_TERM
        })
        .await;
    }
    kill_now(child, signal);
}

/// SIGHUP, SIGINT and SIGTERM (1, 2 and 15) in a caught-signal mask: bits 0, 1 and 14.
pub const HUP_INT_TERM: u64 = (1 << 0) | (1 << 1) | (1 << 14);

/// The child's caught-signal mask (bit n-1 for signal n), 0 if it cannot be read.
pub fn caught_signals(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .unwrap_or(0)
}

/// Sends `signal` to the child at once.
pub fn kill_now(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().unwrap().to_string();
    let ok = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The child's exit code; fails the test if it has not exited within `limit`.
pub async fn exit_code_within(child: &mut tokio::process::Child, limit: Duration) -> Option<i32> {
    let status = tokio::time::timeout(limit, child.wait())
        .await
        .expect("crawlfish did not exit in time")
        .unwrap();
    status.code()
}

/// The most requests any one `window` holds, from server-side timestamps.
pub fn worst_window(times: &[Instant], window: Duration) -> usize {
    times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t - *start < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Routes `/p0` … `/p{n-1}` on `site`, each a small page answered after `delay` (so a run can be killed midway),
/// and returns them as an input list, one URL a line.
pub fn slow_pages(site: &Site, n: usize, delay: Duration) -> String {
    let mut input = String::new();
    for i in 0..n {
        let path = format!("/p{i}");
        site.route(&path, vec![Step::html("<title>t</title>").delay(delay)]);
        input += &format!("{}\n", site.url(&path));
    }
    input
}

/// As [`crawlfish`], with `env` set on the child only (its environment is otherwise empty; the test process's
/// own environment is never changed).
pub async fn crawlfish_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let mut child = bin()
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin_pipe = child.stdin.take().unwrap();
    let input = stdin.as_bytes().to_vec();
    tokio::spawn(async move {
        let _ = stdin_pipe.write_all(&input).await;
    });
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_task = tokio::spawn(async move {
        let mut v = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut out_pipe, &mut v).await;
        v
    });
    let err_task = tokio::spawn(async move {
        let mut v = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut err_pipe, &mut v).await;
        v
    });
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    if status.is_err() {
        child.kill().await.unwrap();
    }
    let out_bytes = out_task.await.unwrap();
    let err_bytes = err_task.await.unwrap();
    let Ok(status) = status else {
        panic!(
            "crawlfish did not finish within 60 s; stdout so far:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out_bytes),
            String::from_utf8_lossy(&err_bytes)
        );
    };
    let status = status.unwrap();
    let out = std::process::Output {
        status,
        stdout: out_bytes,
        stderr: err_bytes,
    };
    let stdout = String::from_utf8(out.stdout).unwrap();
    // With --fields or --no-links records are partial on purpose: their types are still checked.
    let partial = args.iter().any(|a| *a == "--fields" || *a == "--no-links");
    let records = if partial {
        parse_partial_lines(&stdout)
    } else {
        parse_lines(&stdout)
    };
    Run {
        records,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
        elapsed: started.elapsed(),
    }
}

/// Limit on any single run here: these runs take milliseconds.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

/// What a run with extra environment variables produced.
pub struct EnvRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs crawlfish with `args`, the environment `env` (on top of `support::bin`'s empty one) and `stdin`.
pub async fn run_env(args: &[&str], env: &[(&str, &str)], stdin: &str) -> EnvRun {
    let mut child = bin()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    tokio::spawn(async move {
        let _ = input.write_all(stdin.as_bytes()).await;
    });
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("crawlfish finished in time")
        .unwrap();
    EnvRun {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn redirect(status: u16, to: &str) -> Step {
    Step::new(status, "").header("location", to)
}
