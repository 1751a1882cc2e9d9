//! Self-activation: the activation link, the activation page and what happens when the card
//! payment is confirmed.
//!
//! A link carries 256 random bits; the database keeps only their SHA-256. The page collects
//! the contact's name and password and the opening credit, and starts a card payment; nothing
//! becomes active until the gateway's signed webhook confirms that payment (see
//! [`App::handle_gateway_webhook`]).

use serde_json::json;
use tandem_domain::{
    AmountRule, Currency, CustomerStatus, Money, Name, PaymentId, TimeZoneName, WhiteLabelId,
};
use tandem_store::activation as tokens;
use tandem_store::customers::{self as store_customers, CustomerRow};
use tandem_store::plans::{self as store_plans, PlanRow};
use tandem_store::white_labels::{self as store_wl, WhiteLabelRow};
use tandem_store::{gateways, payments, Conn, Tx};

use crate::auth::{check_password, hash_password, random_token, token_hash, NewSession};
use crate::charges::opening_total;
use crate::mail::MailTemplate;
use crate::validate::Fields;
use crate::{App, AppError, AppResult, FieldError};

/// The state of an activation link, as the activation page shows it.
#[derive(Debug)]
pub enum ActivationView {
    /// The link is live: the account, its plan and what the customer must pay.
    Ready(Box<ActivationDetails>),
    /// The link was used (or the account is already active).
    Used,
    /// The link expired or was replaced by a newer one; the white label can send another.
    Expired { support_email: String },
    /// No such link under this white label.
    NotFound,
}

/// The account behind a live activation link.
#[derive(Debug)]
pub struct ActivationDetails {
    pub customer: CustomerRow,
    pub plan: PlanRow,
    pub white_label: WhiteLabelRow,
    /// The setup fee and first monthly fee, tax included.
    pub opening_charges: Money,
    /// The smallest opening credit accepted: the plan's minimum, and never less than the
    /// opening charges.
    pub minimum_credit: Money,
    /// The reason the last payment failed, if it did, so the page can show it.
    pub last_payment_failed: Option<String>,
}

/// The values the customer entered on the activation page.
#[derive(Debug, Clone, Default)]
pub struct ActivationInput {
    pub given_name: String,
    pub family_name: String,
    pub password: String,
    pub password_confirmation: String,
    pub accept_terms: bool,
    pub opening_credit: String,
}

/// A card payment started from the activation page.
#[derive(Debug)]
pub struct StartedPayment {
    pub payment_id: PaymentId,
    /// The gateway's hosted page, where the browser goes next.
    pub redirect_url: String,
    /// A secret for the paying browser's cookie; only that browser is signed in on return.
    pub return_secret: String,
}

/// Where an activation stands when the browser comes back from the payment page.
#[derive(Debug)]
pub enum ActivationReturn {
    /// Activated; this browser paid, so it is signed in.
    SignedIn(NewSession),
    /// Activated; another browser paid, so the customer signs in normally.
    Activated,
    /// The gateway has not confirmed the payment yet.
    Pending,
    /// The payment failed; the activation link can be used again.
    Failed { reason: String },
    /// The payment was received but held for review.
    Held,
}

/// How long a started payment blocks another start from the same link, so that two
/// submissions at the same moment cannot both go to the payment page. After this, the customer
/// may start again (the first attempt counts as abandoned, but is still credited if it is paid).
const PAYMENT_IN_PROGRESS: std::time::Duration = std::time::Duration::from_secs(120);

fn currency_of(code: &str) -> AppResult<Currency> {
    Currency::parse(code).map_err(|e| AppError::Internal(format!("stored currency: {e}")))
}

impl App {
    /// Issues an activation link for a pending customer and queues the activation mail, inside
    /// the caller's transaction. Older links of the customer stop working.
    pub(crate) async fn issue_activation(
        &self,
        tx: &mut Conn,
        now: i64,
        white_label: &WhiteLabelRow,
        customer: &CustomerRow,
        plan: &PlanRow,
    ) -> AppResult<()> {
        tokens::revoke_for_customer(tx, &customer.id, now).await?;
        let token = random_token();
        let hash = token_hash(&token);
        let expires = now + self.settings.activation_ttl.as_micros() as i64;
        tokens::insert(
            tx,
            &hash,
            &white_label.id,
            &customer.id,
            &customer.contact_email,
            now,
            expires,
        )
        .await?;

        let zone = TimeZoneName::parse(&customer.time_zone)
            .unwrap_or_else(|_| TimeZoneName::parse("UTC").expect("UTC"));
        let expires_at = jiff::Timestamp::from_microsecond(expires)
            .map(|ts| tandem_domain::format_timestamp(ts, &zone))
            .unwrap_or_default();
        let email = tandem_domain::EmailAddress::parse(&customer.contact_email)
            .map_err(|e| AppError::Internal(format!("stored contact email: {e}")))?;
        let vars = json!({
            "contact_name": customer.contact_given_name,
            "legal_name": customer.legal_name,
            "plan_name": plan.name,
            "activation_url": format!("{}/activate/{token}", self.portal_url(white_label)),
            "expires_at": expires_at,
        });
        let outbox_id = self
            .enqueue_mail(
                tx,
                now,
                white_label,
                Some(&customer.id),
                MailTemplate::Activation,
                &email,
                vars,
            )
            .await?;
        tokens::set_outbox(tx, &hash, &outbox_id).await?;
        store_customers::set_activation_state(tx, &customer.id, Some("queued"), now).await?;
        Ok(())
    }

