//! Which archived exchanges are `revisit` records (WARC/1.1 §6.7) rather than responses: a 304 to a request that
//! carried the earlier run's validators (profile server-not-modified), and with `--warc-dedup` a 200 whose payload
//! the earlier run archived (identical-payload-digest, checked on the SHA-1 the earlier record holds). Both name
//! the earlier capture when the earlier run's archive holds it ([`crate::output::since::Earlier`]). A child of
//! `polite/mod.rs`; decides nothing about requests.

use std::sync::Arc;

use super::exchange::ExchangeRequest;
use super::Polite;
use crate::net::fetch::Response;
use crate::output::since::{Since, NOT_MODIFIED};
use crate::warc::writer::Archive;
use crate::warc::{Profile, Revisit};

impl Polite {
    /// Names the earlier run's captures in revisit records from now on (`--warc` with `--since`/`--state`).
    #[must_use]
    pub(crate) fn with_since(mut self, since: Arc<Since>) -> Polite {
        self.since = Some(since);
        self
    }

    /// How the answer to `req` is archived: `Some` for a revisit, `None` for a response.
    pub(super) async fn revisit(
        &self,
        archive: &Archive,
        req: &ExchangeRequest<'_>,
        resp: &Response,
    ) -> Option<Revisit> {
        let since = self.since.as_ref()?;
        let url = req.url.as_str();
        if resp.status == NOT_MODIFIED && req.validators.is_some() {
            return Some(Revisit {
                profile: Profile::ServerNotModified,
                target: url.to_owned(),
                earlier: since.earlier(url).await,
            });
        }
        // Only a 200 whose body the index says is unchanged costs a look into the earlier archive.
        if !archive.dedup()
            || resp.status != 200
            || !since.same_body(url, crate::digest::of_raw(&resp.body))
        {
            return None;
        }
        let earlier = since.earlier(url).await?;
        let same = earlier.payload_digest.as_deref() == Some(&crate::warc::sha1(&[&resp.body]));
        same.then(|| Revisit {
            profile: Profile::IdenticalPayloadDigest,
            target: url.to_owned(),
            earlier: Some(earlier),
        })
    }
}
