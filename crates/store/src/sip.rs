//! What the SIP service reads and writes. It reads digest credentials with their accounts and
//! the SIP domain settings of white labels and accounts. It writes registrations behind from
//! its memory and blocks after failed authentications. The change feed keeps its memory
//! current.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, PbxObjectId, SipBlockId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// Kinds of entry in the change feed.
pub mod change {
    /// An extension's credentials changed or went; the subject is the extension id.
    pub const EXTENSION: &str = "extension";
    /// Every credential of an account may have changed; the subject is the customer id.
    pub const ACCOUNT: &str = "account";
    /// Every credential of a white label's accounts may have changed; the subject is its id.
    pub const WHITE_LABEL: &str = "white_label";
    /// A block was lifted; the subject is `{subject} {value}`, such as `source 192.0.2.7`.
    pub const UNBLOCK: &str = "unblock";
}

/// A credential as the SIP service caches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialEntry {
    pub realm: String,
    pub username: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
    pub extension_id: PbxObjectId,
    pub customer_id: CustomerId,
    pub white_label_id: WhiteLabelId,
    /// Whether the account accepts SHA-256 digests.
    pub sha256: bool,
}

const CREDENTIAL_SELECT: &str = "SELECT s.realm, s.username, s.ha1_md5, s.ha1_sha256, \
     s.extension_id, s.customer_id, c.white_label_id, c.sip_sha256 \
     FROM sip_credentials s JOIN customers c ON c.id = s.customer_id";

fn credential_from(row: &AnyRow) -> StoreResult<CredentialEntry> {
    Ok(CredentialEntry {
        realm: row.try_get("realm")?,
        username: row.try_get("username")?,
        ha1_md5: row.try_get("ha1_md5")?,
        ha1_sha256: row.try_get("ha1_sha256")?,
        extension_id: PbxObjectId::from_trusted(row.try_get("extension_id")?),
        customer_id: CustomerId::from_trusted(row.try_get("customer_id")?),
        white_label_id: WhiteLabelId::from_trusted(row.try_get("white_label_id")?),
        sha256: row.try_get::<i64, _>("sip_sha256")? != 0,
    })
}

/// Reads every credential, for the SIP service's start.
pub async fn all_credentials(conn: &mut Conn) -> StoreResult<Vec<CredentialEntry>> {
    let rows = sqlx::query(CREDENTIAL_SELECT).fetch_all(&mut *conn).await?;
    rows.iter().map(credential_from).collect()
}

/// Reads the credential of one extension, if it has one.
pub async fn credential_of_extension(
    conn: &mut Conn,
    extension_id: &PbxObjectId,
) -> StoreResult<Option<CredentialEntry>> {
    let sql = format!("{CREDENTIAL_SELECT} WHERE s.extension_id = $1");
    let row = sqlx::query(&sql)
        .bind(extension_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(credential_from).transpose()
}

/// Reads the credentials of one account.
pub async fn credentials_of_customer(
    conn: &mut Conn,
    customer_id: &CustomerId,
) -> StoreResult<Vec<CredentialEntry>> {
    let sql = format!("{CREDENTIAL_SELECT} WHERE s.customer_id = $1");
    let rows = sqlx::query(&sql)
        .bind(customer_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(credential_from).collect()
}

/// Reads the credentials of every account of a white label.
pub async fn credentials_of_white_label(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
) -> StoreResult<Vec<CredentialEntry>> {
    let sql = format!("{CREDENTIAL_SELECT} WHERE c.white_label_id = $1");
    let rows = sqlx::query(&sql)
        .bind(white_label_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(credential_from).collect()
}

/// Returns the short numbers of an account's extensions that have no credentials, such as
/// after its SIP domain changed.
pub async fn extensions_without_credentials(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
) -> StoreResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT o.short_number FROM pbx_objects o \
         LEFT JOIN sip_credentials s ON s.extension_id = o.id \
         WHERE o.customer_id = $1 AND o.white_label_id = $2 AND o.kind = 'extension' \
         AND s.extension_id IS NULL ORDER BY o.short_number",
    )
    .bind(customer_id.as_str())
    .bind(white_label_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(row
                .try_get::<Option<String>, _>("short_number")?
                .unwrap_or_default())
        })
        .collect()
}

/// Deletes the credentials of every account of a white label, or of one account.
pub async fn delete_credentials(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: Option<&CustomerId>,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "DELETE FROM sip_credentials WHERE customer_id IN \
         (SELECT id FROM customers WHERE white_label_id = $1 AND ($2 IS NULL OR id = $2))",
    )
    .bind(white_label_id.as_str())
    .bind(customer_id.map(CustomerId::as_str))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Returns whether some other account's credentials use `realm`.
