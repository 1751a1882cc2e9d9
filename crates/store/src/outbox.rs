//! The durable queue of outgoing mail and webhooks.
//!
//! An item is inserted in the same transaction as the change that causes it, so it exists
//! exactly when that change committed. Workers claim due items with a lease ([`claim_due`]),
//! deliver them outside any transaction, then record the attempt and either mark the item
//! delivered or schedule a retry, each in a short transaction of its own.
//!
//! States: `queued` (waiting for its next attempt), `sending` (claimed by a worker until
//! `lease_until_us`), `delivered` and `failed` (final).

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, WhiteLabelId};

use crate::{Backend, Conn, StoreResult};

/// Kind of an item that is an email.
pub const KIND_MAIL: &str = "mail";
/// Kind of an item that is a webhook call.
pub const KIND_WEBHOOK: &str = "webhook";

/// An item waiting for its next attempt.
pub const STATE_QUEUED: &str = "queued";
/// An item claimed by a worker until its lease ends.
pub const STATE_SENDING: &str = "sending";
/// An item the receiver accepted; it is never sent again.
pub const STATE_DELIVERED: &str = "delivered";
/// An item given up on after a permanent error or too many attempts.
pub const STATE_FAILED: &str = "failed";

/// An item to insert.
#[derive(Debug, Clone)]
pub struct NewOutboxItem<'a> {
    pub id: &'a str,
    /// [`KIND_MAIL`] or [`KIND_WEBHOOK`].
    pub kind: &'a str,
    pub white_label_id: Option<&'a WhiteLabelId>,
    pub customer_id: Option<&'a CustomerId>,
    /// The mail template or the webhook event type.
    pub topic: &'a str,
    /// An email address or a URL.
    pub recipient: &'a str,
    pub subject: Option<&'a str>,
    /// The text part of a mail, or the JSON body of a webhook.
    pub body_text: &'a str,
    pub body_html: Option<&'a str>,
    /// For mail: sender, Reply-To and Message-ID as a JSON object.
    pub headers_json: Option<&'a str>,
}

/// An item as stored.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub white_label_id: Option<WhiteLabelId>,
    pub customer_id: Option<CustomerId>,
    pub topic: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
    pub headers_json: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_us: i64,
    pub lease_until_us: Option<i64>,
    pub last_error: Option<String>,
    pub created_us: i64,
    pub delivered_us: Option<i64>,
}

/// One delivery attempt of an item.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub id: String,
    pub outbox_id: String,
    pub attempt: i64,
    pub started_us: i64,
    pub finished_us: i64,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    /// The receiver's reply or the error, for people reading the log.
    pub detail: Option<String>,
}

/// An item with its attempts, oldest attempt first.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub row: OutboxRow,
    pub attempts: Vec<AttemptRow>,
}

/// When to retry a failed attempt and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after which an item is marked `failed`.
    pub max_attempts: i64,
    /// Delay after the first failed attempt, before jitter.
    pub base_delay_us: i64,
    /// Largest delay between two attempts, before jitter.
    pub max_delay_us: i64,
}

impl Default for RetryPolicy {
    /// 12 attempts, 30 s after the first failure and doubling up to 1 h. The 11 pauses add up
    /// to 5 h 3 min at most, or half that with the least jitter.
    fn default() -> Self {
        Self {
            max_attempts: 12,
            base_delay_us: 30_000_000,
            max_delay_us: 3_600_000_000,
        }
    }
}

impl RetryPolicy {
    /// Computes the delay after failed attempt number `attempt` (1 for the first): `base × 2^(attempt-1)`
    /// capped at `max_delay_us`, of which the second half is scaled by `jitter` (0 to 1). The
    /// result lies between half and all of the capped delay, so that items that failed
    /// together do not all retry at the same moment.
    pub fn delay_us(&self, attempt: i64, jitter: f64) -> i64 {
        let exponent = attempt.saturating_sub(1).clamp(0, 40) as u32;
        let capped = self
            .base_delay_us
            .saturating_mul(1_i64 << exponent)
            .min(self.max_delay_us)
            .max(0);
        let half = capped / 2;
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        half + ((capped - half) as f64 * jitter) as i64
    }
}

const COLUMNS: &str = "id, kind, white_label_id, customer_id, topic, recipient, subject, \
    body_text, body_html, headers_json, state, attempts, next_attempt_us, lease_until_us, \
    last_error, created_us, delivered_us";

fn from_row(row: &AnyRow) -> StoreResult<OutboxRow> {
    let white_label_id: Option<String> = row.try_get("white_label_id")?;
    let customer_id: Option<String> = row.try_get("customer_id")?;
    Ok(OutboxRow {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        white_label_id: white_label_id.map(WhiteLabelId::from_trusted),
        customer_id: customer_id.map(CustomerId::from_trusted),
        topic: row.try_get("topic")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body_text: row.try_get("body_text")?,
        body_html: row.try_get("body_html")?,
        headers_json: row.try_get("headers_json")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_us: row.try_get("next_attempt_us")?,
        lease_until_us: row.try_get("lease_until_us")?,
        last_error: row.try_get("last_error")?,
        created_us: row.try_get("created_us")?,
        delivered_us: row.try_get("delivered_us")?,
    })
}

