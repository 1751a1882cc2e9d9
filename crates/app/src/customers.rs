//! Customer accounts: creation by a white label's administrators, listing and reading.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;
use tandem_domain::{
    AccountNumber, Address, AddressInput, BusinessNumber, Country, CreationMode, CustomerId,
    CustomerStatus, EmailAddress, MembershipId, Name, OptionalText, Payer, Permission, PhoneNumber,
    PlanId, Role, TaxNumber, TimeZoneName, WhiteLabelId,
};
use tandem_store::customers::{
    self as store_customers, AddressRow, CustomerFilter, CustomerRow, NewCustomer,
};
use tandem_store::ledger::LedgerEntryRow;
use tandem_store::plans::PlanRow;
use tandem_store::white_labels::WhiteLabelRow;
use tandem_store::{gateways, idempotency, memberships, white_labels, Conn, StoreError};

use crate::access::WhiteLabelAdmin;
use crate::audit::{self, record, Change};
use crate::charges::{post_opening_charges, Opening, Payer as ChargePayer};
use crate::creation_batch::{Batched, QueuedCreation};
use crate::creation_context::CreationContext;
use crate::validate::{present, Fields};
use crate::{App, AppError, AppResult, FieldError};

/// How many times a clash of random account numbers is retried before giving up.
pub(crate) const ACCOUNT_NUMBER_ATTEMPTS: usize = 8;

/// Business details as entered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BusinessInput {
    pub legal_name: String,
    pub trading_name: Option<String>,
    pub business_number: Option<String>,
    pub tax_number: Option<String>,
}

/// The authorised contact as entered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContactInput {
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub phone: String,
    pub job_title: Option<String>,
}

/// The service address: the billing address, or one of its own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServiceAddressInput {
    pub same_as_billing: bool,
    #[serde(flatten)]
    pub address: AddressInput,
}

/// A new customer as entered in the portal form or the API request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CustomerInput {
    pub mode: String,
    pub plan_id: String,
    pub business: BusinessInput,
    pub contact: ContactInput,
    pub billing_address: AddressInput,
    pub service_address: ServiceAddressInput,
    pub time_zone: Option<String>,
}

/// The white label, plan and validated fields of a creation, read before its transaction.
pub(crate) struct PreparedCreation {
    /// The white label and the plan.
    pub(crate) context: Arc<CreationContext>,
    /// Whether `context` came from the cache, so that the writer must read it again while it
    /// writes the creation.
    pub(crate) cached: bool,
    valid: ValidCustomer,
}

impl PreparedCreation {
    /// Returns whether the customer activates and pays for the account (`self_activation`).
    pub(crate) fn self_activation(&self) -> bool {
        self.valid.mode == CreationMode::SelfActivation
    }

    /// Returns the account's time zone, which names the month of the first monthly fee.
    pub(crate) fn time_zone(&self) -> &TimeZoneName {
        &self.valid.time_zone
    }
}

/// One creation for [`App::write_customers`]: its prepared fields and the row built from them.
pub(crate) struct CreationWrite<'a> {
    /// The creation time.
    pub now: i64,
    pub admin: &'a WhiteLabelAdmin,
    pub prepared: &'a PreparedCreation,
    /// The idempotency key, and the response stored with it.
    pub idempotency: Option<(&'a IdempotencyRequest, &'a str)>,
    /// The row to insert. A creation without an idempotency key whose account number turns out
    /// to be taken gets a new number here.
    pub customer: &'a mut NewCustomer,
}

/// The validated customer, ready to store.
struct ValidCustomer {
    mode: CreationMode,
    legal_name: Name,
    trading_name: Option<Name>,
    business_number: Option<BusinessNumber>,
    tax_number: Option<TaxNumber>,
    given_name: Name,
    family_name: Name,
    email: EmailAddress,
    phone: PhoneNumber,
    job_title: Option<Name>,
    billing: Address,
    same_as_billing: bool,
    service: Address,
    time_zone: TimeZoneName,
}

