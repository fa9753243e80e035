//! `--metrics ADDR`'s HTTP server: a bounded HTTP/1 responder on a tokio listener. `GET /metrics` gets the
//! exposition (200), anything else 404; a request head is capped at [`HEAD_MAX`] bytes and [`DEADLINE`] to arrive,
//! the answer as long to leave, at most [`CONNECTIONS`] connections at once (more are closed unanswered), one
//! request per connection (`Connection: close`).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::text::CONTENT_TYPE;
use super::Sources;

/// The longest request head read (a scraper's is a few hundred bytes).
const HEAD_MAX: usize = 8 * 1024;
/// How long a request head may take to arrive, and its answer to leave.
const DEADLINE: Duration = Duration::from_secs(5);
/// Connections answered at once.
const CONNECTIONS: usize = 8;

/// Answers scrapes on `listener` until `stop` is cancelled.
pub(super) fn spawn(listener: TcpListener, sources: Arc<Sources>, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                () = stop.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::debug!(error = %e, "--metrics: accept failed");
                        continue;
                    }
                },
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                continue;
            };
            let sources = sources.clone();
            tokio::spawn(async move {
                answer(stream, &sources).await;
                drop(slot);
            });
        }
    });
}

/// Reads one request head and answers it.
async fn answer(mut stream: TcpStream, sources: &Sources) {
    let Ok(Some(line)) = tokio::time::timeout(DEADLINE, request_line(&mut stream)).await else {
        return;
    };
    let response = if is_scrape(&line) {
        let body = sources.render();
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
    };
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(DEADLINE, write).await;
}

/// The request line of a head read whole within [`HEAD_MAX`] bytes; `None` if it is longer or the peer left.
async fn request_line(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > HEAD_MAX {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\n').next()?;
    Some(String::from_utf8_lossy(line).trim_end().to_owned())
}

/// `GET /metrics` (a query string allowed), any HTTP/1 version.
fn is_scrape(line: &str) -> bool {
    let mut parts = line.split(' ');
    let (Some("GET"), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    path == "/metrics" && version.starts_with("HTTP/1.") && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::is_scrape;

    #[test]
    fn only_get_metrics_is_a_scrape() {
        assert!(is_scrape("GET /metrics HTTP/1.1"));
        assert!(is_scrape("GET /metrics?x=1 HTTP/1.0"));
        assert!(!is_scrape("POST /metrics HTTP/1.1"));
        assert!(!is_scrape("GET /metricsx HTTP/1.1"));
        assert!(!is_scrape("GET / HTTP/1.1"));
        assert!(!is_scrape("GET /metrics"));
    }
}
