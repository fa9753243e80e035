//! `shutdown_signal()`: resolves on the first SIGINT, SIGTERM or SIGHUP and says which, so `main` can exit 130,
//! 143 or 129. All three stop the run the same way (complete records flushed).
//!
//! Owns nothing else: what a signal does to the crawl is decided in [`crate`].

/// The signal that interrupted the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C): exit 130.
    Interrupt,
    /// SIGTERM: exit 143.
    Terminate,
    /// The terminal closed or the session ended (cron, ssh): handled like SIGTERM.
    Hangup,
}

/// Registers for SIGINT, SIGTERM and SIGHUP at once and resolves on the first. Registered here, not when the
/// future is first polled: `run` polls the crawl before its `select!` reaches this future, so a signal in
/// between (a record already written, a request already sent) would have killed the process unflushed. Call it
/// inside the runtime. If a handler cannot be installed, that signal keeps its default action.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = Signal> {
    #[cfg(unix)]
    let listeners = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = listeners else {
                return std::future::pending().await;
            };
            tokio::select! {
                _ = int.recv() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
                _ = hup.recv() => Signal::Hangup,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => Signal::Interrupt,
                Err(_) => std::future::pending().await,
            }
        }
    }
}

/// Registers for SIGINT at once (so no SIGINT delivered after this call is missed) and resolves on the next one.
pub(crate) fn next_interrupt() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let listener = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    async move {
        #[cfg(unix)]
        match listener {
            Ok(mut l) => {
                l.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