fn address_errors(fields: &mut Fields, prefix: &str, input: &AddressInput) -> Option<Address> {
    match Address::parse(input) {
        Ok(address) => Some(address),
        Err(errors) => {
            for (field, error) in errors {
                fields.push(FieldError::new(format!("{prefix}.{field}"), error));
            }
            None
        }
    }
}

fn optional<T>(
    fields: &mut Fields,
    field: &str,
    input: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, tandem_domain::ValueError>,
) -> Option<Option<T>> {
    match present(input) {
        Some(value) => fields.check(field, parse(value)).map(Some),
        None => Some(None),
    }
}

fn validate(input: &CustomerInput, fallback_country: Country) -> AppResult<ValidCustomer> {
    let mut fields = Fields::default();
    let mode =
        match input.mode.trim() {
            "white_label_managed" => Some(CreationMode::WhiteLabelManaged),
            "self_activation" => Some(CreationMode::SelfActivation),
            other => {
                fields.push(FieldError::custom(
                "mode",
                if other.is_empty() { "required" } else { "invalid_mode" },
                "choose white_label_managed (you administer the account and pay its charges) or \
                 self_activation (the customer activates and pays by card)",
            ));
                None
            }
        };
    // The plan itself is read with the white label, before validation.
    fields.check("plan_id", PlanId::parse(input.plan_id.trim()));

    let business = &input.business;
    let billing = address_errors(&mut fields, "billing_address", &input.billing_address);
    let country = billing
        .as_ref()
        .map(|a| a.country())
        .unwrap_or(fallback_country);
    let legal_name = fields.check(
        "business.legal_name",
        Name::parse(&business.legal_name, 160),
    );
    let trading_name = fields.check(
        "business.trading_name",
        OptionalText::parse(business.trading_name.as_deref().unwrap_or(""), 160),
    );
    let business_number = optional(
        &mut fields,
        "business.business_number",
        &business.business_number,
        |v| BusinessNumber::parse(v, country),
    );
    let tax_number = optional(
        &mut fields,
        "business.tax_number",
        &business.tax_number,
        |v| TaxNumber::parse(v, country),
    );

    let contact = &input.contact;
    let given_name = fields.check("contact.given_name", Name::parse(&contact.given_name, 80));
    let family_name = fields.check("contact.family_name", Name::parse(&contact.family_name, 80));
    let email = fields.check("contact.email", EmailAddress::parse(&contact.email));
    let phone = fields.check("contact.phone", PhoneNumber::parse(&contact.phone, country));
    let job_title = fields.check(
        "contact.job_title",
        OptionalText::parse(contact.job_title.as_deref().unwrap_or(""), 80),
    );

    let same_as_billing = input.service_address.same_as_billing;
    let service = if same_as_billing {
        billing.clone()
    } else {
        address_errors(
            &mut fields,
            "service_address",
            &input.service_address.address,
        )
    };
    let time_zone = match present(&input.time_zone) {
        Some(name) => fields.check("time_zone", TimeZoneName::parse(name)),
        None => TimeZoneName::parse(country.default_time_zone()).ok(),
    };
    fields.finish()?;

    Ok(ValidCustomer {
        mode: mode.expect("checked"),
        legal_name: legal_name.expect("checked"),
        trading_name: trading_name.expect("checked"),
        business_number: business_number.expect("checked"),
        tax_number: tax_number.expect("checked"),
        given_name: given_name.expect("checked"),
        family_name: family_name.expect("checked"),
        email: email.expect("checked"),
        phone: phone.expect("checked"),
        job_title: job_title.expect("checked"),
        billing: billing.expect("checked"),
        same_as_billing,
        service: service.expect("checked"),
        time_zone: time_zone.expect("checked"),
    })
}

