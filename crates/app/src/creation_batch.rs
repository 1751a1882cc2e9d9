//! Batched customer creation: concurrent creation requests share one transaction.
//!
//! A creation request validates its input against its white label and plan on its own task,
//! then queues the rows it will write. The white label and plan usually come from a cache, which
//! the writer checks against the database once per batch (see [`crate::creation_context`]).
//! When no writer is running, the request that queues first starts one. The writer takes every
//! queued creation, up to [`MAX_BATCH`], and writes them in one transaction. All the customers
//! go in one `INSERT`, and their audit records in a second. A creation whose random account
//! number is already taken gets another, and goes in a further `INSERT` of the same
//! transaction, unless its stored response already shows the number (see
//! [`creations_to_write`]). Then each white label's opening charges for its new accounts take
//! one balance `UPDATE` and one ledger `INSERT`, and each charge is still its own ledger entry
//! with the balance after it. Requests that arrive during a batch queue for the next one.
//!
//! The writer keeps the store's batch connection (see `Store::batch_conn`) from one batch to the
//! next. It does not wait for a pooled connection, and on SQLite the index pages it writes stay
//! in that connection's cache.
//!
//! Under load, many creations share one `BEGIN` and `COMMIT`. On SQLite a batch takes the write
//! lock once. On PostgreSQL a batch locks the white label's balance row once, so creations do not
//! wait for each other's commits on that row. A request that finds the writer idle is written at
//! once, in a batch of its own.
//!
//! If any statement of a batch fails, a white label cannot pay for the whole batch, or a cached
//! white label or plan has changed, the batch rolls back. Every request in it then writes its
//! creation in a transaction of its own, as it would without batching, so the outcome of a
//! request does not depend on the other requests in its batch. The cost of a failed batch is
//! that its creations are written twice, once in the rolled-back batch and once alone.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use tandem_domain::{LedgerKind, PlanId, WhiteLabelId};
use tandem_store::customers::{CustomerRow, NewCustomer};
use tandem_store::ledger::{self, LedgerEntryRow};
use tandem_store::{white_labels, Conn, PooledConn};
use tokio::sync::oneshot;

use crate::access::WhiteLabelAdmin;
use crate::charges::{opening_charges, plan_currency};
use crate::creation_context::CreationContext;
use crate::customers::{Creation, CreationWrite, IdempotencyRequest, PreparedCreation};
use crate::{App, AppError, AppResult};

/// The maximum number of creations in one transaction. A batch holds SQLite's write lock until
/// it commits, so this limits how long other writers wait for it.
pub(crate) const MAX_BATCH: usize = 64;

/// A creation waiting to be written: everything its transaction needs, already built.
pub(crate) struct QueuedCreation {
    pub admin: WhiteLabelAdmin,
    pub prepared: Arc<PreparedCreation>,
    pub idempotency: Option<IdempotencyRequest>,
    pub customer: NewCustomer,
    /// The response stored with the idempotency key, rendered from `customer`.
    pub body: Option<String>,
    /// The creation time, which `body` shows.
    pub now: i64,
}

/// The outcome of a queued creation.
pub(crate) enum Batched {
    /// Written and committed.
    Created(Creation),
    /// Not written: the batch rolled back, or the idempotency key was already taken. The request
    /// writes its creation alone.
    WriteAlone,
}

/// The creations waiting for the writer, and whether a writer is running.
#[derive(Default)]
pub(crate) struct CreationQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    waiting: Vec<(QueuedCreation, oneshot::Sender<Batched>)>,
    writing: bool,
}

impl CreationQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // The state stays consistent even if a holder panicked: every change is one push, one
        // take or one flag.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes up to [`MAX_BATCH`] waiting creations, oldest first. When none wait, marks the
    /// writer as stopped, under the same lock, so that the next request starts another.
    fn next_batch(&self) -> Vec<(QueuedCreation, oneshot::Sender<Batched>)> {
        let mut state = self.lock();
        if state.waiting.is_empty() {
            state.writing = false;
            return Vec::new();
        }
        let take = state.waiting.len().min(MAX_BATCH);
        state.waiting.drain(..take).collect()
    }
}

