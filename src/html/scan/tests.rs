//! Unit tests of the scanner: regressions found by the differential test, and hand-made cases.

use super::entities::{named_entity, LEGACY_ENTITIES};
use super::*;

fn hrefs(html: &str) -> Vec<String> {
    scan(html, 1000)
        .hrefs
        .into_iter()
        .map(|(h, _)| h.into_owned())
        .collect()
}

#[test]
fn attribute_forms() {
    assert_eq!(
        hrefs(
            r#"<a href="d q">x</a><A HREF='s q'><a href=unq>y<a data-x="<a href='no'>" href=ok><area href=ar/>"#
        ),
        ["d q", "s q", "unq", "ok", "ar/"]
    );
    assert_eq!(hrefs("<a\nclass=x\thref = \"sp\" >"), ["sp"]);
    assert_eq!(hrefs(r#"<a href="first" href="second">"#), ["first"]);
    assert_eq!(hrefs("<abbr href=no><a>none</a><a href>empty"), [""]);
}

#[test]
fn not_markup() {
    let html = r#"<!-- <a href="c1"> --><!--><a href="after-empty-comment"><!doctype html>
        <script>if (a<b) document.write('<a href="s">')</script><STYLE>a[href="st"]{}</STYLE >
        <textarea><a href="ta"></textarea><noscript><a href="ns"></noscript><a href="real">"#;
    assert_eq!(hrefs(html), ["after-empty-comment", "real"]);
    assert_eq!(
        hrefs("<script>never closed <a href='x'>"),
        Vec::<String>::new()
    );
    assert_eq!(hrefs("<plaintext><a href='x'>"), Vec::<String>::new());
    assert_eq!(hrefs("a < b and <3 <a href=ok>"), ["ok"]);
}

#[test]
fn title_base_meta() {
    let s = scan(
        r#"<head><TITLE>Tom &amp; <b>Jerry</b></title><title>second</title><base href="/b/"><base href="/c/">
           <meta content="noindex,NOFOLLOW" name="Robots"></head>"#,
        1000,
    );
    assert_eq!(s.title.as_deref(), Some("Tom & <b>Jerry</b>"));
    assert_eq!(s.base.as_deref(), Some("/b/"));
    assert!(s.meta_nofollow);
    assert!(!scan(r#"<meta name="description" content="nofollow">"#, 10).meta_nofollow);
    assert_eq!(
        scan("<title>abcdef</title>", 3).title.as_deref(),
        Some("abc")
    );
    assert_eq!(
        scan("<title>never closed", 100).title.as_deref(),
        Some("never closed")
    );
}

#[test]
fn rel_nofollow_and_entities() {
    let s = scan(
        r#"<a rel="external NoFollow" href="/x?a=1&amp;b=2&lt;">"#,
        10,
    );
    assert_eq!(s.hrefs, [(Cow::Borrowed("/x?a=1&b=2<"), true)]);
}

/// A bounded, deterministic fuzz: random sequences of tricky fragments never panic.
#[test]
fn random_markup_never_panics() {
    const PIECES: [&str; 20] = [
        "<",
        ">",
        "</",
        "<a",
        " href",
        "=",
        "\"",
        "'",
        "<!--",
        "-->",
        "<script>",
        "</script",
        "<title>",
        "é",
        "☃",
        "&amp;",
        "&",
        "/",
        " ",
        "<base href=",
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..5_000 {
        let mut html = String::new();
        for _ in 0..24 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            html.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
        }
        let _ = scan(&html, 7);
    }
}

// Regression tests: each case below is one the differential test (`differential.rs`) found, shrunk, where
// the scanner disagreed with the WHATWG tokenizer; `differential::explicit_cases_agree` re-checks them all.

/// Cut off by `--max-body`: a tag without its `>` is dropped (eof-in-tag), never half a link.
#[test]
fn tag_cut_off_by_end_of_input_is_dropped() {
    for html in [
        "<a href",
        "<a href=",
        "<A HREF ",
        "<a href/",
        "<a\thref",
        "<area href",
        "<a x=\"\"href=",
        "<a href=\"/docs/pa",
        "<a href='/docs/pa",
        "<a href=/docs/pa",
        "<p>ok</p><a href=\"/docs/pa",
        "<scriptt><a href",
    ] {
        assert_eq!(hrefs(html), Vec::<String>::new(), "{html:?}");
    }
    assert_eq!(hrefs("<a href=/ok><a href=\"/docs/pa"), ["/ok"]);
    assert_eq!(scan("<base href", 10).base, None);
    assert_eq!(scan("<base href=\"/b", 10).base, None);
    for html in [
        "<title",
        "<title ",
        "<title/",
        "<title\n",
        "<title\x0c",
        "<title lang=\"e",
    ] {
        assert_eq!(scan(html, 10).title, None, "{html:?}");
    }
}

/// A complete `<title>` start tag whose text runs to the end keeps that text, as `document.title` would; an
/// end tag cut off before its name is complete is text.
#[test]
fn title_text_at_end_of_input() {
    let title = |html| scan(html, 100).title;
    assert_eq!(
        title("<title>never closed").as_deref(),
        Some("never closed")
    );
    assert_eq!(
        title("<title>ends in </title").as_deref(),
        Some("ends in </title")
    );
    assert_eq!(
        title("<title>ends in </title x='").as_deref(),
        Some("ends in ")
    );
}

#[test]
fn comment_end_bang() {
    assert_eq!(hrefs("<!----!><a href=>"), [""]);
    assert_eq!(hrefs("<!-- x --!><a href=/after>"), ["/after"]);
    // The dashes of `--!>` must be inside the comment: `<!--!>` and `<!---!>` do not close it.
    assert_eq!(hrefs("<!--!><a href=/no>--><a href=/yes>"), ["/yes"]);
    assert_eq!(hrefs("<!---!><a href=/no>--><a href=/yes>"), ["/yes"]);
    assert_eq!(hrefs("<!-- --!-><a href=/no>--><a href=/yes>"), ["/yes"]);
    assert_eq!(hrefs("<!-- <!-- nested --><a href=/yes>"), ["/yes"]);
    assert_eq!(
        hrefs("<!---><a href=/yes><!----><a href=/yes2>"),
        ["/yes", "/yes2"]
    );
}

/// End tags are tokenized with attributes: a quoted `>` does not end them.
#[test]
fn end_tags_have_attributes() {
    assert_eq!(hrefs("</v s='><a href=g>"), Vec::<String>::new());
    assert_eq!(hrefs("<script></script a='><a href>"), Vec::<String>::new());
    assert_eq!(hrefs("</div class='>' <a href=/in><a href=/out>"), ["/out"]);
    assert_eq!(hrefs("</><a href=/a></ x><a href=/b>"), ["/a", "/b"]);
}

#[test]
fn script_escape_states() {
    assert_eq!(
        hrefs("<script><!--<script></script><a href>"),
        Vec::<String>::new()
    );
    assert_eq!(
        hrefs("<script><!--<script </script><a href>--></script><a href=/yes>"),
        ["/yes"]
    );
    // `-->` leaves the escape, so the next `</script>` ends the script.
    assert_eq!(
        hrefs("<script><!--<script>--></script><a href=/yes>"),
        ["/yes"]
    );
    assert_eq!(hrefs("<script><!--></script><a href=/yes>"), ["/yes"]);
    assert_eq!(
        hrefs("<script><!--<scripts></script><a href=/yes>"),
        ["/yes"]
    );
    assert_eq!(
        hrefs("<script><!--\ndocument.write('<script src=x></script>'); <a href=/no>\n--></script><a href=/x>"),
        ["/x"]
    );
}

#[test]
fn character_references_as_the_tokenizer_decodes_them() {
    let title = |html| scan(html, 1000).title;
    assert_eq!(
        title("<title>&not &copy &amp &nbsp &lt</title>").as_deref(),
        Some("¬ © & \u{a0} <")
    );
    assert_eq!(
        title("<title>&notit; &copy2024 &#0 &#8 &#9;x &#128; &#x9d; &#xD800; &#99999999; &bogus; &#x &#</title>")
            .as_deref(),
        Some("¬it; ©2024 \u{fffd} \u{8} \tx € \u{9d} \u{fffd} \u{fffd} &bogus; &#x &#")
    );
    assert_eq!(title("<title>a\0b</title>").as_deref(), Some("a\u{fffd}b"));
    // In attribute values a legacy name followed by `=` or a letter or digit stays as written.
    assert_eq!(hrefs("<a href=&copy>"), ["©"]);
    assert_eq!(
        hrefs("<a href='?a=1&copy=2&amp;b&ampx&notin;&amp'>"),
        ["?a=1&copy=2&b&ampx∉&"]
    );
    assert_eq!(hrefs("<a href=&#128>"), ["€"]);
    assert_eq!(hrefs("<a href=\"/a\0b\">"), ["/a\u{fffd}b"]);
}

/// The first `rel` and meta `name` win, like every attribute.
#[test]
fn first_attribute_wins_for_rel_and_meta() {
    assert_eq!(
        scan("<a rel=x rel=nofollow href=/a>", 10).hrefs,
        [(Cow::Borrowed("/a"), false)]
    );
    assert!(!scan("<meta name=x name=robots content=nofollow>", 10).meta_nofollow);
    assert!(scan("<meta name=robots name=x content=nofollow>", 10).meta_nofollow);
    assert!(!scan("<meta name=robots content=x content=nofollow>", 10).meta_nofollow);
}

/// The legacy names without `;`, checked against the entity table they are looked up in.
#[test]
fn entity_tables_are_sorted_and_consistent() {
    assert!(LEGACY_ENTITIES.is_sorted());
    assert!(html_escape::NAMED_ENTITIES.is_sorted_by(|a, b| a.0 < b.0));
    assert!(LEGACY_ENTITIES.iter().all(|n| named_entity(n).is_some()));
}

#[test]
fn truncated_input_does_not_panic() {
    for html in [
        "<",
        "<a",
        "<a href",
        "<a href=",
        "<a href=\"x",
        "<!--",
        "<!",
        "</",
        "<title",
        "<a href='é",
    ] {
        let _ = scan(html, 10);
    }
    let multibyte = "<title>ééééé</title>";
    assert_eq!(scan(multibyte, 3).title.as_deref(), Some("é"));
}
