//! Tests of `stripe::parse_event` on bodies shaped like the Event, Checkout Session and
//! PaymentIntent examples in Stripe's API reference.

// The full Checkout Session example nests deeper than `json!` expands with the default limit.
#![recursion_limit = "256"]

use serde_json::{json, Value};
use tandem_payments::stripe::parse_event;
use tandem_payments::{EventOutcome, GatewayEvent, PaymentError};

const SESSION_ID: &str = "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY";
const PAYMENT_ID: &str = "pay_01HZX3T5Q4J7W8N9P0R1S2T3U4";

/// Builds a Checkout Session object as in Stripe's reference, in payment mode.
fn checkout_session(payment_status: &str, status: &str) -> Value {
    json!({
        "id": SESSION_ID,
        "object": "checkout.session",
        "after_expiration": null,
        "allow_promotion_codes": null,
        "amount_subtotal": 2500,
        "amount_total": 2500,
        "automatic_tax": { "enabled": false, "liability": null, "status": null },
        "billing_address_collection": null,
        "cancel_url": "https://portal.example.com/billing/cancelled",
        "client_reference_id": PAYMENT_ID,
        "consent": null,
        "consent_collection": null,
        "created": 1_700_000_000,
        "currency": "nzd",
        "custom_fields": [],
        "custom_text": { "shipping_address": null, "submit": null },
        "customer": null,
        "customer_creation": "if_required",
        "customer_details": {
            "address": null,
            "email": "ana@example.com",
            "name": "Ana Example",
            "phone": null,
            "tax_exempt": "none",
            "tax_ids": []
        },
        "customer_email": "ana@example.com",
        "expires_at": 1_700_086_400,
        "invoice": null,
        "invoice_creation": { "enabled": false, "invoice_data": null },
        "livemode": false,
        "locale": null,
        "metadata": { "payment_id": PAYMENT_ID, "white_label_id": "wl_01HZX3T5Q4" },
        "mode": "payment",
        "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "payment_link": null,
        "payment_method_collection": "if_required",
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "phone_number_collection": { "enabled": false },
        "recovered_from": null,
        "setup_intent": null,
        "shipping_address_collection": null,
        "shipping_cost": null,
        "shipping_details": null,
        "shipping_options": [],
        "status": status,
        "submit_type": null,
        "subscription": null,
        "success_url": "https://portal.example.com/billing/paid",
        "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
        "url": null
    })
}

/// Builds a PaymentIntent object as in Stripe's reference, after a declined card.
fn failed_payment_intent(last_payment_error: Value) -> Value {
    json!({
        "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "object": "payment_intent",
        "amount": 2500,
        "amount_capturable": 0,
        "amount_received": 0,
        "automatic_payment_methods": null,
        "canceled_at": null,
        "cancellation_reason": null,
        "capture_method": "automatic",
        "client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
        "confirmation_method": "automatic",
        "created": 1_700_000_100,
        "currency": "nzd",
        "customer": null,
        "description": null,
        "last_payment_error": last_payment_error,
        "latest_charge": "ch_3MtwBwLkdIwHu7ix0snN0B15",
        "livemode": false,
        "metadata": { "payment_id": PAYMENT_ID, "white_label_id": "wl_01HZX3T5Q4" },
        "next_action": null,
        "payment_method": null,
        "payment_method_types": ["card"],
        "status": "requires_payment_method"
    })
}

/// Builds an Event object as in Stripe's reference, wrapping `object`.
fn event(event_type: &str, object: Value) -> Vec<u8> {
    let event = json!({
        "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_700_000_200,
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": event_type
    });
    serde_json::to_vec(&event).unwrap()
}

fn parse(body: &[u8]) -> GatewayEvent {
    parse_event(body).expect("event should parse")
}

fn assert_protocol_error(body: &[u8]) {
    let result = parse_event(body);
    assert!(
        matches!(result, Err(PaymentError::Protocol(_))),
        "expected a protocol error, got {result:?}"
    );
}