fn address_row(address: &Address) -> AddressRow {
    AddressRow {
        line1: address.line1().to_string(),
        line2: address.line2().map(|n| n.as_str().to_string()),
        suburb: address.suburb().map(|n| n.as_str().to_string()),
        city: address.city().to_string(),
        region: address.region().map(|n| n.as_str().to_string()),
        postcode: address.postcode().as_str().to_string(),
        country: address.country().as_str().to_string(),
    }
}

/// The outcome of a creation request.
#[derive(Debug)]
pub enum Creation {
    /// A new customer account, with the charges posted for it.
    Created {
        customer: Box<CustomerRow>,
        charges: Vec<LedgerEntryRow>,
    },
    /// A retry of an earlier request with the same Idempotency-Key: its stored response.
    Replayed { status: u16, body: String },
}

/// An `Idempotency-Key` and a hash of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyRequest {
    pub key: String,
    pub request_hash: String,
}

/// A page of customers and the cursor of the next one.
#[derive(Debug)]
pub struct CustomerPage {
    pub customers: Vec<CustomerRow>,
    pub next_cursor: Option<String>,
}

/// Encodes a keyset cursor for the customer list.
pub fn encode_cursor(row: &CustomerRow) -> String {
    format!("{}.{}", row.created_us, row.id)
}

fn decode_cursor(cursor: &str) -> AppResult<(i64, String)> {
    let invalid = || {
        AppError::Invalid(vec![FieldError::custom(
            "cursor",
            "invalid_cursor",
            "the cursor is not one this list returned: start again without it",
        )])
    };
    let (created, id) = cursor.split_once('.').ok_or_else(invalid)?;
    let created: i64 = created.parse().map_err(|_| invalid())?;
    let id = CustomerId::parse(id).map_err(|_| invalid())?;
    Ok((created, id.to_string()))
}

/// Builds the row of a new customer with a fresh id and `account_number`.
fn new_customer(
    admin: &WhiteLabelAdmin,
    prepared: &PreparedCreation,
    account_number: &AccountNumber,
) -> NewCustomer {
    let PreparedCreation { context, valid, .. } = prepared;
    let plan = &context.plan;
    let (status, payer) = if prepared.self_activation() {
        (CustomerStatus::PendingActivation, Payer::Customer)
    } else {
        (CustomerStatus::Active, Payer::WhiteLabel)
    };
    NewCustomer {
        id: CustomerId::new(),
        white_label_id: admin.white_label_id().clone(),
        account_number: account_number.as_str().to_string(),
        status: status.as_str().to_string(),
        payer: payer.as_str().to_string(),
        creation_mode: valid.mode.as_str().to_string(),
        plan_id: plan.id.clone(),
        legal_name: valid.legal_name.as_str().to_string(),
        trading_name: valid.trading_name.as_ref().map(|n| n.as_str().to_string()),
        business_number: valid
            .business_number
            .as_ref()
            .map(|n| n.as_str().to_string()),
        tax_number: valid.tax_number.as_ref().map(|n| n.as_str().to_string()),
        contact_given_name: valid.given_name.as_str().to_string(),
        contact_family_name: valid.family_name.as_str().to_string(),
        contact_email: valid.email.as_str().to_string(),
        contact_phone: valid.phone.as_str().to_string(),
        contact_job_title: valid.job_title.as_ref().map(|n| n.as_str().to_string()),
        billing_address: address_row(&valid.billing),
        service_same_as_billing: valid.same_as_billing,
        service_address: address_row(&valid.service),
        time_zone: valid.time_zone.as_str().to_string(),
        currency: plan.currency.clone(),
        activation_state: prepared.self_activation().then(|| "queued".to_string()),
        created_by: admin.actor().user_id().cloned(),
    }
}

