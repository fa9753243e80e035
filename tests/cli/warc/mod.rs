//! `--warc FILE`: what is archived, at which gzip level, and when a WARC file is refused.

mod archive;
mod level;
mod refused;
