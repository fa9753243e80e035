//! Response metadata in records (`ip`, `http_version`, `--headers`), field selection (`--fields`, `--no-links`)
//! and the published schema (`--schema`): every record the suite parses is validated against it in `support/mod.rs`.

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::support::*;

/// A JSON object's keys in the order written (`serde_json::Value` sorts them).
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some((k, _)) = map.next_entry::<String, IgnoredAny>()? {
                    keys.push(k);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

/// The keys of the `n`th line of `text`, in order.
fn keys(text: &str, n: usize) -> Vec<String> {
    serde_json::from_str::<Keys>(text.lines().nth(n).unwrap())
        .unwrap()
        .0
}

#[tokio::test]
async fn ip_and_http_version_come_from_the_final_response() {
    let site = Site::start("127.0.0.2").await;
    site.html("/", "<title>t</title>");
    site.route("/moved", vec![Step::new(301, "").header("location", "/")]);
    let refused = refused_port("127.0.0.1").await;
    let dead = format!("http://{refused}/");
    let input = format!("{}\n{}\n{dead}\n", site.url("/"), site.url("/moved"));
    let run = crawlfish(&args(&[]), &input).await;
    for url in [site.url("/"), site.url("/moved")] {
        let r = run.record(&url);
        assert_eq!(r["ip"], "127.0.0.2", "{r}");
        // reqwest speaks HTTP/1.1 on http:// (h2 only via ALPN over TLS, or with prior knowledge we do not assume).
        assert_eq!(r["http_version"], "HTTP/1.1", "{r}");
        assert!(r.get("headers").is_none(), "no --headers, no field: {r}");
    }
    let r = run.record(&dead);
    assert!(r["ip"].is_null() && r["http_version"].is_null(), "{r}");
    // New fields are appended after the earlier ones (contract order).
    let k = keys(&run.stdout, 0);
    assert_eq!(
        &k[k.len() - 9..],
        [
            "ip",
            "http_version",
            "meta_nofollow",
            "canonical",
            "robots",
            "lang",
            "description",
            "hreflang",
            "duplicate_of"
        ]
    );
}

#[tokio::test]
async fn headers_keep_repeats_as_arrays() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/",
        vec![Step::html("<title>t</title>")
            .header("Set-Cookie", "a=1; Path=/")
            .header("X-Single", "one")
            .header("Set-Cookie", "b=2")],
    );
    let run = crawlfish(&args(&["--headers"]), &format!("{}\n", site.url("/"))).await;
    let h = &run.records[0]["headers"];
    assert_eq!(h["set-cookie"], serde_json::json!(["a=1; Path=/", "b=2"]));
    assert_eq!(h["x-single"], "one");
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let k = keys(&run.stdout, 0);
    assert_eq!(&k[k.len() - 8..k.len() - 6], ["headers", "meta_nofollow"]);
}

#[tokio::test]
async fn fields_select_in_record_order_and_reject_unknown_names() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>T</title><a href=/x>x</a>");
    let input = format!("{}\n", site.url("/"));
    let run = crawlfish(&args(&["--fields", "title,url,status"]), &input).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(keys(&run.stdout, 0), ["url", "status", "title"]);

    let run = crawlfish(&args(&["--no-links"]), &input).await;
    let k = keys(&run.stdout, 0);
    assert!(
        !k.contains(&"links".into()) && k.contains(&"title".into()),
        "{k:?}"
    );

    let run = crawlfish(&args(&["--fields", "url,titel"]), &input).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("\"titel\""), "{}", run.stderr);
    assert!(run.records.is_empty());
}

