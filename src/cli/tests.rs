//! Unit tests of [`crate::cli`]: the clap definition, the defaults of the contract, usage errors, `--resolve`.

use super::validate::parse_resolve;
use super::*;
use crate::config::Config;
use clap::CommandFactory;

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn defaults_match_the_contract() {
    let c = Config::defaults();
    assert_eq!(c.crawl.concurrency, 64);
    assert_eq!(c.crawl.per_host, 4);
    assert_eq!(c.polite.rate, Some(5.0));
    assert_eq!(c.net.timeout, Duration::from_secs(30));
    assert_eq!(c.net.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.polite.retries, 2);
    assert_eq!(c.polite.max_redirects, 10);
    assert_eq!(c.crawl.max_body, 10 * 1024 * 1024);
    assert!(c.net.user_agent.starts_with("crawlfish/"));
    assert!(c.polite.robots);
    assert_eq!(c.crawl.depth, 0);
}

/// `Config::defaults()` is built from the named constants without a parser; the command line reads the same
/// constants, so an empty command line must give the very same configuration.
#[test]
fn defaults_equal_an_empty_command_line() {
    let parsed = Cli::parse_from(["crawlfish", "--proxy", ""])
        .into_config()
        .unwrap();
    assert_eq!(format!("{parsed:?}"), format!("{:?}", Config::defaults()));
}

#[test]
fn usage_errors() {
    let bad = |args: &[&str]| {
        let mut argv = vec!["crawlfish"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map_or(true, |cli| cli.into_config().is_err())
    };
    assert!(bad(&["-H", "no colon"]));
    assert!(bad(&["--include", "("]));
    assert!(bad(&["--select", "x=p[[["]));
    assert!(bad(&["--select", "noequals"]));
    assert!(bad(&["--timeout", "0"]));
    assert!(bad(&["-r", "-1"]));
    assert!(
        bad(&["-r", "1e-300"]),
        "would overflow the limiter's period"
    );
    assert!(bad(&["-r", "1e12"]), "a period under 1 ns is no limit");
    assert!(!bad(&["-r", "0.001"]));
    assert!(bad(&["--resolve", "host:80"]));
    assert!(bad(&["--resume"]));
    assert!(bad(&["-o", "-", "--resume"]));
    assert!(bad(&["--user-agent", "a\nb"]));
    assert!(bad(&["--state", "d", "-o", "f"]));
    assert!(bad(&["--state", "d", "--since", "f"]));
    assert!(bad(&["--keep", "3"]), "--keep needs --state");
    assert!(bad(&["--state", "d", "--keep", "0"]));
    assert!(!bad(&["--state", "d", "--keep", "2"]));
    assert!(!bad(&["--since", "f", "-o", "g", "--resume"]));
    assert!(!bad(&["--user-agent", "bot/1.0 (+https://x.test/)"]));
    assert!(bad(&["-c", "0"]));
    for shard in ["3/3", "1/0", "x/2", "-1/2", "1/2/3", "0/65537"] {
        assert!(bad(&["--shard", shard]), "--shard {shard}");
    }
    assert!(!bad(&["--shard", "2/3"]));
    assert!(bad(&["--fields", "url,bogus"]));
    assert!(bad(&["--fields", ","]));
    assert!(!bad(&["--fields", "url,status", "--no-links", "--headers"]));
    assert!(!bad(&[
        "-r",
        "0",
        "--resolve",
        "a.test:443:[::1]",
        "-H",
        "X-A: b"
    ]));
}

#[test]
fn resolve_parses_curl_syntax() {
    let (h, a) = parse_resolve("Example.com:8080:127.0.0.2").unwrap();
    assert_eq!(h, "example.com");
    assert_eq!(a, "127.0.0.2:8080".parse().unwrap());
}

#[test]
fn resolve_host_drops_one_final_dot() {
    let (h, _) = parse_resolve("Foo.invalid.:80:127.0.0.2").unwrap();
    assert_eq!(h, "foo.invalid");
    for bad in [
        "foo..:80:127.0.0.2",
        ".:80:127.0.0.2",
        "a..b:80:127.0.0.2",
        ".a:80:127.0.0.2",
    ] {
        assert!(parse_resolve(bad).is_err(), "{bad}");
    }
}

// Guards: IDN forms of a --resolve name were accepted but keyed so no URL host could meet them.
#[test]
fn resolve_idn_forms_are_keyed_as_urls_spell_them_or_refused() {
    let (h, _) = parse_resolve("bücher.test\u{3002}:8801:127.0.0.1").unwrap();
    assert_eq!(h, "xn--bcher-kva.test");
    for bad in [
        "\u{3002}bücher.test:8801:127.0.0.1",
        "bücher.test\u{3002}\u{3002}:8801:127.0.0.1",
        "xn--zz.test:8801:127.0.0.1",
    ] {
        let e = parse_resolve(bad).unwrap_err().to_string();
        assert!(e.contains("--resolve"), "{bad}: {e}");
    }
}