pub async fn realm_taken(
    conn: &mut Conn,
    realm: &str,
    except: Option<&CustomerId>,
) -> StoreResult<bool> {
    let row = sqlx::query(
        "SELECT 1 AS taken FROM sip_credentials WHERE realm = $1 \
         AND ($2 IS NULL OR customer_id <> $2) LIMIT 1",
    )
    .bind(realm)
    .bind(except.map(CustomerId::as_str))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// Reads a white label's SIP domain as set, or `None` for the default.
pub async fn white_label_domain(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT sip_domain FROM white_labels WHERE id = $1")
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("sip_domain")).transpose()?.flatten())
}

/// Sets a white label's SIP domain; `false` when another white label has it.
pub async fn set_white_label_domain(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    domain: Option<&str>,
) -> StoreResult<bool> {
    let existing =
        sqlx::query("SELECT 1 AS taken FROM white_labels WHERE sip_domain = $1 AND id <> $2")
            .bind(domain)
            .bind(white_label_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    if existing.is_some() {
        return Ok(false);
    }
    sqlx::query("UPDATE white_labels SET sip_domain = $1 WHERE id = $2")
        .bind(domain)
        .bind(white_label_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// An account's SIP settings as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSip {
    /// The label of the account's domain, or `None` for its account number.
    pub label: Option<String>,
    pub sha256: bool,
}

/// Reads an account's SIP settings.
pub async fn account_sip(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
) -> StoreResult<Option<AccountSip>> {
    let row = sqlx::query(
        "SELECT sip_label, sip_sha256 FROM customers WHERE id = $1 AND white_label_id = $2",
    )
    .bind(customer_id.as_str())
    .bind(white_label_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(AccountSip {
            label: row.try_get("sip_label")?,
            sha256: row.try_get::<i64, _>("sip_sha256")? != 0,
        })
    })
    .transpose()
}

/// Stores an account's SIP settings; `false` when another account of the white label has
/// the label.
pub async fn set_account_sip(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
    settings: &AccountSip,
) -> StoreResult<bool> {
    let existing = sqlx::query(
        "SELECT 1 AS taken FROM customers WHERE white_label_id = $1 AND sip_label = $2 \
         AND id <> $3",
    )
    .bind(white_label_id.as_str())
    .bind(settings.label.as_deref())
    .bind(customer_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if existing.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE customers SET sip_label = $1, sip_sha256 = $2 \
         WHERE id = $3 AND white_label_id = $4",
    )
    .bind(settings.label.as_deref())
    .bind(i64::from(settings.sha256))
    .bind(customer_id.as_str())
    .bind(white_label_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Appends an entry to the change feed.
pub async fn record_change(
    conn: &mut Conn,
    kind: &str,
    subject: &str,
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO sip_changes (kind, subject, created_us) VALUES ($1, $2, $3)")
        .bind(kind)
        .bind(subject)
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub kind: String,
    pub subject: String,
}

/// Returns the sequence number of the newest change, or 0.
pub async fn last_change(conn: &mut Conn) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM sip_changes")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("seq")?)
}

/// Returns up to `limit` changes after `seq`, oldest first.
pub async fn changes_after(conn: &mut Conn, seq: i64, limit: i64) -> StoreResult<Vec<Change>> {
    let rows = sqlx::query(
        "SELECT seq, kind, subject FROM sip_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Change {
                seq: row.try_get("seq")?,
                kind: row.try_get("kind")?,
                subject: row.try_get("subject")?,
            })
        })
        .collect()
}

/// Deletes changes recorded before `before_us`; a service that was down longer reloads
/// everything when it starts.
pub async fn prune_changes(conn: &mut Conn, before_us: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sip_changes WHERE created_us < $1")
        .bind(before_us)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// One binding as written behind by the SIP service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRow {
    pub aor: String,
    pub contact: String,
    pub customer_id: CustomerId,
    pub extension_id: PbxObjectId,
    pub params: String,
    /// `ip:port` the REGISTER came from.
    pub source: String,
    pub transport: String,
    pub user_agent: String,
    pub call_id: String,
    pub cseq: i64,
    pub expires_us: i64,
    pub updated_us: i64,
}

const REGISTRATION_COLUMNS: &str = "aor, contact, customer_id, extension_id, params, source, \
     transport, user_agent, call_id, cseq, expires_us, updated_us";

