//! Unit tests of `--proxy`, `--no-proxy` and the proxy environment.

use super::*;

fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    |k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    }
}

fn rules(p: &Proxies) -> Vec<(Targets, String, String)> {
    p.rules
        .iter()
        .map(|r| (r.targets, r.url.to_string(), r.source.clone()))
        .collect()
}

/// `--no-proxy bücher.test` was refused, and in `NO_PROXY` never matched: URLs carry the punycode name.
#[test]
fn idn_entries_are_spelled_as_urls_spell_them() {
    let p =
        Proxies::from_flags(Some("p:3128"), Some("bücher.test, *.Bücher.de"), env(&[])).unwrap();
    assert_eq!(
        p.no_proxy.as_deref(),
        Some("xn--bcher-kva.test,.xn--bcher-kva.de")
    );
    let vars = [("NO_PROXY", "bücher.test")];
    let p = Proxies::from_flags(Some("p:3128"), None, env(&vars)).unwrap();
    assert_eq!(p.no_proxy.as_deref(), Some("xn--bcher-kva.test"));
}

// Guards: `--no-proxy xn--zz.test` (invalid punycode, no URL can have it) was accepted and matched nothing.
#[test]
fn no_proxy_refuses_a_name_no_url_can_have() {
    assert!(Proxies::from_flags(Some("p:3128"), Some("xn--zz.test"), env(&[])).is_err());
    assert!(Proxies::from_flags(Some("p:3128"), Some("a.test,bü cher.test"), env(&[])).is_err());
    let vars = [("NO_PROXY", "xn--zz.test,a.test")];
    let p = Proxies::from_flags(Some("p:3128"), None, env(&vars)).unwrap();
    assert_eq!(
        p.no_proxy.as_deref(),
        Some("a.test"),
        "left out of NO_PROXY"
    );
    let p = Proxies::from_flags(Some("p:3128"), Some("bücher。test"), env(&[])).unwrap();
    assert_eq!(
        p.no_proxy.as_deref(),
        Some("xn--bcher-kva.test"),
        "U+3002 is a dot"
    );
}

#[test]
fn flag_overrides_the_environment() {
    let vars = [
        ("HTTP_PROXY", "http://env:1"),
        ("ALL_PROXY", "socks5h://env:2"),
        ("NO_PROXY", "a.test"),
    ];
    let p = Proxies::from_flags(Some("socks5://p:1080"), None, env(&vars)).unwrap();
    assert_eq!(
        rules(&p),
        [(Targets::All, "socks5://p:1080".into(), "--proxy".into())]
    );
    // NO_PROXY still applies to the flag's proxy unless --no-proxy is given.
    assert_eq!(p.no_proxy.as_deref(), Some("a.test"));
    let p = Proxies::from_flags(Some("p:3128"), Some("b.test"), env(&vars)).unwrap();
    assert_eq!(p.rules[0].url.as_str(), "http://p:3128/");
    assert_eq!(p.no_proxy.as_deref(), Some("b.test"));
    let p = Proxies::from_flags(Some(""), None, env(&vars)).unwrap();
    assert!(p.rules.is_empty(), "--proxy '' ignores the environment");
}

#[test]
fn environment_is_read_as_reqwest_reads_it() {
    let vars = [
        ("http_proxy", "http://lower:1"),
        ("HTTP_PROXY", "http://upper:1"),
        ("https_proxy", "https://s:2"),
        ("all_proxy", "socks5://all:3"),
        ("no_proxy", ".corp.test, 10.0.0.0/8"),
    ];
    let p = Proxies::from_flags(None, None, env(&vars)).unwrap();
    assert_eq!(
        rules(&p),
        [
            (Targets::Http, "http://upper:1/".into(), "HTTP_PROXY".into()),
            (Targets::Https, "https://s:2/".into(), "https_proxy".into()),
            (Targets::All, "socks5://all:3".into(), "all_proxy".into()),
        ]
    );
    assert_eq!(p.no_proxy.as_deref(), Some(".corp.test,10.0.0.0/8"));
    let cgi = [("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")];
    assert!(Proxies::from_flags(None, None, env(&cgi))
        .unwrap()
        .rules
        .is_empty());
    let empty = [("HTTP_PROXY", "")];
    assert!(Proxies::from_flags(None, None, env(&empty))
        .unwrap()
        .rules
        .is_empty());
}

#[test]
fn a_star_bypasses_every_proxy() {
    let p = Proxies::from_flags(Some("http://p:1"), Some("x.test, *"), env(&[])).unwrap();
    assert!(p.rules.is_empty());
}

#[test]
fn bad_values_name_themselves_and_hide_passwords() {
    for (proxy, want) in [
        ("ftp://u:hunter2@p:21", "unsupported proxy scheme \"ftp\""),
        ("socks4://p:1080", "unsupported proxy scheme \"socks4\""),
        ("http://", "--proxy \"http://\""),
        ("http://u:hunter2@[::1", "not a proxy URL"),
        ("::::", "--proxy \"::::\""),
    ] {
        let err = Proxies::from_flags(Some(proxy), None, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{proxy}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    let vars = [("HTTPS_PROXY", "gopher://p")];
    let err = Proxies::from_flags(None, None, env(&vars))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("HTTPS_PROXY \"gopher://p\""), "{err}");
    for list in ["http://a.test", "a test", "10.0.0.0/33", "a..b", "/x"] {
        let err = Proxies::from_flags(None, Some(list), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--no-proxy"), "{err}");
    }
    for list in [
        "",
        "*",
        "localhost,127.0.0.1,::1,[::1],.example.com,10.0.0.0/8,fe80::/10,*.corp.test",
    ] {
        assert!(
            Proxies::from_flags(None, Some(list), env(&[])).is_ok(),
            "{list}"
        );
    }
    // NO_PROXY is shared with other tools: what reqwest cannot use is left out, not an error.
    let vars = [(
        "NO_PROXY",
        "localhost, host:8080, *.corp.test, http://x.test/",
    )];
    let p = Proxies::from_flags(Some("p:1"), None, env(&vars)).unwrap();
    assert_eq!(p.no_proxy.as_deref(), Some("localhost,.corp.test"));
}

#[test]
fn credentials_are_masked_wherever_a_proxy_is_shown() {
    let p =
        Proxies::from_flags(Some("http://user:hunter2@p:8080"), Some("a.test"), env(&[])).unwrap();
    let line = p.describe().unwrap();
    assert_eq!(
        line,
        "all via http://user:***@p:8080/ (--proxy); direct for \"a.test\""
    );
    assert!(!format!("{p:?}").contains("hunter2"));
    assert_eq!(mask_raw("http://u:pw@h:1/x@y"), "http://***@h:1/x@y");
    assert_eq!(mask_raw("u:pw@h"), "***@h");
    assert_eq!(mask_raw("h:1"), "h:1");
}

/// Without a proxy a client holds no proxy matcher at all (reqwest's default adds one that reads the
/// environment and is checked on every http:// request); with one, its Debug form hides the password.
#[test]
fn clients_carry_proxies_only_when_configured() {
    let build = |p: &Proxies| {
        let options = ClientOptions::new(p, &Trust::default()).unwrap();
        let client = options.apply(reqwest::Client::builder()).build().unwrap();
        format!("{client:?}")
    };
    assert!(!build(&Proxies::default()).contains("proxies"));
    let p = Proxies::from_flags(Some("http://u:hunter2@p.test:3128"), None, env(&[])).unwrap();
    let shown = build(&p);
    assert!(
        shown.contains("proxies") && shown.contains("p.test:3128"),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "{shown}");
}