/// Marks the writer as stopped if it ends by panicking, and drops the creations still
/// waiting, whose requests then fail with an internal error instead of waiting for ever.
struct WriterRunning<'a>(&'a CreationQueue);

impl Drop for WriterRunning<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.writing = false;
            state.waiting.clear();
        }
    }
}

/// Returns the runtime of the creation writers, starting its thread on first use.
///
/// Each statement of a writer waits for the database. On the server's runtime, a PostgreSQL
/// response woke the writer only once a runtime thread, busy with requests, polled for network
/// events, and the woken writer then queued behind the request tasks. This runtime has one
/// thread of its own, which polls the writers' sockets itself. It lives as long as the process,
/// because a connection stays tied to the runtime that opened it, and the store keeps the batch
/// connection between bursts of creations.
fn writer_runtime() -> AppResult<&'static tokio::runtime::Handle> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Handle, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("building the creation writer's runtime failed: {e}"))?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name("tandem-writer".into())
                .spawn(move || runtime.block_on(std::future::pending::<()>()))
                .map_err(|e| format!("starting the creation writer's thread failed: {e}"))?;
            Ok(handle)
        })
        .as_ref()
        .map_err(|error| AppError::Internal(error.clone()))
}

impl App {
    /// Queues a creation for the batch writer, starting the writer if none is running, and waits
    /// for its outcome.
    pub(crate) async fn write_in_batch(&self, creation: QueuedCreation) -> AppResult<Batched> {
        let (reply, outcome) = oneshot::channel();
        let start_writer = {
            let mut state = self.creation_queue.lock();
            state.waiting.push((creation, reply));
            !std::mem::replace(&mut state.writing, true)
        };
        if start_writer {
            match writer_runtime() {
                Ok(runtime) => drop(runtime.spawn(self.clone().write_batches())),
                Err(error) => {
                    // No writer will run, so fail every queued creation now rather than leave
                    // them waiting. Later creations fail the same way.
                    tracing::error!(%error, "starting the creation writer failed");
                    let mut state = self.creation_queue.lock();
                    state.writing = false;
                    state.waiting.clear();
                    return Err(error);
                }
            }
        }
        // A dropped reply means the writer panicked or could not start. A panicked batch may
        // or may not have committed, so writing the creation again could create it twice.
        outcome
            .await
            .map_err(|_| AppError::Internal("the creation writer stopped".into()))
    }