#[test]
fn parse_completed_paid_session_succeeds() {
    let body = event(
        "checkout.session.completed",
        checkout_session("paid", "complete"),
    );
    let parsed = parse(&body);
    assert_eq!(
        parsed,
        GatewayEvent {
            event_id: "evt_1NG8Du2eZvKYlo2CUI79vXWy".to_string(),
            event_type: "checkout.session.completed".to_string(),
            outcome: EventOutcome::Succeeded,
            payment_id: Some(PAYMENT_ID.to_string()),
            gateway_reference: Some(SESSION_ID.to_string()),
            amount_minor: Some(2500),
            currency: Some("NZD".to_string()),
        }
    );
}

#[test]
fn parse_completed_unpaid_session_is_ignored() {
    let body = event(
        "checkout.session.completed",
        checkout_session("unpaid", "complete"),
    );
    let parsed = parse(&body);
    assert_eq!(parsed.outcome, EventOutcome::Ignored);
    assert_eq!(parsed.payment_id.as_deref(), Some(PAYMENT_ID));
    assert_eq!(parsed.gateway_reference.as_deref(), Some(SESSION_ID));
}

#[test]
fn parse_completed_no_payment_required_is_ignored() {
    let session = checkout_session("no_payment_required", "complete");
    let parsed = parse(&event("checkout.session.completed", session));
    assert_eq!(parsed.outcome, EventOutcome::Ignored);
}

#[test]
fn parse_async_payment_succeeded_succeeds() {
    let session = checkout_session("paid", "complete");
    let parsed = parse(&event("checkout.session.async_payment_succeeded", session));
    assert_eq!(
        parsed.event_type,
        "checkout.session.async_payment_succeeded"
    );
    assert_eq!(parsed.outcome, EventOutcome::Succeeded);
    assert_eq!(parsed.payment_id.as_deref(), Some(PAYMENT_ID));
    assert_eq!(parsed.gateway_reference.as_deref(), Some(SESSION_ID));
    assert_eq!(parsed.amount_minor, Some(2500));
    assert_eq!(parsed.currency.as_deref(), Some("NZD"));
}

#[test]
fn parse_async_payment_failed_fails() {
    let session = checkout_session("unpaid", "complete");
    let parsed = parse(&event("checkout.session.async_payment_failed", session));
    assert!(
        matches!(&parsed.outcome, EventOutcome::Failed { reason } if !reason.is_empty()),
        "expected Failed with a reason, got {:?}",
        parsed.outcome
    );
    assert_eq!(parsed.payment_id.as_deref(), Some(PAYMENT_ID));
    assert_eq!(parsed.gateway_reference.as_deref(), Some(SESSION_ID));
}

#[test]
fn parse_expired_session_expires() {
    let mut session = checkout_session("unpaid", "expired");
    session["customer_details"] = Value::Null;
    let parsed = parse(&event("checkout.session.expired", session));
    assert_eq!(parsed.outcome, EventOutcome::Expired);
    assert_eq!(parsed.payment_id.as_deref(), Some(PAYMENT_ID));
    assert_eq!(parsed.gateway_reference.as_deref(), Some(SESSION_ID));
    assert_eq!(parsed.amount_minor, Some(2500));
}

#[test]
fn parse_payment_intent_failed_uses_error_message() {
    let intent = failed_payment_intent(json!({
        "charge": "ch_3MtwBwLkdIwHu7ix0snN0B15",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": "Your card has insufficient funds.",
        "param": null,
        "type": "card_error"
    }));
    let parsed = parse(&event("payment_intent.payment_failed", intent));
    assert_eq!(
        parsed,
        GatewayEvent {
            event_id: "evt_1NG8Du2eZvKYlo2CUI79vXWy".to_string(),
            event_type: "payment_intent.payment_failed".to_string(),
            outcome: EventOutcome::Failed {
                reason: "Your card has insufficient funds.".to_string()
            },
            payment_id: Some(PAYMENT_ID.to_string()),
            gateway_reference: None,
            amount_minor: Some(2500),
            currency: Some("NZD".to_string()),
        }
    );
}

#[test]
fn parse_payment_intent_failed_without_error_has_reason() {
    let parsed = parse(&event(
        "payment_intent.payment_failed",
        failed_payment_intent(Value::Null),
    ));
    assert!(
        matches!(&parsed.outcome, EventOutcome::Failed { reason } if !reason.is_empty()),
        "expected Failed with a fallback reason, got {:?}",
        parsed.outcome
    );
}