impl App {
    /// Creates a customer account in one transaction.
    ///
    /// In `white_label_managed` mode the account is active at once, the white label pays its
    /// charges (the plan's setup fee and first monthly fee, each with tax, each a ledger entry
    /// naming the customer) and the creating user becomes its Account Administrator. If the
    /// white label's balance and credit limit cannot cover the charges, nothing is written.
    /// `self_activation` needs a payment gateway, which the white label does not have yet.
    ///
    /// With an idempotency key, the first response (as built by `render`) is stored with the
    /// customer and returned for every retry.
    ///
    /// The white label, the plan and the gateway are read outside the transaction, so on SQLite
    /// the write lock is held for the writes alone. The white label and the plan usually come
    /// from a cache, which the batch writer reads again while it writes (see
    /// [`crate::creation_context`]). A plan retired while a creation is under way may therefore
    /// still be used by it, as on PostgreSQL, where these reads take no lock either.
    ///
    /// The writes join the creations that other requests have queued (see
    /// [`crate::creation_batch`]). If that shared transaction fails, this creation is written
    /// again in a transaction of its own, so its outcome does not depend on other requests.
    pub async fn create_customer(
        &self,
        admin: &WhiteLabelAdmin,
        input: &CustomerInput,
        idempotency: Option<&IdempotencyRequest>,
        render: &(dyn Fn(&CustomerRow) -> String + Send + Sync),
    ) -> AppResult<Creation> {
        admin.require(Permission::CreateCustomers)?;
        let prepared = match self.prepare_creation(admin, input).await {
            Ok(prepared) => Arc::new(prepared),
            Err(error) => return self.reject_creation(admin, idempotency, error).await,
        };
        let (now, customer, body) = self.new_row(admin, &prepared, idempotency, render);
        let queued = QueuedCreation {
            admin: admin.clone(),
            prepared: prepared.clone(),
            idempotency: idempotency.cloned(),
            customer,
            body,
            now,
        };
        match self.write_in_batch(queued).await? {
            Batched::Created(creation) => Ok(creation),
            Batched::WriteAlone if prepared.cached => {
                // A cached row that has changed may be why the batch rolled back, so the rows
                // are read again.
                let wl_id = admin.white_label_id();
                let plan_id = Some(&prepared.context.plan.id);
                let fresh = match self.read_and_prepare(wl_id, plan_id, input).await {
                    Ok(fresh) => fresh,
                    Err(error) => return self.reject_creation(admin, idempotency, error).await,
                };
                self.create_alone(admin, &fresh, idempotency, render).await
            }
            Batched::WriteAlone => {
                self.create_alone(admin, &prepared, idempotency, render)
                    .await
            }
        }
    }

    /// Builds the row of a new customer at the current time, with a fresh account number, and
    /// the response stored with its idempotency key when there is one.
    pub(crate) fn new_row(
        &self,
        admin: &WhiteLabelAdmin,
        prepared: &PreparedCreation,
        idempotency: Option<&IdempotencyRequest>,
        render: &(dyn Fn(&CustomerRow) -> String + Send + Sync),
    ) -> (i64, NewCustomer, Option<String>) {
        let now = self.now_us();
        let account_number = AccountNumber::generate(&mut rand::thread_rng());
        let customer = new_customer(admin, prepared, &account_number);
        let body =
            idempotency.map(|_| render(&customer.inserted_row(&prepared.context.plan.name, now)));
        (now, customer, body)
    }

