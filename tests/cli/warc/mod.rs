//! `--warc FILE`: what is archived, at which gzip level, when a WARC file is refused, and `--warc DIR` with
//! `--state DIR` (one archive per run).

mod archive;
mod level;
mod refused;
mod rotate;
