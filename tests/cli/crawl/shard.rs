//! `--shard I/N` end to end: a web of eight hosts (names with different registrable domains through `--resolve`,
//! and raw IP hosts) crawled once unsharded and once as shards 0/3, 1/3, 2/3. The union of the shards must be the
//! unsharded output (same URLs, one record each, same depth and status) under `--scope host` and `domain`, no host
//! may be requested by two shards, and each run must match a breadth-first model of the web. Also: `--scope any`
//! counts the links it leaves to other shards, redirects and robots.txt redirects never cross shards, `--state`
//! and `--resume` keep to the shard, and the recipes in `deploy/` name the right fields and flags (`recipes.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::web::*;
use crate::support::*;

/// The union property for one scope, with the measured numbers printed for the report.
async fn union_equals_one_machine(scope: &str) {
    let web = Web::start().await;
    let (whole, whole_hits) = web.run(&["--scope", scope]).await;
    let whole_map = by_url(&whole.records);
    let (model, _, _) = web.model(scope, None);
    assert_eq!(
        whole_map.keys().collect::<Vec<_>>(),
        model.keys().collect::<Vec<_>>(),
        "unsharded run vs model"
    );
    for (url, (d, _)) in &whole_map {
        assert_eq!(*d, model[url], "depth of {url}");
    }
    assert!(
        shard_summary(&whole).is_null(),
        "no shard object without --shard"
    );

    let mut union = BTreeMap::new();
    let mut hits_by_shard = Vec::new();
    for i in 0..N {
        let spec = format!("{i}/{N}");
        let (run, hits) = web.run(&["--scope", scope, "--shard", &spec]).await;
        let mine = by_url(&run.records);
        let (want, listed_other, linked_other) = web.model(scope, Some(i));
        assert_eq!(
            mine.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "shard {spec} vs model"
        );
        let fetched = mine.keys().filter(|u| u.starts_with("http")).count();
        assert!(
            fetched > 0,
            "shard {spec} crawled nothing: the test would pass trivially"
        );
        let summary = shard_summary(&run);
        assert_eq!(summary["index"], i);
        assert_eq!(summary["count"], N);
        assert_eq!(summary["other_shards_listed"], listed_other, "shard {spec}");
        assert_eq!(summary["other_shards_linked"], linked_other, "shard {spec}");
        assert_eq!(
            linked_other, 0,
            "under --scope {scope} a crawl never crosses shards"
        );
        let hosts: Vec<&str> = web
            .hosts
            .iter()
            .zip(&hits)
            .filter(|(_, n)| **n > 0)
            .map(|(h, _)| h.name)
            .collect();
        eprintln!(
            "scope {scope} shard {spec}: {} records ({fetched} fetched URLs), hosts requested {hosts:?}, \
             skipped listed {listed_other}",
            mine.len()
        );
        for (url, v) in mine {
            assert!(
                union.insert(url.clone(), v).is_none(),
                "{url} recorded by two shards"
            );
        }
        hits_by_shard.push(hits);
    }
    assert_eq!(
        union, whole_map,
        "the union of the shards is the one-machine output"
    );
    for (h, host) in web.hosts.iter().enumerate() {
        let requested_by: Vec<u32> = (0..N)
            .filter(|&s| hits_by_shard[s as usize][h] > 0)
            .collect();
        assert_eq!(
            requested_by,
            vec![host.shard],
            "{} requested by shards {requested_by:?}",
            host.name
        );
        let total: usize = (0..N as usize).map(|s| hits_by_shard[s][h]).sum();
        assert_eq!(
            total, whole_hits[h],
            "{}: requests over the shards vs one machine",
            host.name
        );
    }
    eprintln!(
        "scope {scope}: {} records unsharded = union; requests per host {whole_hits:?}; cross-shard hits 0",
        whole.records.len()
    );
}

#[tokio::test]
async fn shards_union_is_one_machine_scope_host() {
    union_equals_one_machine("host").await;
}

#[tokio::test]
async fn shards_union_is_one_machine_scope_domain() {
    union_equals_one_machine("domain").await;
}

