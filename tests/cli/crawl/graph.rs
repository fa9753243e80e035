//! Crawl mode: a known multi-host link graph, scopes, budgets and nofollow. Expectations are computed from the
//! graph, not written out.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::support::*;

/// Pages by (host index, path) → links as (host index, path, nofollow).
type Graph = BTreeMap<(usize, &'static str), Vec<(usize, &'static str, bool)>>;

fn graph() -> Graph {
    let mut g = Graph::new();
    g.insert(
        (0, "/"),
        vec![
            (0, "/a", false),
            (0, "/b", false),
            (1, "/", false),
            (0, "/hidden", true),
        ],
    );
    g.insert(
        (0, "/a"),
        vec![(0, "/c", false), (0, "/b", false), (0, "/a", false)],
    );
    g.insert((0, "/b"), vec![(0, "/c", false), (0, "/d", false)]);
    g.insert((0, "/c"), vec![(0, "/e", false)]);
    g.insert((0, "/d"), vec![]);
    g.insert((0, "/e"), vec![]);
    g.insert((0, "/hidden"), vec![]);
    g.insert((1, "/"), vec![(1, "/x", false), (0, "/d", false)]);
    g.insert((1, "/x"), vec![(1, "/y", false)]);
    g.insert((1, "/y"), vec![]);
    g
}

async fn serve(g: &Graph) -> Vec<Site> {
    let sites = vec![
        Site::start("127.0.0.2").await,
        Site::start("127.0.0.3").await,
    ];
    for ((h, path), links) in g {
        let body: String = links
            .iter()
            .map(|(lh, lp, nf)| {
                let rel = if *nf { " rel=\"nofollow\"" } else { "" };
                format!("<a{rel} href=\"{}#frag\">l</a>", sites[*lh].url(lp))
            })
            .collect();
        sites[*h].html(path, &format!("<title>{h}{path}</title>{body}"));
    }
    sites
}

