//! Generators of markup for the scanner's differential test (`differential.rs`): random soup of tricky
//! fragments, and pages shaped like real ones, with every link source and indexing hint the scanner reads.

const SOUP: &[&str] = &[
    "<",
    ">",
    "</",
    "<a",
    "<A",
    "<area",
    "<base",
    "<meta",
    " href",
    " HREF",
    " rel",
    "=",
    "\"",
    "'",
    "nofollow",
    "robots",
    " name",
    " content",
    "<!--",
    "-->",
    "--!>",
    "--",
    "-",
    "!",
    "<!-->",
    "<!--->",
    "<!",
    "<!DOCTYPE html>",
    "<?x ?>",
    "<script>",
    "</script>",
    "</script",
    "<SCRIPT>",
    "<!--<script>",
    "<style>",
    "</style>",
    "<title>",
    "</title>",
    "</TITLE ",
    "<textarea>",
    "</textarea>",
    "<noscript>",
    "</noscript>",
    "<xmp>",
    "<iframe>",
    "<noframes>",
    "</noframes>",
    "<noembed>",
    "<plaintext>",
    "<svg>",
    "<![CDATA[",
    "]]>",
    "</p x='>'>",
    "é",
    "☃",
    "\u{a0}",
    "\u{2003}",
    "&amp;",
    "&amp",
    "&",
    "&#x26;",
    "&#38",
    "&#128;",
    "&#x9d;",
    "&#0;",
    "&#xD800;",
    "&#99999999;",
    "&notit;",
    "&copy=",
    "&copy",
    "&nbsp",
    "&lt;",
    "&#",
    "&#x",
    "&bogus;",
    "/",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\x0c",
    "\0",
    "x",
    "/p?a=1",
    "/docs/pa",
];

pub(super) fn soup(rng: &mut fastrand::Rng) -> String {
    let n = rng.usize(1..40);
    (0..n).map(|_| SOUP[rng.usize(..SOUP.len())]).collect()
}

fn pick<'a>(rng: &mut fastrand::Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.usize(..xs.len())]
}

fn url(rng: &mut fastrand::Rng) -> String {
    let mut u = String::from(pick(
        rng,
        &[
            "/docs/page",
            "page.html",
            "../up/",
            "https://other.test/x",
            "//cdn.test/a",
            "",
            "javascript:void(0)",
            "#top",
        ],
    ));
    for _ in 0..rng.usize(0..3) {
        u.push_str(pick(
            rng,
            &[
                "?q=1&amp;r=2",
                "?a=1&b=2",
                "&copy=3",
                "&lang",
                "&copy",
                "#frag",
                "\u{a0}",
                "é",
                "&#x2F;x",
                "%20",
                " sp ",
                "&quot;",
                "&#128;",
                "\n",
                "&nbsp;",
                "&notin",
                "&amp",
            ],
        ));
    }
    u
}

fn quoted(rng: &mut fastrand::Rng, v: &str) -> String {
    match rng.u8(..4) {
        0 => format!("'{}'", v.replace('\'', "&#39;")),
        1 if !v.is_empty()
            && !v.contains(|c: char| c.is_ascii_whitespace() || "\"'=<>`".contains(c)) =>
        {
            v.to_owned()
        }
        _ => format!("\"{}\"", v.replace('"', "&quot;")),
    }
}

fn link(rng: &mut fastrand::Rng) -> String {
    let href = url(rng);
    let href = quoted(rng, &href);
    let tag = pick(rng, &["a", "A", "area", "a", "a"]);
    let sp = pick(rng, &[" ", "\n", "\t", " \r\n ", "  "]);
    match rng.u8(..9) {
        0 => format!("<{tag}{sp}href={href}>text</{tag}>"),
        1 => format!("<{tag} class=\"c\"{sp}HREF = {href} rel={}>x</a>", {
            let rel = pick(rng, &["nofollow", "ugc NoFollow", "me"]);
            quoted(rng, rel)
        }),
        2 => format!("<{tag} href={href} href=\"/second\">dup</a>"),
        3 => format!("<{tag} data-x=\"<a href='/no'>\" href={href}/>"),
        4 => format!("<{tag}{sp}href{sp}={sp}{href}{sp}>x</a >"),
        5 => format!("<{tag} href={href}title=x>x</a>"),
        6 => format!("<{tag} href={href}>"),
        _ => other_link(rng, &href, sp),
    }
}

