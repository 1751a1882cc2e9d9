//! Client for Stripe's Create Checkout Session endpoint (`POST /v1/checkout/sessions`).
//!
//! Requests are form-encoded with Stripe's bracket notation for nested parameters
//! (`line_items[0][price_data][currency]`) and authenticated with the secret key as a bearer
//! token. Responses are the Checkout Session object on success and `{"error": {"type", "code",
//! "message"}}` otherwise.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::{CheckoutRequest, CheckoutSession, PaymentError};

/// Time allowed to open the TCP and TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Time allowed for the whole request, response body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Stripe accepts idempotency keys of up to 255 characters.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Maximum number of characters of an unparseable response body quoted in an error.
const BODY_EXCERPT_LEN: usize = 200;

/// A Stripe API client for one account, identified by its secret key.
///
/// `Debug` output shows the API base but never the secret key.
pub struct StripeClient {
    api_base: String,
    secret_key: String,
    http: reqwest::Client,
}

impl StripeClient {
    /// Creates a client that sends requests to `api_base` (normally [`super::DEFAULT_API_BASE`],
    /// or a local server in tests) with the account's secret key (`sk_live_…`, `sk_test_…` or a
    /// restricted `rk_…` key).
    ///
    /// # Panics
    ///
    /// Panics if the HTTP client cannot be built, which happens only when the TLS backend fails
    /// to initialise, as with `reqwest::Client::new`.
    pub fn new(api_base: &str, secret_key: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // Stripe's API does not redirect. Following a redirect would turn the POST into a
            // GET against another URL, so a 3xx is reported as a protocol error instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect(
                "failed to build the HTTP client for Stripe: TLS backend initialisation failed",
            );
        Self {
            api_base: api_base.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
            http,
        }
    }

    /// Creates a Checkout Session in `payment` mode with one line item for `request`, and returns
    /// its id and hosted payment page URL.
    ///
    /// Sends `POST {api_base}/v1/checkout/sessions` with `Authorization: Bearer <secret key>` and
    /// `Idempotency-Key: <idempotency_key>`. The key must be 1 to 255 printable ASCII
    /// characters. Stripe saves the response to the first request with a key for at least 24
    /// hours, and returns it for repeats with the same parameters. So retrying with the same key
    /// after a network failure or timeout cannot open a second checkout. Stripe also replays a
    /// saved 500 response, so a retry after a 5xx may need a new key. The request's amount,
    /// currency and URLs are validated by Stripe, which rejects invalid ones with
    /// [`PaymentError::Rejected`].
    ///
    /// Besides the Checkout Session's own `client_reference_id` and metadata, the payment and
    /// white label ids are copied into `payment_intent_data[metadata]`, because Stripe does not
    /// copy session metadata onto the PaymentIntent, and `payment_intent.payment_failed` events
    /// carry only the PaymentIntent.
    pub async fn create_checkout_session(
        &self,
        request: &CheckoutRequest,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, PaymentError> {
        validate_idempotency_key(idempotency_key)?;
        let url = format!("{}/v1/checkout/sessions", self.api_base);

        let response = self
            .http
            .post(&url)
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", idempotency_key)
            .form(&checkout_form(request))
            .send()
            .await
            .map_err(|error| send_error(&url, error))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| {
            PaymentError::Unavailable(format!(
                "reading the response from POST {url} failed: {}",
                describe(error)
            ))
        })?;

        let result = interpret_response(status, &body);
        match &result {
            Ok(session) => tracing::debug!(
                payment_id = %request.payment_id,
                reference = %session.reference,
                "created Stripe Checkout Session"
            ),
            Err(error) => tracing::debug!(
                payment_id = %request.payment_id,
                %status,
                %error,
                "Stripe did not create a Checkout Session"
            ),
        }
        result
    }
}

impl fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeClient")
            .field("api_base", &self.api_base)
            .field("secret_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Builds the form fields of a Create Checkout Session request.
fn checkout_form(request: &CheckoutRequest) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("mode", "payment".to_string()),
        (
            "line_items[0][price_data][currency]",
            request.currency.to_ascii_lowercase(),
        ),
        (
            "line_items[0][price_data][unit_amount]",
            request.amount_minor.to_string(),
        ),
        (
            "line_items[0][price_data][product_data][name]",
            request.description.clone(),
        ),
        ("line_items[0][quantity]", "1".to_string()),
        ("success_url", request.success_url.clone()),
        ("cancel_url", request.cancel_url.clone()),
        ("client_reference_id", request.payment_id.clone()),
        ("metadata[payment_id]", request.payment_id.clone()),
        ("metadata[white_label_id]", request.white_label_id.clone()),
        (
            "payment_intent_data[metadata][payment_id]",
            request.payment_id.clone(),
        ),
        (
            "payment_intent_data[metadata][white_label_id]",
            request.white_label_id.clone(),
        ),
    ];
    if let Some(email) = &request.customer_email {
        form.push(("customer_email", email.clone()));
    }
    form
}

