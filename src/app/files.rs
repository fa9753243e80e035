//! The run's own files, opened so that a usage error changes none of them: `-o FILE` (or `--state DIR`'s
//! `current.jsonl`), `--since FILE` and `--warc FILE` (with `--warc DIR` naming `--state DIR`, DIR's
//! `current.warc.gz`).
//!
//! Each file is first opened without changing a byte (created when missing) and checked: not another file of the
//! run (same device and inode, through any path or link, also once both are open), writable, and with `--resume`
//! or `--state` crawlfish's own output or a WARC file. Only once every one is open and checked is anything
//! truncated or cut, and a run refused before that removes the files it created. Every regular file written is
//! locked for the run as it is opened ([`crate::output::file::lock`]): a second run writing it is refused (exit 75)
//! before anything is changed. `--warc` is opened (and, when appended to, read to its last whole record) first,
//! before `-o` and before `--state` takes DIR's lock, so a bad `--warc` path leaves both as they were, and
//! `--resume` knows which records have their response in the archive.
//!
//! Must not write records or decide exit codes; [`crate::output`], [`crate::output::resume`], [`crate::warc::writer`] and [`crate::output::state`] own how
//! each file is read and cut.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Result};

use crate::config::Config;
use crate::input::FileId;
use crate::output::file::stdout_meta;
use crate::output::{self, since, state};
use crate::warc::writer as warc_writer;

/// The run's files, open, checked, locked, and ready to be written.
pub(crate) struct Files {
    pub out: output::Output,
    pub since: Option<Arc<since::Since>>,
    pub state: Option<state::State>,
    pub warc: Option<warc_writer::WarcFile>,
    /// The archive's file name, for its `warcinfo` record (`current.warc.gz` with `--warc DIR`).
    pub warc_name: String,
    /// Second handles on the locked files: the run's locks last until these are dropped, after `--state` has
    /// renamed its files (the writer threads close theirs before that).
    pub held: Vec<File>,
}

/// Files this run created, removed unless the run goes ahead ([`Created::keep`]).
#[derive(Default)]
struct Created(Vec<PathBuf>);

impl Created {
    fn add(&mut self, path: Option<&Path>) {
        self.0.extend(path.map(Path::to_owned));
    }

