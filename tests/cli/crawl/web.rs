//! The web the `--shard` and `--handoff` tests crawl: eight hosts (names with different registrable domains
//! through `--resolve`, and raw IP hosts) on loopback addresses, the breadth-first model of a crawl over it, and
//! reading records back.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde_json::Value;

use crate::support::*;

/// The shards the tests split the web into.
pub(super) const N: u32 = 3;

/// `--depth` of every crawl here.
pub(super) const DEPTH: u32 = 2;

/// One host of the web: its name in URLs, the loopback address its server listens on, its registrable domain
/// (written out, not computed, so the model does not reuse the code under test), and its shard of 3 as computed
/// by the reference XXH3 implementation (Python's `xxhash.xxh3_64_intdigest(key) % 3`).
pub(super) const HOSTS: [(&str, &str, &str, u32); 8] = [
    ("a.example", "127.0.0.21", "a.example", 1),
    ("www.a.example", "127.0.0.22", "a.example", 1),
    ("b.example.org", "127.0.0.23", "b.example.org", 2),
    ("c.test.co.uk", "127.0.0.24", "test.co.uk", 0),
    ("d.example", "127.0.0.25", "d.example", 2),
    ("127.0.0.7", "127.0.0.7", "127.0.0.7", 1),
    ("127.0.0.9", "127.0.0.9", "127.0.0.9", 0),
    ("127.0.0.13", "127.0.0.13", "127.0.0.13", 2),
];

pub(super) struct Host {
    pub(super) name: &'static str,
    pub(super) domain: &'static str,
    pub(super) shard: u32,
    pub(super) site: Site,
}

impl Host {
    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.name, self.site.addr.port())
    }
}

/// The web: every host has `/ → /p1 /p2`, `/p1 → /p3`, `/p2 → /p1`, `/p3 → /p4`, `/x → /p4`; `/` also links the
/// next host's `/x` (reachable only across hosts) and `/p1` the root of the host three on. `a.example` and
/// `www.a.example` link each other's `/s` (one registrable domain, two hosts).
pub(super) struct Web {
    pub(super) hosts: Vec<Host>,
    /// URL → the URLs its page links to.
    pub(super) links: HashMap<String, Vec<String>>,
}

impl Web {
    pub(super) async fn start() -> Web {
        let mut hosts = Vec::new();
        for (name, ip, domain, shard) in HOSTS {
            hosts.push(Host {
                name,
                domain,
                shard,
                site: Site::start(ip).await,
            });
        }
        let n = hosts.len();
        let mut links = HashMap::new();
        for i in 0..n {
            let h = &hosts[i];
            let mut root = vec![h.url("/p1"), h.url("/p2"), hosts[(i + 1) % n].url("/x")];
            if let Some(sibling) = hosts
                .iter()
                .find(|o| o.domain == h.domain && o.name != h.name)
            {
                root.push(sibling.url("/s"));
                links.insert(h.url("/s"), vec![]);
            }
            links.insert(h.url("/"), root);
            links.insert(
                h.url("/p1"),
                vec![h.url("/p3"), hosts[(i + 3) % n].url("/")],
            );
            links.insert(h.url("/p2"), vec![h.url("/p1")]);
            links.insert(h.url("/p3"), vec![h.url("/p4")]);
            links.insert(h.url("/p4"), vec![]);
            links.insert(h.url("/x"), vec![h.url("/p4")]);
        }
        let web = Web { hosts, links };
        for (url, to) in &web.links {
            let body: String = to
                .iter()
                .map(|u| format!("<a href=\"{u}\">l</a>"))
                .collect();
            let host = web.host_of(url);
            let path = &url[host.url("").len()..];
            host.site
                .html(path, &format!("<title>{path}</title>{body}"));
        }
        web
    }