    /// Writes a prepared creation in a transaction of its own, retrying with another account
    /// number on a clash, and replaying the stored response of a key that is already taken.
    async fn create_alone(
        &self,
        admin: &WhiteLabelAdmin,
        prepared: &PreparedCreation,
        idempotency: Option<&IdempotencyRequest>,
        render: &(dyn Fn(&CustomerRow) -> String + Send + Sync),
    ) -> AppResult<Creation> {
        for _ in 0..ACCOUNT_NUMBER_ATTEMPTS {
            let (now, mut customer, body) = self.new_row(admin, prepared, idempotency, render);
            let mut tx = self.store.begin().await?;
            let write = CreationWrite {
                now,
                admin,
                prepared,
                idempotency: idempotency.zip(body.as_deref()),
                customer: &mut customer,
            };
            let written = match self.write_customers(&mut tx, &mut [write]).await {
                Ok(mut written) if written[0].is_some() => written.swap_remove(0).expect("written"),
                Ok(_) => {
                    drop(tx);
                    return self.replay(admin, idempotency.expect("key claimed")).await;
                }
                Err(AppError::Store(e)) if e.is_conflict_on("uq_customers_account_number") => {
                    tracing::warn!("account number clash; retrying with another");
                    continue;
                }
                Err(AppError::Store(e)) if e.is_conflict_on("idempotency_keys_pkey") => {
                    drop(tx);
                    return self.replay(admin, idempotency.expect("key claimed")).await;
                }
                Err(e) => return Err(e),
            };
            let charges = if prepared.self_activation() {
                Vec::new()
            } else {
                post_opening_charges(
                    &mut tx,
                    now,
                    &Opening {
                        white_label: &prepared.context.white_label,
                        plan: &prepared.context.plan,
                        customer_id: &written.id,
                        payer: ChargePayer::WhiteLabel,
                        time_zone: prepared.time_zone(),
                        actor_label: admin.actor().label(),
                    },
                )
                .await?
            };
            tx.commit().await?;
            let creation = Creation::Created {
                customer: Box::new(written),
                charges,
            };
            self.created(admin, &creation);
            return Ok(creation);
        }
        Err(AppError::Internal("no free account number found".into()))
    }

    /// Finishes a committed creation: clears the creating user's cached sessions, which lack
    /// the new membership, and logs the creation.
    pub(crate) fn created(&self, admin: &WhiteLabelAdmin, creation: &Creation) {
        let Creation::Created { customer, .. } = creation else {
            return;
        };
        if let Some(user_id) = admin.actor().user_id() {
            // The creating user became the account's Account Administrator.
            self.session_cache.forget_user(user_id);
        }
        tracing::info!(
            white_label.id = %admin.white_label_id(),
            customer.id = %customer.id,
            "customer created"
        );
    }

    /// Returns the error of a creation that failed its checks, unless its idempotency key was
    /// already used, in which case the earlier request's response is returned as before. The
    /// key is claimed in a transaction that rolls back, so a rejected request stores nothing.
    async fn reject_creation(
        &self,
        admin: &WhiteLabelAdmin,
        idempotency: Option<&IdempotencyRequest>,
        error: AppError,
    ) -> AppResult<Creation> {
        let Some(request) = idempotency else {
            return Err(error);
        };
        let mut tx = self.store.begin().await?;
        let claimed = idempotency::claim(
            &mut tx,
            admin.white_label_id(),
            &request.key,
            &request.request_hash,
            self.now_us(),
        )
        .await?;
        drop(tx);
        if claimed {
            Err(error)
        } else {
            self.replay(admin, request).await
        }
    }

    /// Validates the request against its white label and plan.
    ///
    /// The two rows come from the cache when it contains them (see [`crate::creation_context`]),
    /// and are read otherwise, outside any transaction. A request that fails its checks against
    /// cached rows is checked again against rows read now, so that it is never rejected on
    /// settings that have since changed.
    pub(crate) async fn prepare_creation(
        &self,
        admin: &WhiteLabelAdmin,
        input: &CustomerInput,
    ) -> AppResult<PreparedCreation> {
        let wl_id = admin.white_label_id();
        // The plan is read with the white label, before the request is validated, so its id is
        // parsed here first. A malformed id fails validation below with the other fields.
        let plan_id = PlanId::parse(input.plan_id.trim()).ok();
        let cached = plan_id
            .as_ref()
            .and_then(|plan_id| self.creation_contexts.get(wl_id, plan_id))
            .and_then(|context| {
                let valid = validate(input, country_of(&context.white_label)).ok()?;
                Some(PreparedCreation {
                    context,
                    cached: true,
                    valid,
                })
            });
        let prepared = match cached {
            Some(prepared) => prepared,
            None => {
                self.read_and_prepare(wl_id, plan_id.as_ref(), input)
                    .await?
            }
        };
        if prepared.self_activation()
            && gateways::get(&mut *self.store.conn().await?, wl_id)
                .await?
                .is_none()
        {
            if prepared.cached {
                // Rows read now may fail the request first, for a retired plan, say, as they
                // would without the cache.
                self.read_and_prepare(wl_id, plan_id.as_ref(), input)
                    .await?;
            }
            return Err(AppError::Conflict {
                code: "payment_gateway_required",
                message: "self-activation needs a payment gateway, and this white label has none \
                          configured: set one up under Settings, Payments, or create the \
                          customer in white_label_managed mode"
                    .into(),
                field: Some("mode".into()),
            });
        }
        Ok(prepared)
    }

