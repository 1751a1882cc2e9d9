//! The PBX objects of customer accounts, their SIP credentials, uploaded recordings and
//! outbound policies. Settings are stored as the JSON of the domain's settings types.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, MediaId, PbxObjectId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// A PBX object as stored.
#[derive(Debug, Clone)]
pub struct PbxObjectRow {
    pub id: PbxObjectId,
    pub customer_id: CustomerId,
    pub kind: String,
    pub short_number: Option<String>,
    pub name: String,
    /// JSON of the kind's settings.
    pub settings: String,
    pub version: i64,
    pub created_us: i64,
    pub updated_us: i64,
}

const COLUMNS: &str =
    "id, customer_id, kind, short_number, name, settings, version, created_us, updated_us";

fn from_row(row: &AnyRow) -> StoreResult<PbxObjectRow> {
    Ok(PbxObjectRow {
        id: PbxObjectId::from_trusted(row.try_get("id")?),
        customer_id: CustomerId::from_trusted(row.try_get("customer_id")?),
        kind: row.try_get("kind")?,
        short_number: row.try_get("short_number")?,
        name: row.try_get("name")?,
        settings: row.try_get("settings")?,
        version: row.try_get("version")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

/// Bumps the account's PBX revision and returns it, taking the account's row lock so that
/// changes to one account's PBX run one after the other. `None` if the account is not the
/// white label's.
pub async fn lock_account(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE customers SET pbx_revision = pbx_revision + 1 \
         WHERE id = $1 AND white_label_id = $2 RETURNING pbx_revision",
    )
    .bind(customer_id.as_str())
    .bind(white_label_id.as_str())
    .fetch_optional(&mut *conn)
    .await?)
}

/// Lists every object of an account, by kind and short number.
pub async fn list(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
) -> StoreResult<Vec<PbxObjectRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pbx_objects WHERE customer_id = $1 AND white_label_id = $2 \
         ORDER BY kind, short_number, name, id"
    );
    let rows = sqlx::query(&sql)
        .bind(customer_id.as_str())
        .bind(white_label_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Reads one object of an account.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
    id: &PbxObjectId,
) -> StoreResult<Option<PbxObjectRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pbx_objects WHERE id = $1 AND customer_id = $2 \
         AND white_label_id = $3"
    );
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(customer_id.as_str())
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Counts the objects of one kind in an account.
pub async fn count_kind(conn: &mut Conn, customer_id: &CustomerId, kind: &str) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM pbx_objects WHERE customer_id = $1 AND kind = $2")
            .bind(customer_id.as_str())
            .bind(kind)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// An object to insert.
#[derive(Debug, Clone)]
pub struct NewObject<'a> {
    pub id: &'a PbxObjectId,
    pub white_label_id: &'a WhiteLabelId,
    pub customer_id: &'a CustomerId,
    pub kind: &'a str,
    pub short_number: Option<&'a str>,
    pub name: &'a str,
    pub settings: &'a str,
}

/// Inserts an object at version 1; returns false if the short number is taken in the account.
pub async fn insert(conn: &mut Conn, object: &NewObject<'_>, now_us: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO pbx_objects (id, white_label_id, customer_id, kind, short_number, name, \
         settings, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) \
         ON CONFLICT DO NOTHING",
    )
    .bind(object.id.as_str())
    .bind(object.white_label_id.as_str())
    .bind(object.customer_id.as_str())
    .bind(object.kind)
    .bind(object.short_number)
    .bind(object.name)
    .bind(object.settings)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The editable fields of an object.
#[derive(Debug, Clone, Copy)]
pub struct ObjectFields<'a> {
    pub short_number: Option<&'a str>,
    pub name: &'a str,
    pub settings: &'a str,
}

/// Saves an edit made from `expected_version`; returns the new version, or `None` when the
/// object is gone or was changed since.
pub async fn update(
    conn: &mut Conn,
    customer_id: &CustomerId,
    id: &PbxObjectId,
    expected_version: i64,
    fields: ObjectFields<'_>,
    now_us: i64,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE pbx_objects SET short_number = $1, name = $2, settings = $3, \
         version = version + 1, updated_us = $4 \
         WHERE id = $5 AND customer_id = $6 AND version = $7 RETURNING version",
    )
    .bind(fields.short_number)
    .bind(fields.name)
    .bind(fields.settings)
    .bind(now_us)
    .bind(id.as_str())
    .bind(customer_id.as_str())
    .bind(expected_version)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Deletes an object (and its SIP credentials); returns whether it existed.