    /// Writes batches until no creation is waiting, keeping the store's batch connection from one
    /// batch to the next.
    async fn write_batches(self) {
        let _running = WriterRunning(&self.creation_queue);
        let mut conn = None;
        let mut check_conn = None;
        loop {
            let batch = self.creation_queue.next_batch();
            if batch.is_empty() {
                return;
            }
            let (mut creations, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let outcomes = match self
                .write_batch(&mut conn, &mut check_conn, &mut creations)
                .await
            {
                Ok(outcomes) => outcomes,
                Err(error) => {
                    tracing::info!(
                        creations = creations.len(),
                        %error,
                        "a batch of creations rolled back; each is written alone"
                    );
                    // The next batch takes the connection from the pool again, which checks it
                    // on PostgreSQL, in case the failure was the connection's.
                    conn = None;
                    check_conn = None;
                    creations.iter().map(|_| Batched::WriteAlone).collect()
                }
            };
            for ((creation, reply), outcome) in creations.iter().zip(replies).zip(outcomes) {
                if let Batched::Created(created) = &outcome {
                    self.created(&creation.admin, created);
                }
                // The request may have ended (its client closed the connection), but the creation is
                // committed either way.
                let _ = reply.send(outcome);
            }
        }
    }

    /// Writes `creations` in one transaction, and returns each one's outcome once it commits.
    /// Draws new account numbers for creations whose numbers are taken. Acquires the store's
    /// batch connections into `conn` and `check_conn` when they are empty.
    ///
    /// While the transaction's statements run on `conn`, the white labels and plans that
    /// creations took from the cache are read again on `check_conn` (see
    /// [`crate::creation_context`]). If one of them has changed, the batch rolls back and each
    /// request writes its creation alone, preparing it again first.
    async fn write_batch(
        &self,
        conn: &mut Option<PooledConn>,
        check_conn: &mut Option<PooledConn>,
        creations: &mut [QueuedCreation],
    ) -> AppResult<Vec<Batched>> {
        let conn = match conn {
            Some(conn) => conn,
            None => conn.insert(self.store.batch_conn().await?),
        };
        let cached = cached_contexts(creations);
        // Both connections are taken before the transaction begins, so the batch never waits
        // for a connection while it has its locks.
        let check_conn = match (check_conn, cached.is_empty()) {
            (_, true) => None,
            (Some(check_conn), false) => Some(check_conn),
            (check_conn, false) => Some(check_conn.insert(self.store.batch_conn().await?)),
        };
        let write = async {
            let mut tx = self.store.begin_on(conn).await?;
            let written = self.write_uncommitted(&mut tx, creations).await?;
            AppResult::Ok((tx, written))
        };
        let check = async {
            match check_conn {
                Some(check_conn) => self.cached_contexts_unchanged(check_conn, &cached).await,
                None => Ok(true),
            }
        };
        let (unchanged, written) = tokio::join!(check, write);
        let (tx, (written, charges)) = written?;
        if !unchanged? {
            return Err(AppError::Internal(
                "a cached white label or plan has changed since it was read".into(),
            ));
        }
        tx.commit().await?;

        Ok(written
            .into_iter()
            .zip(charges)
            .map(|(row, charges)| match row {
                Some(customer) => Batched::Created(Creation::Created {
                    customer: Box::new(customer),
                    charges,
                }),
                None => Batched::WriteAlone,
            })
            .collect())
    }

    /// Runs the statements of a batch in `tx`, and returns each creation's row, or `None` when
    /// it was left out, with the charges posted for it.
    async fn write_uncommitted(
        &self,
        tx: &mut Conn,
        creations: &mut [QueuedCreation],
    ) -> AppResult<(Vec<Option<CustomerRow>>, Vec<Vec<LedgerEntryRow>>)> {
        let in_batch = creations_to_write(tx, creations).await?;
        let mut writes: Vec<CreationWrite> = creations
            .iter_mut()
            .zip(&in_batch)
            .filter(|(_, &in_batch)| in_batch)
            .map(|(creation, _)| CreationWrite {
                now: creation.now,
                admin: &creation.admin,
                prepared: &creation.prepared,
                idempotency: creation.idempotency.as_ref().zip(creation.body.as_deref()),
                customer: &mut creation.customer,
            })
            .collect();
        // A creation left out here stays `None`, and is written alone.
        let mut rows = if writes.is_empty() {
            Vec::new()
        } else {
            self.write_customers(tx, &mut writes).await?
        }
        .into_iter();
        let written: Vec<Option<CustomerRow>> = in_batch
            .iter()
            .map(|&in_batch| {
                if in_batch {
                    rows.next().flatten()
                } else {
                    None
                }
            })
            .collect();

        // The accounts that the white label pays for, by white label. Locking the balance rows
        // in the order of their ids keeps two transactions from waiting on each other.
        let mut payers: BTreeMap<&WhiteLabelId, Vec<usize>> = BTreeMap::new();
        for (index, creation) in creations.iter().enumerate() {
            if written[index].is_some() && !creation.prepared.self_activation() {
                payers
                    .entry(creation.admin.white_label_id())
                    .or_default()
                    .push(index);
            }
        }
        let mut charges: Vec<Vec<LedgerEntryRow>> = creations.iter().map(|_| Vec::new()).collect();
        let now = self.now_us();
        for (white_label_id, indexes) in payers {
            let posted = post_charges(tx, white_label_id, creations, &indexes, now).await?;
            for (index, rows) in indexes.into_iter().zip(posted) {
                charges[index] = rows;
            }
        }
        Ok((written, charges))
    }

    /// Returns whether every context in `cached` still matches the database, reading each white
    /// label and plan pair once on `conn`. A context that has changed leaves the cache.
    async fn cached_contexts_unchanged(
        &self,
        conn: &mut Conn,
        cached: &[Arc<CreationContext>],
    ) -> AppResult<bool> {
        let mut unchanged = true;
        let mut read: Vec<(&WhiteLabelId, &PlanId)> = Vec::new();
        for (index, context) in cached.iter().enumerate() {
            let pair = (&context.white_label.id, &context.plan.id);
            if read.contains(&pair) {
                continue;
            }
            read.push(pair);
            let current = white_labels::get_with_plan(conn, pair.0, pair.1).await?;
            for context in &cached[index..] {
                if (&context.white_label.id, &context.plan.id) != pair {
                    continue;
                }
                let matches = current
                    .as_ref()
                    .is_some_and(|(white_label, plan)| context.matches(white_label, plan.as_ref()));
                if !matches {
                    self.creation_contexts.forget(context);
                    unchanged = false;
                }
            }
        }
        Ok(unchanged)
    }
}

/// Returns the distinct white label and plan pairs that creations of the batch took from the
/// cache. Most batches have one.
fn cached_contexts(creations: &[QueuedCreation]) -> Vec<Arc<CreationContext>> {
    let mut cached: Vec<Arc<CreationContext>> = Vec::new();
    for creation in creations {
        let context = &creation.prepared.context;
        if creation.prepared.cached && !cached.iter().any(|seen| Arc::ptr_eq(seen, context)) {
            cached.push(context.clone());
        }
    }
    cached
}

/// Returns which creations of the batch to write: all but those with an idempotency key whose
/// account number is taken, by a customer or by an earlier creation of the batch.
///
/// Account numbers are random, so once a platform has many customers some batches contain one
/// that is already taken: at 100,000 customers, one creation in a hundred. A creation without a
/// key gets another number when its insert finds its number taken (see `App::write_customers`).
/// One with a key keeps its number, because its stored response already shows it, and a taken
/// number would roll the whole batch back, after which every creation of the batch would be
/// written alone. So the numbers of those with keys are checked first, in one statement, and a
/// creation whose number is taken is left out and written alone with another. A batch with no
/// key skips the check.
async fn creations_to_write(tx: &mut Conn, creations: &[QueuedCreation]) -> AppResult<Vec<bool>> {
    let keyed: Vec<&str> = creations
        .iter()
        .filter(|creation| creation.body.is_some())
        .map(|creation| creation.customer.account_number.as_str())
        .collect();
    if keyed.is_empty() {
        return Ok(vec![true; creations.len()]);
    }
    let in_use: HashSet<String> = tandem_store::customers::account_numbers_in_use(tx, &keyed)
        .await?
        .into_iter()
        .collect();
    let mut seen: HashSet<&str> = HashSet::with_capacity(creations.len());
    Ok(creations
        .iter()
        .map(|creation| {
            let number = creation.customer.account_number.as_str();
            let first = seen.insert(number);
            creation.body.is_none() || (first && !in_use.contains(number))
        })
        .collect())
}

/// Posts the opening charges of the creations at `indexes`, all paid by one white label, as one
/// balance change, and returns each creation's ledger rows. Fails when the white label cannot
/// cover them all, which rolls the batch back.
async fn post_charges(
    tx: &mut Conn,
    white_label_id: &WhiteLabelId,
    creations: &[QueuedCreation],
    indexes: &[usize],
    now: i64,
) -> AppResult<Vec<Vec<LedgerEntryRow>>> {
    let first = &creations[indexes[0]].prepared;
    let currency = plan_currency(&first.context.plan)?;
    let per_creation: Vec<_> = indexes
        .iter()
        .map(|&index| {
            let creation = &creations[index];
            let prepared = &creation.prepared;
            opening_charges(
                &prepared.context.white_label,
                &prepared.context.plan,
                prepared.time_zone(),
                creation.now,
            )
        })
        .collect();
    let account = ledger::Account::WhiteLabel(white_label_id);
    let mut entries = Vec::new();
    for (&index, charges) in indexes.iter().zip(&per_creation) {
        let creation = &creations[index];
        for charge in charges {
            entries.push(ledger::NewEntry {
                account,
                customer_id: Some(&creation.customer.id),
                kind: LedgerKind::Charge.as_str(),
                amount_minor: charge.amount_minor,
                tax_minor: charge.tax_minor,
                // A plan in another currency fails the posting, and the batch rolls back.
                currency: &creation.prepared.context.plan.currency,
                description: &charge.description,
                actor_label: creation.admin.actor().label(),
            });
        }
    }
    let mut rows = match ledger::post_all(tx, account, currency.as_str(), &entries, now).await? {
        Ok(rows) => rows.into_iter(),
        Err(refusal) => {
            return Err(AppError::Internal(format!(
                "the white label cannot pay for the whole batch ({refusal:?})"
            )))
        }
    };
    Ok(per_creation
        .iter()
        .map(|charges| rows.by_ref().take(charges.len()).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use tandem_domain::{CustomerId, PlanId};
    use tandem_store::{Store, StoreOptions};

    use super::*;
    use crate::access::PlatformAdmin;
    use crate::clock::SystemClock;
    use crate::customers::CustomerInput;
    use crate::plans::PlanInput;
    use crate::white_labels::WhiteLabelInput;
    use crate::AppSettings;

    /// Builds a creation request for `plan_id`, as the API receives it.
    fn input(plan_id: &str, legal_name: &str) -> CustomerInput {
        serde_json::from_value(serde_json::json!({
            "mode": "white_label_managed",
            "plan_id": plan_id,
            "business": {"legal_name": legal_name},
            "contact": {"given_name": "Aroha", "family_name": "Ngata",
                        "email": "aroha@kauri.example", "phone": "021 123 4567"},
            "billing_address": {"line1": "12 Queen Street", "city": "Auckland",
                                "postcode": "1010", "country": "NZ"},
            "service_address": {"same_as_billing": true},
            "time_zone": "Pacific/Auckland"
        }))
        .expect("a valid request")
    }

    /// Builds the creation that a request for `name` would queue, without queuing it.
    async fn queued(
        app: &App,
        admin: &WhiteLabelAdmin,
        plan_id: &str,
        name: &str,
    ) -> QueuedCreation {
        let prepared = app
            .prepare_creation(admin, &input(plan_id, name))
            .await
            .expect("a valid creation");
        let (now, customer, body) = app.new_row(admin, &prepared, None, &|_| String::new());
        QueuedCreation {
            admin: admin.clone(),
            prepared: Arc::new(prepared),
            idempotency: None,
            customer,
            body,
            now,
        }
    }

    /// A white label with funds and a plan, and one customer already created, in a new SQLite
    /// file.
    struct Fixture {
        dir: std::path::PathBuf,
        store: Store,
        app: App,
        admin: WhiteLabelAdmin,
        plan_id: String,
        existing: CustomerRow,
    }

    impl Fixture {
        async fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("tandem-batch-{}", CustomerId::new()));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}", dir.join("tandem.db").display());
            let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
            store.migrate().await.unwrap();
            let app = App::new(store.clone(), Arc::new(SystemClock), AppSettings::default());
            let platform = PlatformAdmin::command_line();
            let white_label = app
                .create_white_label(
                    &platform,
                    &WhiteLabelInput {
                        name: "Kauri Telecom".into(),
                        hosts: "kauri.localhost".into(),
                        country: "NZ".into(),
                        currency: "NZD".into(),
                        support_email: "support@kauri.example".into(),
                        primary_colour: "#0b6e4f".into(),
                        tax_name: "GST".into(),
                        tax_rate_percent: "15".into(),
                        ..WhiteLabelInput::default()
                    },
                )
                .await
                .unwrap();

            app.post_white_label_balance(
                &platform,
                &white_label.id,
                LedgerKind::TopUp,
                "1000.00",
                "test funds",
            )
            .await
            .unwrap();

            let admin = platform.for_white_label(&white_label.id);
            let plan = app
                .create_plan(
                    &admin,
                    &PlanInput {
                        name: "Business".into(),
                        description: "Ten extensions".into(),
                        setup_fee: "49.00".into(),
                        monthly_fee: "39.00".into(),
                        included_extensions: "10".into(),
                        extra_extension_fee: "5.00".into(),
                        number_rental: "5.00".into(),
                        min_opening_credit: "50.00".into(),
                    },
                )
                .await
                .unwrap();
            let plan_id = plan.id.to_string();

            let existing = app
                .create_customer(&admin, &input(&plan_id, "Rimu"), None, &|_| String::new())
                .await
                .unwrap();
            let Creation::Created { customer, .. } = existing else {
                panic!("a new customer")
            };
            Self {
                dir,
                store,
                app,
                admin,
                plan_id,
                existing: *customer,
            }
        }

        /// Runs [`App::write_customers`] for `creation` alone in a transaction of its own, which
        /// commits when `commit` is set and the write succeeds, and rolls back otherwise.
        async fn write_alone(
            &self,
            creation: &mut QueuedCreation,
            idempotency: Option<(&IdempotencyRequest, &str)>,
            commit: bool,
        ) -> AppResult<Vec<Option<CustomerRow>>> {
            let mut tx = self.store.begin().await.unwrap();
            let written = self
                .app
                .write_customers(
                    &mut tx,
                    &mut [CreationWrite {
                        now: creation.now,
                        admin: &self.admin,
                        prepared: &creation.prepared,
                        idempotency,
                        customer: &mut creation.customer,
                    }],
                )
                .await;
            if commit && written.is_ok() {
                tx.commit().await.unwrap();
            }
            written
        }

        /// Builds another server's use cases over the same database, with caches of their own.
        fn other_server(&self) -> App {
            App::new(
                self.store.clone(),
                Arc::new(SystemClock),
                AppSettings::default(),
            )
        }

        /// Raises the plan's setup fee to `setup_fee` through `app`.
        async fn change_setup_fee(&self, app: &App, setup_fee: &str) {
            let id = PlanId::parse(&self.plan_id).unwrap();
            let plan = app.plan(&self.admin, &id).await.unwrap();
            let input = PlanInput {
                name: "Business".into(),
                description: "Ten extensions".into(),
                setup_fee: setup_fee.into(),
                monthly_fee: "39.00".into(),
                included_extensions: "10".into(),
                extra_extension_fee: "5.00".into(),
                number_rental: "5.00".into(),
                min_opening_credit: "50.00".into(),
            };
            app.update_plan(&self.admin, &id, plan.version, &input)
                .await
                .unwrap();
        }

        async fn remove(self) {
            self.store.close().await;
            std::fs::remove_dir_all(&self.dir).ok();
        }
    }

