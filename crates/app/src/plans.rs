//! Price plans: created, edited and retired by a white label's administrators.

use serde::Deserialize;
use tandem_domain::{AmountRule, Currency, Description, Money, Name, Permission, PlanId};
use tandem_store::plans::{self as store_plans, PlanFields, PlanRow};
use tandem_store::white_labels;

use crate::access::WhiteLabelAdmin;
use crate::audit::{record, Change};
use crate::validate::Fields;
use crate::{App, AppError, AppResult, FieldError};

/// The most extensions a plan may include.
pub const MAX_INCLUDED_EXTENSIONS: i64 = 10_000;

/// A plan as entered: amounts are decimal strings in the white label's currency ("29.95").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlanInput {
    pub name: String,
    pub description: String,
    pub setup_fee: String,
    pub monthly_fee: String,
    pub included_extensions: String,
    pub extra_extension_fee: String,
    pub number_rental: String,
    pub min_opening_credit: String,
}

impl PlanInput {
    /// The input that reproduces a stored plan, for edit forms.
    pub fn from_row(row: &PlanRow) -> Self {
        let currency =
            Currency::parse(&row.currency).unwrap_or(Currency::parse("NZD").expect("NZD"));
        let amount = |minor: i64| Money::new(minor, currency).format_plain();
        Self {
            name: row.name.clone(),
            description: row.description.clone(),
            setup_fee: amount(row.setup_fee_minor),
            monthly_fee: amount(row.monthly_fee_minor),
            included_extensions: row.included_extensions.to_string(),
            extra_extension_fee: amount(row.extra_extension_fee_minor),
            number_rental: amount(row.number_rental_minor),
            min_opening_credit: amount(row.min_opening_credit_minor),
        }
    }
}

fn validate(input: &PlanInput, currency: Currency) -> AppResult<PlanFields> {
    let mut fields = Fields::default();
    let money = |fields: &mut Fields, field: &str, value: &str| {
        fields
            .check(
                field,
                Money::parse(value, currency, AmountRule::NonNegative),
            )
            .map(|m| m.amount_minor())
    };
    let name = fields.check("name", Name::parse(&input.name, 80));
    let description = if input.description.trim().is_empty() {
        Some(String::new())
    } else {
        fields
            .check("description", Description::parse(&input.description, 1000))
            .map(|d| d.as_str().to_string())
    };
    let setup_fee = money(&mut fields, "setup_fee", &input.setup_fee);
    let monthly_fee = money(&mut fields, "monthly_fee", &input.monthly_fee);
    let extra_extension_fee = money(
        &mut fields,
        "extra_extension_fee",
        &input.extra_extension_fee,
    );
    let number_rental = money(&mut fields, "number_rental", &input.number_rental);
    let min_opening_credit = money(&mut fields, "min_opening_credit", &input.min_opening_credit);
    let included = input.included_extensions.trim();
    let included_extensions = match included.parse::<i64>() {
        Ok(n)
            if (0..=MAX_INCLUDED_EXTENSIONS).contains(&n)
                && included.chars().all(|c| c.is_ascii_digit()) =>
        {
            Some(n)
        }
        _ => {
            fields.push(FieldError::custom(
                "included_extensions",
                "invalid_count",
                format!("give a whole number from 0 to {MAX_INCLUDED_EXTENSIONS}"),
            ));
            None
        }
    };
    fields.finish()?;
    Ok(PlanFields {
        name: name.expect("checked").as_str().to_string(),
        description: description.expect("checked"),
        setup_fee_minor: setup_fee.expect("checked"),
        monthly_fee_minor: monthly_fee.expect("checked"),
        included_extensions: included_extensions.expect("checked"),
        extra_extension_fee_minor: extra_extension_fee.expect("checked"),
        number_rental_minor: number_rental.expect("checked"),
        min_opening_credit_minor: min_opening_credit.expect("checked"),
    })
}

fn plan_json(fields: &PlanFields) -> serde_json::Value {
    serde_json::json!({
        "name": fields.name,
        "description": fields.description,
        "setup_fee_minor": fields.setup_fee_minor,
        "monthly_fee_minor": fields.monthly_fee_minor,
        "included_extensions": fields.included_extensions,
        "extra_extension_fee_minor": fields.extra_extension_fee_minor,
        "number_rental_minor": fields.number_rental_minor,
        "min_opening_credit_minor": fields.min_opening_credit_minor,
    })
}

fn duplicate_name(error: tandem_store::StoreError, name: &str) -> AppError {
    if error.is_conflict_on("uq_plans_white_label_name") {
        AppError::Conflict {
            code: "plan_name_taken",
            message: format!("a plan named '{name}' already exists: choose another name"),
            field: Some("name".into()),
        }
    } else {
        error.into()
    }
}

