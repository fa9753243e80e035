//! robots.txt through the politeness path: [`Polite::fetch_robots`] fetches one origin's robots.txt (each
//! redirect hop waiting on its host's backoff and `-r`, never with `-H` or credentials, never to another shard's
//! host) and turns the answer into [`Robots`] per RFC 9309. Each request is one `Polite::exchange`
//! (`exchange.rs`: send, `-vv` line, archive record); this file only decides what the answers mean. A child of
//! `polite/mod.rs`; owns no host state.

use std::convert::Infallible;

use reqwest::StatusCode;
use url::Url;

use super::exchange::{Broken, ExchangeRequest, Exchanged, Then};
use super::{redirect_target, Polite, MAX_DEAD_END_CHARS};
use crate::net::request_log::{Purpose, Tag};
use crate::polite::host::Robots;
use crate::url::scope::Root;

/// robots.txt bodies past this are cut (Google reads 500 KiB).
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;
/// Redirects followed for robots.txt (RFC 9309 §2.3.1.2 asks for at least five).
const ROBOTS_MAX_REDIRECTS: usize = 5;

impl Polite {
    /// robots.txt for `origin`: each hop waits on its host's backoff and `-r`; no `-H`, no credentials.
    /// `root`: the listed URL whose request needs it (robots.txt is held to that URL's address class).
    pub(super) async fn fetch_robots(&self, origin: Url, root: &Root) -> Robots {
        let Ok(mut url) = origin.join("/robots.txt") else {
            return Robots::AllowAll;
        };
        for hop in 0..=ROBOTS_MAX_REDIRECTS {
            let host = self.hosts.get(&url);
            host.ready_for_robots().await;
            let req = ExchangeRequest {
                host: &host,
                url: &url,
                root,
                creds: None,
                validators: None,
                tag: Tag::new(Purpose::Robots, hop),
                attempt: 1,
            };
            // Never retried, so never left unread.
            let then = |resp: &reqwest::Response| -> Then<Infallible, Option<Url>> {
                match redirect_target(resp, &url) {
                    Some(target) => Then::Redirect(Some(target)),
                    None => Then::Read(MAX_ROBOTS_BYTES, None),
                }
            };
            let target = match self.exchange(req, then).await {
                Exchanged::Read(Ok(_), Some(target)) => target,
                Exchanged::Read(Ok(r), None) if (200..300).contains(&r.status) => {
                    return rules(&origin, &self.cfg.robots_agent, r.body).await;
                }
                Exchanged::Read(Ok(r), None) => return robots_from_status(r.status),
                Exchanged::Failed(e) | Exchanged::Read(Err(Broken { error: e, .. }), _) => {
                    // The cause first: "dns: docs.rs: no such host (…) (while fetching robots.txt)".
                    let msg = format!("{}: {} (while fetching robots.txt)", e.kind(), e.cause());
                    return Robots::Unreachable(e.kind(), msg);
                }
                Exchanged::Skipped(never) => match never {},
            };
            if !self.owns(&target) {
                // Its host belongs to another shard: not requested from here. Unread rules cannot be obeyed,
                // so the host is refused (as for a 5xx), not allowed.
                let target = crate::record::cut(target.as_str(), MAX_DEAD_END_CHARS);
                return Robots::DisallowAll(format!(
                    "robots.txt redirects to {target}, a host of another shard (--shard): not followed"
                ));
            }
            url = target;
        }
        // Too many redirects: RFC 9309 §2.3.1.2 lets a crawler treat it as unavailable (4xx): allow all.
        Robots::AllowAll
    }
}

/// A 2xx robots.txt: its rules, parsed off the runtime threads (up to 512 KiB of text; linear, but not free).
async fn rules(origin: &Url, token: &str, body: Vec<u8>) -> Robots {
    let token = token.to_owned();
    let parse = move || crate::robots::parse_for(&token, &body);
    let Ok(parsed) = tokio::task::spawn_blocking(parse).await else {
        return Robots::DisallowAll(
            "robots.txt could not be parsed: host treated as disallowed".into(),
        );
    };
    if parsed.delay_capped {
        let cap = crate::robots::MAX_CRAWL_DELAY.as_secs();
        tracing::warn!(
            host = origin.as_str(),
            "robots.txt: Crawl-delay capped at {cap} s"
        );
    }
    Robots::Rules(Box::new(parsed.rules))
}

/// RFC 9309 §2.3.1 for a non-2xx answer: 4xx allow all, 5xx disallow all (with the reason for the records).
fn robots_from_status(status: u16) -> Robots {
    match status {
        500.. => Robots::DisallowAll(format!(
            "robots.txt answered {status} {}: host treated as disallowed for this run (RFC 9309 2.3.1.4)",
            StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
        )),
        _ => Robots::AllowAll,
    }
}
