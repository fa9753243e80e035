//! The record contract: one record per input line, exit codes, error kinds, metadata and fields, and README.md.

mod contract;
mod errors;
mod meta;
mod readme;