fn validate_idempotency_key(key: &str) -> Result<(), PaymentError> {
    let printable = key
        .bytes()
        .all(|byte| byte.is_ascii_graphic() || byte == b' ');
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !printable {
        return Err(PaymentError::Protocol(format!(
            "invalid idempotency key {key:?}: expected 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable \
             ASCII characters, such as a key derived from the payment id"
        )));
    }
    Ok(())
}

/// Maps a failure to send the request or receive the response headers.
fn send_error(url: &str, error: reqwest::Error) -> PaymentError {
    if error.is_builder() {
        return PaymentError::Protocol(format!(
            "failed to build the request to POST {url}, check the Stripe API base URL: {}",
            describe(error)
        ));
    }
    if error.is_timeout() {
        return PaymentError::Unavailable(format!(
            "POST {url} timed out (connect limit {} s, request limit {} s)",
            CONNECT_TIMEOUT.as_secs(),
            REQUEST_TIMEOUT.as_secs()
        ));
    }
    PaymentError::Unavailable(format!("POST {url} failed: {}", describe(error)))
}

/// Formats a reqwest error with its causes (such as "Connection refused"), without its URL,
/// which the caller names once.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Maps Stripe's response to a Checkout Session or an error, by status class as Stripe's API
/// reference describes: 2xx success, 4xx a problem with the request (429 a rate limit), 5xx a
/// problem at Stripe.
fn interpret_response(
    status: reqwest::StatusCode,
    body: &[u8],
) -> Result<CheckoutSession, PaymentError> {
    if status.is_success() {
        return parse_session(body);
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let detail = error_message(body).unwrap_or_else(|| excerpt(body));
        return Err(PaymentError::Unavailable(format!(
            "Stripe returned HTTP {status}: {detail}"
        )));
    }
    if status.is_client_error() {
        return match error_message(body) {
            Some(message) => Err(PaymentError::Rejected {
                status: status.as_u16(),
                message,
            }),
            None => Err(PaymentError::Protocol(format!(
                "Stripe returned HTTP {status} without an error object: {}",
                excerpt(body)
            ))),
        };
    }
    Err(PaymentError::Protocol(format!(
        "Stripe returned unexpected HTTP status {status}"
    )))
}

fn parse_session(body: &[u8]) -> Result<CheckoutSession, PaymentError> {
    let session: RawSession = serde_json::from_slice(body).map_err(|error| {
        PaymentError::Protocol(format!(
            "invalid Checkout Session JSON from Stripe ({error}): {}",
            excerpt(body)
        ))
    })?;
    let reference = session
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| PaymentError::Protocol("the Checkout Session has no id".to_string()))?;
    // `url` is nullable in Stripe's Session object, and without it there is no payment page to
    // send the customer to.
    let redirect_url = session.url.filter(|url| !url.is_empty()).ok_or_else(|| {
        PaymentError::Protocol(format!("the Checkout Session {reference} has no url"))
    })?;
    Ok(CheckoutSession {
        reference,
        redirect_url,
    })
}

/// Stripe's error message, falling back to its code and then its type when there is no message.
fn error_message(body: &[u8]) -> Option<String> {
    let envelope: ErrorEnvelope = serde_json::from_slice(body).ok()?;
    let error = envelope.error;
    [error.message, error.code, error.error_type]
        .into_iter()
        .flatten()
        .find(|text| !text.is_empty())
}

/// Truncates a response body for quoting in error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return "empty body".to_string();
    }
    let mut excerpt: String = text.chars().take(BODY_EXCERPT_LEN).collect();
    if text.chars().count() > BODY_EXCERPT_LEN {
        excerpt.push('…');
    }
    excerpt
}

/// The fields of Stripe's Checkout Session object read here.
#[derive(Deserialize)]
struct RawSession {
    id: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: RawError,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(rename = "type")]
    error_type: Option<String>,
    code: Option<String>,
    message: Option<String>,
}
