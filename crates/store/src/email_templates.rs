//! A white label's own versions of the mail templates; a template without a row here uses the
//! platform's default.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::WhiteLabelId;

use crate::{Conn, StoreResult};

/// A white label's version of one template.
#[derive(Debug, Clone)]
pub struct EmailTemplateRow {
    pub white_label_id: WhiteLabelId,
    /// The template's name, such as `activation`.
    pub template: String,
    pub subject: String,
    pub body_html: String,
    pub body_text: String,
    pub version: i64,
    pub updated_us: i64,
}

/// The three parts of a template.
#[derive(Debug, Clone, Copy)]
pub struct TemplateParts<'a> {
    pub subject: &'a str,
    pub body_html: &'a str,
    pub body_text: &'a str,
}

const COLUMNS: &str =
    "white_label_id, template, subject, body_html, body_text, version, updated_us";

fn from_row(row: &AnyRow) -> StoreResult<EmailTemplateRow> {
    Ok(EmailTemplateRow {
        white_label_id: WhiteLabelId::from_trusted(row.try_get("white_label_id")?),
        template: row.try_get("template")?,
        subject: row.try_get("subject")?,
        body_html: row.try_get("body_html")?,
        body_text: row.try_get("body_text")?,
        version: row.try_get("version")?,
        updated_us: row.try_get("updated_us")?,
    })
}

/// Reads a white label's version of `template`, if it has one.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    template: &str,
) -> StoreResult<Option<EmailTemplateRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM email_templates WHERE white_label_id = $1 AND template = $2"
    );
    let row = sqlx::query(&sql)
        .bind(white_label_id.as_str())
        .bind(template)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Lists a white label's own templates, by name.
pub async fn list(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
) -> StoreResult<Vec<EmailTemplateRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM email_templates WHERE white_label_id = $1 ORDER BY template"
    );
    let rows = sqlx::query(&sql)
        .bind(white_label_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Stores a white label's version of `template`, replacing any earlier one (whose version it
/// increments). Returns the stored row.
pub async fn upsert(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    template: &str,
    parts: TemplateParts<'_>,
    now_us: i64,
) -> StoreResult<EmailTemplateRow> {
    let sql = format!(
        "INSERT INTO email_templates (white_label_id, template, subject, body_html, body_text, \
         version, updated_us) VALUES ($1, $2, $3, $4, $5, 1, $6) \
         ON CONFLICT (white_label_id, template) DO UPDATE SET subject = excluded.subject, \
         body_html = excluded.body_html, body_text = excluded.body_text, \
         version = email_templates.version + 1, updated_us = excluded.updated_us \
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(white_label_id.as_str())
        .bind(template)
        .bind(parts.subject)
        .bind(parts.body_html)
        .bind(parts.body_text)
        .bind(now_us)
        .fetch_one(&mut *conn)
        .await?;
    from_row(&row)
}

/// Deletes a white label's version of `template`, so the default applies again. Returns false
/// when it had none.
pub async fn delete(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    template: &str,
) -> StoreResult<bool> {
    let result =
        sqlx::query("DELETE FROM email_templates WHERE white_label_id = $1 AND template = $2")
            .bind(white_label_id.as_str())
            .bind(template)
            .execute(&mut *conn)
            .await?;
    Ok(result.rows_affected() > 0)
}
