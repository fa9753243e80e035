//! The auto rule measured on pages built like what the common tools emit (app shells) and like real static
//! pages (server-rendered apps included): every false positive and false negative is listed on failure.

use super::is_app_shell;

/// App shells, as the tools' production builds emit them (hashes shortened).
const SHELLS: [(&str, &str); 10] = [
    (
        "create-react-app",
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"/><link rel="icon" href="/favicon.ico"/><meta name="viewport" content="width=device-width,initial-scale=1"/><title>React App</title><script defer="defer" src="/static/js/main.8e4a.js"></script><link href="/static/css/main.073c.css" rel="stylesheet"></head><body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div></body></html>"#,
    ),
    (
        "vite-react",
        r#"<!doctype html><html lang="en"><head><meta charset="UTF-8" /><link rel="icon" type="image/svg+xml" href="/vite.svg" /><meta name="viewport" content="width=device-width, initial-scale=1.0" /><title>Vite + React</title><script type="module" crossorigin src="/assets/index-4f2a.js"></script><link rel="stylesheet" crossorigin href="/assets/index-d526.css"></head><body><div id="root"></div></body></html>"#,
    ),
    (
        "vue-cli",
        r#"<!DOCTYPE html><html lang=""><head><meta charset="utf-8"><title>shop</title><script defer="defer" src="/js/chunk-vendors.1f2e.js"></script><script defer="defer" src="/js/app.9a8b.js"></script></head><body><noscript><strong>We're sorry but shop doesn't work properly without JavaScript enabled. Please enable it to continue.</strong></noscript><div id="app"></div></body></html>"#,
    ),
    (
        "angular",
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dashboard</title><base href="/"><link rel="stylesheet" href="styles.ef46.css"></head><body><app-root></app-root><script src="runtime.a1b2.js" type="module"></script><script src="polyfills.c3d4.js" type="module"></script><script src="main.e5f6.js" type="module"></script></body></html>"#,
    ),
    (
        "next-client-only",
        r#"<!DOCTYPE html><html><head><meta charSet="utf-8"/><title></title><script src="/_next/static/chunks/webpack-1a2b.js" defer=""></script><script src="/_next/static/chunks/main-3c4d.js" defer=""></script></head><body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}},"page":"/","query":{},"buildId":"x"}</script></body></html>"#,
    ),
    (
        "nuxt-spa",
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>Nuxt</title><link rel="modulepreload" as="script" crossorigin href="/_nuxt/entry.5e6f.js"><script type="module" src="/_nuxt/entry.5e6f.js" crossorigin></script></head><body><div id="__nuxt"></div><script>window.__NUXT__={config:{}}</script></body></html>"#,
    ),
    (
        "svelte-spa",
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Svelte app</title><link rel="stylesheet" href="/build/bundle.css"><script defer src="/build/bundle.js"></script></head><body></body></html>"#,
    ),
    (
        "ember",
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>Ember</title><meta name="ember/config/environment" content="%7B%22modulePrefix%22%3A%22app%22%7D"><link rel="stylesheet" href="/assets/vendor.css"></head><body><script src="/assets/vendor.js"></script><script src="/assets/app.js"></script></body></html>"#,
    ),
    (
        "react-loading-spinner",
        r#"<html><head><title>Loading…</title></head><body><div id="app" class="app"><div class="spinner"></div></div><p>Loading, please wait.</p><script src="/bundle.js"></script></body></html>"#,
    ),
    (
        "gatsby-shell",
        r#"<!DOCTYPE html><html><head><meta charSet="utf-8"/><title>Blog</title></head><body><div id="___gatsby"></div><script src="/app-1234.js" async=""></script></body></html>"#,
    ),
];

/// Static pages, and server-rendered apps (their HTML already has the content).
fn statics() -> Vec<(&'static str, String)> {
    let para = "<p>The quick brown fox jumps over the lazy dog, again and again, in a paragraph long enough to read.</p>";
    let article = para.repeat(12);
    vec![
        ("plain-article", format!("<html><head><title>Essay</title></head><body><h1>Essay</h1>{article}<a href=/a>a</a></body></html>")),
        ("blog-with-analytics", format!(r#"<html><head><title>Blog</title><script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script></head><body><nav><a href="/">Home</a><a href="/about">About</a><a href="/posts">Posts</a></nav><main>{article}</main></body></html>"#)),
        ("docs-page", format!(r#"<html><head><title>Docs</title><script src="/search.js" defer></script></head><body><aside><a href="/1">1</a><a href="/2">2</a><a href="/3">3</a><a href="/4">4</a></aside><article>{article}</article><noscript>Search needs a browser.</noscript></body></html>"#)),
        ("next-ssr", format!(r#"<!DOCTYPE html><html><head><title>Shop</title><script src="/_next/static/chunks/main.js" defer=""></script></head><body><div id="__next"><header><a href="/">Shop</a></header><main>{article}</main></div><script id="__NEXT_DATA__" type="application/json">{{}}</script></body></html>"#)),
        ("nuxt-ssr", format!(r#"<html><head><title>N</title><script type="module" src="/_nuxt/entry.js"></script></head><body><div id="__nuxt"><div>{article}</div></div></body></html>"#)),
        ("no-script-tiny", "<html><head><title>Hi</title></head><body><p>Hello.</p></body></html>".to_owned()),
        ("404-page", "<html><head><title>Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p><hr><address>Apache Server</address></body></html>".to_owned()),
        ("link-list", format!(r#"<html><head><title>Index</title><script src="/menu.js"></script></head><body>{}</body></html>"#, "<a href=/p>Page</a> ".repeat(30))),
        ("landing-hero", format!(r#"<html><head><title>Product</title><script src="/carousel.js" defer></script><style>.hero{{color:red}}</style></head><body><div id="app"><section class="hero"><h1>Our product</h1>{article}</section></div></body></html>"#)),
        ("wordpress", format!(r#"<html><head><title>WP</title><script src="/wp-includes/js/jquery/jquery.min.js"></script><script src="/wp-content/plugins/x/x.js"></script></head><body class="home"><div id="page"><a href="/">Site</a><a href="/b">b</a><a href="/c">c</a>{article}</div></body></html>"#)),
    ]
}

#[test]
fn every_shell_is_told_from_every_static_page() {
    let negatives: Vec<&str> = SHELLS
        .iter()
        .filter(|(_, html)| !is_app_shell(html))
        .map(|(name, _)| *name)
        .collect();
    let statics = statics();
    let positives: Vec<&str> = statics
        .iter()
        .filter(|(_, html)| is_app_shell(html))
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(
        (negatives.as_slice(), positives.as_slice()),
        (&[][..], &[][..]),
        "false negatives (shells missed), false positives (static pages rendered), of {} shells and {} static",
        SHELLS.len(),
        statics.len()
    );
}

#[test]
fn mount_attributes_must_match_whole() {
    let text = "<p>plenty of visible words on this page</p>".repeat(10);
    let links = "<a href=/x>x</a>".repeat(5);
    let rooted = format!(r#"<div id="rooted"></div>{text}{links}<script src=a.js></script>"#);
    assert!(!is_app_shell(&rooted), "id=rooted is not id=root");
    assert!(is_app_shell(
        r"<div id=root></div><script src=a.js></script>"
    ));
    assert!(
        !is_app_shell(r#"<div id="root"></div>"#),
        "no script: nothing would fill it"
    );
}