    /// Reads the white label and the plan, validates the request against them, and caches the
    /// two rows when the plan is usable.
    async fn read_and_prepare(
        &self,
        wl_id: &WhiteLabelId,
        plan_id: Option<&PlanId>,
        input: &CustomerInput,
    ) -> AppResult<PreparedCreation> {
        let mut conn = self.store.conn().await?;
        let (white_label, plan) = match plan_id {
            Some(plan_id) => white_labels::get_with_plan(&mut conn, wl_id, plan_id).await?,
            None => white_labels::get(&mut conn, wl_id)
                .await?
                .map(|white_label| (white_label, None)),
        }
        .ok_or(AppError::NotFound("white label"))?;
        drop(conn);
        let valid = validate(input, country_of(&white_label))?;
        let plan = usable_plan(plan)?;
        let context = Arc::new(CreationContext { white_label, plan });
        self.creation_contexts.put(context.clone());
        Ok(PreparedCreation {
            context,
            cached: false,
            valid,
        })
    }

    async fn replay(
        &self,
        admin: &WhiteLabelAdmin,
        request: &IdempotencyRequest,
    ) -> AppResult<Creation> {
        let mut conn = self.store.conn().await?;
        let stored = idempotency::find(&mut conn, admin.white_label_id(), &request.key)
            .await?
            .ok_or_else(|| AppError::Internal("claimed idempotency key vanished".into()))?;
        if stored.request_hash != request.request_hash {
            return Err(AppError::IdempotencyKeyReused);
        }
        match (stored.status, stored.body) {
            (Some(status), Some(body)) => Ok(Creation::Replayed {
                status: status as u16,
                body,
            }),
            _ => Err(AppError::Conflict {
                code: "request_in_progress",
                message:
                    "a request with this Idempotency-Key is still being processed: retry shortly"
                        .into(),
                field: None,
            }),
        }
    }