/// The link sources beyond `a`/`area`: frames, refreshes, `link rel=next|prev`, and the head's indexing hints.
fn other_link(rng: &mut fastrand::Rng, href: &str, sp: &str) -> String {
    const RELS: [&str; 7] = [
        "next",
        "PREV",
        "next nofollow",
        "canonical",
        "alternate",
        "stylesheet",
        "prev canonical",
    ];
    const REFRESH: [&str; 6] = ["0; url=", "5;URL=", "3, ", "0;url='", "x; url=", "0 url="];
    const NAMES: [&str; 4] = ["description", "Robots", "crawlfish", "other"];
    const ROBOTS: [&str; 3] = ["noindex", "NoFollow, noarchive", "none"];
    let rel = pick(rng, &RELS);
    let rel = quoted(rng, rel);
    let lang = pick(rng, &["en", "de-AT", "x-default", "", "&amp;"]);
    let lang = quoted(rng, lang);
    let refresh = format!("{}{}", pick(rng, &REFRESH), href.trim_matches(['"', '\'']));
    let refresh = quoted(rng, &refresh);
    let name = pick(rng, &NAMES);
    let name = quoted(rng, name);
    let robots = pick(rng, &ROBOTS);
    let robots = quoted(rng, robots);
    match rng.u8(..9) {
        0 => format!("<iframe{sp}src={href}><a href=/in-iframe></iframe>"),
        1 => format!("<FRAME src={href} src=/second>"),
        2 => format!("<link rel={rel} href={href}>"),
        3 => format!("<link href={href}{sp}hreflang={lang} rel={rel}>"),
        4 => format!("<meta http-equiv=Refresh content={refresh}>"),
        5 => format!("<meta content={href} name={name}>"),
        6 => format!("<html lang={lang}>"),
        7 => format!("<iframe src={href}>"),
        _ => format!("<meta name=crawlfish content={robots}>"),
    }
}

fn title(rng: &mut fastrand::Rng) -> String {
    pick(
        rng,
        &[
            "<title>Hello &amp; World</title>",
            "<TITLE>\u{a0}Spaced\u{a0} \t title\n</TITLE>",
            "<title>a &lt;b&gt; &notit; &nbsp x &copy2024</title >",
            "<title>\r\n  Line\r\n  two \x0c</title>",
            "<title>x</title foo=\">\">",
            "<title>x</title foo='>' <a href=/in-title-end-tag>",
            "<title>no end tag",
            "<title>ends in </title",
            "<title lang=en>\u{2003}em\u{2003}space </title>",
            "<title><!-- not a comment --> <a href=/t></title>",
            "<title/>self closing</title>",
        ],
    )
    .to_owned()
}

fn block(rng: &mut fastrand::Rng) -> String {
    match rng.u8(..16) {
        0..=5 => format!("<p class=x>lorem {} ipsum</p>\n", link(rng)),
        6 => "<!-- comment <a href=\"/in-comment\"> --><a href=/after-comment>".into(),
        7 => "<!-- bang --!><a href=/after-bang>".into(),
        8 => format!("<!--><a href=/after-empty><!--->{}", link(rng)),
        9 => format!(
            "<script>document.write('<a href=\"/s\">')</script a='>' <a href=/in-end-tag>{}",
            link(rng)
        ),
        10 => "<script><!--\ndocument.write('<script src=x></script>'); <a href=/hidden>\n--></script><a href=/x>"
            .into(),
        11 => "<SCRIPT type=\"text/javascript\">var s='</scr'+'ipt>'; if (a<b && c>d) {}</SCRIPT ><a href=/y>".into(),
        12 => format!("<noscript>{}</noscript><textarea>{}</textarea>", link(rng), link(rng)),
        13 => format!("<style>a[href=\"/st\"]{{}}</style><iframe>{}</iframe>", link(rng)),
        14 => format!("</div class='>' <a href=\"/in-end-tag\">{}", link(rng)),
        _ => format!("<![CDATA[ <a href=/cdata> ]]>{}<?php echo 1 ?>", link(rng)),
    }
}

pub(super) fn page(rng: &mut fastrand::Rng) -> String {
    let mut s = String::new();
    if rng.bool() {
        s.push_str("<!DOCTYPE html>\n");
    }
    s.push_str("<html><head><meta charset=\"utf-8\">");
    if rng.u8(..4) != 0 {
        s.push_str(&title(rng));
    }
    if rng.u8(..4) == 0 {
        let href = url(rng);
        let href = quoted(rng, &href);
        s.push_str("<base href=");
        s.push_str(&href);
        s.push('>');
    }
    if rng.u8(..4) == 0 {
        s.push_str(pick(
            rng,
            &[
                "<meta name=\"robots\" content=\"noindex, nofollow\">",
                "<META CONTENT=none NAME=Robots>",
                "<meta name=robots name=x content=nofollow>",
                "<meta name=description content=nofollow>",
            ],
        ));
    }
    s.push_str("</head><body>\n");
    for _ in 0..rng.usize(1..12) {
        s.push_str(&block(rng));
    }
    s.push_str("</body></html>\n");
    s
}

/// A prefix of `s` cut at a random character boundary.
pub(super) fn cut_off(rng: &mut fastrand::Rng, s: &str) -> String {
    let mut at = rng.usize(..=s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s[..at].to_owned()
}