#[test]
fn parse_intent_without_metadata_lacks_payment_id() {
    let mut intent = failed_payment_intent(json!({ "message": "Your card was declined." }));
    intent["metadata"] = json!({});
    let parsed = parse(&event("payment_intent.payment_failed", intent));
    assert_eq!(parsed.payment_id, None);
    assert_eq!(
        parsed.outcome,
        EventOutcome::Failed {
            reason: "Your card was declined.".to_string()
        }
    );
}

#[test]
fn parse_payment_id_falls_back_to_metadata() {
    let mut session = checkout_session("paid", "complete");
    session["client_reference_id"] = Value::Null;
    let parsed = parse(&event("checkout.session.completed", session));
    assert_eq!(parsed.payment_id.as_deref(), Some(PAYMENT_ID));
}

#[test]
fn parse_payment_id_prefers_client_reference_id() {
    let mut session = checkout_session("paid", "complete");
    session["metadata"] = json!({ "payment_id": "pay_other" });
    let parsed = parse(&event("checkout.session.completed", session));
    assert_eq!(parsed.payment_id.as_deref(), Some(PAYMENT_ID));
}

#[test]
fn parse_session_without_payment_id_has_none() {
    let mut session = checkout_session("paid", "complete");
    session["client_reference_id"] = Value::Null;
    session["metadata"] = json!({});
    let parsed = parse(&event("checkout.session.completed", session));
    assert_eq!(parsed.payment_id, None);
    assert_eq!(parsed.outcome, EventOutcome::Succeeded);
}

#[test]
fn parse_unrelated_event_is_ignored() {
    let charge = json!({
        "id": "ch_3MtwBwLkdIwHu7ix0snN0B15",
        "object": "charge",
        "amount": 2500,
        "amount_refunded": 2500,
        "currency": "nzd",
        "metadata": { "payment_id": PAYMENT_ID },
        "refunded": true
    });
    let parsed = parse(&event("charge.refunded", charge));
    assert_eq!(
        parsed,
        GatewayEvent {
            event_id: "evt_1NG8Du2eZvKYlo2CUI79vXWy".to_string(),
            event_type: "charge.refunded".to_string(),
            outcome: EventOutcome::Ignored,
            payment_id: None,
            gateway_reference: None,
            amount_minor: None,
            currency: None,
        }
    );
}

#[test]
fn parse_unrelated_event_without_data_is_ignored() {
    let body = br#"{"id":"evt_1","object":"event","type":"customer.created"}"#;
    assert_eq!(parse(body).outcome, EventOutcome::Ignored);
}

#[test]
fn parse_rejects_malformed_json() {
    assert_protocol_error(b"{\"id\": \"evt_1\", \"type\": ");
    assert_protocol_error(b"");
    assert_protocol_error(b"[]");
}

#[test]
fn parse_rejects_missing_id() {
    assert_protocol_error(br#"{"object":"event","type":"checkout.session.completed"}"#);
    assert_protocol_error(br#"{"id":"","type":"checkout.session.completed"}"#);
}

#[test]
fn parse_rejects_missing_type() {
    assert_protocol_error(br#"{"id":"evt_1","object":"event","data":{"object":{}}}"#);
    assert_protocol_error(br#"{"id":"evt_1","type":null}"#);
}

#[test]
fn parse_rejects_handled_type_without_object() {
    assert_protocol_error(br#"{"id":"evt_1","type":"checkout.session.completed","data":{}}"#);
    assert_protocol_error(br#"{"id":"evt_1","type":"checkout.session.expired"}"#);
}

#[test]
fn parse_rejects_session_without_id() {
    let mut session = checkout_session("paid", "complete");
    session.as_object_mut().unwrap().remove("id");
    assert_protocol_error(&event("checkout.session.completed", session));
}

#[test]
fn parse_rejects_wrongly_typed_amount() {
    let mut session = checkout_session("paid", "complete");
    session["amount_total"] = json!("2500");
    assert_protocol_error(&event("checkout.session.completed", session));
}