    /// Writes prepared creations in `tx`, all but their charges: each one's idempotency key with
    /// its response, the customers (in one statement), their administrators, the audit records
    /// (in one statement), the activation tokens and the webhooks. Returns each creation's row,
    /// or `None`, having written nothing for it, when its key was already claimed. The caller
    /// posts the charges last, because on PostgreSQL their balance UPDATE keeps the white
    /// label's row lock until the transaction ends.
    ///
    /// A creation without an idempotency key whose account number is taken gets another number,
    /// and the skipped customers are inserted again, in up to [`ACCOUNT_NUMBER_ATTEMPTS`]
    /// inserts in all. One with a key keeps its number, because its stored response shows
    /// it: if that number is taken, this fails with a conflict on `uq_customers_account_number`,
    /// as a plain insert of a taken number would, and the caller rolls back.
    pub(crate) async fn write_customers(
        &self,
        tx: &mut Conn,
        creations: &mut [CreationWrite<'_>],
    ) -> AppResult<Vec<Option<CustomerRow>>> {
        let mut claimed = Vec::with_capacity(creations.len());
        for creation in creations.iter() {
            let claim = match creation.idempotency {
                Some((request, _)) => {
                    idempotency::claim(
                        tx,
                        creation.admin.white_label_id(),
                        &request.key,
                        &request.request_hash,
                        creation.now,
                    )
                    .await?
                }
                None => true,
            };
            claimed.push(claim);
        }
        let to_insert = claimed
            .iter()
            .enumerate()
            .filter_map(|(index, &claimed)| claimed.then_some(index))
            .collect();
        insert_drawing_numbers(tx, creations, to_insert).await?;
        let writes: Vec<&CreationWrite> = creations
            .iter()
            .zip(&claimed)
            .filter_map(|(creation, claimed)| claimed.then_some(creation))
            .collect();
        let rows: Vec<CustomerRow> = writes
            .iter()
            .map(|w| {
                w.customer
                    .inserted_row(&w.prepared.context.plan.name, w.now)
            })
            .collect();

        for write in &writes {
            if !write.prepared.self_activation() {
                self.add_account_administrator(tx, write.now, write.admin, &write.customer.id)
                    .await?;
            }
        }
        let entries: Vec<_> = writes
            .iter()
            .zip(&rows)
            .map(|(write, customer)| {
                let entry = audit::entry(
                    write.admin.actor(),
                    Change {
                        white_label_id: Some(write.admin.white_label_id()),
                        customer_id: Some(&customer.id),
                        on_behalf_of: write.admin.on_behalf_of(),
                        action: "customer.created",
                        object_kind: "customer",
                        object_id: customer.id.as_str(),
                        after: Some(customer_json(customer)),
                        ..Change::default()
                    },
                );
                (entry, write.now)
            })
            .collect();
        let timed: Vec<_> = entries.iter().map(|(entry, now)| (entry, *now)).collect();
        tandem_store::audit::insert_all(tx, &timed).await?;

        for (write, customer) in writes.iter().zip(&rows) {
            let white_label = &write.prepared.context.white_label;
            if write.prepared.self_activation() {
                self.issue_activation(
                    tx,
                    write.now,
                    white_label,
                    customer,
                    &write.prepared.context.plan,
                )
                .await?;
            }
            crate::outbox::enqueue_webhook(
                tx,
                write.now,
                white_label,
                Some(&customer.id),
                "customer.created",
                crate::events::customer_data(customer),
            )
            .await?;
            if let Some((request, body)) = write.idempotency {
                let wl_id = write.admin.white_label_id();
                idempotency::complete(tx, wl_id, &request.key, 201, body).await?;
            }
        }
        let mut rows = rows.into_iter();
        Ok(claimed
            .into_iter()
            .map(|claimed| if claimed { rows.next() } else { None })
            .collect())
    }

    /// Makes the acting user an Account Administrator of a customer, with an audit record. An
    /// API key has no user, so nothing is added for one.
    pub(crate) async fn add_account_administrator(
        &self,
        tx: &mut Conn,
        now: i64,
        admin: &WhiteLabelAdmin,
        customer_id: &CustomerId,
    ) -> AppResult<()> {
        let Some(user_id) = admin.actor().user_id() else {
            return Ok(());
        };
        let scope = memberships::Scope::Customer(admin.white_label_id(), customer_id);
        let role = Role::AccountAdministrator.as_str();
        if !memberships::insert_if_absent(tx, &MembershipId::new(), user_id, role, scope, now)
            .await?
        {
            return Ok(());
        }
        record(
            tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                customer_id: Some(customer_id),
                on_behalf_of: admin.on_behalf_of(),
                action: "membership.created",
                object_kind: "user",
                object_id: user_id.as_str(),
                after: Some(serde_json::json!({"role": role})),
                ..Change::default()
            },
        )
        .await
    }

    /// Reads one of the white label's customers.
    pub async fn customer(
        &self,
        admin: &WhiteLabelAdmin,
        id: &CustomerId,
    ) -> AppResult<CustomerRow> {
        admin.require(Permission::ViewCustomers)?;
        self.read_customer(admin.white_label_id(), id)
            .await?
            .ok_or(AppError::NotFound("customer"))
    }

