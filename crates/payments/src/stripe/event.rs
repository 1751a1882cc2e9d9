//! Parsing of Stripe Event objects (`{"id", "type", "data": {"object": …}}`) from webhook bodies
//! into [`GatewayEvent`]s.
//!
//! Only the fields used here are read, and unknown fields are skipped, so events rendered with
//! newer API versions still parse.

use std::collections::HashMap;

use serde::Deserialize;

use crate::{EventOutcome, GatewayEvent, PaymentError};

/// Reason given for `checkout.session.async_payment_failed`, whose Checkout Session carries no
/// error message.
const DELAYED_PAYMENT_FAILED: &str = "the delayed payment failed";

/// Reason given when a `payment_intent.payment_failed` event has no `last_payment_error.message`.
const PAYMENT_FAILED_WITHOUT_MESSAGE: &str = "the payment failed and the gateway gave no reason";

/// Parses a webhook body (a Stripe Event object) into a [`GatewayEvent`].
///
/// | type | outcome |
/// | --- | --- |
/// | `checkout.session.completed`, `payment_status` `paid` | `Succeeded` |
/// | `checkout.session.completed`, other `payment_status` (`unpaid` for delayed methods) | `Ignored` |
/// | `checkout.session.async_payment_succeeded` | `Succeeded` |
/// | `checkout.session.async_payment_failed` | `Failed` |
/// | `checkout.session.expired` | `Expired` |
/// | `payment_intent.payment_failed` | `Failed` with `last_payment_error.message` |
/// | anything else | `Ignored`, with no payment fields |
///
/// Returns [`PaymentError::Protocol`] for a body that is not JSON, an event without `id` or
/// `type`, and an event of a handled type whose `data.object` lacks its `id`. The signature must
/// be verified first, with [`super::verify_signature`].
pub fn parse_event(body: &[u8]) -> Result<GatewayEvent, PaymentError> {
    let event: RawEvent = serde_json::from_slice(body)
        .map_err(|error| PaymentError::Protocol(format!("invalid Stripe event JSON: {error}")))?;
    let event_id = required(event.id, "id")?;
    let event_type = required(event.event_type, "type")?;
    let object = event.data.and_then(|data| data.object);

    match event_type.as_str() {
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed"
        | "checkout.session.expired" => {
            let session: RawCheckoutSession = parse_object(object, &event_type)?;
            let outcome = checkout_session_outcome(&event_type, &session);
            let payment_id = session
                .client_reference_id
                .filter(|id| !id.is_empty())
                .or_else(|| metadata_payment_id(session.metadata));
            Ok(GatewayEvent {
                event_id,
                event_type,
                outcome,
                payment_id,
                gateway_reference: Some(required(session.id, "data.object.id")?),
                amount_minor: session.amount_total,
                currency: session.currency.map(|code| code.to_ascii_uppercase()),
            })
        }
        "payment_intent.payment_failed" => {
            let intent: RawPaymentIntent = parse_object(object, &event_type)?;
            required(intent.id, "data.object.id")?;
            let reason = intent
                .last_payment_error
                .and_then(|error| error.message)
                .filter(|message| !message.is_empty())
                .unwrap_or_else(|| PAYMENT_FAILED_WITHOUT_MESSAGE.to_string());
            Ok(GatewayEvent {
                event_id,
                event_type,
                outcome: EventOutcome::Failed { reason },
                payment_id: metadata_payment_id(intent.metadata),
                gateway_reference: None,
                amount_minor: intent.amount,
                currency: intent.currency.map(|code| code.to_ascii_uppercase()),
            })
        }
        _ => Ok(GatewayEvent {
            event_id,
            event_type,
            outcome: EventOutcome::Ignored,
            payment_id: None,
            gateway_reference: None,
            amount_minor: None,
            currency: None,
        }),
    }
}

fn checkout_session_outcome(event_type: &str, session: &RawCheckoutSession) -> EventOutcome {
    match event_type {
        // A session completes before a delayed method (such as a bank debit) settles, and the
        // async_payment_* event that follows carries the outcome.
        "checkout.session.completed" if session.payment_status.as_deref() == Some("paid") => {
            EventOutcome::Succeeded
        }
        "checkout.session.async_payment_succeeded" => EventOutcome::Succeeded,
        "checkout.session.async_payment_failed" => EventOutcome::Failed {
            reason: DELAYED_PAYMENT_FAILED.to_string(),
        },
        "checkout.session.expired" => EventOutcome::Expired,
        _ => EventOutcome::Ignored,
    }
}

fn required(value: Option<String>, field: &str) -> Result<String, PaymentError> {
    value
        .filter(|text| !text.is_empty())
        .ok_or_else(|| PaymentError::Protocol(format!("the Stripe event has no `{field}` string")))
}

fn parse_object<T: serde::de::DeserializeOwned>(
    object: Option<serde_json::Value>,
    event_type: &str,
) -> Result<T, PaymentError> {
    let object = object.ok_or_else(|| {
        PaymentError::Protocol(format!("the {event_type} event has no data.object"))
    })?;
    serde_json::from_value(object).map_err(|error| {
        PaymentError::Protocol(format!(
            "invalid data.object in the {event_type} event: {error}"
        ))
    })
}

fn metadata_payment_id(metadata: Option<HashMap<String, String>>) -> Option<String> {
    metadata?.remove("payment_id").filter(|id| !id.is_empty())
}

#[derive(Deserialize)]
struct RawEvent {
    id: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    data: Option<RawEventData>,
}

#[derive(Deserialize)]
struct RawEventData {
    object: Option<serde_json::Value>,
}

/// The fields of Stripe's Checkout Session object read here.
#[derive(Deserialize)]
struct RawCheckoutSession {
    id: Option<String>,
    client_reference_id: Option<String>,
    metadata: Option<HashMap<String, String>>,
    amount_total: Option<i64>,
    currency: Option<String>,
    payment_status: Option<String>,
}

/// The fields of Stripe's PaymentIntent object read here.
#[derive(Deserialize)]
struct RawPaymentIntent {
    id: Option<String>,
    metadata: Option<HashMap<String, String>>,
    amount: Option<i64>,
    currency: Option<String>,
    last_payment_error: Option<RawPaymentError>,
}

#[derive(Deserialize)]
struct RawPaymentError {
    message: Option<String>,
}