fn registration_from(row: &AnyRow) -> StoreResult<RegistrationRow> {
    Ok(RegistrationRow {
        aor: row.try_get("aor")?,
        contact: row.try_get("contact")?,
        customer_id: CustomerId::from_trusted(row.try_get("customer_id")?),
        extension_id: PbxObjectId::from_trusted(row.try_get("extension_id")?),
        params: row.try_get("params")?,
        source: row.try_get("source")?,
        transport: row.try_get("transport")?,
        user_agent: row.try_get("user_agent")?,
        call_id: row.try_get("call_id")?,
        cseq: row.try_get("cseq")?,
        expires_us: row.try_get("expires_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

/// Rows per multi-row statement. On SQLite the statements use anonymous `?` parameters: sqlx
/// looks up each numbered parameter's name, SQLite finds a name by a linear search, and so
/// binding `$N` parameters costs the square of their count.
const BATCH_ROWS: usize = 64;

/// Returns `count` parameter markers numbered from `first`: `?` on SQLite, `$N` elsewhere.
fn markers(conn: &Conn, first: usize, count: usize) -> String {
    let anonymous = conn.backend_name() == "SQLite";
    let marks: Vec<String> = (first..first + count)
        .map(|i| {
            if anonymous {
                "?".to_owned()
            } else {
                format!("${i}")
            }
        })
        .collect();
    marks.join(", ")
}

/// Replaces the bindings of each address-of-record in `aors` with those of `rows` (each row's
/// `aor` must be in `aors`); an address-of-record without rows loses its bindings. Every row's
/// `updated_us` must be `written_us`, later than that of any earlier call.
///
/// Rows are upserted by address-of-record and contact, so a refreshed binding updates its row
/// in place rather than deleting and inserting it with all its index entries. Then the
/// bindings of `aors` that this call did not write are deleted. Batched, so that a write-behind
/// of thousands of registrations takes a few statements.
pub async fn replace_registrations(
    conn: &mut Conn,
    aors: &[String],
    rows: &[RegistrationRow],
    written_us: i64,
) -> StoreResult<()> {
    for chunk in rows.chunks(BATCH_ROWS) {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|r| format!("({})", markers(conn, r * 12 + 1, 12)))
            .collect();
        let sql = format!(
            "INSERT INTO sip_registrations ({REGISTRATION_COLUMNS}) VALUES {} \
             ON CONFLICT (aor, contact) DO UPDATE SET customer_id = excluded.customer_id, \
             extension_id = excluded.extension_id, params = excluded.params, \
             source = excluded.source, transport = excluded.transport, \
             user_agent = excluded.user_agent, call_id = excluded.call_id, \
             cseq = excluded.cseq, expires_us = excluded.expires_us, \
             updated_us = excluded.updated_us",
            tuples.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            debug_assert_eq!(row.updated_us, written_us);
            query = query
                .bind(row.aor.as_str())
                .bind(row.contact.as_str())
                .bind(row.customer_id.as_str())
                .bind(row.extension_id.as_str())
                .bind(row.params.as_str())
                .bind(row.source.as_str())
                .bind(row.transport.as_str())
                .bind(row.user_agent.as_str())
                .bind(row.call_id.as_str())
                .bind(row.cseq)
                .bind(row.expires_us)
                .bind(row.updated_us);
        }
        query.execute(&mut *conn).await?;
    }
    for chunk in aors.chunks(BATCH_ROWS) {
        let sql = format!(
            "DELETE FROM sip_registrations WHERE aor IN ({}) AND updated_us < {}",
            markers(conn, 1, chunk.len()),
            markers(conn, chunk.len() + 1, 1)
        );
        let mut query = sqlx::query(&sql);
        for aor in chunk {
            query = query.bind(aor.as_str());
        }
        query.bind(written_us).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Reads every binding that has not lapsed at `now_us`, for the SIP service's start.
pub async fn live_registrations(conn: &mut Conn, now_us: i64) -> StoreResult<Vec<RegistrationRow>> {
    let sql = format!(
        "SELECT {REGISTRATION_COLUMNS} FROM sip_registrations WHERE expires_us > $1 \
         ORDER BY aor, contact"
    );
    let rows = sqlx::query(&sql).bind(now_us).fetch_all(&mut *conn).await?;
    rows.iter().map(registration_from).collect()
}

/// Reads the live bindings of one account of a white label, by extension.
pub async fn registrations_of_customer(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
    now_us: i64,
) -> StoreResult<Vec<RegistrationRow>> {
    let sql = format!(
        "SELECT {cols} FROM sip_registrations r WHERE r.customer_id = $1 AND r.expires_us > $2 \
         AND EXISTS (SELECT 1 FROM customers c WHERE c.id = r.customer_id \
         AND c.white_label_id = $3) ORDER BY r.extension_id, r.contact",
        cols = REGISTRATION_COLUMNS
            .split(", ")
            .map(|c| format!("r.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows = sqlx::query(&sql)
        .bind(customer_id.as_str())
        .bind(now_us)
        .bind(white_label_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(registration_from).collect()
}

/// Deletes bindings that lapsed before `now_us`.
pub async fn delete_lapsed_registrations(conn: &mut Conn, now_us: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sip_registrations WHERE expires_us <= $1")
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// A block after failed authentications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    pub id: SipBlockId,
    /// `source` or `aor`.
    pub subject: String,
    /// The IP address or the address-of-record.
    pub value: String,
    /// The address-of-record of the failure that started the block.
    pub aor: String,
    pub customer_id: Option<CustomerId>,
    pub white_label_id: Option<WhiteLabelId>,
    pub blocked_until_us: i64,
    pub created_us: i64,
}

const BLOCK_COLUMNS: &str =
    "id, subject, value, aor, customer_id, white_label_id, blocked_until_us, created_us";

fn block_from(row: &AnyRow) -> StoreResult<BlockRow> {
    Ok(BlockRow {
        id: SipBlockId::from_trusted(row.try_get("id")?),
        subject: row.try_get("subject")?,
        value: row.try_get("value")?,
        aor: row.try_get("aor")?,
        customer_id: row
            .try_get::<Option<String>, _>("customer_id")?
            .map(CustomerId::from_trusted),
        white_label_id: row
            .try_get::<Option<String>, _>("white_label_id")?
            .map(WhiteLabelId::from_trusted),
        blocked_until_us: row.try_get("blocked_until_us")?,
        created_us: row.try_get("created_us")?,
    })
}

/// Records a block, replacing an earlier one of the same subject and value.
pub async fn upsert_block(conn: &mut Conn, block: &BlockRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO sip_blocks ({BLOCK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (subject, value) DO UPDATE SET aor = excluded.aor, \
         customer_id = excluded.customer_id, white_label_id = excluded.white_label_id, \
         blocked_until_us = excluded.blocked_until_us, created_us = excluded.created_us"
    ))
    .bind(block.id.as_str())
    .bind(&block.subject)
    .bind(&block.value)
    .bind(&block.aor)
    .bind(block.customer_id.as_ref().map(CustomerId::as_str))
    .bind(block.white_label_id.as_ref().map(WhiteLabelId::as_str))
    .bind(block.blocked_until_us)
    .bind(block.created_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whose blocks a caller may see.
#[derive(Debug, Clone, Copy)]
pub enum BlockScope<'a> {
    /// The platform operator: every block.
    Platform,
    /// A white label: blocks started by failures against its accounts.
    WhiteLabel(&'a WhiteLabelId),
    /// One account of a white label.
    Customer(&'a WhiteLabelId, &'a CustomerId),
}

impl BlockScope<'_> {
    fn filter(&self) -> (&'static str, Vec<&str>) {
        match self {
            BlockScope::Platform => ("", Vec::new()),
            BlockScope::WhiteLabel(wl) => (" AND white_label_id = $2", vec![wl.as_str()]),
            BlockScope::Customer(wl, customer) => (
                " AND white_label_id = $2 AND customer_id = $3",
                vec![wl.as_str(), customer.as_str()],
            ),
        }
    }
}

/// Lists the blocks in `scope` that last beyond `now_us`, newest first.
pub async fn blocks(
    conn: &mut Conn,
    scope: BlockScope<'_>,
    now_us: i64,
) -> StoreResult<Vec<BlockRow>> {
    let (filter, binds) = scope.filter();
    let sql = format!(
        "SELECT {BLOCK_COLUMNS} FROM sip_blocks WHERE blocked_until_us > $1{filter} \
         ORDER BY created_us DESC, id"
    );
    let mut query = sqlx::query(&sql).bind(now_us);
    for value in binds {
        query = query.bind(value);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(block_from).collect()
}

/// Deletes a block in `scope` and returns it, if it exists there.
pub async fn delete_block(
    conn: &mut Conn,
    scope: BlockScope<'_>,
    id: &SipBlockId,
) -> StoreResult<Option<BlockRow>> {
    let (filter, binds) = scope.filter();
    let filter = filter.replace("$3", "$4").replace("$2", "$3");
    let sql = format!("SELECT {BLOCK_COLUMNS} FROM sip_blocks WHERE id = $1 AND 1 = $2{filter}");
    let mut query = sqlx::query(&sql).bind(id.as_str()).bind(1_i64);
    for value in binds {
        query = query.bind(value);
    }
    let Some(row) = query.fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let block = block_from(&row)?;
    sqlx::query("DELETE FROM sip_blocks WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(Some(block))
}

/// Deletes blocks that ended before `now_us`.
pub async fn delete_lapsed_blocks(conn: &mut Conn, now_us: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sip_blocks WHERE blocked_until_us <= $1")
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
