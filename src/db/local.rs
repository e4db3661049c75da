//! What this process keeps per database, beside the connections: the remembered settings
//! (`memo`) and, for SQLite, the writer gate. A use case finds its database's through the pooled
//! connection it runs on (`with_conn` sets it for the use case's duration).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::memo::Memo;

/// One database's process-wide state.
#[derive(Default)]
pub struct Local {
    pub memo: Memo,
    pub gate: WriterGate,
    /// How long a writer waits for the gate (the session's lock wait).
    wait: Mutex<Duration>,
}

impl Local {
    /// The state of the database named `target` (one per database per process).
    pub fn of(target: &str, wait: Duration) -> Arc<Local> {
        static ALL: OnceLock<Mutex<HashMap<String, Arc<Local>>>> = OnceLock::new();
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let local = all.entry(target.to_string()).or_default().clone();
        *local.wait.lock().unwrap_or_else(|e| e.into_inner()) = wait;
        local
    }

    pub fn wait(&self) -> Duration {
        *self.wait.lock().unwrap_or_else(|e| e.into_inner())
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Local>>> = const { RefCell::new(None) };
}

/// Runs `f` with `local` as the database state of the use case on this thread.
pub(super) fn with_local<T>(local: Arc<Local>, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<Arc<Local>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.borrow_mut().replace(local));
    let _reset = Reset(previous);
    f()
}

/// The database state of the use case running on this thread, if it runs on a pooled connection.
pub fn current() -> Option<Arc<Local>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// SQLite has one writer. Left to its busy handler, writers poll for the lock with growing
/// sleeps, and one that writes back to back (a bulk import's chunks) can hold it out for ever:
/// the others fail with "database is locked". The gate hands the writer's turn out first come,
/// first served instead; a writer that waits longer than the lock wait gives up (503).
#[derive(Default)]
pub struct WriterGate {
    state: Mutex<GateState>,
    turn: Condvar,
}

#[derive(Default)]
struct GateState {
    held: bool,
    queue: VecDeque<u64>,
    next: u64,
}

thread_local! {
    /// This thread holds a gate (a nested write joins the turn it already has).
    static HOLDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A turn at the gate, given back when dropped.
pub struct Turn<'a> {
    gate: Option<&'a WriterGate>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(gate) = self.gate {
            HOLDING.with(|h| h.set(false));
            gate.lock().held = false;
            gate.turn.notify_all();
        }
    }
}

impl WriterGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this thread's turn, at most `wait`; `None` when it did not come.
    pub fn enter(&self, wait: Duration) -> Option<Turn<'_>> {
        if HOLDING.with(|h| h.get()) {
            return Some(Turn { gate: None });
        }
        let deadline = Instant::now() + wait;
        let mut s = self.lock();
        let me = s.next;
        s.next += 1;
        s.queue.push_back(me);
        loop {
            if !s.held && s.queue.front() == Some(&me) {
                s.queue.pop_front();
                s.held = true;
                HOLDING.with(|h| h.set(true));
                return Some(Turn { gate: Some(self) });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                s.queue.retain(|t| *t != me);
                drop(s);
                self.turn.notify_all();
                return None;
            }
            s = self.turn.wait_timeout(s, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_go_first_come_first_served_and_a_late_one_gives_up() {
        let gate = Arc::new(WriterGate::default());
        let first = gate.enter(Duration::from_millis(10)).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let waiters: Vec<_> = (0..4)
            .map(|i| {
                let (g, order) = (gate.clone(), order.clone());
                let t = std::thread::spawn(move || {
                    let _turn = g.enter(Duration::from_secs(5)).expect("its turn came");
                    order.lock().unwrap().push(i);
                });
                // Queue in this order.
                while gate.lock().queue.len() < i + 1 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                t
            })
            .collect();
        let late = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.enter(Duration::from_millis(30)).is_none())
        };
        assert!(late.join().unwrap(), "a writer past its wait gives up");
        drop(first);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
        assert!(gate.enter(Duration::ZERO).is_some(), "free again");
    }
}
