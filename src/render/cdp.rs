//! A small Chrome `DevTools` Protocol client over one websocket: numbered calls answered by id, events routed to
//! the session (tab) they belong to. It speaks only JSON; which methods are called is the caller's business
//! (`tab.rs`). When the socket closes (the browser crashed or was killed), every pending call fails and every
//! session's event stream ends, so a tab waiting on either learns at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// The largest message taken from the browser: a huge DOM's `outerHTML` or a full-page screenshot.
const MAX_MESSAGE: usize = 512 * 1024 * 1024;

/// One event of a session: its method and parameters.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) method: String,
    pub(crate) params: Value,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;
type Sessions = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Event>>>>;

/// The connection to one browser.
#[derive(Debug)]
pub(crate) struct Cdp {
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    sessions: Sessions,
    next: AtomicU64,
    closed: tokio_util::sync::CancellationToken,
}

impl Cdp {
    /// Connects to the browser's `DevTools` websocket (`ws://127.0.0.1:PORT/devtools/browser/ID`).
    pub(crate) async fn connect(ws: &str) -> Result<Arc<Cdp>, String> {
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(MAX_MESSAGE);
        config.max_frame_size = Some(MAX_MESSAGE);
        let (socket, _) = tokio_tungstenite::connect_async_with_config(ws, Some(config), true)
            .await
            .map_err(|e| format!("cannot connect to the browser at {ws}: {e}"))?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut queue) = mpsc::unbounded_channel::<Message>();
        let cdp = Arc::new(Cdp {
            out,
            pending: Pending::default(),
            sessions: Sessions::default(),
            next: AtomicU64::new(1),
            closed: tokio_util::sync::CancellationToken::new(),
        });
        let closed = cdp.closed.clone();
        tokio::spawn(async move {
            while let Some(m) = tokio::select! {
                m = queue.recv() => m,
                () = closed.cancelled() => None,
            } {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let (pending, sessions, closed) = (
            cdp.pending.clone(),
            cdp.sessions.clone(),
            cdp.closed.clone(),
        );
        tokio::spawn(async move {
            while let Some(Ok(m)) = tokio::select! {
                m = stream.next() => m,
                () = closed.cancelled() => None,
            } {
                if let Message::Text(text) = m {
                    route(&text, &pending, &sessions);
                }
            }
            closed.cancel();
            lock(&pending).clear();
            lock(&sessions).clear();
        });
        Ok(cdp)
    }

    /// Calls `method` (on `session`, or the browser itself) and waits for its result or error.
    pub(crate) async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: &Value,
    ) -> Result<Value, String> {
        self.send(session, method, params).await
    }

    /// Sends a call now; the answer arrives through the returned future (which may be dropped unawaited).
    pub(crate) fn send(
        &self,
        session: Option<&str>,
        method: &str,
        params: &Value,
    ) -> impl std::future::Future<Output = Result<Value, String>> + Send + 'static {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::from(s);
        }
        let sent = if self.closed.is_cancelled() {
            false
        } else {
            lock(&self.pending).insert(id, tx);
            self.out.send(Message::text(msg.to_string())).is_ok()
        };
        let method = method.to_owned();
        async move {
            if !sent {
                return Err("the browser connection is closed".to_owned());
            }
            match rx.await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(format!("{method}: {e}")),
                Err(_) => Err(format!("{method}: the browser connection closed")),
            }
        }
    }

    /// Events of `session` from now on; the stream ends when the connection closes.
    pub(crate) fn subscribe(&self, session: &str) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        if !self.closed.is_cancelled() {
            lock(&self.sessions).insert(session.to_owned(), tx);
        }
        rx
    }

    /// Stops routing `session`'s events.
    pub(crate) fn forget(&self, session: &str) {
        lock(&self.sessions).remove(session);
    }

    /// Whether the connection is gone (the browser died or was closed).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Closes the connection (both tasks end).
    pub(crate) fn close(&self) {
        self.closed.cancel();
    }
}

/// One message from the browser: an answer to its call, or an event for its session's stream.
fn route(text: &str, pending: &Pending, sessions: &Sessions) {
    let Ok(mut v) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if let Some(id) = v.get("id").and_then(Value::as_u64) {
        if let Some(tx) = lock(pending).remove(&id) {
            let answer = match v.get_mut("error") {
                Some(e) => Err(e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_owned()),
                None => Ok(v.get_mut("result").map_or(Value::Null, Value::take)),
            };
            let _ = tx.send(answer);
        }
        return;
    }
    let (Some(method), Some(session)) = (
        v.get("method").and_then(Value::as_str).map(str::to_owned),
        v.get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_owned),
    ) else {
        return;
    };
    let params = v.get_mut("params").map_or(Value::Null, Value::take);
    if let Some(tx) = lock(sessions).get(&session) {
        let _ = tx.send(Event { method, params });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
