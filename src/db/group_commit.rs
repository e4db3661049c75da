//! Group commit: small writes that must be durable before an answer is sent but need not share
//! the use case's transaction (the audit row of an unmasked read) queue here, and the writes of
//! every request that arrived meanwhile share one transaction and one commit (one fsync).
//!
//! A read then costs a read-only transaction plus a wait for the next shared commit, instead of a
//! write transaction of its own: on SQLite the single writer lock is taken once per batch, not
//! once per read; on PostgreSQL the pooled connection is back in the pool before the commit.
//!
//! Guarantees: `commit` answers `Ok` only after the transaction holding the write committed; any
//! failure answers `Err` (503 for an unavailable database), so the caller sends no answer that
//! lacks its write. A batch that fails for another reason is retried write by write, so one bad
//! write cannot fail the others. The queue is bounded: past it, `commit` answers 503 at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use super::{with_conn, write_tx, DbConnection, Pool};
use crate::platform::error::ApiError;

/// One queued write; run inside the batch's transaction (and again alone if the batch failed).
pub type Write = Box<dyn Fn(&mut DbConnection) -> Result<(), ApiError> + Send>;

/// Writes waiting at most; past this `commit` refuses at once (503).
const QUEUE: usize = 4096;
/// Writes per transaction at most.
const MAX_BATCH: usize = 512;
/// How long a request waits for its commit before answering 503 (the write may still land:
/// an audit row without an answer is harmless, an answer without its row is not).
const WAIT: Duration = Duration::from_secs(3);

struct Job {
    write: Write,
    done: tokio::sync::oneshot::Sender<Result<(), ApiError>>,
}

/// Batch figures for `/metrics`.
#[derive(Default)]
pub struct BatchStats {
    pub batches: AtomicU64,
    pub writes: AtomicU64,
    pub failures: AtomicU64,
    /// Batches of size ≤ 1, ≤ 2, ≤ 4, … ≤ 512 (cumulative buckets are built when rendering).
    pub sizes: [AtomicU64; 10],
}

impl BatchStats {
    fn record(&self, size: usize, failed: bool) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(size as u64, Ordering::Relaxed);
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        let bucket = (usize::BITS - size.saturating_sub(1).leading_zeros()) as usize;
        self.sizes[bucket.min(self.sizes.len() - 1)].fetch_add(1, Ordering::Relaxed);
    }
}

pub struct GroupCommit {
    queue: SyncSender<Job>,
    pub stats: Arc<BatchStats>,
}

impl GroupCommit {
    /// Starts the committing thread on `pool` (a pool of its own, so requests holding every
    /// connection of the main pool never delay the commits they wait for).
    pub fn start(name: &str, pool: Pool) -> Arc<Self> {
        let (queue, rx) = sync_channel(QUEUE);
        let stats = Arc::new(BatchStats::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name(format!("{name}-commit"))
            .spawn(move || run(&pool, &rx, &thread_stats))
            .expect("spawn the group-commit thread");
        Arc::new(GroupCommit { queue, stats })
    }

    /// Queues `write` and waits until the transaction holding it committed.
    pub async fn commit(&self, write: Write) -> Result<(), ApiError> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.queue.try_send(Job { write, done }).map_err(|e| match e {
            TrySendError::Full(_) => ApiError::Unavailable("overloaded: too many writes waiting to commit".into()),
            TrySendError::Disconnected(_) => ApiError::Unavailable("the committing thread stopped".into()),
        })?;
        match actix_web::rt::time::timeout(WAIT, wait).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ApiError::Unavailable("the committing thread stopped".into())),
            Err(_) => Err(ApiError::Unavailable("commit not confirmed in time".into())),
        }
    }
}

fn run(pool: &Pool, rx: &Receiver<Job>, stats: &BatchStats) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commit_batch(pool, &batch)));
        let results = outcome.unwrap_or_else(|_| {
            log::error!("group commit: a write panicked; its batch answers 500");
            batch
                .iter()
                .map(|_| Err(ApiError::internal("group commit panicked")))
                .collect()
        });
        stats.record(batch.len(), results.iter().any(Result::is_err));
        for (job, result) in batch.into_iter().zip(results) {
            let _ = job.done.send(result); // the request may have gone: nothing to tell
        }
    }
}

/// One transaction for the whole batch; if it fails for a reason other than the database being
/// away, each write again in a transaction of its own, so a bad write fails alone.
fn commit_batch(pool: &Pool, batch: &[Job]) -> Vec<Result<(), ApiError>> {
    let all = with_conn(pool, |conn| {
        write_tx(conn, |c| batch.iter().try_for_each(|job| (job.write)(c)))
    });
    match all {
        Ok(()) => batch.iter().map(|_| Ok(())).collect(),
        Err(ApiError::Unavailable(cause)) => {
            log::warn!("group commit of {} writes failed: {cause}", batch.len());
            batch
                .iter()
                .map(|_| Err(ApiError::Unavailable(cause.clone())))
                .collect()
        }
        Err(_) if batch.len() == 1 => vec![all],
        Err(_) => batch
            .iter()
            .map(|job| with_conn(pool, |conn| write_tx(conn, |c| (job.write)(c))))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_fall_in_power_of_two_buckets() {
        let s = BatchStats::default();
        for size in [1, 2, 3, 4, 5, 512, 4096] {
            s.record(size, false);
        }
        let got: Vec<u64> = s.sizes.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        assert_eq!(got, vec![1, 1, 2, 1, 0, 0, 0, 0, 0, 2]);
        assert_eq!(s.writes.load(Ordering::Relaxed), 1 + 2 + 3 + 4 + 5 + 512 + 4096);
    }
}
