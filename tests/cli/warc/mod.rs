//! `--warc FILE`: what is archived, at which gzip level, when a WARC file is refused, `--warc DIR` with
//! `--state DIR` (one archive per run), and how an archive that is not whole is resumed.

mod archive;
mod check;
mod level;
mod refused;
mod revisit;
mod rotate;