/// `--scope any`: links to other shards are not followed (their hosts get no request) and are counted.
#[tokio::test]
async fn scope_any_leaves_other_shards_links_and_counts_them() {
    let web = Web::start().await;
    let (whole, _) = web.run(&["--scope", "any"]).await;
    let whole_urls: BTreeSet<String> = by_url(&whole.records).into_keys().collect();
    let mut union = BTreeSet::new();
    let mut linked_total = 0;
    for i in 0..N {
        let spec = format!("{i}/{N}");
        let (run, hits) = web.run(&["--scope", "any", "--shard", &spec]).await;
        let mine = by_url(&run.records);
        let (want, listed_other, linked_other) = web.model("any", Some(i));
        assert_eq!(
            mine.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{spec}"
        );
        for (url, (d, _)) in &mine {
            assert_eq!(*d, want[url], "depth of {url} on {spec}");
        }
        let summary = shard_summary(&run);
        assert_eq!(summary["other_shards_listed"], listed_other, "{spec}");
        assert_eq!(summary["other_shards_linked"], linked_other, "{spec}");
        assert!(linked_other > 0, "{spec}: the web links across shards");
        linked_total += linked_other;
        for (host, n) in web.hosts.iter().zip(&hits) {
            assert_eq!(
                *n > 0,
                host.shard == i,
                "{} got {n} requests from shard {spec}",
                host.name
            );
        }
        union.extend(mine.into_keys());
    }
    assert!(union.is_subset(&whole_urls));
    let lost: Vec<_> = whole_urls.difference(&union).collect();
    assert!(
        !lost.is_empty(),
        "pages reachable only across shards are lost, as documented"
    );
    eprintln!(
        "scope any: {} records unsharded, {} in the union, {linked_total} links left to other shards",
        whole_urls.len(),
        union.len()
    );
}

/// The summary line says what was left to the other shards (text logs).
#[tokio::test]
async fn text_summary_counts_other_shards() {
    let web = Web::start().await;
    let (_, listed, linked) = web.model("any", Some(1));
    let (run, _) = web
        .run(&["--scope", "any", "--shard", "1/3", "--log-format", "text"])
        .await;
    let want =
        format!("shard 1/3: skipped {listed} listed and {linked} linked URLs of other shards");
    assert!(run.stderr.contains(&want), "{want} not in {}", run.stderr);
}

/// A listed URL of this shard that redirects to another shard's host: the 3xx is the record, the Location last in
/// `redirects`, and the other host gets no request. Unsharded, the same redirect is followed.
#[tokio::test]
async fn redirects_to_another_shard_are_not_followed() {
    let a = Site::start("127.0.0.21").await; // a.example: shard 1 of 3
    let b = Site::start("127.0.0.23").await; // b.example.org: shard 2 of 3
    let target = format!("http://b.example.org:{}/", b.addr.port());
    a.route("/go", vec![Step::new(301, "").header("location", &target)]);
    b.html("/", "<title>b</title>");
    let resolve_a = format!("a.example:{}:127.0.0.21", a.addr.port());
    let resolve_b = format!("b.example.org:{}:127.0.0.23", b.addr.port());
    let listed = format!("http://a.example:{}/go", a.addr.port());
    let base = ["--resolve", &resolve_a, "--resolve", &resolve_b];

    let run = crawlfish(&args(&[&base[..], &["--shard", "1/3"]].concat()), &listed).await;
    let r = run.record(&listed);
    assert_eq!(r["status"], 301, "{r}");
    assert_eq!(
        r["redirects"].as_array().unwrap().last().unwrap()["url"],
        target
    );
    assert_eq!(b.total_hits(), 0, "another shard's host was requested");
    assert_eq!(run.code, Some(0), "a 3xx is an answer, not a failure");

    let run = crawlfish(&args(&base), &listed).await;
    assert_eq!(
        run.record(&listed)["status"],
        200,
        "unsharded, the redirect is followed"
    );
    assert_eq!(b.hits("/"), 1);
}

