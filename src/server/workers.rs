//! Wake-ups for the background workers of one app (bulk imports): a request that queues work
//! wakes its worker at once instead of waiting for the next poll; dropping the app's state
//! stops its workers (tests start many apps in one process).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct Signal {
    woken: Mutex<bool>,
    cv: Condvar,
    stopped: AtomicBool,
}

impl Signal {
    pub fn wake(&self) {
        *self.woken.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }

    /// Waits for a wake-up or `timeout`; `false` once the app is gone (the worker should end).
    pub fn wait(&self, timeout: Duration) -> bool {
        let guard = self.woken.lock().unwrap_or_else(|e| e.into_inner());
        let (mut woken, _) = self
            .cv
            .wait_timeout_while(guard, timeout, |w| !*w && !self.stopped.load(Ordering::Relaxed))
            .unwrap_or_else(|e| e.into_inner());
        *woken = false;
        !self.stopped.load(Ordering::Relaxed)
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.cv.notify_all();
    }
}

/// The signals of this app's workers.
#[derive(Default)]
pub struct Workers {
    pub imports: Arc<Signal>,
    pub webhooks: Arc<Signal>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.imports.stop();
        self.webhooks.stop();
    }
}