    pub(super) fn host_of(&self, url: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| url.starts_with(&h.url("/")))
            .unwrap_or_else(|| panic!("no host for {url}"))
    }

    /// The input every run gets: each host's root, a duplicate line, an invalid line.
    pub(super) fn input(&self) -> String {
        let mut lines: Vec<String> = self.hosts.iter().map(|h| h.url("/")).collect();
        lines.push(self.hosts[3].url("/"));
        lines.push("not a url".into());
        lines.join("\n") + "\n"
    }

    /// `--resolve` for every named host.
    pub(super) fn resolve(&self) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|h| h.name.parse::<std::net::IpAddr>().is_err())
            .flat_map(|h| {
                [
                    "--resolve".to_owned(),
                    format!("{}:{}:{}", h.name, h.site.addr.port(), h.site.addr.ip()),
                ]
            })
            .collect()
    }

    pub(super) fn hits(&self) -> Vec<usize> {
        self.hosts.iter().map(|h| h.site.total_hits()).collect()
    }

    /// Runs crawlfish over the web's input; returns the run and the requests each host received during it.
    pub(super) async fn run(&self, extra: &[&str]) -> (Run, Vec<usize>) {
        let before = self.hits();
        let mut argv: Vec<String> = ["-r", "0", "--timeout", "5", "--depth", "2"]
            .map(String::from)
            .to_vec();
        // JSON logs unless the caller chose: the summary's `shard` object is read back.
        if !extra.contains(&"--log-format") {
            argv.extend(["--log-format".to_owned(), "json".to_owned()]);
        }
        argv.extend(self.resolve());
        argv.extend(extra.iter().map(|s| (*s).to_owned()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let run = crawlfish(&argv, &self.input()).await;
        let delta = self.hits().iter().zip(before).map(|(a, b)| a - b).collect();
        (run, delta)
    }

    /// The breadth-first model of a crawl: URL → smallest depth, plus the listed lines and distinct links left
    /// to other shards. `scope` is "host", "domain" or "any", relative to the listed URL a page descends from.
    pub(super) fn model(
        &self,
        scope: &str,
        shard: Option<u32>,
    ) -> (BTreeMap<String, u64>, u64, u64) {
        let owned = |url: &str| shard.is_none_or(|s| self.host_of(url).shard == s);
        let mut depth: BTreeMap<String, u64> = BTreeMap::new();
        let mut queue = VecDeque::new();
        let mut listed_other = 0;
        for line in self.input().lines() {
            if !line.starts_with("http") {
                // Invalid lines are shard 0's.
                if shard.is_some_and(|s| s != 0) {
                    listed_other += 1;
                } else {
                    depth.insert(line.to_owned(), 0);
                }
            } else if !owned(line) {
                listed_other += 1;
            } else if !depth.contains_key(line) {
                depth.insert(line.to_owned(), 0);
                queue.push_back((line.to_owned(), self.host_of(line)));
            }
        }
        let mut linked_other = BTreeSet::new();
        while let Some((url, root)) = queue.pop_front() {
            let d = depth[&url];
            if d == u64::from(DEPTH) {
                continue;
            }
            for to in &self.links[&url] {
                let host = self.host_of(to);
                let in_scope = match scope {
                    "host" => host.name == root.name,
                    "domain" => host.domain == root.domain,
                    _ => true,
                };
                if !in_scope || depth.contains_key(to) {
                    continue;
                }
                if owned(to) {
                    depth.insert(to.clone(), d + 1);
                    queue.push_back((to.clone(), root));
                } else {
                    linked_other.insert(to.clone());
                }
            }
        }
        (depth, listed_other, linked_other.len() as u64)
    }
}

/// url → (depth, status); panics on a second record for one URL.
pub(super) fn by_url(records: &[Value]) -> BTreeMap<String, (u64, Option<u64>)> {
    let mut out = BTreeMap::new();
    for r in records {
        let url = r["url"].as_str().unwrap().to_owned();
        let v = (r["depth"].as_u64().unwrap(), r["status"].as_u64());
        assert!(
            out.insert(url.clone(), v).is_none(),
            "two records for {url}"
        );
    }
    out
}

/// The JSON summary line's `shard` object.
pub(super) fn shard_summary(run: &Run) -> Value {
    let last = run.stderr.lines().last().unwrap_or_default();
    let v: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    v["summary"]["shard"].clone()
}
