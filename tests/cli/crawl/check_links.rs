//! `--check-links`: a local site on one loopback address with broken internal links, broken external links on
//! others (refused, 500, HEAD refused then GET), broken `#fragment` links, robots.txt on a checked host,
//! `--accept`, and list input. Checked at the server (methods, hit counts: each external URL once, never parsed or
//! followed), in the records, in the stderr report (page → link → why) and in the exit code.

use std::collections::BTreeSet;

use crate::support::*;

/// The stderr report as (page, link, why) triples; the head line is checked by the caller.
fn report(stderr: &str) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    let mut page = None;
    for line in stderr.lines().filter(|l| !l.starts_with("crawlfish:")) {
        match line.strip_prefix("  ") {
            Some(entry) => {
                let (link, why) = entry.split_once(" → ").unwrap();
                let page: &String = page.as_ref().unwrap();
                out.insert((page.clone(), link.to_owned(), why.to_owned()));
            }
            None => page = Some(line.to_owned()),
        }
    }
    out
}

fn triples(list: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    list.iter()
        .map(|(p, l, w)| ((*p).to_owned(), (*l).to_owned(), (*w).to_owned()))
        .collect()
}

fn link(url: &str) -> String {
    format!("<a href=\"{url}\">x</a>")
}

#[tokio::test]
async fn a_site_with_broken_links_reports_exactly_those() {
    let (a, b, c) = (
        Site::start("127.0.0.2").await,
        Site::start("127.0.0.3").await,
        Site::start("127.0.0.4").await,
    );
    let refused = format!("http://{}/x", refused_port("127.0.0.5").await);
    let index: String = [
        a.url("/a"),
        a.url("/missing"),
        a.url("/a#sec"),
        a.url("/a#nope"),
        "#top".into(),
        "#self-missing".into(),
        b.url("/ok"),
        b.url("/gone"),
        refused.clone(),
        c.url("/err"),
        c.url("/head405ok"),
        c.url("/head405gone"),
    ]
    .iter()
    .map(|u| link(u))
    .collect();
    a.html("/", &format!("<a name=\"intro\"></a>{index}"));
    let page_a = [a.url("/#intro"), a.url("/#absent"), b.url("/gone")].map(|u| link(&u));
    a.html("/a", &format!("<h2 id=\"sec\">s</h2>{}", page_a.concat()));
    // Checked, so never parsed: its link must not be requested.
    b.html("/ok", &link(&b.url("/never")));
    b.route("/gone", vec![Step::new(404, "")]);
    c.route("/err", vec![Step::new(500, "")]);
    c.route("/head405ok", vec![Step::new(405, ""), Step::html("fine")]);
    c.route("/head405gone", vec![Step::new(405, ""), Step::new(404, "")]);
    let flags = args(&["--check-links", "--depth", "2", "--retries", "0"]);
    let run = crawlfish(&flags, &format!("{}\n", a.url("/"))).await;

    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let r = |u: &str| run.record(u).clone();
    assert_eq!(r(&a.url("/"))["checked"], false);
    assert_eq!(
        r(&a.url("/"))["missing_fragments"],
        serde_json::json!(["self-missing"])
    );
    assert_eq!(
        r(&a.url("/a"))["missing_fragments"],
        serde_json::json!(["nope"])
    );
    assert_eq!(
        (
            r(&a.url("/missing"))["status"].as_u64(),
            a.methods("/missing")
        ),
        (Some(404), vec!["GET".to_owned()]),
        "an in-scope page is crawled, not only checked"
    );
    for (site, path, status, methods) in [
        (&b, "/ok", 200, &["HEAD"][..]),
        (&b, "/gone", 404, &["HEAD"]),
        (&c, "/err", 500, &["HEAD"]),
        (&c, "/head405ok", 200, &["HEAD", "GET"]),
        (&c, "/head405gone", 404, &["HEAD", "GET"]),
    ] {
        let rec = r(&site.url(path));
        assert_eq!(site.methods(path), methods, "{path}: checked once");
        assert_eq!(
            (rec["status"].as_u64(), &rec["checked"]),
            (Some(status), &true.into())
        );
        assert_eq!(rec["links"], serde_json::json!([]), "{path} is not parsed");
        assert!(rec.get("missing_fragments").is_none());
        assert_eq!(rec["attempts"], methods.len(), "{path}");
    }
    assert_eq!(
        b.hits("/never"),
        0,
        "a checked page's links are not followed"
    );
    assert_eq!(run.kind(&refused), "connect");
    assert_eq!(run.records.len(), 9, "{:#?}", run.records);

    let (index, pa) = (a.url("/"), a.url("/a"));
    let expected = triples(&[
        (&index, &a.url("/missing"), "404"),
        (&index, &format!("{}#nope", a.url("/a")), "missing fragment"),
        (&index, &format!("{index}#self-missing"), "missing fragment"),
        (&index, &b.url("/gone"), "404"),
        (&index, &refused, "connect"),
        (&index, &c.url("/err"), "500"),
        (&index, &c.url("/head405gone"), "404"),
        (&pa, &b.url("/gone"), "404"),
        (&pa, &format!("{index}#absent"), "missing fragment"),
    ]);
    assert_eq!(report(&run.stderr), expected, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("crawlfish: 9 broken links on 2 pages"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn robots_txt_keeps_a_link_unchecked_and_that_is_not_broken() {
    let (a, b) = (
        Site::start("127.0.0.2").await,
        Site::start("127.0.0.3").await,
    );
    b.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nDisallow: /private\n")],
    );
    b.html("/private", "secret");
    a.html("/", &link(&b.url("/private")));
    let flags = ["-q", "-r", "0", "--timeout", "5", "--check-links"];
    let run = crawlfish(&flags, &format!("{}\n", a.url("/"))).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.kind(&b.url("/private")), "robots_disallowed");
    assert_eq!(run.record(&b.url("/private"))["checked"], true);
    assert_eq!(b.hits("/private"), 0);
    assert_eq!(b.hits("/robots.txt"), 1);
    let expected = triples(&[(
        &a.url("/"),
        &b.url("/private"),
        "not checked: robots_disallowed",
    )]);
    assert_eq!(report(&run.stderr), expected, "{}", run.stderr);
    assert!(run
        .stderr
        .starts_with("crawlfish: no broken links · 1 not checked"));
}

#[tokio::test]
async fn accept_decides_what_is_broken() {
    let (a, b) = (
        Site::start("127.0.0.2").await,
        Site::start("127.0.0.3").await,
    );
    b.route("/forbidden", vec![Step::new(403, "")]);
    a.html("/", &link(&b.url("/forbidden")));
    let input = format!("{}\n", a.url("/"));
    let broken = crawlfish(&args(&["--check-links"]), &input).await;
    assert_eq!(broken.code, Some(1));
    let expected = triples(&[(&a.url("/"), &b.url("/forbidden"), "403")]);
    assert_eq!(report(&broken.stderr), expected, "{}", broken.stderr);
    let accepted = crawlfish(
        &args(&["--check-links", "--accept", "200..299,403"]),
        &input,
    )
    .await;
    assert_eq!(accepted.code, Some(0), "{}", accepted.stderr);
    assert_eq!(accepted.stderr, "", "-q: nothing broken, nothing said");
    assert_eq!(b.methods("/forbidden"), ["HEAD", "HEAD"]);
    // Without the flag, nothing is checked and the records carry neither field.
    let plain = crawlfish(&args(&[]), &input).await;
    assert_eq!((plain.code, plain.records.len()), (Some(0), 1));
    assert!(plain.records[0].get("checked").is_none());
    assert!(plain.records[0].get("missing_fragments").is_none());
    assert_eq!(b.hits("/forbidden"), 2);
    let usage = crawlfish(&args(&["--accept", "200"]), &input).await;
    assert_eq!(usage.code, Some(2), "--accept needs --check-links");
    let bad = crawlfish(&args(&["--check-links", "--accept", "2xx"]), &input).await;
    assert_eq!(bad.code, Some(2));
}

#[tokio::test]
async fn list_input_checks_the_links_of_the_listed_pages() {
    let (a, b) = (
        Site::start("127.0.0.2").await,
        Site::start("127.0.0.3").await,
    );
    a.html(
        "/one",
        &[a.url("/inner"), b.url("/ext")].map(|u| link(&u)).concat(),
    );
    a.html(
        "/two",
        &[a.url("/inner"), a.url("/one#x")]
            .map(|u| link(&u))
            .concat(),
    );
    a.html("/inner", &link(&a.url("/deeper")));
    b.route("/ext", vec![Step::new(404, "")]);
    let input = [a.url("/one"), a.url("/two"), a.url("/listed-404")].join("\n");
    let run = crawlfish(&args(&["--check-links"]), &input).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.records.len(), 5, "{:#?}", run.records);
    let inner = run.record(&a.url("/inner"));
    assert_eq!(
        (inner["checked"].as_bool(), inner["depth"].as_u64()),
        (Some(true), Some(1))
    );
    assert_eq!(
        a.methods("/inner"),
        ["HEAD"],
        "depth 0: an in-scope link is only checked"
    );
    assert_eq!(a.hits("/deeper"), 0);
    let expected = triples(&[
        (&a.url("/one"), &b.url("/ext"), "404"),
        (
            &a.url("/two"),
            &format!("{}#x", a.url("/one")),
            "missing fragment",
        ),
        ("(listed in the input)", &a.url("/listed-404"), "404"),
    ]);
    assert_eq!(report(&run.stderr), expected, "{}", run.stderr);
}

