//! A white label's handling of customers who have not activated yet: the activation status,
//! resending the link, correcting the contact email, cancelling, converting to an account the
//! white label manages and pays for, and expiring links nobody used.

use serde_json::json;
use tandem_domain::{
    CreationMode, CustomerId, CustomerStatus, EmailAddress, Payer, Permission, TimeZoneName,
};
use tandem_store::activation as tokens;
use tandem_store::customers::{self as store_customers, CustomerRow};
use tandem_store::white_labels::{self as store_wl, WhiteLabelRow};
use tandem_store::{outbox, payments, plans, Tx};

use crate::access::{Actor, WhiteLabelAdmin};
use crate::audit::{record, Change};
use crate::charges::{post_opening_charges, Opening, Payer as ChargePayer};
use crate::events::customer_data;
use crate::outbox::enqueue_webhook;
use crate::{App, AppError, AppResult};

/// The progress of a pending customer's activation, for the white label.
#[derive(Debug, Clone)]
pub struct ActivationStatus {
    /// queued, sent, opened, payment_started, payment_failed or expired.
    pub state: String,
    /// When the current link expires (microseconds since the epoch).
    pub expires_us: Option<i64>,
    /// The address the current link was sent to.
    pub sent_to: Option<String>,
    /// The delivery state of the activation mail: queued, sending, delivered or failed.
    pub mail_state: Option<String>,
}

fn not_pending(customer: &CustomerRow) -> AppError {
    AppError::Conflict {
        code: "not_pending_activation",
        message: format!(
            "{} is {}, not pending activation",
            customer.legal_name,
            customer.status.replace('_', " ")
        ),
        field: None,
    }
}

impl App {
    async fn pending_customer(
        &self,
        tx: &mut Tx,
        admin: &WhiteLabelAdmin,
        customer_id: &CustomerId,
    ) -> AppResult<(WhiteLabelRow, CustomerRow)> {
        admin.require(Permission::ManageCustomerState)?;
        let customer = store_customers::get(tx, admin.white_label_id(), customer_id)
            .await?
            .ok_or(AppError::NotFound("customer"))?;
        if customer.status != CustomerStatus::PendingActivation.as_str() {
            return Err(not_pending(&customer));
        }
        let white_label = store_wl::get(tx, admin.white_label_id())
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        Ok((white_label, customer))
    }

    /// The activation status of a pending customer, or `None` for any other customer.
    pub async fn activation_status(
        &self,
        admin: &WhiteLabelAdmin,
        customer_id: &CustomerId,
    ) -> AppResult<Option<ActivationStatus>> {
        admin.require(Permission::ViewCustomers)?;
        let now = self.now_us();
        let mut conn = self.store.conn().await?;
        let Some(customer) =
            store_customers::get(&mut conn, admin.white_label_id(), customer_id).await?
        else {
            return Err(AppError::NotFound("customer"));
        };
        let Some(state) = customer.activation_state.clone() else {
            return Ok(None);
        };
        let token =
            tokens::latest_for_customer(&mut conn, admin.white_label_id(), customer_id).await?;
        let mail_state = match token.as_ref().and_then(|t| t.outbox_id.clone()) {
            Some(id) => outbox::state_of(&mut conn, admin.white_label_id(), &id).await?,
            None => None,
        };
        let expired = token
            .as_ref()
            .is_some_and(|t| t.used_us.is_none() && t.expires_us <= now);
        let state = if expired
            || customer.status == CustomerStatus::Cancelled.as_str() && state == "expired"
        {
            "expired".to_string()
        } else if state == "queued" && mail_state.as_deref() == Some("delivered") {
            "sent".to_string()
        } else {
            state
        };
        Ok(Some(ActivationStatus {
            state,
            expires_us: token.as_ref().map(|t| t.expires_us),
            sent_to: token.map(|t| t.email),
            mail_state,
        }))
    }

