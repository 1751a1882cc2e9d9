//! Coalesced reads of one customer: concurrent reads by id share one statement.
//!
//! A read of one customer, such as `GET /api/v1/customers/{id}`, queues its white label and id.
//! When fewer than [`MAX_READERS`] readers run, the read starts one on the runtime. A reader takes
//! every queued read, up to [`GET_MANY_MAX`], and reads them all with one statement. The
//! statement pairs each id with the white label that requested it, so a read finds a customer
//! only in its own white label, as a single read does. Reads that arrive while the statement
//! runs wait for the next batch. A read that arrives while fewer readers run starts one at once,
//! so a read alone waits for no other.
//!
//! Under load this replaces many statements with few. Each statement costs the database a round
//! trip and the work of starting it, and a pooled connection is tested with another round trip
//! each time it returns to the pool. A reader keeps its connection until no read is waiting.
//!
//! If a statement fails, each read in its batch reads alone, on a connection of its own, so the
//! outcome of a read does not depend on the other reads in its batch. If the reader cannot get a
//! connection, the reads of its batch fail at once, as a single read would, rather than wait for
//! a connection a second time.

use std::sync::{Arc, Mutex};

use tandem_domain::{CustomerId, WhiteLabelId};
use tandem_store::customers::{self as store_customers, CustomerRow, GET_MANY_MAX};
use tandem_store::PooledConn;
use tokio::sync::oneshot;

use crate::{App, AppError, AppResult};

/// The maximum number of readers that run at once, each with a pooled connection. Two let both
/// CPUs of a small machine work on reads, and leave the pool's other connections to the remaining
/// requests. With four, most batches held a single read, and the scale benchmark's reads by id
/// through the API were slower on PostgreSQL than with one or two (docs/benchmarks.md).
const MAX_READERS: usize = 2;

/// The reads waiting for a reader, and how many readers run.
#[derive(Default)]
pub(crate) struct ReadQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    waiting: Vec<Waiting>,
    readers: usize,
}

/// One queued read.
struct Waiting {
    white_label_id: WhiteLabelId,
    id: CustomerId,
    reply: oneshot::Sender<Outcome>,
}

/// The result that a reader sends to a queued read.
enum Outcome {
    Found(Box<CustomerRow>),
    Missing,
    /// The batch's statement failed, so the read runs alone.
    ReadAlone,
    /// The reader could not get a connection, with the error's text.
    Failed(String),
}

impl ReadQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // Every change under the lock is one push, one take or one count, so the state stays
        // consistent even if a holder panicked.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a read. Returns a reader's slot when the caller should start a reader, which it
    /// then moves into the reader's task.
    fn push(self: &Arc<Self>, waiting: Waiting) -> Option<ReaderSlot> {
        let mut state = self.lock();
        state.waiting.push(waiting);
        if state.readers == MAX_READERS {
            return None;
        }
        state.readers += 1;
        Some(ReaderSlot {
            queue: self.clone(),
            released: false,
        })
    }
}

/// A running reader's place in the count of readers.
///
/// The reader gives its place back in [`ReaderSlot::next_batch`] when no read waits. A slot
/// dropped before that (the reader panicked, or its task was dropped unpolled because the runtime
/// shut down) gives it back on drop. If that was the last reader, the waiting reads are dropped
/// too, and they read alone rather than wait for a reader that may never start.
struct ReaderSlot {
    queue: Arc<ReadQueue>,
    released: bool,
}

impl ReaderSlot {
    /// Takes up to [`GET_MANY_MAX`] waiting reads, oldest first. When none wait, gives the slot
    /// back under the same lock, so that the next read starts another reader.
    fn next_batch(&mut self) -> Vec<Waiting> {
        let mut state = self.queue.lock();
        if state.waiting.is_empty() {
            state.readers -= 1;
            self.released = true;
            return Vec::new();
        }
        let take = state.waiting.len().min(GET_MANY_MAX);
        state.waiting.drain(..take).collect()
    }
}

impl Drop for ReaderSlot {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let mut state = self.queue.lock();
        state.readers -= 1;
        if state.readers == 0 {
            state.waiting.clear();
        }
    }
}

impl App {
    /// Reads one customer of a white label, sharing a statement with concurrent reads.
    pub(crate) async fn read_customer(
        &self,
        white_label_id: &WhiteLabelId,
        id: &CustomerId,
    ) -> AppResult<Option<CustomerRow>> {
        let (reply, outcome) = oneshot::channel();
        let slot = self.customer_reads.push(Waiting {
            white_label_id: white_label_id.clone(),
            id: id.clone(),
            reply,
        });
        if let Some(slot) = slot {
            drop(tokio::spawn(self.clone().read_batches(slot)));
        }
        match outcome.await {
            Ok(Outcome::Found(row)) => Ok(Some(*row)),
            Ok(Outcome::Missing) => Ok(None),
            Ok(Outcome::Failed(error)) => Err(AppError::Internal(format!(
                "reading customer {id} failed: {error}"
            ))),
            // A dropped reply means that the reader stopped before it read this one.
            Ok(Outcome::ReadAlone) | Err(_) => {
                let mut conn = self.store.conn().await?;
                Ok(store_customers::get(&mut conn, white_label_id, id).await?)
            }
        }
    }

