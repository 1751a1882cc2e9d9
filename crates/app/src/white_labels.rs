//! White labels: created and edited by Platform Administrators; branding also by the white
//! label's own administrators.

use serde::Deserialize;
use tandem_domain::{
    AmountRule, Colour, Country, Currency, EmailAddress, HostName, LedgerKind, Money, Name,
    Permission, PhoneNumber, TaxRate, WhiteLabelId,
};
use tandem_store::white_labels::{self as store_wl, WhiteLabelFields, WhiteLabelRow};
use tandem_store::{customers, ledger};

use crate::access::{PlatformAdmin, WhiteLabelAdmin};
use crate::audit::{record, Change};
use crate::validate::{present, Fields};
use crate::{App, AppError, AppResult, FieldError};

/// The largest logo accepted, in bytes.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

/// White-label settings as entered in a form or an API request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WhiteLabelInput {
    pub name: String,
    /// Portal host names, separated by commas, spaces or new lines.
    pub hosts: String,
    pub country: String,
    pub currency: String,
    pub support_email: String,
    pub support_phone: Option<String>,
    pub primary_colour: String,
    pub terms_url: Option<String>,
    pub tax_name: String,
    /// Percent, for example `15` or `12.5`.
    pub tax_rate_percent: String,
    pub show_prices_with_tax: bool,
}

impl WhiteLabelInput {
    /// The input that reproduces a stored white label, for edit forms.
    pub fn from_row(row: &WhiteLabelRow) -> Self {
        Self {
            name: row.name.clone(),
            hosts: row.hosts.join(", "),
            country: row.country.clone(),
            currency: row.currency.clone(),
            support_email: row.support_email.clone(),
            support_phone: row.support_phone.clone(),
            primary_colour: row.primary_colour.clone(),
            terms_url: row.terms_url.clone(),
            tax_name: row.tax_name.clone(),
            tax_rate_percent: TaxRate::from_basis_points(row.tax_rate_bp as u32)
                .to_string()
                .trim_end_matches('%')
                .to_string(),
            show_prices_with_tax: row.show_prices_with_tax,
        }
    }
}

fn parse_tax_percent(input: &str) -> Result<u32, tandem_domain::ValueError> {
    let invalid = || {
        tandem_domain::ValueError::new(
            "invalid_tax_rate",
            format!("'{input}' is not a tax rate: give a percentage between 0 and 100, such as 15"),
        )
    };
    let trimmed = input.trim().trim_end_matches('%').trim();
    if trimmed.is_empty() {
        return Err(tandem_domain::ValueError::required());
    }
    let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
        || whole.len() > 3
    {
        return Err(invalid());
    }
    let whole: u32 = whole.parse().map_err(|_| invalid())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    let basis_points = whole * 100 + fraction;
    if basis_points > 10_000 {
        return Err(invalid());
    }
    Ok(basis_points)
}

fn parse_terms_url(input: &str) -> Result<String, tandem_domain::ValueError> {
    let url = input.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 500
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<');
    if ok {
        Ok(url.to_string())
    } else {
        Err(tandem_domain::ValueError::new(
            "invalid_url",
            format!("'{url}' is not a web address: give one starting with https://"),
        ))
    }
}

/// Validated white-label settings.
struct ValidSettings {
    fields: WhiteLabelFields,
    hosts: Vec<String>,
}