/// Site `a` (127.0.0.2) whose `page` links its own `/inner` and `/ext` on site `b` (127.0.0.3), which answers
/// `status`.
async fn inner_and_external(page: &str, status: u16) -> (Site, Site) {
    let (a, b) = (
        Site::start("127.0.0.2").await,
        Site::start("127.0.0.3").await,
    );
    a.html(
        page,
        &[a.url("/inner"), b.url("/ext")].map(|u| link(&u)).concat(),
    );
    a.html("/inner", "in");
    b.route("/ext", vec![Step::new(status, "")]);
    (a, b)
}

#[tokio::test]
async fn checks_keep_header_scoping_and_the_json_report_is_one_object() {
    let (a, b) = inner_and_external("/", 410).await;
    let flags = args(&["--check-links", "-H", "X-Token: s", "--log-format", "json"]);
    let run = crawlfish(&flags, &format!("{}\n", a.url("/"))).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(a.methods("/inner"), ["HEAD"]);
    assert_eq!(a.header("/inner", "x-token").as_deref(), Some("s"));
    assert_eq!(
        b.header("/ext", "x-token"),
        None,
        "-H goes to the listed origin only"
    );
    let last = run.stderr.lines().last().unwrap();
    let report: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(report["links"]["broken"], 1, "{last}");
    let on_page = &report["links"]["pages"][a.url("/")];
    assert_eq!(
        on_page,
        &serde_json::json!([{"link": b.url("/ext"), "why": {"status": 410}}])
    );
}

/// A run cut short (here by `--max-pages`) and resumed checks the links of the pages it had written.
#[tokio::test]
async fn resume_checks_the_links_of_pages_already_written() {
    let (a, b) = inner_and_external("/one", 404).await;
    let dir = tempdir("check-links-resume");
    let out = dir.join("out.jsonl");
    let out = out.to_str().unwrap();
    let input = format!("{}\n", a.url("/one"));
    let first = crawlfish(
        &args(&["--check-links", "--max-pages", "1", "-o", out]),
        &input,
    )
    .await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(b.hits("/ext"), 0);
    let flags = args(&["--check-links", "--resume", "--fields", "url", "-o", out]);
    let resumed = crawlfish(&flags, &input).await;
    assert_eq!(resumed.code, Some(1), "{}", resumed.stderr);
    assert_eq!(
        (a.hits("/one"), a.methods("/inner"), b.methods("/ext")),
        (1, vec!["HEAD".into()], vec!["HEAD".into()])
    );
    let lines = parse_partial_lines(&std::fs::read_to_string(out).unwrap());
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let expected = triples(&[(&a.url("/one"), &b.url("/ext"), "404")]);
    assert_eq!(report(&resumed.stderr), expected, "{}", resumed.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}
