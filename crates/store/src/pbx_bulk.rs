//! Multi-row inserts for loading many PBX objects and their SIP credentials in one
//! transaction, as a bulk import does.
//!
//! Each statement inserts up to [`BATCH_ROWS`] rows, far below SQLite's limit of 32,766 bound
//! parameters and PostgreSQL's of 65,535. Batches stay small because sqlx finds each SQLite
//! parameter by name with a linear search, so binding grows with the square of a statement's
//! parameters.

use tandem_domain::CustomerId;

use crate::pbx::{NewObject, SipCredentialRow};
use crate::{Conn, StoreResult};

/// The maximum number of rows one statement inserts.
pub const BATCH_ROWS: usize = 100;

/// Inserts objects at version 1, at most [`BATCH_ROWS`] per statement; returns how many rows
/// were inserted. Rows whose id or short number is already taken are skipped, so a caller
/// holding the account lock compares the count with `objects.len()`.
pub async fn insert_objects(
    conn: &mut Conn,
    objects: &[NewObject<'_>],
    now_us: i64,
) -> StoreResult<u64> {
    let mut inserted = 0;
    for batch in objects.chunks(BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO pbx_objects (id, white_label_id, customer_id, kind, short_number, \
             name, settings, created_us, version, updated_us) VALUES {} ON CONFLICT DO NOTHING",
            placeholders(batch.len(), 8, "1, $8")
        );
        let mut query = sqlx::query(&sql);
        for object in batch {
            query = query
                .bind(object.id.as_str())
                .bind(object.white_label_id.as_str())
                .bind(object.customer_id.as_str())
                .bind(object.kind)
                .bind(object.short_number)
                .bind(object.name)
                .bind(object.settings)
                .bind(now_us);
        }
        inserted += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// Inserts the digest credentials of new extensions, at most [`BATCH_ROWS`] per statement.
/// Unlike [`crate::pbx::set_credentials`] this records nothing in the change feed: the caller
/// records one change for the whole account.
pub async fn insert_credentials(
    conn: &mut Conn,
    customer_id: &CustomerId,
    credentials: &[SipCredentialRow],
) -> StoreResult<u64> {
    let mut inserted = 0;
    for batch in credentials.chunks(BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO sip_credentials (extension_id, customer_id, username, realm, ha1_md5, \
             ha1_sha256, updated_us) VALUES {}",
            placeholders(batch.len(), 7, "")
        );
        let mut query = sqlx::query(&sql);
        for credential in batch {
            query = query
                .bind(credential.extension_id.as_str())
                .bind(customer_id.as_str())
                .bind(&credential.username)
                .bind(&credential.realm)
                .bind(&credential.ha1_md5)
                .bind(&credential.ha1_sha256)
                .bind(credential.updated_us);
        }
        inserted += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// Builds `($1, …, $n, extra), ($n+1, …)` for `rows` rows of `columns` bound parameters each.
/// In `extra`, `$k` names the row's k-th parameter and is renumbered for each row.
fn placeholders(rows: usize, columns: usize, extra: &str) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        let base = row * columns;
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 1..=columns {
            if column > 1 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", base + column));
        }
        if !extra.is_empty() {
            let mut renumbered = String::new();
            for part in extra.split(", ") {
                match part.strip_prefix('$').and_then(|k| k.parse::<usize>().ok()) {
                    Some(k) => renumbered.push_str(&format!(", ${}", base + k)),
                    None => renumbered.push_str(&format!(", {part}")),
                }
            }
            sql.push_str(&renumbered);
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_renumber_each_row() {
        assert_eq!(
            placeholders(2, 2, "1, $2"),
            "($1, $2, 1, $2), ($3, $4, 1, $4)"
        );
    }

    #[test]
    fn placeholders_without_extra() {
        assert_eq!(placeholders(1, 3, ""), "($1, $2, $3)");
    }
}
