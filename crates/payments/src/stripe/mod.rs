//! Stripe Checkout: creating Checkout Sessions through the API, and authenticating and parsing
//! the webhook events that report their outcome.

mod client;
mod event;
mod signature;

pub use client::StripeClient;
pub use event::parse_event;
pub use signature::{sign, verify_signature};

/// Base URL of Stripe's API.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// Maximum difference between a webhook's signed timestamp and the current time, in seconds.
/// This is the default of Stripe's libraries (`DEFAULT_TOLERANCE` in stripe-node).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;
