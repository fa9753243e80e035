//! One tab of the browser, attached with its own (flattened) `DevTools` session: every request it makes is
//! paused at the request stage (`Fetch.enable` with a pattern for all of them) and reported as [`Paused`];
//! dialogs (`alert`, `confirm`, `prompt`, `beforeunload`) are dismissed as they open; `window.open` does
//! nothing. Closed (its target closed) when dropped.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::{mpsc, OwnedSemaphorePermit};

use super::cdp::Event;
use super::Instance;

/// Run in every document before its own scripts: a popup would be a page that nobody intercepts.
const NO_POPUPS: &str = "window.open = function () { return null; };";

/// A request the page made, paused until it is answered ([`Tab::fulfill`], [`Tab::fail`]).
#[derive(Debug, Clone)]
pub(crate) struct Paused {
    pub(crate) id: String,
    pub(crate) url: String,
    pub(crate) method: String,
    /// `DevTools`' resource type: `Document`, `Script`, `Stylesheet`, `Image`, `Font`, `Media`, `XHR`, `Fetch` …
    pub(crate) resource: String,
}

/// What a tab reports while it loads.
#[derive(Debug)]
pub(crate) enum TabEvent {
    Paused(Paused),
    /// The main frame's load event fired.
    Loaded,
    /// Anything else (already handled, or of no interest).
    Other,
}

/// An open tab.
#[derive(Debug)]
pub(crate) struct Tab {
    inst: Arc<Instance>,
    target: String,
    session: String,
    events: mpsc::UnboundedReceiver<Event>,
    _permit: OwnedSemaphorePermit,
}

impl Tab {
    /// Opens a blank tab in `inst`, attaches to it and pauses all its requests.
    pub(super) async fn open(
        inst: Arc<Instance>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Tab, String> {
        let cdp = inst.cdp.clone();
        let created = cdp
            .call(None, "Target.createTarget", &json!({"url": "about:blank"}))
            .await?;
        let target = str_of(&created, "targetId")?;
        let attached = cdp
            .call(
                None,
                "Target.attachToTarget",
                &json!({"targetId": target, "flatten": true}),
            )
            .await;
        let session = match attached.and_then(|a| str_of(&a, "sessionId")) {
            Ok(s) => s,
            Err(e) => {
                drop(cdp.send(None, "Target.closeTarget", &json!({"targetId": target})));
                return Err(e);
            }
        };
        let events = cdp.subscribe(&session);
        let tab = Tab {
            inst,
            target,
            session,
            events,
            _permit: permit,
        };
        let patterns = json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]});
        tab.call("Fetch.enable", &patterns).await?;
        tab.call("Page.enable", &json!({})).await?;
        tab.call(
            "Page.addScriptToEvaluateOnNewDocument",
            &json!({"source": NO_POPUPS}),
        )
        .await?;
        Ok(tab)
    }

    /// Calls `method` on this tab's session.
    pub(crate) async fn call(&self, method: &str, params: &Value) -> Result<Value, String> {
        self.inst
            .cdp
            .call(Some(&self.session), method, params)
            .await
    }

    /// Starts a call whose answer may be awaited later (e.g. `Page.navigate`, which returns only once the
    /// document request, paused, has been answered).
    pub(crate) fn start(
        &self,
        method: &str,
        params: &Value,
    ) -> impl std::future::Future<Output = Result<Value, String>> + Send + 'static {
        self.inst.cdp.send(Some(&self.session), method, params)
    }

    /// The next event; `Err` when the browser went away (crashed, killed, or the tab's renderer crashed).
    pub(crate) async fn next(&mut self) -> Result<TabEvent, String> {
        let Some(ev) = self.events.recv().await else {
            return Err("the browser went away (crashed or killed)".to_owned());
        };
        Ok(match ev.method.as_str() {
            "Fetch.requestPaused" => {
                let p = &ev.params;
                let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                TabEvent::Paused(Paused {
                    id: s(&p["requestId"]),
                    url: s(&p["request"]["url"]),
                    method: s(&p["request"]["method"]),
                    resource: s(&p["resourceType"]),
                })
            }
            "Page.javascriptDialogOpening" => {
                // Answered without waiting: a dialog blocks the page's scripts until it is.
                drop(self.start("Page.handleJavaScriptDialog", &json!({"accept": true})));
                TabEvent::Other
            }
            "Page.loadEventFired" => TabEvent::Loaded,
            "Inspector.targetCrashed" | "Inspector.detached" => {
                return Err(format!("the page's renderer went away ({})", ev.method));
            }
            _ => TabEvent::Other,
        })
    }

    /// Answers a paused request with a response (nothing is fetched by the browser).
    pub(crate) fn fulfill(&self, id: &str, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let headers: Vec<Value> = headers
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect();
        let body = base64::engine::general_purpose::STANDARD.encode(body);
        drop(self.start(
            "Fetch.fulfillRequest",
            &json!({"requestId": id, "responseCode": status, "responseHeaders": headers, "body": body}),
        ));
    }

    /// Fails a paused request (`reason`: a `DevTools` `Network.ErrorReason` such as `BlockedByClient`).
    pub(crate) fn fail(&self, id: &str, reason: &str) {
        drop(self.start(
            "Fetch.failRequest",
            &json!({"requestId": id, "errorReason": reason}),
        ));
    }

    /// Evaluates `expression` and returns its value (by value: strings, booleans, numbers).
    pub(crate) async fn eval(&self, expression: &str) -> Result<Value, String> {
        let r = self
            .call(
                "Runtime.evaluate",
                &json!({"expression": expression, "returnByValue": true}),
            )
            .await?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(format!("script error: {e}"));
        }
        Ok(r["result"]["value"].clone())
    }
}

impl Drop for Tab {
    fn drop(&mut self) {
        self.inst.cdp.forget(&self.session);
        drop(self.inst.cdp.send(
            None,
            "Target.closeTarget",
            &json!({"targetId": self.target}),
        ));
    }
}

fn str_of(v: &Value, field: &str) -> Result<String, String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("the browser's answer has no {field}"))
}