    /// Reads batches until no read is waiting, keeping one pooled connection throughout.
    async fn read_batches(self, mut slot: ReaderSlot) {
        let mut idle_conn: Option<PooledConn> = None;
        loop {
            let batch = slot.next_batch();
            if batch.is_empty() {
                return;
            }
            let acquired = match idle_conn.take() {
                Some(conn) => Ok(conn),
                None => self.store.conn().await,
            };
            let mut conn = match acquired {
                Ok(conn) => conn,
                Err(error) => {
                    tracing::warn!(
                        reads = batch.len(),
                        %error,
                        "acquiring a connection for a batch of customer reads failed; the reads fail"
                    );
                    let error = error.to_string();
                    for read in batch {
                        let _ = read.reply.send(Outcome::Failed(error.clone()));
                    }
                    continue;
                }
            };
            let requested: Vec<(&WhiteLabelId, &CustomerId)> = batch
                .iter()
                .map(|read| (&read.white_label_id, &read.id))
                .collect();
            match store_customers::get_many(&mut conn, &requested).await {
                Ok(rows) => {
                    send_rows(batch, rows);
                    idle_conn = Some(conn);
                }
                // The connection goes back to the pool, which tests it, in case the failure was
                // the connection's. The next batch acquires another.
                // NOTE: no test makes the statement fail, so this path has not been run.
                Err(error) => {
                    tracing::info!(
                        reads = batch.len(),
                        %error,
                        "reading a batch of customers failed; each read runs alone"
                    );
                    for read in batch {
                        let _ = read.reply.send(Outcome::ReadAlone);
                    }
                }
            }
        }
    }
}

/// Sends each read its row, or [`Outcome::Missing`] when no row has its white label and id. The
/// statement returns a row for each requested pair that names a customer, a pair requested twice
/// included, so each read takes its own row out of `rows`. A read whose request has ended is
/// skipped.
fn send_rows(batch: Vec<Waiting>, mut rows: Vec<CustomerRow>) {
    for read in batch {
        let position = rows
            .iter()
            .position(|row| row.id == read.id && row.white_label_id == read.white_label_id);
        let outcome = match position {
            Some(position) => Outcome::Found(Box::new(rows.swap_remove(position))),
            None => Outcome::Missing,
        };
        let _ = read.reply.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tandem_domain::{CustomerId, WhiteLabelId};
    use tokio::sync::oneshot;

    use super::{Outcome, ReadQueue, Waiting, MAX_READERS};

    fn waiting() -> (Waiting, oneshot::Receiver<Outcome>) {
        let (reply, outcome) = oneshot::channel();
        let read = Waiting {
            white_label_id: WhiteLabelId::new(),
            id: CustomerId::new(),
            reply,
        };
        (read, outcome)
    }

    fn readers(queue: &ReadQueue) -> usize {
        queue.lock().readers
    }

    #[test]
    fn reader_takes_every_queued_read() {
        let queue = Arc::new(ReadQueue::default());
        let mut outcomes = Vec::new();
        let mut slots = Vec::new();
        for _ in 0..5 {
            let (read, outcome) = waiting();
            outcomes.push(outcome);
            slots.extend(queue.push(read));
        }
        assert_eq!(slots.len(), MAX_READERS);
        assert_eq!(readers(&queue), MAX_READERS);

        let mut first = slots.remove(0);
        assert_eq!(first.next_batch().len(), 5);
        assert!(first.next_batch().is_empty());
        assert_eq!(readers(&queue), MAX_READERS - 1);
        drop(first);
        assert_eq!(readers(&queue), MAX_READERS - 1);
    }

    #[test]
    fn dropped_last_reader_releases_waiting_reads() {
        let queue = Arc::new(ReadQueue::default());
        let (read, mut outcome) = waiting();
        let slot = queue.push(read).expect("a reader's slot");

        // A reader whose task is dropped before it runs, as when the runtime shuts down.
        drop(slot);

        assert_eq!(readers(&queue), 0);
        assert!(queue.lock().waiting.is_empty());
        assert!(matches!(
            outcome.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        let (read, _outcome) = waiting();
        assert!(queue.push(read).is_some());
    }
}
