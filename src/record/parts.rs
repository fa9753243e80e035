//! Optional parts of a record's shape: the `--select` object ([`Extract`]) and the `--headers` object
//! ([`Headers`]), each serialised as a JSON object in the order it was built. Must not do I/O.

use reqwest::header::HeaderMap;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// One `<link rel=alternate hreflang=LANG href=URL>` of a page: `{"lang": …, "url": …}`, the URL absolute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Hreflang {
    pub lang: String,
    pub url: String,
}

/// `--select` results in flag order: serialised as a JSON object `{"NAME": ["…", …]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extract(pub Vec<(String, Vec<String>)>);

impl Serialize for Extract {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, values) in &self.0 {
            map.serialize_entry(name, values)?;
        }
        map.end()
    }
}

/// The final response's headers, in the order received: lowercase names (as hyper hands them over), each with
/// its values in order. Serialised as a JSON object: one value → a string, a repeated header → an array.
///
/// Values that are not UTF-8 (obs-text bytes) are decoded lossily (U+FFFD). Size is bounded by hyper before we
/// see a header: HTTP/1 heads hold at most 100 headers within ~408 KiB, HTTP/2 header lists at most 16 KiB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, Vec<String>)>);

impl Headers {
    #[must_use]
    pub fn of(map: &HeaderMap) -> Headers {
        Headers(
            map.keys()
                .map(|name| {
                    let values = map
                        .get_all(name)
                        .iter()
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                        .collect();
                    (name.as_str().to_owned(), values)
                })
                .collect(),
        )
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, values) in &self.0 {
            match values.as_slice() {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, many)?,
            }
        }
        map.end()
    }
}