    /// Looks up an activation link for the page, recording that it was opened.
    pub async fn open_activation(
        &self,
        white_label_id: &WhiteLabelId,
        token: &str,
    ) -> AppResult<ActivationView> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let Some(row) = tokens::find(&mut tx, white_label_id, &token_hash(token)).await? else {
            return Ok(ActivationView::NotFound);
        };
        let white_label = store_wl::get(&mut tx, white_label_id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let customer = store_customers::get(&mut tx, white_label_id, &row.customer_id)
            .await?
            .ok_or(AppError::NotFound("customer"))?;
        if row.used_us.is_some() || customer.status != CustomerStatus::PendingActivation.as_str() {
            return Ok(ActivationView::Used);
        }
        if row.revoked_us.is_some() || row.expires_us <= now {
            return Ok(ActivationView::Expired {
                support_email: white_label.support_email,
            });
        }
        if tokens::mark_opened(&mut tx, &row.token_hash, now).await?
            && matches!(
                customer.activation_state.as_deref(),
                Some("queued") | Some("sent")
            )
        {
            store_customers::set_activation_state(&mut tx, &customer.id, Some("opened"), now)
                .await?;
        }
        let details = self
            .activation_details(&mut tx, white_label, customer)
            .await?;
        tx.commit().await?;
        Ok(ActivationView::Ready(Box::new(details)))
    }

