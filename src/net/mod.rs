//! The network adapter: one HTTP exchange at a time ([`fetch`]), over the run's proxies ([`proxy`]), resolver
//! ([`dns`]) and TLS trust ([`trust`]), plus the `-vv` request log line ([`request_log`]).
//!
//! Must not decide which requests are made, when, or how often: that is the polite path's (`crate::polite`).

pub(crate) mod dns;
pub(crate) mod fetch;
pub(crate) mod proxy;
pub(crate) mod request_log;
pub(crate) mod trust;
