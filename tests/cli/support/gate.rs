//! A gate a scripted answer waits at until the test opens it: a run is provably still in flight (its request
//! arrived, its answer has not) for as long as the test needs, with no sleep and no guessed delay.

use std::sync::Arc;

use tokio::sync::watch;

/// Closed until [`Gate::open`]; clones share one state.
#[derive(Clone, Debug)]
pub struct Gate(Arc<watch::Sender<bool>>);

impl Default for Gate {
    fn default() -> Gate {
        Gate(Arc::new(watch::channel(false).0))
    }
}

impl Gate {
    /// Lets every waiting and later answer through.
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    /// Returns once the gate is open.
    pub async fn pass(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}