fn validate(input: &WhiteLabelInput) -> AppResult<ValidSettings> {
    let mut fields = Fields::default();
    let name = fields.check("name", Name::parse(&input.name, 80));
    let country = fields.check("country", Country::parse(&input.country));
    let currency = fields.check("currency", Currency::parse(&input.currency));
    let support_email = fields.check("support_email", EmailAddress::parse(&input.support_email));
    let support_phone = match (present(&input.support_phone), &country) {
        (Some(phone), Some(country)) => fields
            .check("support_phone", PhoneNumber::parse(phone, *country))
            .map(Some),
        _ => Some(None),
    };
    let colour = fields.check("primary_colour", Colour::parse(&input.primary_colour));
    let terms_url = match present(&input.terms_url) {
        Some(url) => fields.check("terms_url", parse_terms_url(url)).map(Some),
        None => Some(None),
    };
    let tax_name = fields.check("tax_name", Name::parse(&input.tax_name, 20));
    let tax_rate_bp = fields.check(
        "tax_rate_percent",
        parse_tax_percent(&input.tax_rate_percent),
    );

    let mut hosts = Vec::new();
    for raw in input
        .hosts
        .split([',', ' ', '\n', '\r', '\t'])
        .filter(|s| !s.is_empty())
    {
        // A portal is named by its host alone: the port a browser uses does not make another
        // portal, so one white label can never claim another's name on a different port.
        if let Some(host) = fields.check("hosts", HostName::parse(raw)) {
            let name = host.host_without_port().to_string();
            if !hosts.contains(&name) {
                hosts.push(name);
            }
        }
    }
    if hosts.is_empty() && fields.is_empty() {
        fields.push(FieldError::custom(
            "hosts",
            "required",
            "give at least one portal host name, such as portal.example.com",
        ));
    }
    fields.finish()?;

    let country = country.expect("checked");
    Ok(ValidSettings {
        fields: WhiteLabelFields {
            name: name.expect("checked").as_str().to_string(),
            country: country.as_str().to_string(),
            currency: currency.expect("checked").as_str().to_string(),
            support_email: support_email.expect("checked").as_str().to_string(),
            support_phone: support_phone.flatten().map(|p| p.as_str().to_string()),
            primary_colour: colour.expect("checked").as_str().to_string(),
            terms_url: terms_url.flatten(),
            tax_name: tax_name.expect("checked").as_str().to_string(),
            tax_rate_bp: i64::from(tax_rate_bp.expect("checked")),
            show_prices_with_tax: input.show_prices_with_tax,
        },
        hosts,
    })
}

fn settings_json(fields: &WhiteLabelFields, hosts: &[String]) -> serde_json::Value {
    serde_json::json!({
        "name": fields.name,
        "hosts": hosts,
        "country": fields.country,
        "currency": fields.currency,
        "support_email": fields.support_email,
        "support_phone": fields.support_phone,
        "primary_colour": fields.primary_colour,
        "terms_url": fields.terms_url,
        "tax_name": fields.tax_name,
        "tax_rate_bp": fields.tax_rate_bp,
        "show_prices_with_tax": fields.show_prices_with_tax,
    })
}

fn host_conflict(error: tandem_store::StoreError) -> AppError {
    if error.is_conflict_on("white_label_hosts_pkey") {
        AppError::Conflict {
            code: "host_taken",
            message: "one of these host names already belongs to another white label".into(),
            field: Some("hosts".into()),
        }
    } else {
        error.into()
    }
}

