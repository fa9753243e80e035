//! The network: DNS, `--resolve`, request headers, proxies, TLS trust and the address guard.

mod deny;
mod dns;
mod dns_errors;
mod guard;
mod headers;
mod proxy;
mod resolve;
mod tls;
