//! Card payment gateway adapters for Tandem: Stripe Checkout and the built-in test gateway.
//!
//! A white label's customers pay on a hosted payment page. Tandem creates a checkout with
//! [`stripe::StripeClient::create_checkout_session`], redirects the customer to the returned
//! URL, and later learns the outcome from a signed webhook, which it checks with
//! [`stripe::verify_signature`] and normalises with [`stripe::parse_event`] into a
//! [`GatewayEvent`]. The built-in test gateway ([`test_gateway`]) produces events in Stripe's
//! format, so its confirmations pass through the same signature check and parser.
//!
//! This crate has no database access: storing payments and applying outcomes is the caller's
//! job.

pub mod stripe;
pub mod test_gateway;

/// A checkout to open on the gateway: what the customer pays for, and where the payment page
/// sends them afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// Tandem's payment id (`pay_01…`), sent as `client_reference_id` and `metadata[payment_id]`.
    pub payment_id: String,
    /// The white label whose gateway account takes the payment, sent as
    /// `metadata[white_label_id]`.
    pub white_label_id: String,
    /// The amount in the currency's minor unit (cents for NZD).
    pub amount_minor: i64,
    /// ISO 4217 code in upper case, such as `NZD`. Stripe receives it in lower case.
    pub currency: String,
    /// Product name shown on the payment page.
    pub description: String,
    /// Email address to prefill on the payment page.
    pub customer_email: Option<String>,
    /// URL the payment page redirects to after a successful payment.
    pub success_url: String,
    /// URL the payment page links back to when the customer cancels.
    pub cancel_url: String,
}

/// A checkout opened on the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    /// The gateway's id for the checkout, a `cs_…` Checkout Session id for Stripe.
    pub reference: String,
    /// The hosted payment page to send the customer to.
    pub redirect_url: String,
}

/// Failure to create a checkout on the gateway.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum PaymentError {
    /// The gateway rejected the request (HTTP 4xx other than 429). The message is the gateway's
    /// own and is safe to show an administrator. Retrying the request unchanged is not expected to
    /// help.
    #[error("the payment gateway rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// A network failure, a timeout, HTTP 429 or a 5xx: retrying later may work. After a network
    /// failure or timeout the gateway may have created the checkout anyway, so a retry should
    /// reuse the idempotency key to get that checkout back instead of opening a second one.
    #[error("the payment gateway is unavailable, retrying later may work: {0}")]
    Unavailable(String),
    /// The response was not in the gateway's documented format, or the request could not be
    /// built (an invalid API base URL or idempotency key). Retrying does not help.
    #[error("unexpected payment gateway exchange: {0}")]
    Protocol(String),
}

/// A webhook event from a gateway, reduced to what Tandem acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEvent {
    /// The gateway's event id (`evt_…`). Gateways may deliver an event more than once, so the
    /// caller should record processed ids and skip repeats.
    pub event_id: String,
    /// The raw event type, such as `checkout.session.completed`.
    pub event_type: String,
    /// Effect of the event on the payment.
    pub outcome: EventOutcome,
    /// Tandem's payment id, from `client_reference_id` or `metadata.payment_id`.
    pub payment_id: Option<String>,
    /// The Checkout Session id. `None` for events about other objects, such as
    /// `payment_intent.payment_failed`.
    pub gateway_reference: Option<String>,
    /// The amount in minor units: `amount_total` of a Checkout Session, `amount` of a
    /// PaymentIntent.
    pub amount_minor: Option<i64>,
    /// ISO 4217 code in upper case.
    pub currency: Option<String>,
}

/// The effect of a webhook event on a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// The customer paid.
    Succeeded,
    /// The payment failed. The reason is the gateway's message or a fixed description.
    Failed { reason: String },
    /// The checkout expired before the customer paid.
    Expired,
    /// The event does not change the payment: an unrelated type, or a completed checkout whose
    /// delayed payment has not settled yet.
    Ignored,
}

/// Failure to authenticate a webhook by its signature header. The request must be rejected.
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The header is empty, or lacks the timestamp (`t=`) or any `v1=` signature.
    #[error("the Stripe-Signature header is missing, or has no timestamp (t=) or v1 signature")]
    Missing,
    /// The header is not a comma-separated list of `key=value` pairs with one integer `t`.
    #[error(
        "the Stripe-Signature header is malformed: expected comma-separated key=value pairs \
         with a single integer t"
    )]
    Malformed,
    /// The signature is valid but its timestamp is too far from the current time: a replayed
    /// event or a wrong server clock.
    #[error(
        "the Stripe-Signature timestamp is outside the tolerance: check the server clock, or \
         treat the request as a replay"
    )]
    TimestampOutOfTolerance,
    /// No `v1` signature matches the body.
    #[error(
        "no v1 signature in the Stripe-Signature header matches the body: check the webhook \
         endpoint's signing secret, and that the body is passed on unmodified"
    )]
    Mismatch,
}