    /// A creation whose account number a customer already has, and one that repeats the number
    /// of an earlier creation in its batch, get new numbers and commit with the batch. One with
    /// an idempotency key keeps its number, which its stored response shows, so when the number
    /// is taken it is left out of the batch and written alone.
    #[tokio::test]
    async fn account_number_clashes_drawn_again() {
        let fixture = Fixture::new().await;
        let (app, admin, plan_id) = (&fixture.app, &fixture.admin, &fixture.plan_id);
        let mut batch = Vec::new();
        for name in ["Totara", "Matai", "Miro", "Kahikatea"] {
            batch.push(queued(app, admin, plan_id, name).await);
        }
        let in_use = fixture.existing.account_number.clone();
        let first = batch[0].customer.account_number.clone();
        batch[1].customer.account_number = in_use.clone();
        batch[2].customer.account_number = first.clone();
        batch[3].customer.account_number = in_use.clone();
        batch[3].idempotency = Some(IdempotencyRequest {
            key: "kahikatea-1".into(),
            request_hash: "hash".into(),
        });
        batch[3].body = Some("{}".into());
        let outcomes = app.write_batch(&mut None, &mut None, &mut batch).await;

        let mut stored = Vec::new();
        for creation in &batch {
            let customer = app.customer(admin, &creation.customer.id).await;
            stored.push(customer.ok().map(|customer| customer.account_number));
        }
        fixture.remove().await;
        let outcomes = outcomes.expect("the batch commits");
        let created: Vec<Option<String>> = outcomes
            .iter()
            .map(|outcome| match outcome {
                Batched::Created(Creation::Created { customer, .. }) => {
                    Some(customer.account_number.clone())
                }
                _ => None,
            })
            .collect();
        assert_eq!(created, stored, "each committed row as returned");
        assert_eq!(stored[0].as_ref(), Some(&first));
        let (second, third) = (stored[1].clone().unwrap(), stored[2].clone().unwrap());
        assert_ne!(second, in_use);
        assert_ne!(second, first);
        assert_ne!(third, in_use);
        assert_ne!(third, first);
        assert_ne!(third, second);
        assert!(matches!(outcomes[3], Batched::WriteAlone));
        assert_eq!(stored[3], None);
    }