    /// Sends a new activation link; the previous one stops working.
    pub async fn resend_activation(
        &self,
        admin: &WhiteLabelAdmin,
        customer_id: &CustomerId,
    ) -> AppResult<()> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let (white_label, customer) = self.pending_customer(&mut tx, admin, customer_id).await?;
        let plan = plans::get(&mut tx, &white_label.id, &customer.plan_id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        self.issue_activation(&mut tx, now, &white_label, &customer, &plan)
            .await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(&white_label.id),
                customer_id: Some(customer_id),
                on_behalf_of: admin.on_behalf_of(),
                action: "activation.resent",
                object_kind: "customer",
                object_id: customer_id.as_str(),
                after: Some(json!({"email": customer.contact_email})),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Corrects a pending customer's contact email and sends a new link to it.
    pub async fn change_activation_email(
        &self,
        admin: &WhiteLabelAdmin,
        customer_id: &CustomerId,
        email: &str,
    ) -> AppResult<()> {
        let email = EmailAddress::parse(email).map_err(|e| AppError::field("contact.email", e))?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let (white_label, customer) = self.pending_customer(&mut tx, admin, customer_id).await?;
        store_customers::set_contact_email(
            &mut tx,
            &white_label.id,
            customer_id,
            email.as_str(),
            now,
        )
        .await?;
        payments::supersede_pending(&mut tx, customer_id, now).await?;
        let updated = store_customers::get(&mut tx, &white_label.id, customer_id)
            .await?
            .ok_or(AppError::NotFound("customer"))?;
        let plan = plans::get(&mut tx, &white_label.id, &customer.plan_id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        self.issue_activation(&mut tx, now, &white_label, &updated, &plan)
            .await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(&white_label.id),
                customer_id: Some(customer_id),
                on_behalf_of: admin.on_behalf_of(),
                action: "customer.contact_email_changed",
                object_kind: "customer",
                object_id: customer_id.as_str(),
                before: Some(json!({"contact_email": customer.contact_email})),
                after: Some(json!({"contact_email": email.as_str()})),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cancels a pending account: its links stop working and nothing is billed.
    pub async fn cancel_pending_customer(
        &self,
        admin: &WhiteLabelAdmin,
        customer_id: &CustomerId,
        reason: &str,
    ) -> AppResult<()> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let (white_label, customer) = self.pending_customer(&mut tx, admin, customer_id).await?;
        let reason = if reason.trim().is_empty() {
            "cancelled by the white label"
        } else {
            reason.trim()
        };
        self.cancel_in(
            &mut tx,
            now,
            &white_label,
            &customer,
            admin.actor(),
            admin.on_behalf_of(),
            None,
            reason,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn cancel_in(
        &self,
        tx: &mut Tx,
        now: i64,
        white_label: &WhiteLabelRow,
        customer: &CustomerRow,
        actor: &Actor,
        on_behalf_of: Option<String>,
        activation_state: Option<&str>,
        reason: &str,
    ) -> AppResult<()> {
        let moved = store_customers::transition(
            tx,
            &white_label.id,
            &customer.id,
            CustomerStatus::PendingActivation.as_str(),
            CustomerStatus::Cancelled.as_str(),
            now,
        )
        .await?;
        if !moved {
            return Err(not_pending(customer));
        }
        tokens::revoke_for_customer(tx, &customer.id, now).await?;
        payments::supersede_pending(tx, &customer.id, now).await?;
        store_customers::set_activation_state(tx, &customer.id, activation_state, now).await?;
        record(
            tx,
            now,
            actor,
            Change {
                white_label_id: Some(&white_label.id),
                customer_id: Some(&customer.id),
                on_behalf_of,
                action: "customer.cancelled",
                object_kind: "customer",
                object_id: customer.id.as_str(),
                before: Some(json!({"status": customer.status})),
                after: Some(json!({"status": "cancelled"})),
                reason: Some(reason),
            },
        )
        .await?;
        let cancelled = store_customers::get(tx, &white_label.id, &customer.id)
            .await?
            .ok_or(AppError::NotFound("customer"))?;
        enqueue_webhook(
            tx,
            now,
            white_label,
            Some(&customer.id),
            "customer.cancelled",
            customer_data(&cancelled),
        )
        .await?;
        Ok(())
    }

    /// Converts a pending account into one the white label manages: the white label becomes
    /// the payer, the acting user its Account Administrator, the opening charges are debited
    /// from the white label, and the account is active.
    pub async fn convert_to_managed(
        &self,
        admin: &WhiteLabelAdmin,
        customer_id: &CustomerId,
    ) -> AppResult<()> {
        admin.require(Permission::CreateCustomers)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let (white_label, customer) = self.pending_customer(&mut tx, admin, customer_id).await?;
        let plan = plans::get(&mut tx, &white_label.id, &customer.plan_id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        if plan.status != "active" {
            return Err(AppError::Conflict {
                code: "plan_retired",
                message: format!(
                    "plan '{}' is retired: the account cannot be converted on it",
                    plan.name
                ),
                field: None,
            });
        }
        tokens::revoke_for_customer(&mut tx, customer_id, now).await?;
        payments::supersede_pending(&mut tx, customer_id, now).await?;
        store_customers::set_payer(
            &mut tx,
            &white_label.id,
            customer_id,
            Payer::WhiteLabel.as_str(),
            CreationMode::WhiteLabelManaged.as_str(),
            now,
        )
        .await?;
        self.add_account_administrator(&mut tx, now, admin, customer_id)
            .await?;
        let zone = TimeZoneName::parse(&customer.time_zone)
            .unwrap_or_else(|_| TimeZoneName::parse("UTC").expect("UTC"));
        post_opening_charges(
            &mut tx,
            now,
            &Opening {
                white_label: &white_label,
                plan: &plan,
                customer_id,
                payer: ChargePayer::WhiteLabel,
                time_zone: &zone,
                actor_label: admin.actor().label(),
            },
        )
        .await?;
        store_customers::transition(
            &mut tx,
            &white_label.id,
            customer_id,
            CustomerStatus::PendingActivation.as_str(),
            CustomerStatus::Active.as_str(),
            now,
        )
        .await?;
        store_customers::set_activation_state(&mut tx, customer_id, None, now).await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(&white_label.id),
                customer_id: Some(customer_id),
                on_behalf_of: admin.on_behalf_of(),
                action: "customer.converted_to_managed",
                object_kind: "customer",
                object_id: customer_id.as_str(),
                before: Some(json!({"status": customer.status, "payer": customer.payer})),
                after: Some(json!({"status": "active", "payer": "white_label"})),
                ..Change::default()
            },
        )
        .await?;
        let activated = store_customers::get(&mut tx, &white_label.id, customer_id)
            .await?
            .ok_or(AppError::NotFound("customer"))?;
        enqueue_webhook(
            &mut tx,
            now,
            &white_label,
            Some(customer_id),
            "customer.activated",
            customer_data(&activated),
        )
        .await?;
        tx.commit().await?;
        if let Some(user_id) = admin.actor().user_id() {
            // The converting user became the account's Account Administrator.
            self.session_cache.forget_user(user_id);
        }
        Ok(())
    }

    /// Cancels pending accounts whose last activation link expired unused; returns how many.
    /// Run periodically by the server.
    pub async fn expire_activations(&self) -> AppResult<usize> {
        let now = self.now_us();
        let mut conn = self.store.conn().await?;
        let expired = tokens::expired_pending_customers(&mut conn, now, 100).await?;
        drop(conn);
        let actor = Actor::system("activation expiry");
        let mut cancelled = 0;
        for (white_label_id, customer_id) in expired {
            let mut tx = self.store.begin().await?;
            let Some(white_label) = store_wl::get(&mut tx, &white_label_id).await? else {
                continue;
            };
            let Some(customer) =
                store_customers::get(&mut tx, &white_label_id, &customer_id).await?
            else {
                continue;
            };
            match self
                .cancel_in(
                    &mut tx,
                    now,
                    &white_label,
                    &customer,
                    &actor,
                    None,
                    Some("expired"),
                    "the activation link expired unused",
                )
                .await
            {
                Ok(()) => {
                    tx.commit().await?;
                    cancelled += 1;
                    tracing::info!(white_label.id = %white_label_id, customer.id = %customer_id, "pending account cancelled: activation expired");
                }
                Err(AppError::Conflict { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(cancelled)
    }
}
