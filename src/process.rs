//! Process-wide setup, before the runtime starts: the allocator's options and the open-files limit.
//!
//! Must not read flags beyond `-c`, nor print: `main.rs` turns an error into the message and exit code.

use std::os::unix::process::CommandExt as _;

/// mimalloc's options, set for the program (the user's own `MIMALLOC_*` values win). mimalloc reads them once,
/// when the process loads, before `main`; so, when one is missing, it is set and the program executes itself
/// again (same pid, arguments and descriptors, one exec: about a millisecond). Without them a link-heavy crawl
/// kept freed memory: W2H peaked at 83–107 MB with the defaults, 42–45 MB with these, at the same speed.
/// `PURGE_DELAY=0` returns freed pages to the OS at once instead of a second later; `ARENA_EAGER_COMMIT=0`
/// commits arena memory as it is used instead of whole arenas up front.
pub const ALLOCATOR_OPTIONS: [(&str, &str); 2] = [
    ("MIMALLOC_PURGE_DELAY", "0"),
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
];

/// Descriptors needed beyond one a connection: stdio, the output and input files, the runtime's epoll and
/// wakers, DNS, and the sockets of hosts added since the host table's last sweep (`host.rs`).
pub const FD_RESERVE: u64 = 64 + crate::host::SWEEP_GROWTH as u64;

/// Sets [`ALLOCATOR_OPTIONS`] and re-executes the program when one was missing. Returns only when nothing was
/// missing, or the exec failed (then the run goes on with the defaults).
pub fn configure_allocator() {
    let missing: Vec<_> = ALLOCATOR_OPTIONS
        .iter()
        .filter(|(k, _)| std::env::var_os(k).is_none())
        .collect();
    if missing.is_empty() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    for (k, v) in missing {
        std::env::set_var(k, v);
    }
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    // Only returns on failure.
    let _ = cmd.args(args).exec();
}

/// The descriptors a run with `concurrency` connections needs: one a connection, a quarter more for idle
/// keep-alive sockets of hosts not yet swept, and [`FD_RESERVE`].
#[must_use]
pub fn fds_needed(concurrency: usize) -> u64 {
    let c = concurrency as u64;
    c + c / 4 + FD_RESERVE
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. Returns the limit now in force.
///
/// # Errors
/// When it stays below [`fds_needed`]: the message names the limit, the need and the fixes.
pub fn raise_open_files(concurrency: usize) -> Result<u64, String> {
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
