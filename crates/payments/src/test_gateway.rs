//! The built-in test gateway: a stand-in for Stripe that lets a white label try the payment flow
//! without a Stripe account.
//!
//! Its payment page (served by the web layer) reports the tester's choice as a Stripe-format
//! event, built by [`event_body`] and signed with [`crate::stripe::sign`]. That event then goes
//! through the same [`crate::stripe::verify_signature`] and [`crate::stripe::parse_event`] as a
//! real Stripe webhook, so the test gateway exercises the production confirmation path.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::distributions::{Alphanumeric, DistString};
use serde_json::json;

/// Number of random characters after the prefix of generated ids.
const RANDOM_ID_LEN: usize = 24;

/// Builds the JSON body of a Stripe Event for a test checkout's outcome.
///
/// An approved payment gives `checkout.session.completed` with `payment_status` `paid`, which
/// [`crate::stripe::parse_event`] maps to `Succeeded`. A declined one gives
/// `checkout.session.async_payment_failed` with `payment_status` `unpaid`, which maps to
/// `Failed`. `data.object` is a Checkout Session with `id` set to `reference`,
/// `client_reference_id` and `metadata.payment_id` set to `payment_id`, `amount_total` and the
/// currency in lower case, as Stripe sends it. Use [`new_event_id`] for a fresh `event_id`.
pub fn event_body(
    event_id: &str,
    approved: bool,
    reference: &str,
    payment_id: &str,
    amount_minor: i64,
    currency: &str,
) -> Vec<u8> {
    let (event_type, payment_status) = if approved {
        ("checkout.session.completed", "paid")
    } else {
        ("checkout.session.async_payment_failed", "unpaid")
    };
    let created = unix_now();
    let event = json!({
        "id": event_id,
        "object": "event",
        "api_version": null,
        "created": created,
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": event_type,
        "data": {
            "object": {
                "id": reference,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": payment_status,
                "client_reference_id": payment_id,
                "metadata": { "payment_id": payment_id },
                "amount_total": amount_minor,
                "currency": currency.to_ascii_lowercase(),
                "created": created,
                "livemode": false,
            }
        }
    });
    serde_json::to_vec(&event).expect("a JSON value always serialises")
}

/// Generates a reference for a test checkout, `cs_test_` followed by random letters and digits.
pub fn new_reference() -> String {
    random_id("cs_test_")
}

/// Generates an id for a test gateway event, `evt_test_` followed by random letters and digits.
pub fn new_event_id() -> String {
    random_id("evt_test_")
}

fn random_id(prefix: &str) -> String {
    let suffix = Alphanumeric.sample_string(&mut rand::thread_rng(), RANDOM_ID_LEN);
    format!("{prefix}{suffix}")
}

fn unix_now() -> i64 {
    // A clock before 1970 means a broken host, and 0 keeps the event well-formed.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
