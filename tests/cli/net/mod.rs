//! The network: DNS, `--resolve`, request headers (and the secrets in them), proxies, TLS trust and the address
//! guard.

mod budget;
mod cookies;
mod deny;
mod dns;
mod dns_errors;
mod guard;
mod headers;
mod proxy;
mod resolve;
mod secrets;
mod tls;