pub async fn delete(
    conn: &mut Conn,
    customer_id: &CustomerId,
    id: &PbxObjectId,
    now_us: i64,
) -> StoreResult<bool> {
    let credentials =
        sqlx::query("DELETE FROM sip_credentials WHERE extension_id = $1 AND customer_id = $2")
            .bind(id.as_str())
            .bind(customer_id.as_str())
            .execute(&mut *conn)
            .await?;
    if credentials.rows_affected() > 0 {
        crate::sip::record_change(
            &mut *conn,
            crate::sip::change::EXTENSION,
            id.as_str(),
            now_us,
        )
        .await?;
    }
    let done = sqlx::query("DELETE FROM pbx_objects WHERE id = $1 AND customer_id = $2")
        .bind(id.as_str())
        .bind(customer_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Digest credentials of one extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipCredentialRow {
    pub extension_id: PbxObjectId,
    pub username: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
    pub updated_us: i64,
}

/// Stores (or replaces) an extension's digest credentials, and records the change for the
/// SIP service.
pub async fn set_credentials(
    conn: &mut Conn,
    customer_id: &CustomerId,
    credential: &SipCredentialRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sip_credentials (extension_id, customer_id, username, realm, ha1_md5, \
         ha1_sha256, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (extension_id) DO UPDATE SET username = excluded.username, \
         realm = excluded.realm, ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256, \
         updated_us = excluded.updated_us",
    )
    .bind(credential.extension_id.as_str())
    .bind(customer_id.as_str())
    .bind(&credential.username)
    .bind(&credential.realm)
    .bind(&credential.ha1_md5)
    .bind(&credential.ha1_sha256)
    .bind(credential.updated_us)
    .execute(&mut *conn)
    .await?;
    crate::sip::record_change(
        &mut *conn,
        crate::sip::change::EXTENSION,
        credential.extension_id.as_str(),
        credential.updated_us,
    )
    .await
}

/// Reads the digest credentials of an account's extension.
pub async fn credentials(
    conn: &mut Conn,
    customer_id: &CustomerId,
    extension_id: &PbxObjectId,
) -> StoreResult<Option<SipCredentialRow>> {
    let row = sqlx::query(
        "SELECT extension_id, username, realm, ha1_md5, ha1_sha256, updated_us \
         FROM sip_credentials WHERE extension_id = $1 AND customer_id = $2",
    )
    .bind(extension_id.as_str())
    .bind(customer_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(SipCredentialRow {
            extension_id: PbxObjectId::from_trusted(row.try_get("extension_id")?),
            username: row.try_get("username")?,
            realm: row.try_get("realm")?,
            ha1_md5: row.try_get("ha1_md5")?,
            ha1_sha256: row.try_get("ha1_sha256")?,
            updated_us: row.try_get("updated_us")?,
        })
    })
    .transpose()
}

/// An uploaded recording.
#[derive(Debug, Clone)]
pub struct MediaRow {
    pub id: MediaId,
    pub content_type: String,
    pub file_name: String,
    pub size_bytes: i64,
    pub body: Vec<u8>,
}

/// Stores a recording of an account.
pub async fn insert_media(
    conn: &mut Conn,
    customer_id: &CustomerId,
    media: &MediaRow,
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO media (id, customer_id, content_type, file_name, size_bytes, body, \
         created_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(media.id.as_str())
    .bind(customer_id.as_str())
    .bind(&media.content_type)
    .bind(&media.file_name)
    .bind(media.size_bytes)
    .bind(&media.body)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Returns whether an account has a recording.
pub async fn media_exists(
    conn: &mut Conn,
    customer_id: &CustomerId,
    id: &MediaId,
) -> StoreResult<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM media WHERE id = $1 AND customer_id = $2")
            .bind(id.as_str())
            .bind(customer_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// Counts the recordings of an account.
pub async fn count_media(conn: &mut Conn, customer_id: &CustomerId) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM media WHERE customer_id = $1")
            .bind(customer_id.as_str())
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Reads a recording of an account.
pub async fn media(
    conn: &mut Conn,
    customer_id: &CustomerId,
    id: &MediaId,
) -> StoreResult<Option<MediaRow>> {
    let row = sqlx::query(
        "SELECT id, content_type, file_name, size_bytes, body FROM media \
         WHERE id = $1 AND customer_id = $2",
    )
    .bind(id.as_str())
    .bind(customer_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(MediaRow {
            id: MediaId::from_trusted(row.try_get("id")?),
            content_type: row.try_get("content_type")?,
            file_name: row.try_get("file_name")?,
            size_bytes: row.try_get("size_bytes")?,
            body: row.try_get("body")?,
        })
    })
    .transpose()
}

/// The stored outbound policy of an account: its JSON and version.
pub async fn policy(
    conn: &mut Conn,
    customer_id: &CustomerId,
) -> StoreResult<Option<(String, i64)>> {
    let row = sqlx::query("SELECT settings, version FROM outbound_policies WHERE customer_id = $1")
        .bind(customer_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| Ok((row.try_get("settings")?, row.try_get("version")?)))
        .transpose()
}

/// Saves an account's outbound policy made from `expected_version` (0 when none was stored);
/// returns the new version, or `None` if the policy changed since.
pub async fn save_policy(
    conn: &mut Conn,
    customer_id: &CustomerId,
    settings: &str,
    expected_version: i64,
    now_us: i64,
) -> StoreResult<Option<i64>> {
    if expected_version == 0 {
        let done = sqlx::query(
            "INSERT INTO outbound_policies (customer_id, settings, version, updated_us) \
             VALUES ($1, $2, 1, $3) ON CONFLICT (customer_id) DO NOTHING",
        )
        .bind(customer_id.as_str())
        .bind(settings)
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
        return Ok((done.rows_affected() == 1).then_some(1));
    }
    Ok(sqlx::query_scalar(
        "UPDATE outbound_policies SET settings = $1, version = version + 1, updated_us = $2 \
         WHERE customer_id = $3 AND version = $4 RETURNING version",
    )
    .bind(settings)
    .bind(now_us)
    .bind(customer_id.as_str())
    .bind(expected_version)
    .fetch_optional(&mut *conn)
    .await?)
}