impl App {
    /// Creates an active plan in the white label's currency.
    pub async fn create_plan(
        &self,
        admin: &WhiteLabelAdmin,
        input: &PlanInput,
    ) -> AppResult<PlanRow> {
        admin.require(Permission::ManagePlans)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let white_label = white_labels::get(&mut tx, admin.white_label_id())
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let currency = Currency::parse(&white_label.currency)
            .map_err(|e| AppError::Internal(format!("stored currency: {e}")))?;
        let fields = validate(input, currency)?;
        let id = PlanId::new();
        store_plans::insert(
            &mut tx,
            &id,
            admin.white_label_id(),
            currency.as_str(),
            &fields,
            now,
        )
        .await
        .map_err(|e| duplicate_name(e, &fields.name))?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                on_behalf_of: admin.on_behalf_of(),
                action: "plan.created",
                object_kind: "plan",
                object_id: id.as_str(),
                after: Some(plan_json(&fields)),
                ..Change::default()
            },
        )
        .await?;
        let row = store_plans::get(&mut tx, admin.white_label_id(), &id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Edits a plan at `expected_version`. Existing customers keep their plan; new charges use
    /// the new amounts.
    pub async fn update_plan(
        &self,
        admin: &WhiteLabelAdmin,
        id: &PlanId,
        expected_version: i64,
        input: &PlanInput,
    ) -> AppResult<PlanRow> {
        admin.require(Permission::ManagePlans)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let before = store_plans::get(&mut tx, admin.white_label_id(), id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        if before.status != "active" {
            return Err(AppError::Conflict {
                code: "plan_retired",
                message: "a retired plan cannot be edited".into(),
                field: None,
            });
        }
        let currency = Currency::parse(&before.currency)
            .map_err(|e| AppError::Internal(format!("stored currency: {e}")))?;
        let fields = validate(input, currency)?;
        let updated = store_plans::update(
            &mut tx,
            admin.white_label_id(),
            id,
            expected_version,
            &fields,
            now,
        )
        .await
        .map_err(|e| duplicate_name(e, &fields.name))?;
        if !updated {
            return Err(AppError::VersionMismatch {
                expected: expected_version,
                current: before.version,
            });
        }
        let before_fields = PlanFields {
            name: before.name.clone(),
            description: before.description.clone(),
            setup_fee_minor: before.setup_fee_minor,
            monthly_fee_minor: before.monthly_fee_minor,
            included_extensions: before.included_extensions,
            extra_extension_fee_minor: before.extra_extension_fee_minor,
            number_rental_minor: before.number_rental_minor,
            min_opening_credit_minor: before.min_opening_credit_minor,
        };
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                on_behalf_of: admin.on_behalf_of(),
                action: "plan.updated",
                object_kind: "plan",
                object_id: id.as_str(),
                before: Some(plan_json(&before_fields)),
                after: Some(plan_json(&fields)),
                ..Change::default()
            },
        )
        .await?;
        let row = store_plans::get(&mut tx, admin.white_label_id(), id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        tx.commit().await?;
        self.creation_contexts
            .forget_white_label(admin.white_label_id());
        Ok(row)
    }

    /// Retires a plan: its customers keep it, and it can no longer be chosen.
    pub async fn retire_plan(&self, admin: &WhiteLabelAdmin, id: &PlanId) -> AppResult<PlanRow> {
        admin.require(Permission::ManagePlans)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let before = store_plans::get(&mut tx, admin.white_label_id(), id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        if !store_plans::retire(&mut tx, admin.white_label_id(), id, now).await? {
            return Err(AppError::Conflict {
                code: "plan_retired",
                message: format!("plan '{}' is already retired", before.name),
                field: None,
            });
        }
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                on_behalf_of: admin.on_behalf_of(),
                action: "plan.retired",
                object_kind: "plan",
                object_id: id.as_str(),
                before: Some(serde_json::json!({"status": before.status})),
                after: Some(serde_json::json!({"status": "retired"})),
                ..Change::default()
            },
        )
        .await?;
        let row = store_plans::get(&mut tx, admin.white_label_id(), id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        tx.commit().await?;
        self.creation_contexts
            .forget_white_label(admin.white_label_id());
        Ok(row)
    }

    /// Lists the white label's plans, retired ones too if asked.
    pub async fn list_plans(
        &self,
        admin: &WhiteLabelAdmin,
        include_retired: bool,
    ) -> AppResult<Vec<PlanRow>> {
        admin.require(Permission::ViewCustomers)?;
        let mut conn = self.store.conn().await?;
        Ok(store_plans::list(&mut conn, admin.white_label_id(), include_retired).await?)
    }

    /// Reads one of the white label's plans.
    pub async fn plan(&self, admin: &WhiteLabelAdmin, id: &PlanId) -> AppResult<PlanRow> {
        admin.require(Permission::ViewCustomers)?;
        let mut conn = self.store.conn().await?;
        store_plans::get(&mut conn, admin.white_label_id(), id)
            .await?
            .ok_or(AppError::NotFound("plan"))
    }
}
