//! Unit tests of [`crate::record`]: field order, serialisation, error classification.

use super::*;

#[test]
fn kinds_serialise_snake_case() {
    for kind in ErrorKind::ALL {
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind.as_str()));
    }
}

#[test]
fn record_fields_in_contract_order() {
    let r = Record::failed("x", 0, None, ErrorKind::InvalidUrl, "bad".into());
    let json = serde_json::to_string(&r).unwrap();
    // The optional fields are absent here.
    let optional = [
        "extract",
        "change",
        "headers",
        "warc_offset",
        "checked",
        "missing_fragments",
        "rendered",
        "render_ms",
        "screenshot",
        "saved",
        "content",
    ];
    let order = Record::FIELDS.iter().filter(|f| !optional.contains(f));
    let mut last = 0;
    for key in order {
        let at = json.find(&format!("\"{key}\":")).unwrap();
        assert!(at >= last, "{key} out of order in {json}");
        last = at;
    }
    assert!(!json.contains("extract") && !json.contains("change") && !json.contains("headers"));
    assert!(!json.contains("warc") && !json.contains("checked") && !json.contains("fragments"));
    assert!(!json.contains("saved") && !json.contains("\"content\""));
    let mut r = r;
    r.change = Some(Change::New);
    r.warc_offset = Some(Some(7));
    r.checked = Some(true);
    r.missing_fragments = Some(vec!["a".into()]);
    r.saved = Some("h/index.html".into());
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        json.ends_with(
            r#""change":"new","ip":null,"http_version":null,"warc_offset":7,"meta_nofollow":false,"checked":true,"missing_fragments":["a"],"canonical":null,"robots":[],"lang":null,"description":null,"hreflang":[],"duplicate_of":null,"saved":"h/index.html"}"#
        ),
        "{json}"
    );
    r.content = Some(None);
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        json.ends_with(r#""duplicate_of":null,"saved":"h/index.html","content":null}"#),
        "{json}"
    );
}

#[test]
fn extract_keeps_flag_order() {
    let e = Extract(vec![("b".into(), vec!["1".into()]), ("a".into(), vec![])]);
    assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"b":["1"],"a":[]}"#);
}

#[test]
fn cut_respects_char_boundaries() {
    assert_eq!(cut("héllo", 2), "hé");
    assert_eq!(cut("hi", 10), "hi");
}

#[test]
fn failure_rule() {
    let mut r = Record::failed("x", 0, None, ErrorKind::Dns, String::new());
    assert!(r.is_failure());
    r.error = None;
    r.status = Some(404);
    assert!(r.is_failure());
    r.status = Some(301);
    assert!(!r.is_failure());
    r.status = Some(304);
    assert!(!r.is_failure(), "a 304 answers a conditional request");
    let robots = Record::failed("x", 0, None, ErrorKind::RobotsDisallowed, String::new());
    assert!(!robots.is_failure(), "obeying robots.txt is not a failure");
}

/// How the test server ends a connection it accepted.
#[derive(Clone, Copy, Debug)]
enum HangUp {
    /// Read the `ClientHello` (or request), then close: the client reads EOF.
    Close,
    /// Read it, then reset (`SO_LINGER` 0).
    Reset,
}

/// A loopback server that hangs up on every connection after reading what the client sent first.
async fn hanging_up(how: HangUp) -> std::net::SocketAddr {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0; 4096];
            let _ = stream.read(&mut buf).await;
            if let HangUp::Reset = how {
                // Deprecated because a lingering close can block; with a zero linger it resets at once.
                #[allow(deprecated)]
                stream.set_linger(Some(Duration::ZERO)).unwrap();
            }
            drop(stream);
        }
    });
    addr
}

async fn kind_of(url: &str) -> ErrorKind {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = client.get(url).send().await.unwrap_err();
    let kind = classify(&err);
    eprintln!("{url}: {kind}: {err:?}");
    kind
}

#[tokio::test]
async fn tls_handshake_eof_and_reset_are_tls() {
    for how in [HangUp::Close, HangUp::Reset] {
        let addr = hanging_up(how).await;
        assert_eq!(
            kind_of(&format!("https://{addr}/")).await,
            ErrorKind::Tls,
            "{how:?}"
        );
    }
}

#[tokio::test]
async fn plain_http_hang_ups_and_refused_ports_stay_connect() {
    for how in [HangUp::Close, HangUp::Reset] {
        let addr = hanging_up(how).await;
        assert_eq!(
            kind_of(&format!("http://{addr}/")).await,
            ErrorKind::Connect,
            "{how:?}"
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = listener.local_addr().unwrap();
    drop(listener);
    for scheme in ["http", "https"] {
        assert_eq!(
            kind_of(&format!("{scheme}://{refused}/")).await,
            ErrorKind::Connect,
            "{scheme}"
        );
    }
}
