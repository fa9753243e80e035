//! Process-wide setup, before the run starts: the open-files limit, and surviving the file-size limit. (The
//! allocator's options are compile-time defaults: `.cargo/config.toml`.)
//!
//! Must not read flags beyond `-c`, nor print: [`crate::cli`] turns an error into the message and exit code.

/// Descriptors needed beyond one a connection: stdio, the output and input files, the runtime's epoll and
/// wakers, DNS, and the sockets of hosts added since the host table's last sweep ([`crate::polite::host`]).
pub(crate) const FD_RESERVE: u64 = 64 + crate::polite::host::SWEEP_GROWTH as u64;

/// The descriptors a run with `concurrency` connections needs: one a connection, a quarter more for idle
/// keep-alive sockets of hosts not yet swept, and [`FD_RESERVE`].
#[must_use]
pub(crate) fn fds_needed(concurrency: usize) -> u64 {
    let c = concurrency as u64;
    c + c / 4 + FD_RESERVE
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. Returns the limit now in force.
///
/// # Errors
/// When it stays below [`fds_needed`]: the message names the limit, the need and the fixes.
pub(crate) fn raise_open_files(concurrency: usize) -> Result<u64, String> {
    let need = fds_needed(concurrency);
    let (soft, hard) = rlimit::Resource::NOFILE
        .get()
        .map_err(|e| format!("cannot read the open-files limit: {e}"))?;
    let limit = if soft < hard {
        rlimit::Resource::NOFILE
            .set(hard, hard)
            .map_or(soft, |()| hard)
    } else {
        soft
    };
    if limit < need {
        return Err(format!(
            "-c {concurrency} needs {need} open files, but the limit is {limit} (hard limit {hard}): \
             lower -c or raise the limit (ulimit -n)"
        ));
    }
    Ok(limit)
}

/// Catches SIGXFSZ for the rest of the process. Its default action kills the process at the first write past
/// `RLIMIT_FSIZE` (`ulimit -f`): exit 153, a torn line or member, no summary. Caught, that write fails with
/// `EFBIG` instead, which the writers handle like a full disk: the file is cut back to whole records, the run
/// ends with exit 2 and the summary. tokio's handler is used because the crate forbids `unsafe` (`sigaction`
/// itself is unsafe in `libc`, `nix` and `rustix`): it replaces the default action for good, even once the
/// returned stream is dropped. Needs a runtime context.
///
/// # Errors
/// The handler cannot be installed (no runtime, or the signal driver failed).
pub(crate) fn catch_file_size_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    signal(SignalKind::from_raw(libc::SIGXFSZ)).map(drop)
}