    /// A creation with an idempotency key keeps the account number that its stored response
    /// shows. When the insert finds that number taken, the write fails with the number's
    /// conflict, and the rollback leaves neither the customer nor the claimed key. A creation
    /// without a key gets another number in the same transaction.
    #[tokio::test]
    async fn taken_keyed_number_fails_write() {
        let fixture = Fixture::new().await;
        let (app, admin, plan_id) = (&fixture.app, &fixture.admin, &fixture.plan_id);
        let taken_number = fixture.existing.account_number.clone();

        let mut keyed = queued(app, admin, plan_id, "Kahikatea").await;
        keyed.customer.account_number = taken_number.clone();
        let request = IdempotencyRequest {
            key: "kahikatea-2".into(),
            request_hash: "hash".into(),
        };
        let keyed_write = fixture
            .write_alone(&mut keyed, Some((&request, "{}")), false)
            .await;

        let mut plain = queued(app, admin, plan_id, "Rata").await;
        plain.customer.account_number = taken_number.clone();
        let plain_write = fixture.write_alone(&mut plain, None, true).await;

        let mut conn = fixture.store.conn().await.unwrap();
        let stored_key =
            tandem_store::idempotency::find(&mut conn, admin.white_label_id(), "kahikatea-2")
                .await
                .unwrap();
        drop(conn);
        let keyed_row = app.customer(admin, &keyed.customer.id).await;
        let plain_row = app.customer(admin, &plain.customer.id).await;
        fixture.remove().await;

        match keyed_write {
            Err(AppError::Store(error)) => {
                assert!(
                    error.is_conflict_on("uq_customers_account_number"),
                    "{error}"
                );
            }
            Err(error) => panic!("expected the account number's conflict, got {error}"),
            Ok(_) => panic!("a keyed creation with a taken number was written"),
        }
        assert_eq!(keyed.customer.account_number, taken_number);
        assert!(stored_key.is_none(), "the claimed key was rolled back");
        assert!(keyed_row.is_err(), "the keyed customer was rolled back");

        let written = plain_write.unwrap().remove(0).expect("written");
        assert_ne!(written.account_number, taken_number);
        assert_eq!(written.account_number, plain.customer.account_number);
        assert_eq!(plain_row.unwrap().account_number, written.account_number);
    }

