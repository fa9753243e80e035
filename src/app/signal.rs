//! `shutdown_signal()`: resolves on the first SIGINT, SIGTERM or SIGHUP and says which, so `main` can exit 130,
//! 143 or 129. All three stop the run the same way (complete records flushed).
//!
//! `catch_early()` holds them from the first line of `main` until then.
//!
//! Owns nothing else: what a signal does to the crawl is decided in [`crate`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// SIGINT, SIGTERM and SIGHUP caught from the first line of `main` ([`catch_early`]), before the runtime exists
/// to listen: building it (its worker threads) and reading the flags took 4-12 ms, up to 38 ms under load, in
/// which a signal killed the process with no exit code (an attack run: 12 of 30 SIGINTs sent once the worker
/// threads existed). A flag only records the signal; [`shutdown_signal`] reads it once its listeners are in.
#[derive(Debug, Default)]
pub(crate) struct Early {
    /// SIGINT, SIGTERM, SIGHUP, in [`Early::SIGNALS`]' order.
    flags: [Arc<AtomicBool>; 3],
}

impl Early {
    const SIGNALS: [Signal; 3] = [Signal::Interrupt, Signal::Terminate, Signal::Hangup];

    /// The first signal caught so far (in the order above), if any.
    fn caught(&self) -> Option<Signal> {
        Early::SIGNALS
            .into_iter()
            .zip(&self.flags)
            .find_map(|(sig, flag)| flag.load(Ordering::SeqCst).then_some(sig))
    }
}

/// Catches SIGINT, SIGTERM and SIGHUP into flags, for the time before [`shutdown_signal`] listens (see [`Early`]).
/// A signal whose flag cannot be registered keeps its default action until then.
pub(crate) fn catch_early() -> Early {
    let early = Early::default();
    #[cfg(unix)]
    {
        use nix::sys::signal::{SigSet, Signal as Sig};
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        // Blocked while the handlers go in (only this thread exists yet, so the whole process waits): the
        // registry installs its handler before it publishes the action, and a signal in between was swallowed,
        // neither recorded nor fatal (the attack run: 2 SIGINTs in ~220 sent at start-up, the run then went on
        // to exit 0). Unblocked, a signal held meanwhile reaches the complete handler.
        let mut held = SigSet::empty();
        for sig in [Sig::SIGINT, Sig::SIGTERM, Sig::SIGHUP] {
            held.add(sig);
        }
        let blocked = held.thread_block().is_ok();
        for (sig, flag) in [SIGINT, SIGTERM, SIGHUP].into_iter().zip(&early.flags) {
            let _ = signal_hook::flag::register(sig, flag.clone());
        }
        if blocked {
            let _ = held.thread_unblock();
        }
    }
    early
}

/// Registers for SIGINT, SIGTERM and SIGHUP at once and resolves on the first, or at once on one `early` caught
/// before. Registered here, not when the future is first polled: `run` polls the crawl before its `select!`
/// reaches this future, so a signal in between (a record already written, a request already sent) would have
/// killed the process unflushed. Call it inside the runtime. If a handler cannot be installed, that signal keeps
/// its default action (or its early flag).
pub(crate) fn shutdown_signal(early: &Early) -> impl std::future::Future<Output = Signal> {
    #[cfg(unix)]
    let listeners = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        )
    };
    // Read after the listeners are in: a signal from now on reaches them.
    let before = early.caught();
    async move {
        if let Some(sig) = before {
            return sig;
        }
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
