//! Sealing a complete run's links journal: its entries are replaced by what they add up to (the count and chain
//! of FILE's records, [`super::Tally`]), 32 bytes in all. A later `--resume` of the complete FILE (cron running the
//! same command again, or more URLs listed) then proves the journal is FILE's and queues nothing from it,
//! instead of finding no journal and records without `links` (`--no-links`), which could not be told from a
//! journal moved away. Written to a temporary file and renamed over the journal: a crash leaves one or the other.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::read::{open, step, Step};
use super::{HEADER, MAGIC, SEALED, VERSION};

/// Seals the journal at `path` (every record of FILE has its entry: the run is complete).
///
/// # Errors
/// The journal cannot be read or is damaged (it is then left as it is), or the sealed one cannot be written.
pub(crate) fn seal(path: &Path) -> Result<()> {
    let name = path.display();
    let (mut r, seal) = open(path)?;
    let mut tally = seal.unwrap_or_default();
    loop {
        match step(&mut r).with_context(|| format!("cannot read the links journal {name}"))? {
            Step::End => break,
            Step::Entry(entry, _) => tally.add(entry.offset, &entry.url),
            Step::Bad(why) => bail!("cannot seal the links journal {name}: it is {why}"),
        }
    }
    let mut bytes = Vec::with_capacity(HEADER + 16);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&SEALED.to_le_bytes());
    bytes.extend_from_slice(&tally.lines.to_le_bytes());
    bytes.extend_from_slice(&tally.chain.to_le_bytes());
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".seal.tmp");
    let tmp = std::path::PathBuf::from(tmp);
    // Made new, never through a link planted at its name (removing a link removes the link, not its target).
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot seal the links journal {name}"));
    }
    Ok(())
}
