//! Payment gateways: a white label's configuration, starting a checkout, and applying the
//! gateway's signed webhooks exactly once.
//!
//! The built-in test gateway and Stripe Checkout share one confirmation path: both deliver a
//! Stripe-format event signed with the white label's webhook secret to
//! [`App::handle_gateway_webhook`], which checks the signature before anything else, records
//! the event id under a unique key, and applies the payment in the same transaction.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::{
    Currency, CustomerStatus, EmailAddress, LedgerKind, MembershipId, Money, PaymentId, Permission,
    Role, TimeZoneName, UserId, WhiteLabelId,
};
use tandem_payments::{stripe, test_gateway, CheckoutRequest, EventOutcome, GatewayEvent};
use tandem_store::customers::{self as store_customers, CustomerRow};
use tandem_store::gateways::{self, GatewayRow};
use tandem_store::payments::{self as store_payments, PaymentRow};
use tandem_store::white_labels::{self as store_wl, WhiteLabelRow};
use tandem_store::{activation as tokens, ledger, memberships, plans, users, Tx};

use crate::access::{Actor, WhiteLabelAdmin};
use crate::audit::{record, Change};
use crate::auth::random_token;
use crate::charges::{post_opening_charges, Opening, Payer};
use crate::events::{customer_data, payment_data};
use crate::mail::MailTemplate;
use crate::outbox::enqueue_webhook;
use crate::validate::present;
use crate::{App, AppError, AppResult, FieldError};

/// A gateway as chosen in the portal or the API. Blank secrets keep the stored ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GatewayInput {
    /// `none`, `test` or `stripe`.
    pub kind: String,
    /// Stripe's secret API key (`sk_live_…` or `sk_test_…`).
    pub secret_key: Option<String>,
    /// Stripe's webhook signing secret (`whsec_…`).
    pub webhook_secret: Option<String>,
    pub publishable_key: Option<String>,
}

/// The parts of a gateway the portal may show, never a secret.
#[derive(Debug, Clone)]
pub struct GatewaySummary {
    pub kind: String,
    /// The last four characters of the secret key, to recognise it.
    pub secret_key_hint: Option<String>,
    pub publishable_key: Option<String>,
    /// The path the gateway must send its webhooks to.
    pub webhook_path: String,
    pub version: i64,
}

/// The result of applying a webhook. Every variant gets a 2xx response, so the gateway stops
/// retrying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    Applied,
    Duplicate,
    Ignored,
    Held,
    UnknownPayment,
}

fn actor_for(gateway: &str) -> Actor {
    Actor::system(&format!("payment gateway ({gateway})"))
}