/// robots.txt that redirects to another shard's host: not followed; the host's URLs are refused (rules that were
/// not read cannot be obeyed) with a message that says why.
#[tokio::test]
async fn robots_redirects_to_another_shard_are_not_followed() {
    let a = Site::start("127.0.0.21").await;
    let b = Site::start("127.0.0.23").await;
    let target = format!("http://b.example.org:{}/robots.txt", b.addr.port());
    a.route(
        "/robots.txt",
        vec![Step::new(301, "").header("location", &target)],
    );
    a.html("/", "<title>a</title>");
    b.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nAllow: /\n")],
    );
    let resolve_a = format!("a.example:{}:127.0.0.21", a.addr.port());
    let resolve_b = format!("b.example.org:{}:127.0.0.23", b.addr.port());
    let listed = format!("http://a.example:{}/", a.addr.port());
    let argv = [
        "-q",
        "-r",
        "0",
        "--timeout",
        "5",
        "--resolve",
        &resolve_a,
        "--resolve",
        &resolve_b,
        "--shard",
        "1/3",
    ];
    let run = crawlfish(&argv, &listed).await;
    let r = run.record(&listed);
    assert_eq!(r["error"]["kind"], "robots_disallowed", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another shard"),
        "{r}"
    );
    assert_eq!(b.total_hits(), 0, "another shard's host was requested");
    assert_eq!(a.hits("/"), 0, "a page fetched without its robots.txt");
}

/// Bad `--shard` values: exit 2 naming the value, before any request.
#[tokio::test]
async fn bad_shard_values_are_usage_errors() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "x");
    for bad in ["3/3", "1/0", "x/2", "-1/2", "1/2/3", "0/65537", "1", ""] {
        let run = crawlfish(&args(&["--shard", bad]), &site.url("/")).await;
        assert_eq!(run.code, Some(2), "--shard {bad:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("'{bad}'")),
            "--shard {bad:?}: {}",
            run.stderr
        );
        assert!(run.records.is_empty());
    }
    assert_eq!(site.total_hits(), 0);
    let run = crawlfish(&args(&["--shard", "65535/65536"]), "").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

/// A shard's own `--state` and `-o … --resume` keep to the shard: a second run records the same URLs, a resumed
/// run completes the cut output with exactly the shard's URLs.
#[tokio::test]
async fn state_and_resume_keep_to_the_shard() {
    let web = Web::start().await;
    let dir = tempdir("shard-state");
    let (want, _, _) = web.model("host", Some(2));
    let state = dir.join("shard-2");
    let state_arg = state.to_str().unwrap();
    for round in 0..2 {
        let (run, hits) = web
            .run(&["-q", "--shard", "2/3", "--state", state_arg])
            .await;
        assert_eq!(
            run.code,
            Some(0),
            "the invalid line is shard 0's: {}",
            run.stderr
        );
        let latest = std::fs::read_to_string(state.join("latest.jsonl")).unwrap();
        let got = by_url(&parse_lines(&latest));
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "round {round}"
        );
        for (host, n) in web.hosts.iter().zip(&hits) {
            assert_eq!(
                *n > 0,
                host.shard == 2,
                "round {round}: {} got {n}",
                host.name
            );
        }
    }

    let out = dir.join("out.jsonl");
    let out_arg = out.to_str().unwrap();
    web.run(&["-q", "--shard", "2/3", "-o", out_arg]).await;
    let full = std::fs::read_to_string(&out).unwrap();
    let kept: String = full.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&out, kept).unwrap();
    // FILE cut by hand no longer matches the complete run's sealed links journal: moved away, FILE's links serve.
    std::fs::remove_file(dir.join("out.jsonl.links")).unwrap();
    let (_, hits) = web
        .run(&["-q", "--shard", "2/3", "-o", out_arg, "--resume"])
        .await;
    let resumed = by_url(&parse_lines(&std::fs::read_to_string(&out).unwrap()));
    assert_eq!(
        resumed.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (host, n) in web.hosts.iter().zip(&hits) {
        assert!(*n == 0 || host.shard == 2, "resume: {} got {n}", host.name);
    }
}
