//! Tests that the built-in test gateway's events pass through Stripe's signature check and
//! parser exactly as Stripe's own would.

use serde_json::Value;
use tandem_payments::stripe::{parse_event, sign, verify_signature, DEFAULT_TOLERANCE_SECS};
use tandem_payments::test_gateway::{event_body, new_event_id, new_reference};
use tandem_payments::EventOutcome;

const SECRET: &str = "whsec_test_gateway_secret";

#[test]
fn event_body_approved_round_trips_as_succeeded() {
    let reference = new_reference();
    let event_id = new_event_id();
    let body = event_body(&event_id, true, &reference, "pay_01TEST", 4999, "NZD");

    let header = sign(&body, SECRET, 1_700_000_000);
    let verified = verify_signature(
        &header,
        &body,
        SECRET,
        1_700_000_000,
        DEFAULT_TOLERANCE_SECS,
    );
    assert_eq!(verified, Ok(()));

    let parsed = parse_event(&body).unwrap();
    assert_eq!(parsed.event_id, event_id);
    assert_eq!(parsed.event_type, "checkout.session.completed");
    assert_eq!(parsed.outcome, EventOutcome::Succeeded);
    assert_eq!(parsed.payment_id.as_deref(), Some("pay_01TEST"));
    assert_eq!(parsed.gateway_reference, Some(reference));
    assert_eq!(parsed.amount_minor, Some(4999));
    assert_eq!(parsed.currency.as_deref(), Some("NZD"));
}

#[test]
fn event_body_declined_round_trips_as_failed() {
    let reference = new_reference();
    let body = event_body(
        "evt_test_declined",
        false,
        &reference,
        "pay_01TEST",
        4999,
        "AUD",
    );

    let header = sign(&body, SECRET, 1_700_000_000);
    let verified = verify_signature(
        &header,
        &body,
        SECRET,
        1_700_000_000,
        DEFAULT_TOLERANCE_SECS,
    );
    assert_eq!(verified, Ok(()));

    let parsed = parse_event(&body).unwrap();
    assert_eq!(parsed.event_id, "evt_test_declined");
    assert_eq!(parsed.event_type, "checkout.session.async_payment_failed");
    assert!(
        matches!(&parsed.outcome, EventOutcome::Failed { reason } if !reason.is_empty()),
        "expected Failed with a reason, got {:?}",
        parsed.outcome
    );
    assert_eq!(parsed.payment_id.as_deref(), Some("pay_01TEST"));
    assert_eq!(parsed.gateway_reference, Some(reference));
    assert_eq!(parsed.currency.as_deref(), Some("AUD"));
}

#[test]
fn event_body_has_stripe_fields() {
    let body = event_body("evt_test_1", true, "cs_test_1", "pay_01TEST", 1000, "NZD");
    let event: Value = serde_json::from_slice(&body).unwrap();
    let object = &event["data"]["object"];

    assert_eq!(event["object"], "event");
    assert!(event["created"].is_i64(), "created should be a Unix time");
    assert_eq!(event["livemode"], false);
    assert_eq!(object["object"], "checkout.session");
    assert_eq!(object["id"], "cs_test_1");
    assert_eq!(object["client_reference_id"], "pay_01TEST");
    assert_eq!(object["metadata"]["payment_id"], "pay_01TEST");
    assert_eq!(object["amount_total"], 1000);
    assert_eq!(object["currency"], "nzd");
    assert_eq!(object["payment_status"], "paid");
}

#[test]
fn event_body_declined_is_unpaid() {
    let body = event_body("evt_test_2", false, "cs_test_2", "pay_01TEST", 1000, "NZD");
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["data"]["object"]["payment_status"], "unpaid");
}

#[test]
fn event_body_signed_with_other_secret_is_rejected() {
    let body = event_body("evt_test_3", true, "cs_test_3", "pay_01TEST", 1000, "NZD");
    let header = sign(&body, "whsec_other", 1_700_000_000);
    let verified = verify_signature(
        &header,
        &body,
        SECRET,
        1_700_000_000,
        DEFAULT_TOLERANCE_SECS,
    );
    assert!(verified.is_err(), "a foreign signature must not verify");
}

#[test]
fn new_reference_has_prefix_and_is_unique() {
    let first = new_reference();
    let second = new_reference();
    assert!(
        first.starts_with("cs_test_"),
        "unexpected reference {first}"
    );
    assert!(
        first.len() > "cs_test_".len() + 16,
        "reference {first} is too short"
    );
    assert!(
        first["cs_test_".len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric()),
        "reference {first} has characters outside [A-Za-z0-9]"
    );
    assert_ne!(first, second);
}

#[test]
fn new_event_id_has_prefix_and_is_unique() {
    let first = new_event_id();
    let second = new_event_id();
    assert!(
        first.starts_with("evt_test_"),
        "unexpected event id {first}"
    );
    assert_ne!(first, second);
}
