//! README.md is part of the contract: its `--help` block, error-kind table and exit codes must match the binary.

use crawlfish::ErrorKind;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The fenced block that follows `marker` in README.
fn block_after(text: &str, marker: &str) -> String {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("README has no {marker:?}"));
    let rest = &text[at..];
    let start = rest.find("```text\n").unwrap() + "```text\n".len();
    let end = rest[start..].find("```").unwrap();
    rest[start..start + end].to_owned()
}

#[test]
fn help_text_in_readme_matches_the_binary() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crawlfish"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let documented = block_after(&readme(), "<!-- help -->");
    assert_eq!(
        documented.trim_end(),
        help.trim_end(),
        "README's --help block is stale: paste the output of `crawlfish --help`"
    );
}

#[test]
fn every_error_kind_is_documented() {
    let text = readme();
    for kind in ErrorKind::ALL {
        assert!(
            text.contains(&format!("| `{}` |", kind.as_str())),
            "README lacks kind {kind}"
        );
    }
    for code in [
        "| 0 |", "| 1 |", "| 2 |", "| 75 |", "| 129 |", "| 130 |", "| 143 |",
    ] {
        assert!(text.contains(code), "README lacks exit code row {code}");
    }
}

#[test]
fn record_schema_in_readme_lists_every_field_in_order() {
    let text = readme();
    let schema = block_after(&text, "<!-- schema -->");
    let fields = crawlfish::Record::FIELDS;
    let mut last = 0;
    for f in fields {
        let at = schema
            .find(&format!("\"{f}\""))
            .unwrap_or_else(|| panic!("schema lacks {f}"));
        assert!(at >= last, "{f} out of order in README schema");
        last = at;
    }
}
