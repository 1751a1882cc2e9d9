//! Coalesced reads of one customer: concurrent reads by id share one statement.
//!
//! A read of one customer, such as `GET /api/v1/customers/{id}`, queues its white label and id.
//! When fewer than [`MAX_READERS`] readers run, the read starts one on the runtime. A reader takes
//! every queued read, up to [`GET_MANY_MAX`], and reads them all with one statement. The
//! statement pairs each id with the white label that asked for it, so a read finds a customer
//! only in its own white label, as a single read does. Reads that arrive while the statement
//! runs wait for the next batch. A read that finds a reader free is read at once, in a batch of
//! its own.
//!
//! Under load this replaces many statements with few. Each statement costs the database a round
//! trip and the work of starting it, and a pooled connection is tested with another round trip
//! each time it returns to the pool. A reader keeps its connection until no read is waiting.
//!
//! If a statement fails, each read in its batch reads alone, on a connection of its own, so the
//! outcome of a read does not depend on the other reads in its batch.

use std::sync::Mutex;

use tandem_domain::{CustomerId, WhiteLabelId};
use tandem_store::customers::{self as store_customers, CustomerRow, GET_MANY_MAX};
use tandem_store::PooledConn;
use tokio::sync::oneshot;

use crate::{App, AppResult};

/// The maximum number of readers that run at once, each with a pooled connection. Two let both CPUs of a small
/// machine work on reads, and leave the pool's other connections to the remaining requests.
/// With four, most batches held a single read, and the scale benchmark's reads by id through
/// the API were slower on PostgreSQL than with one or two (docs/benchmarks.md).
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
    /// The batch's statement failed: the read runs alone.
    ReadAlone,
}

impl ReadQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // Every change under the lock is one push, one take or one count, so the state stays
        // consistent even if a holder panicked.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a read, and returns whether the caller should start a reader.
    fn push(&self, waiting: Waiting) -> bool {
        let mut state = self.lock();
        state.waiting.push(waiting);
        let start = state.readers < MAX_READERS;
        if start {
            state.readers += 1;
        }
        start
    }

    /// Takes up to [`GET_MANY_MAX`] waiting reads, oldest first. When none wait, counts the
    /// reader as stopped, under the same lock, so that the next read starts another.
    fn next_batch(&self) -> Vec<Waiting> {
        let mut state = self.lock();
        if state.waiting.is_empty() {
            state.readers -= 1;
            return Vec::new();
        }
        let take = state.waiting.len().min(GET_MANY_MAX);
        state.waiting.drain(..take).collect()
    }
}

/// Counts a reader as stopped if it ends by panicking. When it was the last, it also drops the
/// waiting reads, which then read alone rather than wait for a reader that may never start.
struct ReaderRunning<'a>(&'a ReadQueue);

impl Drop for ReaderRunning<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.readers -= 1;
            if state.readers == 0 {
                state.waiting.clear();
            }
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
        let start_reader = self.customer_reads.push(Waiting {
            white_label_id: white_label_id.clone(),
            id: id.clone(),
            reply,
        });
        if start_reader {
            drop(tokio::spawn(self.clone().read_batches()));
        }
        match outcome.await {
            Ok(Outcome::Found(row)) => Ok(Some(*row)),
            Ok(Outcome::Missing) => Ok(None),
            // A dropped reply means that the reader panicked.
            Ok(Outcome::ReadAlone) | Err(_) => {
                let mut conn = self.store.conn().await?;
                Ok(store_customers::get(&mut conn, white_label_id, id).await?)
            }
        }
    }

    /// Reads batches until no read is waiting, keeping one pooled connection throughout.
    async fn read_batches(self) {
        let _running = ReaderRunning(&self.customer_reads);
        let mut conn: Option<PooledConn> = None;
        loop {
            let batch = self.customer_reads.next_batch();
            if batch.is_empty() {
                return;
            }
            let requested: Vec<(&WhiteLabelId, &CustomerId)> = batch
                .iter()
                .map(|read| (&read.white_label_id, &read.id))
                .collect();
            let rows = match &mut conn {
                Some(conn) => store_customers::get_many(conn, &requested).await,
                None => match self.store.conn().await {
                    Ok(acquired) => {
                        store_customers::get_many(conn.insert(acquired), &requested).await
                    }
                    Err(error) => Err(error),
                },
            };
            match rows {
                Ok(rows) => send_rows(batch, &rows),
                Err(error) => {
                    tracing::info!(
                        reads = batch.len(),
                        %error,
                        "a batch of customer reads failed; each reads alone"
                    );
                    // The next batch takes a connection from the pool again, in case the failure
                    // was this one's.
                    conn = None;
                    for read in batch {
                        let _ = read.reply.send(Outcome::ReadAlone);
                    }
                }
            }
        }
    }
}

/// Sends each read its row, or as missing when no row has its white label and id. A read
/// whose request has ended is skipped.
fn send_rows(batch: Vec<Waiting>, rows: &[CustomerRow]) {
    for read in batch {
        let row = rows
            .iter()
            .find(|row| row.id == read.id && row.white_label_id == read.white_label_id);
        let outcome = match row {
            Some(row) => Outcome::Found(Box::new(row.clone())),
            None => Outcome::Missing,
        };
        let _ = read.reply.send(outcome);
    }
}
