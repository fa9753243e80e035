//! The command line as the `warcinfo` record shows it: the values of `-H`, the userinfo of URLs given as
//! arguments and the credentials of `--proxy` redacted, in the separate and the joined forms (`-H V`, `-HV`,
//! `--header=V`, `--proxy=U`, `-qkH V`). Computed here, where the flags are known, and carried in the config,
//! so the archive writer needs nothing of the command line.

use url::Url;

/// What a redacted value is replaced with (as in request records).
const REDACTION: &str = crate::warc::REDACTION;

/// `args` (the program name first) as one shell-quoted line with every secret redacted.
#[must_use]
pub(crate) fn command_line(args: &[String]) -> String {
    let header = |v: &str| format!("{}: {REDACTION}", v.split(':').next().unwrap_or_default());
    let mut shown = Vec::with_capacity(args.len());
    let mut next: Option<&str> = None;
    // The short flags that take a value: in a cluster, the first of them takes the rest.
    let takes_value: Vec<char> = crate::cli::command::command()
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .filter_map(clap::Arg::get_short)
        .collect();
    for a in args {
        let a = match next.take() {
            Some("-H") => header(a),
            Some(_) => crate::net::proxy::mask_raw(a),
            None if a == "-H" || a == "--header" => {
                next = Some("-H");
                a.clone()
            }
            None if a == "--proxy" => {
                next = Some("--proxy");
                a.clone()
            }
            None => {
                if let Some(v) = a.strip_prefix("--header=") {
                    format!("--header={}", header(v))
                } else if let Some((flags, value)) = short_cluster_header(a, &takes_value) {
                    // `-HV`, `-qkHV`, or `-qkH V` (the value is the next argument).
                    if let Some(v) = value {
                        format!("{flags}{}", header(v))
                    } else {
                        next = Some("-H");
                        a.clone()
                    }
                } else if let Some(v) = a.strip_prefix("--proxy=") {
                    format!("--proxy={}", crate::net::proxy::mask_raw(v))
                } else {
                    match Url::parse(a) {
                        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
                            let _ = u.set_username("");
                            let _ = u.set_password(None);
                            u.to_string()
                        }
                        _ => a.clone(),
                    }
                }
            }
        };
        shown.push(if a.contains([' ', '\'', '"']) {
            format!("'{}'", a.replace('\'', "'\\''"))
        } else {
            a
        });
    }
    shown.join(" ")
}

/// A cluster of short flags that ends in `-H` (`-H…`, `-qkH…`): the part up to and including `H`, and the
/// header value joined to it (`None`: the value is the next argument). `None` when `H` is not reached as a flag,
/// e.g. when an earlier flag of the cluster takes the rest as its value (`-oH` is `-o H`).
fn short_cluster_header<'a>(
    arg: &'a str,
    takes_value: &[char],
) -> Option<(&'a str, Option<&'a str>)> {
    let cluster = arg.strip_prefix('-').filter(|c| !c.starts_with('-'))?;
    for (i, c) in cluster.char_indices() {
        if !takes_value.contains(&c) {
            continue;
        }
        if c != 'H' {
            return None;
        }
        let split = 1 + i + c.len_utf8();
        let rest = &arg[split..];
        return Some((&arg[..split], (!rest.is_empty()).then_some(rest)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warcinfo_redacts_header_values() {
        let args = [
            "crawlfish",
            "-H",
            "Authorization: Bearer x",
            "http://u:p@h/",
        ]
        .map(String::from);
        let text = String::from_utf8(crate::warc::warcinfo("f", &command_line(&args), "ua", true))
            .unwrap();
        assert!(!text.contains("Bearer") && !text.contains("u:p@"), "{text}");
        assert!(text.contains("-H 'Authorization: (redacted by crawlfish)' http://h/"));
        assert!(text.starts_with("WARC/1.1\r\nWARC-Type: warcinfo\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    /// Found by the third attack run: `-H` inside a cluster of short flags (`-qkH V`, `-qHV`) kept its value.
    #[test]
    fn warcinfo_redacts_headers_in_short_flag_clusters() {
        let args = [
            "crawlfish",
            "-qkH",
            "Authorization: Bearer y1",
            "-qHX-Api-Key:y2",
            "-o",
            "-H",
            "-d2",
        ]
        .map(String::from);
        let text = String::from_utf8(crate::warc::warcinfo("f", &command_line(&args), "ua", true))
            .unwrap();
        for secret in ["y1", "y2"] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert!(
            text.contains("-qkH 'Authorization: (redacted by crawlfish)'"),
            "{text}"
        );
        assert!(
            text.contains("'-qHX-Api-Key: (redacted by crawlfish)'"),
            "{text}"
        );
        let takes_value = ['o', 'c', 'r', 'd', 'H'];
        assert_eq!(
            short_cluster_header("-oH", &takes_value),
            None,
            "-oH is -o H"
        );
        assert_eq!(short_cluster_header("-d2", &takes_value), None);
        assert_eq!(
            short_cluster_header("-qH", &takes_value),
            Some(("-qH", None))
        );
    }

    /// Found by the attack run of `--proxy`: joined forms and scheme-less proxy values kept their secrets.

    #[test]
    fn warcinfo_redacts_joined_forms_and_proxy_credentials() {
        let args = [
            "crawlfish",
            "--header=Authorization: Bearer x1",
            "-HCookie: x2",
            "--proxy",
            "u:x3@proxy.test:3128",
            "--proxy=socks5h://u:x4@proxy.test",
            "--proxy",
            "http://proxy.test:3128",
        ]
        .map(String::from);
        let text = String::from_utf8(crate::warc::warcinfo("f", &command_line(&args), "ua", true))
            .unwrap();
        for secret in ["x1", "x2", "x3", "x4"] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert!(
            text.contains(
                "command: crawlfish '--header=Authorization: (redacted by crawlfish)' \
             '-HCookie: (redacted by crawlfish)' --proxy ***@proxy.test:3128 \
             --proxy=socks5h://***@proxy.test --proxy http://proxy.test:3128\r\n"
            ),
            "{text}"
        );
    }
}