fn attempt_from_row(row: &AnyRow) -> StoreResult<AttemptRow> {
    Ok(AttemptRow {
        id: row.try_get("id")?,
        outbox_id: row.try_get("outbox_id")?,
        attempt: row.try_get("attempt")?,
        started_us: row.try_get("started_us")?,
        finished_us: row.try_get("finished_us")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
    })
}

/// Inserts a queued item, due at once, inside the caller's transaction.
pub async fn insert(conn: &mut Conn, item: &NewOutboxItem<'_>, now_us: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (id, kind, white_label_id, customer_id, topic, recipient, subject, \
         body_text, body_html, headers_json, state, attempts, next_attempt_us, created_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', 0, $11, $11)",
    )
    .bind(item.id)
    .bind(item.kind)
    .bind(item.white_label_id.map(WhiteLabelId::as_str))
    .bind(item.customer_id.map(CustomerId::as_str))
    .bind(item.topic)
    .bind(item.recipient)
    .bind(item.subject)
    .bind(item.body_text)
    .bind(item.body_html)
    .bind(item.headers_json)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` due items for delivery: queued items whose next attempt is due, and
/// items still `sending` whose lease has ended because their worker stopped. Each claimed item
/// becomes `sending` with `lease_until_us = now_us + lease_us`, oldest due first.
///
/// Run it in a write transaction and commit at once. On PostgreSQL the rows are locked with
/// `FOR UPDATE SKIP LOCKED`, so concurrent workers claim disjoint sets; on SQLite the write
/// transaction (`BEGIN IMMEDIATE`) serialises claims. Because a lease can only be taken over
/// after it ended, `lease_until_us` grows with every claim of an item and identifies the claim.
pub async fn claim_due(
    conn: &mut Conn,
    backend: Backend,
    now_us: i64,
    lease_us: i64,
    limit: u32,
) -> StoreResult<Vec<OutboxRow>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE outbox SET state = 'sending', lease_until_us = $1 \
         WHERE id IN (SELECT id FROM outbox \
           WHERE (state = 'queued' OR (state = 'sending' AND lease_until_us < $2)) \
           AND next_attempt_us <= $2 \
           ORDER BY next_attempt_us, id LIMIT {limit}{lock}) \
         RETURNING {COLUMNS}"
    );
    let rows = sqlx::query(&sql)
        .bind(now_us.saturating_add(lease_us))
        .bind(now_us)
        .fetch_all(&mut *conn)
        .await?;
    let mut items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    items.sort_by(|a, b| (a.next_attempt_us, &a.id).cmp(&(b.next_attempt_us, &b.id)));
    Ok(items)
}

/// An attempt to record.
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    pub id: &'a str,
    pub outbox_id: &'a str,
    pub started_us: i64,
    pub finished_us: i64,
    /// `delivered`, `retry` or `failed`.
    pub outcome: &'a str,
    pub detail: Option<&'a str>,
}

/// Counts an attempt on its item and appends it to the item's attempts; returns its number
/// (1 for the first).
pub async fn record_attempt(conn: &mut Conn, attempt: &NewAttempt<'_>) -> StoreResult<i64> {
    let number: Option<i64> = sqlx::query_scalar(
        "UPDATE outbox SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
    )
    .bind(attempt.outbox_id)
    .fetch_optional(&mut *conn)
    .await?;
    let number = number.unwrap_or(0);
    sqlx::query(
        "INSERT INTO outbox_attempts (id, outbox_id, attempt, started_us, finished_us, outcome, \
         detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(attempt.id)
    .bind(attempt.outbox_id)
    .bind(number)
    .bind(attempt.started_us)
    .bind(attempt.finished_us)
    .bind(attempt.outcome)
    .bind(attempt.detail)
    .execute(&mut *conn)
    .await?;
    Ok(number)
}

/// Marks an item delivered, whichever worker holds its lease, because the receiver accepted
/// it. Returns false when the item was already delivered.
pub async fn mark_delivered(conn: &mut Conn, id: &str, now_us: i64) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE outbox SET state = 'delivered', delivered_us = $1, lease_until_us = NULL, \
         last_error = NULL WHERE id = $2 AND state <> 'delivered'",
    )
    .bind(now_us)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The state of an item after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Queued again for `next_attempt_us`.
    Retry { next_attempt_us: i64 },
    /// Marked `failed`: the error was permanent or the attempts ran out.
    Failed,
    /// Not changed: the lease had passed to another worker, or the item was delivered.
    LeaseLost,
}

/// Records the failure of attempt number `attempt`: queues the item again with a backoff from
/// `policy`, or marks it `failed` when `permanent` is set or it has had
/// `policy.max_attempts` attempts. Only the worker holding the claim identified by
/// `lease_until_us` may do this.
#[allow(clippy::too_many_arguments)]
pub async fn record_failure(
    conn: &mut Conn,
    id: &str,
    lease_until_us: Option<i64>,
    attempt: i64,
    now_us: i64,
    error: &str,
    permanent: bool,
    policy: &RetryPolicy,
    jitter: f64,
) -> StoreResult<AfterFailure> {
    let give_up = permanent || attempt >= policy.max_attempts;
    let (state, next_attempt_us, outcome) = if give_up {
        (STATE_FAILED, now_us, AfterFailure::Failed)
    } else {
        let next = now_us.saturating_add(policy.delay_us(attempt, jitter));
        (
            STATE_QUEUED,
            next,
            AfterFailure::Retry {
                next_attempt_us: next,
            },
        )
    };
    let result = sqlx::query(
        "UPDATE outbox SET state = $1, next_attempt_us = $2, lease_until_us = NULL, \
         last_error = $3 WHERE id = $4 AND state = 'sending' AND lease_until_us = $5",
    )
    .bind(state)
    .bind(next_attempt_us)
    .bind(error)
    .bind(id)
    .bind(lease_until_us)
    .execute(&mut *conn)
    .await?;
    if result.rows_affected() == 1 {
        Ok(outcome)
    } else {
        Ok(AfterFailure::LeaseLost)
    }
}

/// Reads the state of one item of a white label (`queued`, `sending`, `delivered` or
/// `failed`).
pub async fn state_of(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &str,
) -> StoreResult<Option<String>> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM outbox WHERE white_label_id = $1 AND id = $2")
            .bind(white_label_id.as_str())
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(state)
}

/// Reads one item of a white label.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &str,
) -> StoreResult<Option<OutboxItem>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE white_label_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(white_label_id.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let row = from_row(&row)?;
    let attempts = sqlx::query(
        "SELECT id, outbox_id, attempt, started_us, finished_us, outcome, detail \
         FROM outbox_attempts WHERE outbox_id = $1 ORDER BY attempt, started_us, id",
    )
    .bind(&row.id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(attempt_from_row)
    .collect::<StoreResult<Vec<_>>>()?;
    Ok(Some(OutboxItem { row, attempts }))
}

/// Lists a white label's items of one kind with their attempts, newest first, starting after
/// the cursor `before` (`created_us` and id of the last item of the previous page).
pub async fn list_for_white_label(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    kind: &str,
    before: Option<(i64, String)>,
    limit: u32,
) -> StoreResult<Vec<OutboxItem>> {
    let cursor = if before.is_some() {
        " AND (created_us < $3 OR (created_us = $3 AND id < $4))"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE white_label_id = $1 AND kind = $2{cursor} \
         ORDER BY created_us DESC, id DESC LIMIT {limit}"
    );
    let mut query = sqlx::query(&sql).bind(white_label_id.as_str()).bind(kind);
    if let Some((created_us, id)) = &before {
        query = query.bind(*created_us).bind(id);
    }
    let rows = query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }

    // One query for the attempts of the whole page, kept to this white label's items.
    let placeholders = (0..rows.len())
        .map(|i| format!("${}", i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT a.id, a.outbox_id, a.attempt, a.started_us, a.finished_us, a.outcome, a.detail \
         FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id \
         WHERE o.white_label_id = $1 AND a.outbox_id IN ({placeholders}) \
         ORDER BY a.outbox_id, a.attempt, a.started_us, a.id"
    );
    let mut query = sqlx::query(&sql).bind(white_label_id.as_str());
    for row in &rows {
        query = query.bind(&row.id);
    }
    let attempts = query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(attempt_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .map(|row| OutboxItem {
            attempts: attempts
                .iter()
                .filter(|a| a.outbox_id == row.id)
                .cloned()
                .collect(),
            row,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_from_base() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_us(1, 1.0), 30_000_000);
        assert_eq!(policy.delay_us(2, 1.0), 60_000_000);
        assert_eq!(policy.delay_us(3, 1.0), 120_000_000);
    }

    #[test]
    fn delay_is_capped_at_max() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_us(8, 1.0), 3_600_000_000);
        assert_eq!(policy.delay_us(12, 1.0), 3_600_000_000);
        assert_eq!(policy.delay_us(1_000, 1.0), 3_600_000_000);
    }

    #[test]
    fn delay_jitter_stays_in_upper_half() {
        let policy = RetryPolicy::default();
        for attempt in 1..=12 {
            let full = policy.delay_us(attempt, 1.0);
            let low = policy.delay_us(attempt, 0.0);
            let mid = policy.delay_us(attempt, 0.5);
            assert_eq!(low, full / 2, "attempt {attempt}");
            assert!(low <= mid, "attempt {attempt}: {mid}");
            assert!(mid <= full, "attempt {attempt}: {mid}");
        }
    }

    #[test]
    fn delay_ignores_invalid_jitter() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_us(1, f64::NAN), 15_000_000);
        assert_eq!(policy.delay_us(1, 7.0), 30_000_000);
        assert_eq!(policy.delay_us(0, 1.0), 30_000_000);
    }
}
