//! robots.txt through the politeness path: [`Polite::fetch_robots`] fetches one origin's robots.txt (each
//! redirect hop waiting on its host's backoff and `-r`, never with `-H` or credentials, never to another shard's
//! host) and turns the answer into [`Robots`] per RFC 9309. Each request is one `Polite::exchange`
//! (`exchange.rs`: send, `-vv` line, archive record); this file only decides what the answers mean. A child of
//! `polite/mod.rs`; owns no host state.

use std::convert::Infallible;
use std::time::Duration;

use reqwest::StatusCode;
use url::Url;

use super::exchange::{Broken, ExchangeRequest, Exchanged, Then};
use super::{redirect_target, Polite, MAX_DEAD_END_CHARS};
use crate::net::request_log::{Purpose, Tag};
use crate::polite::host::{Host, Robots};
use crate::url::scope::Root;

/// robots.txt bodies past this are cut (Google reads 500 KiB).
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;
/// Redirects followed for robots.txt (RFC 9309 §2.3.1.2 asks for at least five).
const ROBOTS_MAX_REDIRECTS: usize = 5;

/// What a robots.txt answer's head says to do next.
enum Next {
    /// A followable redirect.
    Redirect(Url),
    /// A final answer, with its Retry-After (read for a 429 or 5xx).
    Answer(Option<Duration>),
}

impl Polite {
    /// robots.txt for `origin`: each hop waits on its host's backoff and `-r`; no `-H`, no credentials. A 429 or
    /// 5xx pauses the host (Retry-After, at most `--max-retry-after`) and robots.txt is asked again, up to
    /// `--retries` times; the pages of the host wait meanwhile (they wait for this one fetch).
    /// `root`: the listed URL whose request needs it (robots.txt is held to that URL's address class).
    pub(super) async fn fetch_robots(&self, origin: Url, root: &Root) -> Robots {
        let Ok(mut url) = origin.join("/robots.txt") else {
            return Robots::AllowAll;
        };
        let (mut hop, mut asked) = (0, 0);
        // Bounded: each pass either returns, follows a redirect (at most ROBOTS_MAX_REDIRECTS) or re-asks (at
        // most `--retries`).
        loop {
            let host = self.hosts.get(&url);
            host.ready_for_robots().await;
            asked += 1;
            let req = ExchangeRequest {
                host: &host,
                url: &url,
                root,
                creds: None,
                validators: None,
                tag: Tag::new(Purpose::Robots, hop),
                attempt: asked,
            };
            // Never skipped, so never left unread.
            let then = |resp: &reqwest::Response| -> Then<Infallible, Next> {
                match redirect_target(resp, &url) {
                    Some(target) => Then::Redirect(Next::Redirect(target)),
                    None if unavailable(resp.status().as_u16()) => Then::Read(
                        MAX_ROBOTS_BYTES,
                        Next::Answer(crate::net::fetch::retry_after(resp)),
                    ),
                    None => Then::Read(MAX_ROBOTS_BYTES, Next::Answer(None)),
                }
            };
            let target = match self.exchange(req, then).await {
                Exchanged::Read(Ok(_), Next::Redirect(target)) => target,
                Exchanged::Read(Ok(r), Next::Answer(_)) if (200..300).contains(&r.status) => {
                    return rules(&origin, &self.cfg.robots_agent, r.body).await;
                }
                Exchanged::Read(Ok(r), Next::Answer(retry_after)) if unavailable(r.status) => {
                    if let Some(given_up) = self.ask_again(&host, r.status, retry_after, asked) {
                        return given_up;
                    }
                    continue;
                }
                Exchanged::Read(Ok(_), Next::Answer(_)) => return Robots::AllowAll,
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
            if hop == ROBOTS_MAX_REDIRECTS {
                // Too many redirects: RFC 9309 §2.3.1.2 lets a crawler treat it as unavailable (4xx): allow all.
                return Robots::AllowAll;
            }
            (hop, asked) = (hop + 1, 0);
            url = target;
        }
    }

    /// After the `asked`-th answer 429 or 5xx: `None` when robots.txt is to be asked again, once the host has
    /// paused (Retry-After, else the retry backoff, at most `--max-retry-after`); else the host is disallowed.
    fn ask_again(
        &self,
        host: &Host,
        status: u16,
        retry_after: Option<Duration>,
        asked: u32,
    ) -> Option<Robots> {
        let pause = retry_after.unwrap_or_else(|| self.backoff(asked));
        host.slow_down(pause.min(self.cfg.max_retry_after));
        if asked <= self.cfg.retries {
            return None;
        }
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let times = if asked == 1 {
            String::new()
        } else {
            format!(" {asked} times")
        };
        Some(Robots::DisallowAll(format!(
            "robots.txt answered {status} {reason}{times}: host treated as disallowed for this run (RFC 9309 2.3.1.4)"
        )))
    }
}

/// RFC 9309 §2.3.1.4: a 5xx means robots.txt is unreachable; Google reads a 429 so too (it is the server
/// asking for less, not a missing file).
fn unavailable(status: u16) -> bool {
    status == 429 || status >= 500
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