/// Breadth-first expectation: URL → (depth, the set of possible parents at depth-1).
fn expect(
    g: &Graph,
    sites: &[Site],
    root: (usize, &'static str),
    max_depth: u32,
    same_host: bool,
) -> HashMap<String, (u32, HashSet<String>)> {
    let url = |(h, p): (usize, &str)| sites[h].url(p);
    let mut depth: HashMap<(usize, &str), u32> = HashMap::from([(root, 0)]);
    let mut queue = VecDeque::from([root]);
    while let Some(page) = queue.pop_front() {
        let d = depth[&page];
        if d >= max_depth {
            continue;
        }
        for (h, p, nofollow) in &g[&page] {
            let next = (*h, *p);
            if *nofollow || (same_host && *h != root.0) || depth.contains_key(&next) {
                continue;
            }
            depth.insert(next, d + 1);
            queue.push_back(next);
        }
    }
    depth
        .iter()
        .map(|(page, d)| {
            let parents = g
                .iter()
                .filter(|(from, links)| {
                    depth.get(*from) == Some(&(d.wrapping_sub(1)))
                        && links.iter().any(|(h, p, nf)| (*h, *p) == *page && !nf)
                })
                .map(|(from, _)| url(*from))
                .collect();
            (url(*page), (*d, parents))
        })
        .collect()
}

fn check(run: &Run, want: &HashMap<String, (u32, HashSet<String>)>) {
    let got = run.by_url();
    let got_urls: HashSet<&String> = got.keys().collect();
    let want_urls: HashSet<&String> = want.keys().collect();
    assert_eq!(got_urls, want_urls);
    assert_eq!(run.records.len(), want.len(), "one record per URL");
    for (url, (depth, parents)) in want {
        let r = &got[url];
        assert_eq!(r["depth"], *depth, "{url}");
        if *depth == 0 {
            assert!(r["parent"].is_null());
        } else {
            let parent = r["parent"].as_str().unwrap();
            assert!(
                parents.contains(parent),
                "{url}: parent {parent} not in {parents:?}"
            );
        }
    }
}

#[tokio::test]
async fn depth_two_host_scope_matches_the_graph() {
    let g = graph();
    let sites = serve(&g).await;
    let run = crawlfish(&args(&["--depth", "2"]), &sites[0].url("/")).await;
    check(&run, &expect(&g, &sites, (0, "/"), 2, true));
    for path in ["/", "/a", "/b", "/c", "/d"] {
        assert_eq!(
            sites[0].hits(path),
            1,
            "{path} fetched once despite duplicates and fragments"
        );
    }
    assert_eq!(sites[0].hits("/hidden"), 0, "rel=nofollow is not followed");
    assert_eq!(sites[1].total_hits(), 0, "host scope stays on the host");
}

#[tokio::test]
async fn any_scope_crosses_hosts_and_max_pages_caps_hits() {
    let g = graph();
    let sites = serve(&g).await;
    let run = crawlfish(
        &args(&["--depth", "5", "--scope", "any"]),
        &sites[0].url("/"),
    )
    .await;
    check(&run, &expect(&g, &sites, (0, "/"), 5, false));
    assert_eq!(sites[1].hits("/y"), 1);

    let capped = serve(&g).await;
    let run = crawlfish(
        &args(&[
            "--depth",
            "5",
            "--scope",
            "any",
            "--max-pages",
            "3",
            "-c",
            "1",
        ]),
        &capped[0].url("/"),
    )
    .await;
    assert_eq!(run.records.len(), 3);
    assert_eq!(capped[0].total_hits() + capped[1].total_hits(), 3);
}

#[tokio::test]
async fn follow_nofollow_and_include_exclude() {
    let g = graph();
    let sites = serve(&g).await;
    let run = crawlfish(
        &args(&["--depth", "1", "--follow-nofollow"]),
        &sites[0].url("/"),
    )
    .await;
    assert!(run.by_url().contains_key(&sites[0].url("/hidden")));

    let run = crawlfish(
        &args(&["--depth", "3", "--include", "/[a-c]$", "--exclude", "/b$"]),
        &sites[0].url("/"),
    )
    .await;
    let got: HashSet<String> = run.by_url().into_keys().collect();
    let want: HashSet<String> = ["/", "/a", "/c"].iter().map(|p| sites[0].url(p)).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn meta_robots_nofollow_stops_following() {
    let site = Site::start("127.0.0.1").await;
    site.html(
        "/",
        r#"<meta name="robots" content="nofollow"><a href="/next">n</a>"#,
    );
    site.html("/next", "n");
    let run = crawlfish(&["-q", "-r", "0", "--depth", "1"], &site.url("/")).await;
    assert_eq!(run.records.len(), 1);
    assert_eq!(site.hits("/next"), 0);
    let run = crawlfish(&args(&["--depth", "1"]), &site.url("/")).await;
    assert_eq!(
        run.records.len(),
        2,
        "--ignore-robots ignores the meta tag too"
    );
}

#[tokio::test]
async fn domain_scope_uses_the_public_suffix_list() {
    let a = Site::start("127.0.0.2").await;
    let b = Site::start("127.0.0.3").await;
    let port_a = a.addr.port();
    let port_b = b.addr.port();
    a.html(
        "/",
        &format!(
            "<a href='http://b.example.co.uk:{port_b}/'>b</a><a href='http://b.github.io:{port_b}/'>gh</a>"
        ),
    );
    b.html("/", "b");
    let resolve = [
        format!("a.example.co.uk:{port_a}:127.0.0.2"),
        format!("b.example.co.uk:{port_b}:127.0.0.3"),
        format!("a.github.io:{port_a}:127.0.0.2"),
        format!("b.github.io:{port_b}:127.0.0.3"),
    ];
    let mut argv = args(&["--depth", "1", "--scope", "domain"]);
    for r in &resolve {
        argv.extend(["--resolve", r.as_str()]);
    }
    let run = crawlfish(&argv, &format!("http://a.example.co.uk:{port_a}/")).await;
    let got: HashSet<String> = run.by_url().into_keys().collect();
    assert!(
        got.contains(&format!("http://b.example.co.uk:{port_b}/")),
        "{got:?}"
    );
    assert!(
        !got.contains(&format!("http://b.github.io:{port_b}/")),
        "github.io is a public suffix"
    );
    let run = crawlfish(&argv, &format!("http://a.github.io:{port_a}/")).await;
    assert_eq!(run.records.len(), 1);
}
