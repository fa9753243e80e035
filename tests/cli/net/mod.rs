//! The network: DNS, `--resolve`, request headers, proxies and TLS trust.

mod dns;
mod dns_errors;
mod headers;
mod proxy;
mod resolve;
mod tls;