    fn keep(mut self) {
        self.0.clear();
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Opens the output (stdout, `-o FILE` or `--state`'s `current.jsonl`, DIR locked), the earlier run to compare
/// with, and `--warc FILE`; each locked for the run, and truncated or cut only once all are open and checked.
///
/// # Errors
/// A usage error (exit 2), or [`crate::output::file::Busy`] (another run holds DIR or writes one of the files):
/// no file of the run was changed, and those it created are removed.
pub(crate) fn open(cfg: &Config, inputs: &[(FileId, &str)]) -> Result<Files> {
    let mut created = Created::default();
    let mut locked = None;
    match open_checked(cfg, inputs, &mut created, &mut locked) {
        Ok(files) => {
            created.keep();
            Ok(files)
        }
        Err(e) => {
            // The files this run created go first, while DIR is still locked; then DIR's lock file (and DIR),
            // if this run created them.
            drop(created);
            if let Some(state) = locked {
                state.abandon();
            }
            Err(e)
        }
    }
}

/// `locked` holds `--state`'s DIR, locked, until the run goes ahead (then it moves into [`Files`]).
fn open_checked(
    cfg: &Config,
    inputs: &[(FileId, &str)],
    created: &mut Created,
    locked: &mut Option<state::State>,
) -> Result<Files> {
    let others = warc_others(cfg, inputs);
    // With --state, a WARC whose directory does not exist yet may be meant for DIR, which the lock creates when it
    // does not exist either: it is opened once DIR is there. `--warc DIR` (DIR's own archive) is opened there too.
    let state_dir_missing = cfg
        .output
        .state
        .as_ref()
        .is_some_and(|(dir, _)| !dir.exists());
    let early = cfg
        .warc
        .as_ref()
        .map(|w| w.path.as_path())
        .filter(|p| !rotates(cfg, p) && (!state_dir_missing || dir_exists(p)));
    let mut warc = match early {
        Some(path) => Some(open_warc(cfg, path, &others, created)?),
        None => None,
    };
    let (mut out, since) = match &cfg.output.state {
        Some((dir, keep)) => {
            let opened = (&mut warc, &mut *created, &mut *locked);
            open_state(cfg, (dir, *keep), inputs, &others, opened)?
        }
        None => open_plain(cfg, inputs, warc.as_ref())?,
    };
    created.add(out.created.as_deref());
    if let Some(w) = &warc {
        // Also when neither existed before this run (or a link led one to the other): compared as opened.
        if w.id().is_some() && w.id() == out.id {
            bail!(also_output(cfg));
        }
    }
    out.commit()?;
    if let Some(w) = &mut warc {
        w.commit()?;
    }
    let state = locked.take();
    let warc_name = match (&warc, &state) {
        (Some(_), Some(_)) if cfg.warc.as_ref().is_some_and(|w| rotates(cfg, &w.path)) => {
            state::CURRENT_WARC.to_owned()
        }
        _ => cfg.warc.as_ref().map_or_else(String::new, |w| {
            w.path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        }),
    };
    let held = out
        .hold
        .take()
        .into_iter()
        .chain(warc.as_ref().and_then(warc_writer::WarcFile::hold))
        .collect();
    Ok(Files {
        out,
        since,
        state,
        warc,
        warc_name,
        held,
    })
}

type Opened = (output::Output, Option<Arc<since::Since>>);

/// `--state DIR`: DIR locked (into `locked`), `--warc` opened if it waited for DIR, the latest run read,
/// `current.jsonl` opened.
fn open_state(
    cfg: &Config,
    (dir, keep): (&Path, usize),
    inputs: &[(FileId, &str)],
    others: &[(FileId, String)],
    (warc, created, locked): (
        &mut Option<warc_writer::WarcFile>,
        &mut Created,
        &mut Option<state::State>,
    ),
) -> Result<Opened> {
    // Before the lock is taken (or written): a refused run leaves DIR as it was, lock included.
    let current = dir.join(state::CURRENT);
    if let Some((_, name)) = inputs.iter().find(|(f, _)| Some(*f) == id(&current)) {
        bail!(
            "--state {}: its {} is also an input ({name}); refusing to write over the list being read",
            dir.display(),
            state::CURRENT
        );
    }
    let state = locked.insert(state::State::lock(dir, keep)?);
    if let (None, Some(path)) = (&warc, cfg.warc.as_ref().map(|w| &w.path)) {
        *warc = Some(if rotates(cfg, path) {
            // DIR's own archive: appended to (an interrupted run's is resumed), renamed with the records.
            let own = state.with_warc();
            let mut file = warc_writer::open(&own, true, &borrowed(others))?;
            created.add(file.created());
            file.check(true, cfg.warc.as_ref().is_some_and(|w| w.repair))?;
            file
        } else {
            open_warc(cfg, path, others, created)?
        });
    }
    let since = match state.latest()? {
        Some(latest) => since::Since::open_for(&latest, "--state", &select_names(cfg))?
            .with_archive(state::State::archive_of(&latest)),
        None => since::Since::empty(),
    };
    refuse_warc(cfg, warc.as_ref(), &current)?;
    let keep_links = reads_links_back(cfg);
    let out = output::open(
        Some(&current),
        "--state",
        true,
        keep_links,
        inputs,
        warc_end(warc.as_ref()),
    )?;
    Ok((out, Some(Arc::new(since))))
}

/// Whether a resumed run queues the links of written pages again: in crawl mode, and with `--check-links` (which
/// checks them at any depth).
fn reads_links_back(cfg: &Config) -> bool {
    cfg.crawl.depth > 0 || cfg.crawl.check_links.is_some()
}

/// stdout or `-o FILE`, and `--since FILE`.
fn open_plain(
    cfg: &Config,
    inputs: &[(FileId, &str)],
    warc: Option<&warc_writer::WarcFile>,
) -> Result<Opened> {
    let since = match &cfg.output.since {
        Some(path) => {
            if cfg
                .output
                .output
                .as_deref()
                .is_some_and(|o| same_file(o, path))
            {
                bail!(
                    "--since {}: is also the output (-o); write this run to another file",
                    path.display()
                );
            }
            Some(Arc::new(since::Since::open_for(
                path,
                "--since",
                &select_names(cfg),
            )?))
        }
        None => None,
    };
    if let Some(o) = &cfg.output.output {
        refuse_warc(cfg, warc, o)?;
    }
    let out = output::open(
        cfg.output.output.as_deref(),
        "-o",
        cfg.output.resume,
        reads_links_back(cfg),
        inputs,
        warc_end(warc),
    )?;
    Ok((out, since))
}

/// The output may not be the open `--warc` file (through any path or link): refused by identity before the
/// output is locked, which would otherwise meet this run's own lock on the archive.
fn refuse_warc(cfg: &Config, warc: Option<&warc_writer::WarcFile>, output: &Path) -> Result<()> {
    match warc.and_then(warc_writer::WarcFile::id) {
        Some(w) if Some(w) == id(output) => bail!(also_output(cfg)),
        _ => Ok(()),
    }
}

fn also_output(cfg: &Config) -> String {
    format!(
        "--warc {}: is also the output ({}); refusing to write over it",
        cfg.warc
            .as_ref()
            .map_or(Path::new(""), |w| w.path.as_path())
            .display(),
        output_path(cfg).unwrap_or_default().display()
    )
}

/// `--warc DIR` naming `--state DIR` itself: DIR keeps one archive per run, beside its records.
fn rotates(cfg: &Config, warc: &Path) -> bool {
    let Some((dir, _)) = &cfg.output.state else {
        return false;
    };
    match (std::fs::canonicalize(warc), std::fs::canonicalize(dir)) {
        (Ok(a), Ok(b)) => a == b,
        // DIR is not there yet: named alike (`d`, `d/`, `./d`) is the same DIR.
        _ => warc.components().eq(dir.components()),
    }
}

fn borrowed(others: &[(FileId, String)]) -> Vec<(FileId, &str)> {
    others.iter().map(|(f, n)| (*f, n.as_str())).collect()
}

/// `--warc FILE`, opened unchanged (checked against the run's other files, and not one of `--state` DIR's names)
/// and, when appended to, read to its last whole record ([`warc_writer::WarcFile::check`]).
fn open_warc(
    cfg: &Config,
    path: &Path,
    others: &[(FileId, String)],
    created: &mut Created,
) -> Result<warc_writer::WarcFile> {
    if let Some((dir, _)) = &cfg.output.state {
        if state::owns(dir, path) {
            bail!(
                "--warc {}: is one of --state {}'s own files; refusing to write over it",
                path.display(),
                dir.display()
            );
        }
    }
    if output_path(cfg).is_none() && is_stdout(path) {
        bail!(
            "--warc {}: is stdout, which carries the records; give the archive its own file",
            path.display()
        );
    }
    let mut file = warc_writer::open(path, append(cfg), &borrowed(others))?;
    created.add(file.created());
    // Read (never changed) before the output is read: which of its records have a response in the archive
    // depends on where the archive's whole records end.
    let repair = cfg.warc.as_ref().is_some_and(|w| w.repair);
    file.check(append(cfg), repair)?;
    Ok(file)
}

/// Where `--warc`'s whole records end, for `--resume` to fetch again the URLs whose responses are not in it.
fn warc_end(warc: Option<&warc_writer::WarcFile>) -> Option<u64> {
    warc.map(warc_writer::WarcFile::end)
}

/// The files `--warc` may not be, by identity (those that exist now): the inputs, the output, `--since`'s file,
/// and `--state`'s latest run and lock.
fn warc_others(cfg: &Config, inputs: &[(FileId, &str)]) -> Vec<(FileId, String)> {
    let mut others: Vec<(FileId, String)> = inputs
        .iter()
        .map(|(f, name)| (*f, format!("an input ({name})")))
        .collect();
    let mut paths = vec![
        (output_path(cfg), "the output"),
        (cfg.output.since.clone(), "--since"),
    ];
    if let Some((dir, _)) = &cfg.output.state {
        paths.push((Some(dir.join(state::LATEST)), "--state's latest run"));
        paths.push((Some(dir.join(state::LOCK)), "--state's lock"));
    }
    for (p, what) in paths {
        if let Some(p) = p {
            if let Some(f) = id(&p) {
                others.push((f, format!("{what} ({})", p.display())));
            }
        }
    }
    others
}

/// `--warc` is appended to (with `--resume` or `--state`), not replaced.
fn append(cfg: &Config) -> bool {
    cfg.output.resume || cfg.output.state.is_some()
}

/// `-o FILE`, or `--state`'s `current.jsonl`.
fn output_path(cfg: &Config) -> Option<PathBuf> {
    cfg.output.output.clone().or_else(|| {
        cfg.output
            .state
            .as_ref()
            .map(|(dir, _)| dir.join(state::CURRENT))
    })
}

/// Whether `path` names the very object stdout is (`/dev/stdout`, `/proc/self/fd/1`, the file or FIFO stdout
/// was redirected to), whatever its type: device and inode compared.
/// A character device (`/dev/null` for both in a cron line) is not refused: nothing is read back from it.
fn is_stdout(path: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    match (std::fs::metadata(path), stdout_meta()) {
        (Ok(p), Some(o)) => {
            p.dev() == o.dev() && p.ino() == o.ino() && !o.file_type().is_char_device()
        }
        _ => false,
    }
}

/// `--save-cookies FILE` and `--metrics-file FILE` are replaced whole (temp + rename), so neither may be one of
/// the run's other files: an input, `-o`, `--warc`, `--since`, or each other (through any path or link). Checked
/// before anything is opened or written (by [`crate::app::run()`], before `--metrics-file`'s first write).
pub(crate) fn refuse_side_files(cfg: &Config, inputs: &[(FileId, &str)]) -> Result<()> {
    let side = [
        ("--save-cookies", cfg.net.cookies.save.as_deref()),
        ("--metrics-file", cfg.metrics_file.as_deref()),
    ];
    let mut others: Vec<(String, PathBuf)> = Vec::new();
    if let Some(o) = output_path(cfg) {
        others.push(("-o".into(), o));
    }
    if let Some(w) = &cfg.warc {
        others.push(("--warc".into(), w.path.clone()));
    }
    if let Some(s) = &cfg.output.since {
        others.push(("--since".into(), s.clone()));
    }
    for (flag, path) in side.iter().filter_map(|(f, p)| p.map(|p| (*f, p))) {
        let Some(me) = id(path) else { continue };
        if let Some((_, name)) = inputs.iter().find(|(f, _)| *f == me) {
            bail!(
                "{flag} {}: is also an input ({name}); refusing to write over it",
                path.display()
            );
        }
        if let Some((other, _)) = others.iter().find(|(_, o)| id(o) == Some(me)) {
            bail!(
                "{flag} {}: is also {other}'s file; refusing to write over it",
                path.display()
            );
        }
        others.push((flag.into(), path.to_path_buf()));
    }
    Ok(())
}

fn id(path: &Path) -> Option<FileId> {
    std::fs::metadata(path).ok().as_ref().and_then(FileId::of)
}

fn same_file(a: &Path, b: &Path) -> bool {
    id(a).is_some() && id(a) == id(b)
}

/// Whether the directory `path` would be created in exists.
fn dir_exists(path: &Path) -> bool {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.is_dir(),
        _ => true,
    }
}

/// The `--select` names, in flag order (an earlier record's extract is reused only under the same names).
fn select_names(cfg: &Config) -> Vec<&str> {
    cfg.crawl
        .extractors
        .iter()
        .map(|x| x.name.as_str())
        .collect()
}