    /// Lists the white label's customers, newest first, filtered and one page at a time.
    pub async fn list_customers(
        &self,
        admin: &WhiteLabelAdmin,
        search: Option<&str>,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<CustomerPage> {
        admin.require(Permission::ViewCustomers)?;
        let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
            Some(status) => Some(
                CustomerStatus::parse(status)
                    .map_err(|e| AppError::field("status", e))?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
        let after = cursor
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()?;
        // No stored name contains a control character, and PostgreSQL rejects a NUL in text.
        if search.is_some_and(|search| search.chars().any(char::is_control)) {
            return Err(AppError::field(
                "q",
                tandem_domain::ValueError::new(
                    "invalid_search",
                    "remove the control characters, such as NUL or a tab, from the search",
                ),
            ));
        }
        let limit = limit.clamp(1, 100);
        let filter = CustomerFilter {
            search: search.map(|s| s.chars().take(100).collect()),
            status,
            after,
            limit: limit + 1,
        };
        let mut conn = self.store.conn().await?;
        let mut customers =
            store_customers::list(&mut conn, admin.white_label_id(), &filter).await?;
        let next_cursor = if customers.len() > limit as usize {
            customers.truncate(limit as usize);
            customers.last().map(encode_cursor)
        } else {
            None
        };
        Ok(CustomerPage {
            customers,
            next_cursor,
        })
    }
}

/// Inserts the customers of the creations at `indexes`, drawing new account numbers for those
/// whose numbers are taken (see [`App::write_customers`]).
async fn insert_drawing_numbers(
    tx: &mut Conn,
    creations: &mut [CreationWrite<'_>],
    mut indexes: Vec<usize>,
) -> AppResult<()> {
    for attempt in 1..=ACCOUNT_NUMBER_ATTEMPTS {
        let rows: Vec<_> = indexes
            .iter()
            .map(|&index| (&*creations[index].customer, creations[index].now))
            .collect();
        let skipped: HashSet<CustomerId> = store_customers::insert_unless_number_taken(tx, &rows)
            .await?
            .into_iter()
            .collect();
        indexes.retain(|&index| skipped.contains(&creations[index].customer.id));
        if indexes.is_empty() {
            return Ok(());
        }
        if attempt == ACCOUNT_NUMBER_ATTEMPTS
            || indexes
                .iter()
                .any(|&index| creations[index].idempotency.is_some())
        {
            break;
        }
        for &index in &indexes {
            let number = AccountNumber::generate(&mut rand::thread_rng());
            creations[index].customer.account_number = number.as_str().to_string();
        }
    }
    Err(AppError::Store(StoreError::Conflict(
        "uq_customers_account_number".into(),
    )))
}

/// Returns the country whose rules a white label's customers' details follow.
fn country_of(white_label: &WhiteLabelRow) -> Country {
    Country::parse(&white_label.country).unwrap_or(Country::NZ)
}

/// The customer as recorded in the audit log.
fn customer_json(customer: &CustomerRow) -> serde_json::Value {
    serde_json::json!({
        "account_number": customer.account_number,
        "status": customer.status,
        "payer": customer.payer,
        "plan_id": customer.plan_id.as_str(),
        "legal_name": customer.legal_name,
        "trading_name": customer.trading_name,
        "contact_email": customer.contact_email,
        "contact_phone": customer.contact_phone,
    })
}

/// The plan a new account may take, or the field error for `plan_id`: the plan must exist and
/// be active.
fn usable_plan(plan: Option<PlanRow>) -> AppResult<PlanRow> {
    match plan {
        Some(plan) if plan.status == "active" => Ok(plan),
        Some(plan) => Err(AppError::Invalid(vec![FieldError::custom(
            "plan_id",
            "plan_retired",
            format!("plan '{}' is retired: choose an active plan", plan.name),
        )])),
        None => Err(AppError::Invalid(vec![FieldError::custom(
            "plan_id",
            "plan_not_found",
            "no such plan: choose one of your active plans",
        )])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_rejects_garbage() {
        assert!(decode_cursor("not-a-cursor").is_err());
        assert!(decode_cursor("12.cus_bad").is_err());
    }
}