    /// Another server on the same database (a second `App` over the store) changes the plan's
    /// setup fee. A batch with a creation prepared from this server's cache rolls back, and the
    /// stale pair leaves the cache.
    #[tokio::test]
    async fn changed_plan_rolls_the_batch_back() {
        let fixture = Fixture::new().await;
        let (app, admin, plan_id) = (&fixture.app, &fixture.admin, &fixture.plan_id);
        let other = fixture.other_server();
        fixture.change_setup_fee(&other, "59.00").await;
        let id = PlanId::parse(plan_id).unwrap();

        let mut batch = vec![queued(app, admin, plan_id, "Totara").await];
        let from_cache = batch[0].prepared.cached;
        let outcomes = app.write_batch(&mut None, &mut None, &mut batch).await;
        let still_cached = app.creation_contexts.get(admin.white_label_id(), &id);
        let left_out = app.customer(admin, &batch[0].customer.id).await;
        fixture.remove().await;

        assert!(from_cache, "the first creation cached the plan");
        assert!(outcomes.is_err(), "the batch rolled back");
        assert!(
            left_out.is_err(),
            "nothing was written for the stale creation"
        );
        assert!(still_cached.is_none(), "the stale pair left the cache");
    }

    /// A request whose creation used a cached plan that another server has since changed is
    /// written alone at the plan's new setup fee, and the cache then contains the new plan.
    #[tokio::test]
    async fn changed_plan_written_at_new_fee() {
        let fixture = Fixture::new().await;
        let (app, admin, plan_id) = (&fixture.app, &fixture.admin, &fixture.plan_id);
        let other = fixture.other_server();
        fixture.change_setup_fee(&other, "59.00").await;
        let id = PlanId::parse(plan_id).unwrap();
        let stale = app.creation_contexts.get(admin.white_label_id(), &id);

        let created = app
            .create_customer(admin, &input(plan_id, "Matai"), None, &|_| String::new())
            .await;
        let cached = app.creation_contexts.get(admin.white_label_id(), &id);
        fixture.remove().await;

        let stale = stale.expect("the fixture's creation cached the plan");
        assert_eq!(stale.plan.setup_fee_minor, 4_900);
        let Ok(Creation::Created { charges, .. }) = created else {
            panic!("the creation was not written")
        };
        let setup_fee = charges
            .iter()
            .find(|charge| charge.description.starts_with("Setup fee"))
            .expect("a setup fee");
        assert_eq!(setup_fee.amount_minor, -5_900, "{charges:?}");
        let cached = cached.expect("the new plan is cached");
        assert_eq!(cached.plan.setup_fee_minor, 5_900);
    }