impl App {
    /// Sets or removes the white label's payment gateway.
    pub async fn configure_gateway(
        &self,
        admin: &WhiteLabelAdmin,
        input: &GatewayInput,
    ) -> AppResult<Option<GatewaySummary>> {
        admin.require(Permission::ManagePaymentGateway)?;
        let now = self.now_us();
        let wl_id = admin.white_label_id();
        let mut tx = self.store.begin().await?;
        let existing = gateways::get(&mut tx, wl_id).await?;
        let before = existing.as_ref().map(|g| json!({"kind": g.kind}));
        match input.kind.trim() {
            "none" | "" => {
                gateways::delete(&mut tx, wl_id).await?;
            }
            "test" => {
                let secret = existing
                    .as_ref()
                    .filter(|g| g.kind == "test")
                    .map(|g| g.webhook_secret.clone())
                    .unwrap_or_else(|| format!("whsec_test_{}", random_token()));
                gateways::put(&mut tx, wl_id, "test", None, &secret, None, now).await?;
            }
            "stripe" => {
                let keep = existing.as_ref().filter(|g| g.kind == "stripe");
                let secret_key = present(&input.secret_key)
                    .map(str::to_string)
                    .or_else(|| keep.and_then(|g| g.secret_key.clone()));
                let webhook_secret = present(&input.webhook_secret)
                    .map(str::to_string)
                    .or_else(|| keep.map(|g| g.webhook_secret.clone()));
                let mut errors = Vec::new();
                match &secret_key {
                    Some(key)
                        if key.starts_with("sk_")
                            && key.len() >= 16
                            && !key.contains(char::is_whitespace) => {}
                    Some(_) => errors.push(FieldError::custom(
                        "secret_key",
                        "invalid_key",
                        "a Stripe secret key starts with sk_live_ or sk_test_",
                    )),
                    None => errors.push(FieldError::custom(
                        "secret_key",
                        "required",
                        "paste the secret key from Stripe's dashboard",
                    )),
                }
                match &webhook_secret {
                    Some(secret)
                        if secret.starts_with("whsec_")
                            && !secret.contains(char::is_whitespace) => {}
                    Some(_) => errors.push(FieldError::custom(
                        "webhook_secret",
                        "invalid_secret",
                        "a Stripe webhook signing secret starts with whsec_",
                    )),
                    None => errors.push(FieldError::custom(
                        "webhook_secret",
                        "required",
                        "paste the signing secret of the webhook endpoint from Stripe's dashboard",
                    )),
                }
                if !errors.is_empty() {
                    return Err(AppError::Invalid(errors));
                }
                let publishable = present(&input.publishable_key);
                gateways::put(
                    &mut tx,
                    wl_id,
                    "stripe",
                    secret_key.as_deref(),
                    &webhook_secret.expect("checked"),
                    publishable,
                    now,
                )
                .await?;
            }
            other => {
                return Err(AppError::Invalid(vec![FieldError::custom(
                    "kind",
                    "invalid_gateway",
                    format!("'{other}' is not a gateway: choose none, test or stripe"),
                )]))
            }
        }
        let after = gateways::get(&mut tx, wl_id).await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(wl_id),
                on_behalf_of: admin.on_behalf_of(),
                action: "payment_gateway.changed",
                object_kind: "white_label",
                object_id: wl_id.as_str(),
                before,
                after: after.as_ref().map(|g| json!({"kind": g.kind})),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after.map(|g| summary(&g)))
    }

    /// The white label's gateway as the portal may show it.
    pub async fn gateway_summary(
        &self,
        admin: &WhiteLabelAdmin,
    ) -> AppResult<Option<GatewaySummary>> {
        admin.require(Permission::ManagePaymentGateway)?;
        let mut conn = self.store.conn().await?;
        Ok(gateways::get(&mut conn, admin.white_label_id())
            .await?
            .map(|g| summary(&g)))
    }

    /// Starts a checkout on the white label's gateway and returns where to send the browser.
    pub(crate) async fn begin_checkout(
        &self,
        gateway: &GatewayRow,
        white_label: &WhiteLabelRow,
        customer: &CustomerRow,
        payment_id: &PaymentId,
        amount: &Money,
        return_url: &str,
    ) -> AppResult<String> {
        match gateway.kind.as_str() {
            "test" => {
                let reference = test_gateway::new_reference();
                let mut conn = self.store.conn().await?;
                store_payments::set_reference(&mut conn, payment_id, &reference, self.now_us())
                    .await?;
                Ok(format!(
                    "{}/pay/test/{payment_id}",
                    self.portal_url(white_label)
                ))
            }
            "stripe" => {
                let key = gateway
                    .secret_key
                    .as_deref()
                    .ok_or_else(|| AppError::Internal("Stripe has no secret key".into()))?;
                let client = stripe::StripeClient::new(&self.settings.stripe_api_base, key);
                let request = CheckoutRequest {
                    payment_id: payment_id.to_string(),
                    white_label_id: white_label.id.to_string(),
                    amount_minor: amount.amount_minor(),
                    currency: amount.currency().as_str().to_string(),
                    description: format!("Opening credit for {}", customer.legal_name),
                    customer_email: Some(customer.contact_email.clone()),
                    success_url: return_url.to_string(),
                    cancel_url: format!("{return_url}?cancelled=1"),
                };
                let session = client
                    .create_checkout_session(&request, payment_id.as_str())
                    .await
                    .map_err(|e| AppError::Conflict {
                        code: "payment_gateway_failed",
                        message: format!("the card payment could not be started: {e}"),
                        field: None,
                    })?;
                let mut conn = self.store.conn().await?;
                store_payments::set_reference(
                    &mut conn,
                    payment_id,
                    &session.reference,
                    self.now_us(),
                )
                .await?;
                Ok(session.redirect_url)
            }
            other => Err(AppError::Internal(format!(
                "unknown gateway kind '{other}'"
            ))),
        }
    }

    /// Marks a pending payment failed before the gateway was reached (it refused the checkout).
    pub(crate) async fn fail_payment(
        &self,
        white_label_id: &WhiteLabelId,
        payment_id: &PaymentId,
        reason: &str,
    ) -> AppResult<()> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        if let Some(payment) = store_payments::get(&mut tx, white_label_id, payment_id).await? {
            if store_payments::finish(&mut tx, payment_id, "failed", Some(reason), now).await? {
                store_customers::set_activation_state(
                    &mut tx,
                    &payment.customer_id,
                    Some("payment_failed"),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Verifies and applies a gateway webhook for a white label. The signature is checked
    /// before anything else; each event id is applied once, and a repeat (also a concurrent
    /// one) is answered as a duplicate.
    pub async fn handle_gateway_webhook(
        &self,
        white_label_id: &WhiteLabelId,
        gateway_kind: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> AppResult<WebhookOutcome> {
        let mut conn = self.store.conn().await?;
        let gateway = gateways::get(&mut conn, white_label_id).await?;
        drop(conn);
        let Some(gateway) = gateway.filter(|g| g.kind == gateway_kind) else {
            return Err(AppError::NotFound("payment gateway"));
        };
        let now_unix = self.now_us() / 1_000_000;
        let tolerance = self.settings.webhook_tolerance.as_secs() as i64;
        stripe::verify_signature(
            signature.unwrap_or(""),
            body,
            &gateway.webhook_secret,
            now_unix,
            tolerance,
        )
        .map_err(|e| AppError::Forbidden(format!("webhook signature rejected: {e}")))?;
        let event = stripe::parse_event(body).map_err(|e| {
            AppError::Invalid(vec![FieldError::custom(
                "body",
                "invalid_event",
                e.to_string(),
            )])
        })?;

        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        // Event ids are unique per gateway account, and two white labels may share one, so the
        // key that makes an event count once includes the white label.
        let event_key = format!("{white_label_id}:{}", event.event_id);
        let fresh = store_payments::record_event(
            &mut tx,
            gateway_kind,
            &event_key,
            white_label_id,
            event.payment_id.as_deref(),
            &event.event_type,
            now,
        )
        .await?;
        if !fresh {
            return Ok(WebhookOutcome::Duplicate);
        }
        let outcome = self
            .apply_event(&mut tx, now, white_label_id, gateway_kind, &event)
            .await?;
        let label = match &outcome {
            WebhookOutcome::Applied => "applied",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Ignored => "ignored",
            WebhookOutcome::Held => "held",
            WebhookOutcome::UnknownPayment => "unknown_payment",
        };
        store_payments::set_event_outcome(&mut tx, gateway_kind, &event_key, label).await?;
        tx.commit().await?;
        if matches!(outcome, WebhookOutcome::Applied) {
            // An applied payment may have activated an account and made its contact the
            // account's Account Administrator, and the contact may already have sessions.
            self.session_cache.clear();
        }
        tracing::info!(white_label.id = %white_label_id, event.id = %event.event_id, outcome = label, "gateway event applied");
        Ok(outcome)
    }

    async fn apply_event(
        &self,
        tx: &mut Tx,
        now: i64,
        white_label_id: &WhiteLabelId,
        gateway_kind: &str,
        event: &GatewayEvent,
    ) -> AppResult<WebhookOutcome> {
        if matches!(event.outcome, EventOutcome::Ignored) {
            return Ok(WebhookOutcome::Ignored);
        }
        let payment_id = event
            .payment_id
            .as_deref()
            .and_then(|id| PaymentId::parse(id).ok());
        let Some(payment_id) = payment_id else {
            return Ok(WebhookOutcome::UnknownPayment);
        };
        let Some(payment) = store_payments::get(tx, white_label_id, &payment_id).await? else {
            return Ok(WebhookOutcome::UnknownPayment);
        };
        if payment.state != "pending" && payment.state != "superseded" {
            return Ok(WebhookOutcome::Ignored);
        }
        // An event settles only a payment started on its own gateway, for its own checkout.
        let other_reference = matches!(
            (&event.gateway_reference, &payment.gateway_reference),
            (Some(sent), Some(ours)) if sent != ours
        );
        if payment.gateway != gateway_kind || other_reference {
            tracing::warn!(payment.id = %payment.id, "gateway event names another gateway's payment; ignored");
            return Ok(WebhookOutcome::Ignored);
        }
        let white_label = store_wl::get(tx, white_label_id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let actor = actor_for(gateway_kind);
        match &event.outcome {
            EventOutcome::Succeeded => {
                self.payment_succeeded(tx, now, &white_label, &payment, event, &actor)
                    .await
            }
            EventOutcome::Failed { reason } => {
                self.payment_failed(tx, now, &white_label, &payment, reason, &actor)
                    .await?;
                Ok(WebhookOutcome::Applied)
            }
            EventOutcome::Expired => {
                self.payment_failed(
                    tx,
                    now,
                    &white_label,
                    &payment,
                    "the payment page expired before paying",
                    &actor,
                )
                .await?;
                Ok(WebhookOutcome::Applied)
            }
            EventOutcome::Ignored => Ok(WebhookOutcome::Ignored),
        }
    }

    async fn payment_failed(
        &self,
        tx: &mut Tx,
        now: i64,
        white_label: &WhiteLabelRow,
        payment: &PaymentRow,
        reason: &str,
        actor: &Actor,
    ) -> AppResult<()> {
        if !store_payments::finish(tx, &payment.id, "failed", Some(reason), now).await? {
            return Ok(());
        }
        if payment.purpose == "activation" && payment.state == "pending" {
            store_customers::set_activation_state(
                tx,
                &payment.customer_id,
                Some("payment_failed"),
                now,
            )
            .await?;
        }
        record(
            tx,
            now,
            actor,
            Change {
                white_label_id: Some(&white_label.id),
                customer_id: Some(&payment.customer_id),
                action: "payment.failed",
                object_kind: "payment",
                object_id: payment.id.as_str(),
                after: Some(json!({"state": "failed", "reason": reason})),
                ..Change::default()
            },
        )
        .await?;
        enqueue_webhook(
            tx,
            now,
            white_label,
            Some(&payment.customer_id),
            "payment.failed",
            payment_data(payment, "failed", Some(reason)),
        )
        .await?;
        Ok(())
    }

    async fn payment_succeeded(
        &self,
        tx: &mut Tx,
        now: i64,
        white_label: &WhiteLabelRow,
        payment: &PaymentRow,
        event: &GatewayEvent,
        actor: &Actor,
    ) -> AppResult<WebhookOutcome> {
        let currency_matches = event
            .currency
            .as_deref()
            .map(|c| c.eq_ignore_ascii_case(&payment.currency))
            .unwrap_or(false);
        let amount_matches = event.amount_minor == Some(payment.amount_minor);
        if !currency_matches || !amount_matches {
            let reason = format!(
                "held for review: the gateway reported {} {}, the payment expected {} {}",
                event
                    .amount_minor
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "no amount".into()),
                event
                    .currency
                    .clone()
                    .unwrap_or_else(|| "no currency".into()),
                payment.amount_minor,
                payment.currency
            );
            if !store_payments::finish(tx, &payment.id, "held", Some(&reason), now).await? {
                return Ok(WebhookOutcome::Ignored);
            }
            record(
                tx,
                now,
                actor,
                Change {
                    white_label_id: Some(&white_label.id),
                    customer_id: Some(&payment.customer_id),
                    action: "payment.held",
                    object_kind: "payment",
                    object_id: payment.id.as_str(),
                    after: Some(json!({"state": "held", "reason": reason})),
                    ..Change::default()
                },
            )
            .await?;
            tracing::warn!(payment.id = %payment.id, "payment held for review: amount or currency differs");
            return Ok(WebhookOutcome::Held);
        }

        // The conditional update serialises concurrent confirmations: on PostgreSQL a second
        // one waits for the first and then finds the payment no longer open.
        if !store_payments::finish(tx, &payment.id, "succeeded", None, now).await? {
            return Ok(WebhookOutcome::Ignored);
        }
        let currency = Currency::parse(&payment.currency)
            .map_err(|e| AppError::Internal(format!("stored currency: {e}")))?;
        let description = "Card payment".to_string();
        let entry = ledger::NewEntry {
            account: ledger::Account::Customer(&white_label.id, &payment.customer_id),
            customer_id: Some(&payment.customer_id),
            kind: LedgerKind::TopUp.as_str(),
            amount_minor: payment.amount_minor,
            tax_minor: 0,
            currency: currency.as_str(),
            description: description.trim(),
            actor_label: actor.label(),
        };
        let top_up =
            crate::ledger::posted(ledger::post(tx, &entry, now).await?, currency, "customer")?;
        record(
            tx,
            now,
            actor,
            Change {
                white_label_id: Some(&white_label.id),
                customer_id: Some(&payment.customer_id),
                action: "payment.succeeded",
                object_kind: "payment",
                object_id: payment.id.as_str(),
                after: Some(json!({"state": "succeeded", "amount_minor": payment.amount_minor})),
                ..Change::default()
            },
        )
        .await?;

        let mut customer = store_customers::get(tx, &white_label.id, &payment.customer_id)
            .await?
            .ok_or(AppError::NotFound("customer"))?;
        // A superseded payment (the contact email changed, or the account was cancelled or
        // converted meanwhile) is credited but activates nothing.
        if payment.purpose == "activation"
            && payment.state == "pending"
            && customer.status == CustomerStatus::PendingActivation.as_str()
        {
            self.activate(tx, now, white_label, &customer, payment, actor)
                .await?;
            customer = store_customers::get(tx, &white_label.id, &payment.customer_id)
                .await?
                .ok_or(AppError::NotFound("customer"))?;
        }

        let zone = TimeZoneName::parse(&customer.time_zone)
            .unwrap_or_else(|_| TimeZoneName::parse("UTC").expect("UTC"));
        let paid_at = jiff::Timestamp::from_microsecond(now)
            .map(|ts| tandem_domain::format_timestamp(ts, &zone))
            .unwrap_or_default();
        if let Ok(email) = EmailAddress::parse(&customer.contact_email) {
            let vars = json!({
                "contact_name": customer.contact_given_name,
                "legal_name": customer.legal_name,
                "amount": Money::new(payment.amount_minor, currency).format(),
                "description": "Card payment to your account",
                "balance": Money::new(customer.balance_minor, currency).format(),
                "paid_at": paid_at,
                "account_number": customer.account_number,
            });
            self.enqueue_mail(
                tx,
                now,
                white_label,
                Some(&customer.id),
                MailTemplate::PaymentReceipt,
                &email,
                vars,
            )
            .await?;
        }
        enqueue_webhook(
            tx,
            now,
            white_label,
            Some(&customer.id),
            "payment.succeeded",
            payment_data(payment, "succeeded", None),
        )
        .await?;
        let _ = top_up;
        Ok(WebhookOutcome::Applied)
    }

    /// Completes an activation once its payment is credited: the opening charges from the
    /// customer's own balance, the contact as Account Administrator, the account active.
    async fn activate(
        &self,
        tx: &mut Tx,
        now: i64,
        white_label: &WhiteLabelRow,
        customer: &CustomerRow,
        payment: &PaymentRow,
        actor: &Actor,
    ) -> AppResult<()> {
        if let Some(hash) = &payment.activation_token_hash {
            tokens::use_token(tx, hash, now).await?;
        }
        tokens::revoke_for_customer(tx, &customer.id, now).await?;
        let plan = plans::get(tx, &white_label.id, &customer.plan_id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        let zone = TimeZoneName::parse(&customer.time_zone)
            .unwrap_or_else(|_| TimeZoneName::parse("UTC").expect("UTC"));
        post_opening_charges(
            tx,
            now,
            &Opening {
                white_label,
                plan: &plan,
                customer_id: &customer.id,
                payer: Payer::Customer(&customer.id),
                time_zone: &zone,
                actor_label: actor.label(),
            },
        )
        .await?;

        let email_key = customer.contact_email.to_lowercase();
        let user_id = match users::find_by_email_key(tx, &email_key).await? {
            // An existing user keeps their password; the one typed on the page is not used, and
            // the paying browser is not signed in as them.
            Some(user) => user.id,
            None => {
                let id = UserId::new();
                let name = payment
                    .pending_user_name
                    .clone()
                    .unwrap_or_else(|| customer.contact_given_name.clone());
                users::insert(
                    tx,
                    &id,
                    &customer.contact_email,
                    &email_key,
                    &name,
                    payment.pending_password_hash.as_deref(),
                    now,
                )
                .await?;
                store_payments::set_activated_user(tx, &payment.id, id.as_str()).await?;
                id
            }
        };
        let scope = memberships::Scope::Customer(&white_label.id, &customer.id);
        memberships::insert_if_absent(
            tx,
            &MembershipId::new(),
            &user_id,
            Role::AccountAdministrator.as_str(),
            scope,
            now,
        )
        .await?;
        store_customers::transition(
            tx,
            &white_label.id,
            &customer.id,
            CustomerStatus::PendingActivation.as_str(),
            CustomerStatus::Active.as_str(),
            now,
        )
        .await?;
        store_customers::set_activation_state(tx, &customer.id, None, now).await?;
        record(
            tx,
            now,
            actor,
            Change {
                white_label_id: Some(&white_label.id),
                customer_id: Some(&customer.id),
                action: "customer.activated",
                object_kind: "customer",
                object_id: customer.id.as_str(),
                before: Some(json!({"status": customer.status})),
                after: Some(json!({"status": "active", "account_administrator": user_id.as_str()})),
                ..Change::default()
            },
        )
        .await?;
        let activated = store_customers::get(tx, &white_label.id, &customer.id)
            .await?
            .ok_or(AppError::NotFound("customer"))?;
        enqueue_webhook(
            tx,
            now,
            white_label,
            Some(&customer.id),
            "customer.activated",
            customer_data(&activated),
        )
        .await?;
        Ok(())
    }

    /// The payment the built-in test gateway's page shows; only test-gateway payments.
    pub async fn test_gateway_payment(
        &self,
        white_label_id: &WhiteLabelId,
        payment_id: &PaymentId,
    ) -> AppResult<PaymentRow> {
        let mut conn = self.store.conn().await?;
        match store_payments::get(&mut conn, white_label_id, payment_id).await? {
            Some(payment) if payment.gateway == "test" => Ok(payment),
            _ => Err(AppError::NotFound("payment")),
        }
    }

    /// Approves or declines a payment on the built-in test gateway's page. The result reaches
    /// Tandem as a signed Stripe-format event through [`App::handle_gateway_webhook`], exactly
    /// as a real gateway's would.
    pub async fn test_gateway_decide(
        &self,
        white_label_id: &WhiteLabelId,
        payment_id: &PaymentId,
        approve: bool,
    ) -> AppResult<WebhookOutcome> {
        let payment = self
            .test_gateway_payment(white_label_id, payment_id)
            .await?;
        let mut conn = self.store.conn().await?;
        let gateway = gateways::get(&mut conn, white_label_id)
            .await?
            .filter(|g| g.kind == "test")
            .ok_or(AppError::NotFound("payment gateway"))?;
        drop(conn);
        let event_id = format!("evt_test_{}", random_token().replace(['-', '_'], ""));
        let reference = payment
            .gateway_reference
            .clone()
            .unwrap_or_else(test_gateway::new_reference);
        let body = test_gateway::event_body(
            &event_id,
            approve,
            &reference,
            payment.id.as_str(),
            payment.amount_minor,
            &payment.currency,
        );
        let signature = stripe::sign(&body, &gateway.webhook_secret, self.now_us() / 1_000_000);
        self.handle_gateway_webhook(white_label_id, "test", Some(&signature), &body)
            .await
    }

    /// Lists the white label's payments, newest first, optionally in one state (`held` shows
    /// the payments waiting for review).
    pub async fn list_payments(
        &self,
        admin: &WhiteLabelAdmin,
        state: Option<&str>,
        limit: u32,
    ) -> AppResult<Vec<PaymentRow>> {
        admin.require(Permission::ViewCustomers)?;
        let mut conn = self.store.conn().await?;
        Ok(store_payments::list(
            &mut conn,
            admin.white_label_id(),
            state,
            limit.clamp(1, 200),
        )
        .await?)
    }
}

fn summary(gateway: &GatewayRow) -> GatewaySummary {
    GatewaySummary {
        kind: gateway.kind.clone(),
        secret_key_hint: gateway.secret_key.as_ref().map(|k| {
            let tail: String = k
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        }),
        publishable_key: gateway.publishable_key.clone(),
        webhook_path: format!("/webhooks/{}/{}", gateway.kind, gateway.white_label_id),
        version: gateway.version,
    }
}