#[tokio::test]
async fn fields_with_resume_keep_what_resume_reads() {
    let site = Site::start("127.0.0.1").await;
    for p in ["/a", "/b", "/c"] {
        site.html(p, "<title>t</title>");
    }
    let dir = tempdir("fields-resume");
    let out = dir.join("out.jsonl");
    let out_s = out.to_str().unwrap();
    let two = format!("{}\n{}\n", site.url("/a"), site.url("/b"));
    let run = crawlfish(
        &args(&["--fields", "status", "-o", out_s, "--resume"]),
        &two,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(parse_partial_lines(&text).len(), 2);
    assert_eq!(
        keys(&text, 0),
        ["url", "final_url", "status", "depth", "attempts", "error"],
        "--resume forces in the fields it reads back"
    );
    let three = format!("{two}{}\n", site.url("/c"));
    let run = crawlfish(
        &args(&["--fields", "status", "-o", out_s, "--resume"]),
        &three,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let all = parse_partial_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(all.len(), 3);
    assert_eq!(
        (site.hits("/a"), site.hits("/b"), site.hits("/c")),
        (1, 1, 1)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// Guards issue 22: a `--fields` run to -o FILE wrote records that neither `--resume` nor `--since` accepts, so a run
// that died was lost.
#[tokio::test]
async fn a_fields_output_file_can_be_resumed_and_read_by_since() {
    let site = Site::start("127.0.0.1").await;
    for p in ["/a", "/b", "/c"] {
        site.html(p, "<title>t</title>");
    }
    let dir = tempdir("fields-file");
    let (out, later) = (dir.join("out.jsonl"), dir.join("later.jsonl"));
    let (out_s, later_s) = (out.to_str().unwrap(), later.to_str().unwrap());
    let two = format!("{}\n{}\n", site.url("/a"), site.url("/b"));
    // Not started with --resume: the run that "dies" after two URLs.
    let run = crawlfish(&args(&["--fields", "url,status", "-o", out_s]), &two).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        keys(&text, 0),
        ["url", "final_url", "status", "depth", "attempts", "error"],
        "-o FILE keeps what --resume reads"
    );
    let three = format!("{two}{}\n", site.url("/c"));
    let run = crawlfish(
        &args(&["--fields", "url,status", "-o", out_s, "--resume"]),
        &three,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!((site.hits("/a"), site.hits("/c")), (1, 1));
    let run = crawlfish(&args(&["--since", out_s, "-o", later_s]), &three).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let later = parse_lines(&std::fs::read_to_string(&later).unwrap());
    assert_eq!(later.len(), 3);
    assert!(
        later.iter().all(|r| r["change"] == "changed"),
        "no digest before: {later:#?}"
    );
    // To stdout nothing is added; reading such a file back says what it lacks.
    let run = crawlfish(&args(&["--fields", "url,status"]), &two).await;
    assert_eq!(keys(&run.stdout, 0), ["url", "status"]);
    let piped = dir.join("piped.jsonl");
    std::fs::write(&piped, &run.stdout).unwrap();
    let run = crawlfish(&args(&["--since", piped.to_str().unwrap()]), &two).await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("url,final_url,status,depth,attempts,error")
            && run.stderr.contains("-o FILE always keeps them"),
        "{}",
        run.stderr
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn schema_flag_prints_the_published_schema() {
    let out = bin().arg("--schema").output().await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/record.schema.json"
    ))
    .unwrap();
    assert_eq!(printed, serde_json::from_str::<Value>(&file).unwrap());
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

/// A record with every optional field present (`extract`, `change`, `headers`, `warc_offset`, `checked`,
/// `missing_fragments`, `saved`, `content`) validates (in `parse_lines`);
/// the same record with one wrong type does not.
#[tokio::test]
async fn every_optional_field_validates_and_a_wrong_type_does_not() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>T</title><h1>a</h1>");
    let dir = tempdir("schema-full");
    let earlier = dir.join("earlier.jsonl");
    std::fs::write(&earlier, "").unwrap();
    let warc = dir.join("all.warc.gz");
    let run = crawlfish(
        &args(&[
            "--select",
            "h=h1",
            "--headers",
            "--since",
            earlier.to_str().unwrap(),
            "--warc",
            warc.to_str().unwrap(),
            "--check-links",
            "--save",
            dir.join("saved").to_str().unwrap(),
            "--content",
            "markdown",
        ]),
        &format!("{}\n", site.url("/")),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // --render's fields need a browser (tests/cli/render/ checks them on real records): set here by hand.
    let mut record = run.records[0].clone();
    record["rendered"] = serde_json::json!(true);
    record["render_ms"] = serde_json::json!(812);
    record["screenshot"] = serde_json::json!("0f.png");
    let record = &record;
    for field in crawlfish::Record::FIELDS {
        assert!(record.get(field).is_some(), "{field} missing from {record}");
    }
    assert!(schema(false).is_valid(record));
    for (field, wrong) in [
        ("status", serde_json::json!("200")),
        ("links", serde_json::json!("x")),
        ("headers", serde_json::json!({"set-cookie": [1]})),
        ("http_version", serde_json::json!("HTTP/2.0")),
        ("checked", serde_json::json!(null)),
        ("missing_fragments", serde_json::json!([1])),
        ("rendered", serde_json::json!("yes")),
        ("render_ms", serde_json::json!(-1)),
        ("hreflang", serde_json::json!([{"lang": "en"}])),
        ("robots", serde_json::json!("noindex")),
        ("content", serde_json::json!(["a"])),
        ("unknown_field", serde_json::json!(1)),
    ] {
        let mut bad = record.clone();
        bad[field] = wrong;
        assert!(!schema(false).is_valid(&bad), "{field} accepted: {bad}");
    }
    let mut missing = record.clone();
    missing.as_object_mut().unwrap().remove("url");
    assert!(!schema(false).is_valid(&missing));
    std::fs::remove_dir_all(&dir).unwrap();
}
