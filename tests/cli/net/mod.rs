//! The network: DNS, `--resolve`, request headers (and the secrets in them), proxies and TLS trust.

mod budget;
mod dns;
mod dns_errors;
mod headers;
mod proxy;
mod resolve;
mod secrets;
mod tls;