    /// A change to the plan through the same server drops the white label's cached pairs at
    /// once, so the next creation reads the plan again rather than rolling a batch back.
    #[tokio::test]
    async fn own_change_drops_cached_pairs() {
        let fixture = Fixture::new().await;
        let (app, admin, plan_id) = (&fixture.app, &fixture.admin, &fixture.plan_id);
        let id = PlanId::parse(plan_id).unwrap();
        let before = app.creation_contexts.get(admin.white_label_id(), &id);
        fixture.change_setup_fee(app, "59.00").await;
        let after = app.creation_contexts.get(admin.white_label_id(), &id);
        let next = queued(app, admin, plan_id, "Totara").await;
        fixture.remove().await;

        assert!(before.is_some(), "the fixture's creation cached the plan");
        assert!(after.is_none(), "the change dropped the pair");
        assert!(!next.prepared.cached, "the next creation read the plan");
        assert_eq!(next.prepared.context.plan.setup_fee_minor, 5_900);
    }

    /// A plan retired by another server is rejected, although this server's cache still had it
    /// as active when the request came in, and nothing is written.
    #[tokio::test]
    async fn retired_plan_rejected_after_cache() {
        let fixture = Fixture::new().await;
        let (app, admin, plan_id) = (&fixture.app, &fixture.admin, &fixture.plan_id);
        let other = fixture.other_server();
        let id = PlanId::parse(plan_id).unwrap();
        other.retire_plan(admin, &id).await.unwrap();
        let cached = app.creation_contexts.get(admin.white_label_id(), &id);

        let rejected = app
            .create_customer(admin, &input(plan_id, "Totara"), None, &|_| String::new())
            .await;
        let page = app
            .list_customers(admin, None, None, None, 10)
            .await
            .unwrap();
        fixture.remove().await;

        assert!(cached.is_some_and(|context| context.plan.status == "active"));
        match rejected {
            Err(AppError::Invalid(errors)) => {
                assert_eq!(errors[0].field, "plan_id", "{errors:?}");
                assert_eq!(errors[0].code, "plan_retired", "{errors:?}");
            }
            Err(error) => panic!("expected the retired plan's error, got {error}"),
            Ok(_) => panic!("a customer was created on a retired plan"),
        }
        assert_eq!(
            page.customers.len(),
            1,
            "only the fixture's customer exists"
        );
    }
}
