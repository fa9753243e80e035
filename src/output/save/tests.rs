use super::*;

fn opts(dir: &Path) -> SaveOptions {
    SaveOptions {
        dir: dir.to_path_buf(),
        content_only: false,
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("crawlfish-save-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn writes_body_and_content_beside_it() {
    let d = tmp("plain");
    let url = Url::parse("http://h.test:8080/a/b.html?x=1").unwrap();
    let rel = body(&opts(&d), &url, b"<p>hi").unwrap();
    assert!(
        rel.starts_with("h.test_8080/a/b~")
            && rel.rsplit_once('.').is_some_and(|(_, ext)| ext == "html"),
        "{rel}"
    );
    assert_eq!(std::fs::read(d.join(&rel)).unwrap(), b"<p>hi");
    let md = content(&opts(&d), &url, "# hi", "md").unwrap();
    assert_eq!(md, format!("{rel}.md"));
    assert_eq!(std::fs::read_to_string(d.join(&md)).unwrap(), "# hi");
    // Written again: replaced whole, and no temporary file is left behind.
    body(&opts(&d), &url, b"new").unwrap();
    assert_eq!(std::fs::read(d.join(&rel)).unwrap(), b"new");
    let names: Vec<_> = std::fs::read_dir(d.join("h.test_8080/a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[cfg(unix)]
#[test]
fn symlinks_in_dir_are_not_followed() {
    let d = tmp("link");
    let outside = tmp("outside");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, d.join("h.test")).unwrap();
    let url = Url::parse("http://h.test/x").unwrap();
    assert!(body(&opts(&d), &url, b"no").is_err());
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    // A symlink at the file's own name is replaced, not written through.
    std::fs::remove_file(d.join("h.test")).unwrap();
    std::fs::create_dir(d.join("h.test")).unwrap();
    let target = outside.join("victim");
    std::fs::write(&target, b"keep").unwrap();
    std::os::unix::fs::symlink(&target, d.join("h.test/x")).unwrap();
    body(&opts(&d), &url, b"saved").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    assert_eq!(std::fs::read(d.join("h.test/x")).unwrap(), b"saved");
    std::fs::remove_dir_all(&d).unwrap();
    std::fs::remove_dir_all(&outside).unwrap();
}