impl App {
    /// Creates a white label.
    pub async fn create_white_label(
        &self,
        admin: &PlatformAdmin,
        input: &WhiteLabelInput,
    ) -> AppResult<WhiteLabelRow> {
        let valid = validate(input)?;
        let id = WhiteLabelId::new();
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        store_wl::insert(&mut tx, &id, &valid.fields, &valid.hosts, now)
            .await
            .map_err(host_conflict)?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(&id),
                action: "white_label.created",
                object_kind: "white_label",
                object_id: id.as_str(),
                after: Some(settings_json(&valid.fields, &valid.hosts)),
                ..Change::default()
            },
        )
        .await?;
        let row = store_wl::get(&mut tx, &id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        tx.commit().await?;
        tracing::info!(white_label.id = %id, "white label created");
        Ok(row)
    }

    /// Updates a white label's settings if it is still at `expected_version`. The currency can
    /// change only while the white label has no plans, customers or ledger entries.
    pub async fn update_white_label(
        &self,
        admin: &WhiteLabelAdmin,
        expected_version: i64,
        input: &WhiteLabelInput,
    ) -> AppResult<WhiteLabelRow> {
        admin.require(Permission::ManageWhiteLabelSettings)?;
        let valid = validate(input)?;
        let id = admin.white_label_id();
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let before = store_wl::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let mut new_hosts = valid.hosts.clone();
        new_hosts.sort();
        let mut old_hosts = before.hosts.clone();
        old_hosts.sort();
        if new_hosts != old_hosts && admin.role() != tandem_domain::Role::PlatformAdministrator {
            return Err(AppError::Forbidden(
                "portal host names are changed by the platform operator: ask them to add or remove \
                 one"
                .into(),
            ));
        }
        if before.currency != valid.fields.currency && has_money_history(&mut tx, &before).await? {
            return Err(AppError::Invalid(vec![FieldError::custom(
                "currency",
                "currency_locked",
                format!(
                    "the currency stays {} because this white label already has plans, \
                     customers or ledger entries",
                    before.currency
                ),
            )]));
        }
        let updated = store_wl::update(
            &mut tx,
            id,
            expected_version,
            &valid.fields,
            &valid.hosts,
            now,
        )
        .await
        .map_err(host_conflict)?;
        if !updated {
            return Err(AppError::VersionMismatch {
                expected: expected_version,
                current: before.version,
            });
        }
        let before_fields = WhiteLabelFields {
            name: before.name.clone(),
            country: before.country.clone(),
            currency: before.currency.clone(),
            support_email: before.support_email.clone(),
            support_phone: before.support_phone.clone(),
            primary_colour: before.primary_colour.clone(),
            terms_url: before.terms_url.clone(),
            tax_name: before.tax_name.clone(),
            tax_rate_bp: before.tax_rate_bp,
            show_prices_with_tax: before.show_prices_with_tax,
        };
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(id),
                on_behalf_of: admin.on_behalf_of(),
                action: "white_label.updated",
                object_kind: "white_label",
                object_id: id.as_str(),
                before: Some(settings_json(&before_fields, &before.hosts)),
                after: Some(settings_json(&valid.fields, &valid.hosts)),
                ..Change::default()
            },
        )
        .await?;
        let row = store_wl::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        tx.commit().await?;
        self.creation_contexts.forget_white_label(id);
        Ok(row)
    }

    /// Replaces a white label's logo: PNG, JPEG, GIF or WebP up to [`MAX_LOGO_BYTES`]. SVG is
    /// not accepted because it can carry script.
    pub async fn set_white_label_logo(
        &self,
        admin: &WhiteLabelAdmin,
        bytes: &[u8],
    ) -> AppResult<()> {
        admin.require(Permission::ManageWhiteLabelSettings)?;
        let content_type = image_type(bytes).ok_or_else(|| {
            AppError::Invalid(vec![FieldError::custom(
                "logo",
                "invalid_image",
                "the logo must be a PNG, JPEG, GIF or WebP image",
            )])
        })?;
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(AppError::Invalid(vec![FieldError::custom(
                "logo",
                "too_large",
                format!(
                    "the logo is {} KiB: the limit is {} KiB",
                    bytes.len() / 1024,
                    MAX_LOGO_BYTES / 1024
                ),
            )]));
        }
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        if !store_wl::set_logo(&mut tx, admin.white_label_id(), content_type, bytes, now).await? {
            return Err(AppError::NotFound("white label"));
        }
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                on_behalf_of: admin.on_behalf_of(),
                action: "white_label.logo_changed",
                object_kind: "white_label",
                object_id: admin.white_label_id().as_str(),
                after: Some(
                    serde_json::json!({"content_type": content_type, "bytes": bytes.len()}),
                ),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.creation_contexts
            .forget_white_label(admin.white_label_id());
        Ok(())
    }

    /// Reads a white label's logo for serving: content type and bytes. Logos are public, like
    /// the portal's sign-in page that shows them.
    pub async fn white_label_logo(
        &self,
        id: &WhiteLabelId,
    ) -> AppResult<Option<(String, Vec<u8>)>> {
        let mut conn = self.store.conn().await?;
        Ok(store_wl::logo(&mut conn, id).await?)
    }

    /// Finds the white label whose portal answers on `host`; public, for branding.
    pub async fn white_label_for_host(&self, host: &str) -> AppResult<Option<WhiteLabelRow>> {
        let mut conn = self.store.conn().await?;
        Ok(store_wl::find_by_host(&mut conn, &host.to_ascii_lowercase()).await?)
    }

    /// Reads a white label's primary colour; public, for the portal's theme.
    pub async fn white_label_colour(&self, id: &WhiteLabelId) -> AppResult<Option<String>> {
        let mut conn = self.store.conn().await?;
        Ok(store_wl::get(&mut conn, id)
            .await?
            .map(|wl| wl.primary_colour))
    }

    /// Reads the white label an administrator acts for.
    pub async fn white_label(&self, admin: &WhiteLabelAdmin) -> AppResult<WhiteLabelRow> {
        let mut conn = self.store.conn().await?;
        store_wl::get(&mut conn, admin.white_label_id())
            .await?
            .ok_or(AppError::NotFound("white label"))
    }

    /// Lists every white label.
    pub async fn list_white_labels(&self, _admin: &PlatformAdmin) -> AppResult<Vec<WhiteLabelRow>> {
        let mut conn = self.store.conn().await?;
        Ok(store_wl::list(&mut conn).await?)
    }

    /// Reads any white label, for a Platform Administrator.
    pub async fn white_label_by_id(
        &self,
        _admin: &PlatformAdmin,
        id: &WhiteLabelId,
    ) -> AppResult<WhiteLabelRow> {
        let mut conn = self.store.conn().await?;
        store_wl::get(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound("white label"))
    }

    /// Credits (top-up) or adjusts a white label's balance with a reason. A negative adjustment
    /// is refused if it would pass the credit limit.
    pub async fn post_white_label_balance(
        &self,
        admin: &PlatformAdmin,
        id: &WhiteLabelId,
        kind: LedgerKind,
        amount: &str,
        reason: &str,
    ) -> AppResult<ledger::LedgerEntryRow> {
        let mut tx = self.store.begin().await?;
        let white_label = store_wl::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let currency = Currency::parse(&white_label.currency)
            .map_err(|e| AppError::Internal(format!("stored currency: {e}")))?;
        let rule = match kind {
            LedgerKind::TopUp => AmountRule::Positive,
            LedgerKind::Adjustment => AmountRule::Any,
            _ => {
                return Err(AppError::Invalid(vec![FieldError::custom(
                    "kind",
                    "invalid_kind",
                    "choose top_up or adjustment",
                )]))
            }
        };
        let mut fields = Fields::default();
        let amount = fields.check("amount", Money::parse(amount, currency, rule));
        if let Some(amount) = &amount {
            if amount.amount_minor() == 0 {
                fields.push(FieldError::custom(
                    "amount",
                    "must_not_be_zero",
                    "give a non-zero amount",
                ));
            }
        }
        let reason = fields.check("reason", Name::parse(reason, 200));
        fields.finish()?;
        let (amount, reason) = (amount.expect("checked"), reason.expect("checked"));

        let now = self.now_us();
        let entry = ledger::NewEntry {
            account: ledger::Account::WhiteLabel(id),
            customer_id: None,
            kind: kind.as_str(),
            amount_minor: amount.amount_minor(),
            tax_minor: 0,
            currency: currency.as_str(),
            description: reason.as_str(),
            actor_label: admin.actor().label(),
        };
        let row = crate::ledger::posted(
            ledger::post(&mut tx, &entry, now).await?,
            currency,
            "white label",
        )?;
        record(&mut tx, now, admin.actor(), Change {
            white_label_id: Some(id),
            action: if kind == LedgerKind::TopUp { "balance.top_up" } else { "balance.adjusted" },
            object_kind: "white_label",
            object_id: id.as_str(),
            before: Some(serde_json::json!({"balance_minor": white_label.balance_minor})),
            after: Some(serde_json::json!({"balance_minor": row.balance_after_minor, "amount_minor": amount.amount_minor()})),
            reason: Some(reason.as_str()),
            ..Change::default()
        })
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Sets how far below zero a white label's balance may go.
    pub async fn set_white_label_credit_limit(
        &self,
        admin: &PlatformAdmin,
        id: &WhiteLabelId,
        credit_limit: &str,
    ) -> AppResult<WhiteLabelRow> {
        let mut tx = self.store.begin().await?;
        let before = store_wl::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let currency = Currency::parse(&before.currency)
            .map_err(|e| AppError::Internal(format!("stored currency: {e}")))?;
        let limit = Money::parse(credit_limit, currency, AmountRule::NonNegative)
            .map_err(|e| AppError::field("credit_limit", e))?;
        let now = self.now_us();
        store_wl::set_credit_limit(&mut tx, id, limit.amount_minor(), now).await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(id),
                action: "credit_limit.changed",
                object_kind: "white_label",
                object_id: id.as_str(),
                before: Some(serde_json::json!({"credit_limit_minor": before.credit_limit_minor})),
                after: Some(serde_json::json!({"credit_limit_minor": limit.amount_minor()})),
                ..Change::default()
            },
        )
        .await?;
        let row = store_wl::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        tx.commit().await?;
        self.creation_contexts.forget_white_label(id);
        Ok(row)
    }
}

async fn has_money_history(conn: &mut tandem_store::Conn, row: &WhiteLabelRow) -> AppResult<bool> {
    if row.balance_minor != 0 {
        return Ok(true);
    }
    let plans = tandem_store::plans::list(conn, &row.id, true).await?;
    let customers = customers::count_by_status(conn, &row.id).await?;
    Ok(!plans.is_empty() || !customers.is_empty())
}

/// Recognises PNG, JPEG, GIF and WebP by their magic bytes.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_percent_parses_decimals() {
        assert_eq!(parse_tax_percent("15").unwrap(), 1500);
        assert_eq!(parse_tax_percent("12.5").unwrap(), 1250);
        assert_eq!(parse_tax_percent("0").unwrap(), 0);
    }

    #[test]
    fn tax_percent_rejects_out_of_range() {
        for bad in ["101", "-1", "1e2", "15.125", "abc"] {
            assert!(parse_tax_percent(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn image_type_rejects_svg() {
        assert_eq!(
            image_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            None
        );
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
    }
}