    async fn activation_details(
        &self,
        tx: &mut Tx,
        white_label: WhiteLabelRow,
        customer: CustomerRow,
    ) -> AppResult<ActivationDetails> {
        let plan = store_plans::get(tx, &white_label.id, &customer.plan_id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        let currency = currency_of(&plan.currency)?;
        let charges = opening_total(&plan, &white_label);
        let last =
            payments::latest_for_customer(tx, &white_label.id, &customer.id, "activation").await?;
        let last_payment_failed = last.filter(|p| p.state == "failed").map(|p| {
            p.failure_reason
                .unwrap_or_else(|| "the payment did not go through".into())
        });
        Ok(ActivationDetails {
            opening_charges: Money::new(charges, currency),
            minimum_credit: Money::new(charges.max(plan.min_opening_credit_minor), currency),
            customer,
            plan,
            white_label,
            last_payment_failed,
        })
    }

    /// Validates the activation page and starts the card payment of the opening credit.
    pub async fn start_activation_payment(
        &self,
        white_label_id: &WhiteLabelId,
        token: &str,
        input: &ActivationInput,
    ) -> AppResult<StartedPayment> {
        let hash = token_hash(token);
        let ActivationView::Ready(details) = self.peek_activation(white_label_id, &hash).await?
        else {
            return Err(AppError::Conflict {
                code: "activation_unavailable",
                message: "this activation link can no longer be used".into(),
                field: None,
            });
        };
        let currency = currency_of(&details.plan.currency)?;

        let mut fields = Fields::default();
        let given = fields.check("given_name", Name::parse(&input.given_name, 80));
        let family = fields.check("family_name", Name::parse(&input.family_name, 80));
        fields.check("password", check_password(&input.password));
        if input.password != input.password_confirmation {
            fields.push(FieldError::custom(
                "password_confirmation",
                "mismatch",
                "the two passwords differ: type the same password twice",
            ));
        }
        if !input.accept_terms {
            fields.push(FieldError::custom(
                "accept_terms",
                "required",
                format!("accept {}'s terms to continue", details.white_label.name),
            ));
        }
        let credit = fields.check(
            "opening_credit",
            Money::parse(&input.opening_credit, currency, AmountRule::Positive),
        );
        if let Some(credit) = &credit {
            if credit.amount_minor() < details.minimum_credit.amount_minor() {
                fields.push(FieldError::custom(
                    "opening_credit",
                    "below_minimum",
                    format!(
                        "the opening credit must be at least {}",
                        details.minimum_credit.format()
                    ),
                ));
            }
        }
        fields.finish()?;
        let name = format!(
            "{} {}",
            given.expect("checked").as_str(),
            family.expect("checked").as_str()
        );
        let credit = credit.expect("checked");
        let password_hash = hash_password(input.password.clone()).await?;

        let now = self.now_us();
        let payment_id = PaymentId::new();
        let return_secret = random_token();
        let mut tx = self.store.begin().await?;
        tokens::find(&mut tx, white_label_id, &hash)
            .await?
            .ok_or(AppError::NotFound("activation link"))?;
        if !tokens::lock_live(&mut tx, &hash, now).await? {
            return Err(AppError::Conflict {
                code: "activation_unavailable",
                message: "this activation link can no longer be used".into(),
                field: None,
            });
        }
        let window = now - PAYMENT_IN_PROGRESS.as_micros() as i64;
        if payments::recent_pending_for_token(&mut tx, &hash, window).await? {
            return Err(AppError::Conflict {
                code: "activation_in_progress",
                message: "this activation link is already in use: a payment started moments ago. \
                          Finish that payment, or try again in a few minutes"
                    .into(),
                field: None,
            });
        }
        let gateway = gateways::get(&mut tx, white_label_id)
            .await?
            .ok_or_else(|| AppError::Conflict {
                code: "payment_gateway_required",
                message: "card payments are not available at the moment: contact support".into(),
                field: None,
            })?;
        payments::insert(
            &mut tx,
            &payments::NewPayment {
                id: &payment_id,
                white_label_id,
                customer_id: &details.customer.id,
                purpose: "activation",
                gateway: &gateway.kind,
                amount_minor: credit.amount_minor(),
                currency: currency.as_str(),
                activation_token_hash: Some(&hash),
                pending_user_name: Some(&name),
                pending_password_hash: Some(&password_hash),
                return_token_hash: Some(&token_hash(&return_secret)),
            },
            now,
        )
        .await?;
        store_customers::set_activation_state(
            &mut tx,
            &details.customer.id,
            Some("payment_started"),
            now,
        )
        .await?;
        tx.commit().await?;

        let return_url = format!(
            "{}/activate/return/{payment_id}",
            self.portal_url(&details.white_label)
        );
        let checkout = self
            .begin_checkout(
                &gateway,
                &details.white_label,
                &details.customer,
                &payment_id,
                &credit,
                &return_url,
            )
            .await;
        match checkout {
            Ok(redirect_url) => Ok(StartedPayment {
                payment_id,
                redirect_url,
                return_secret,
            }),
            Err(error) => {
                self.fail_payment(white_label_id, &payment_id, &error.to_string())
                    .await?;
                Err(error)
            }
        }
    }

    /// Reads a link's state without recording anything.
    async fn peek_activation(
        &self,
        white_label_id: &WhiteLabelId,
        hash: &str,
    ) -> AppResult<ActivationView> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let Some(row) = tokens::find(&mut tx, white_label_id, hash).await? else {
            return Ok(ActivationView::NotFound);
        };
        let white_label = store_wl::get(&mut tx, white_label_id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let customer = store_customers::get(&mut tx, white_label_id, &row.customer_id)
            .await?
            .ok_or(AppError::NotFound("customer"))?;
        if row.used_us.is_some() || customer.status != CustomerStatus::PendingActivation.as_str() {
            return Ok(ActivationView::Used);
        }
        if row.revoked_us.is_some() || row.expires_us <= now {
            return Ok(ActivationView::Expired {
                support_email: white_label.support_email,
            });
        }
        let details = self
            .activation_details(&mut tx, white_label, customer)
            .await?;
        Ok(ActivationView::Ready(Box::new(details)))
    }

    /// Where an activation stands when the browser returns from the gateway. The browser
    /// that started the payment (it holds `return_secret`) is signed in once it succeeded.
    pub async fn activation_return(
        &self,
        white_label_id: &WhiteLabelId,
        payment_id: &PaymentId,
        return_secret: Option<&str>,
        source_ip: Option<&str>,
    ) -> AppResult<ActivationReturn> {
        let mut conn = self.store.conn().await?;
        let payment = payments::get(&mut conn, white_label_id, payment_id)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        match payment.state.as_str() {
            "pending" => return Ok(ActivationReturn::Pending),
            "failed" => {
                let reason = payment
                    .failure_reason
                    .unwrap_or_else(|| "the payment did not go through".into());
                return Ok(ActivationReturn::Failed { reason });
            }
            "held" => return Ok(ActivationReturn::Held),
            _ => {}
        }
        drop(conn);
        let Some(secret) = return_secret else {
            return Ok(ActivationReturn::Activated);
        };
        // Only the browser that paid, once, within an hour, and only as the user this payment
        // created: never an existing user whose email the contact happens to have.
        let since = self.now_us() - 3_600_000_000;
        let mut tx = self.store.begin().await?;
        let user =
            payments::take_return_sign_in(&mut tx, payment_id, &token_hash(secret), since).await?;
        tx.commit().await?;
        match user {
            Some(user_id) => {
                let user_id = tandem_domain::UserId::from_trusted(user_id);
                Ok(ActivationReturn::SignedIn(
                    self.open_session(&user_id, source_ip).await?,
                ))
            }
            None => Ok(ActivationReturn::Activated),
        }
    }
}
