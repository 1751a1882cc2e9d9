//! Tests of `StripeClient` against a fake Stripe API served on 127.0.0.1, which records each
//! request and responds with scripted responses in the formats of Stripe's API reference.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;
use tandem_payments::stripe::StripeClient;
use tandem_payments::{CheckoutRequest, CheckoutSession, PaymentError};

const SECRET_KEY: &str = "sk_test_51Hq4xYFakeKeyForLoopbackTests0123456789";
const SESSION_ID: &str = "cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u";
const SESSION_URL: &str = "https://checkout.stripe.com/c/pay/cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u";
const IDEMPOTENCY_KEY: &str = "checkout-pay_01HZX3T5Q4J7W8N9P0R1S2T3U4";

/// One request as the fake server received it.
#[derive(Debug, Clone)]
struct RecordedRequest {
    method: Method,
    path: String,
    headers: HeaderMap,
    form: Vec<(String, String)>,
}

impl RecordedRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

#[derive(Clone)]
struct FakeState {
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    responses: Arc<Mutex<VecDeque<(StatusCode, String)>>>,
}

/// A fake Stripe API on an ephemeral loopback port. It responds to requests without Stripe's
/// bearer authentication with Stripe's 401 error, and to every other request with the next
/// scripted response.
struct FakeStripe {
    address: SocketAddr,
    state: FakeState,
    server: tokio::task::JoinHandle<()>,
}

impl FakeStripe {
    async fn start(responses: Vec<(StatusCode, String)>) -> Self {
        let state = FakeState {
            requests: Arc::default(),
            responses: Arc::new(Mutex::new(responses.into())),
        };
        let app = Router::new()
            .fallback(record_and_respond)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            address,
            state,
            server,
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn client(&self) -> StripeClient {
        StripeClient::new(&self.base_url(), SECRET_KEY)
    }

    fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record_and_respond(
    State(state): State<FakeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_urlencoded::parse(&body).into_owned().collect();
    let authorized = headers
        .get("authorization")
        .is_some_and(|value| value.as_bytes() == format!("Bearer {SECRET_KEY}").as_bytes());
    state.requests.lock().unwrap().push(RecordedRequest {
        method,
        path: uri.path().to_string(),
        headers,
        form,
    });

    if !authorized {
        let body = stripe_error(
            "invalid_request_error",
            None,
            "Invalid API Key provided: sk_test_****wrng",
        );
        return json_response(StatusCode::UNAUTHORIZED, body);
    }
    let next = state.responses.lock().unwrap().pop_front();
    match next {
        Some((status, body)) => json_response(status, body),
        None => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            stripe_error(
                "api_error",
                None,
                "fake server has no scripted response left",
            ),
        ),
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

/// Builds a Checkout Session as Stripe's reference shows it, just after creation.
fn session_json() -> String {
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
        "client_reference_id": "pay_01HZX3T5Q4J7W8N9P0R1S2T3U4",
        "created": 1_679_600_215,
        "currency": "nzd",
        "customer": null,
        "customer_creation": "if_required",
        "customer_details": null,
        "customer_email": "ana@example.com",
        "expires_at": 1_679_686_615,
        "livemode": false,
        "metadata": {
            "payment_id": "pay_01HZX3T5Q4J7W8N9P0R1S2T3U4",
            "white_label_id": "wl_01HZX3T5Q4"
        },
        "mode": "payment",
        "payment_intent": null,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "status": "open",
        "success_url": "https://portal.example.com/billing/paid?payment=pay_01HZX3T5Q4J7W8N9P0R1S2T3U4",
        "url": SESSION_URL
    })
    .to_string()
}

/// Builds an error body in the format of Stripe's API reference.
fn stripe_error(error_type: &str, code: Option<&str>, message: &str) -> String {
    json!({
        "error": {
            "type": error_type,
            "code": code,
            "message": message,
            "doc_url": code.map(|code| format!("https://stripe.com/docs/error-codes/{code}")),
            "request_log_url": "https://dashboard.stripe.com/test/logs/req_ZG6qgpa0dbfA2K?t=1679600215"
        }
    })
    .to_string()
}

fn checkout_request() -> CheckoutRequest {
    CheckoutRequest {
        payment_id: "pay_01HZX3T5Q4J7W8N9P0R1S2T3U4".to_string(),
        white_label_id: "wl_01HZX3T5Q4".to_string(),
        amount_minor: 2500,
        currency: "NZD".to_string(),
        description: "Account top-up: 25.00 NZD & calls".to_string(),
        customer_email: Some("ana+billing@example.com".to_string()),
        success_url:
            "https://portal.example.com/billing/paid?payment=pay_01HZX3T5Q4J7W8N9P0R1S2T3U4"
                .to_string(),
        cancel_url: "https://portal.example.com/billing/cancelled".to_string(),
    }
}

/// Lists the form fields that Stripe's Create Checkout Session reference documents for
/// `checkout_request`, sorted.
fn expected_form() -> Vec<(String, String)> {
    let fields = [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "nzd"),
        ("line_items[0][price_data][unit_amount]", "2500"),
        (
            "line_items[0][price_data][product_data][name]",
            "Account top-up: 25.00 NZD & calls",
        ),
        ("line_items[0][quantity]", "1"),
        (
            "success_url",
            "https://portal.example.com/billing/paid?payment=pay_01HZX3T5Q4J7W8N9P0R1S2T3U4",
        ),
        ("cancel_url", "https://portal.example.com/billing/cancelled"),
        ("client_reference_id", "pay_01HZX3T5Q4J7W8N9P0R1S2T3U4"),
        ("customer_email", "ana+billing@example.com"),
        ("metadata[payment_id]", "pay_01HZX3T5Q4J7W8N9P0R1S2T3U4"),
        ("metadata[white_label_id]", "wl_01HZX3T5Q4"),
        (
            "payment_intent_data[metadata][payment_id]",
            "pay_01HZX3T5Q4J7W8N9P0R1S2T3U4",
        ),
        (
            "payment_intent_data[metadata][white_label_id]",
            "wl_01HZX3T5Q4",
        ),
    ];
    let mut form: Vec<(String, String)> = fields
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    form.sort();
    form
}

fn sorted(mut form: Vec<(String, String)>) -> Vec<(String, String)> {
    form.sort();
    form
}

#[tokio::test]
async fn create_checkout_session_sends_documented_request() {
    let fake = FakeStripe::start(vec![(StatusCode::OK, session_json())]).await;

    let session = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await
        .unwrap();

    assert_eq!(
        session,
        CheckoutSession {
            reference: SESSION_ID.to_string(),
            redirect_url: SESSION_URL.to_string(),
        }
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/v1/checkout/sessions");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.header("idempotency-key"), Some(IDEMPOTENCY_KEY));
    assert_eq!(sorted(request.form.clone()), expected_form());
}

#[tokio::test]
async fn create_checkout_session_omits_absent_customer_email() {
    let fake = FakeStripe::start(vec![(StatusCode::OK, session_json())]).await;
    let request = CheckoutRequest {
        customer_email: None,
        ..checkout_request()
    };

    fake.client()
        .create_checkout_session(&request, IDEMPOTENCY_KEY)
        .await
        .unwrap();

    let form = &fake.requests()[0].form;
    assert!(
        form.iter().all(|(key, _)| key != "customer_email"),
        "customer_email should be absent, form was {form:?}"
    );
    let expected: Vec<_> = expected_form()
        .into_iter()
        .filter(|(key, _)| key != "customer_email")
        .collect();
    assert_eq!(sorted(form.clone()), expected);
}

#[tokio::test]
async fn create_checkout_session_trims_trailing_slash_from_base() {
    let fake = FakeStripe::start(vec![(StatusCode::OK, session_json())]).await;
    let client = StripeClient::new(&format!("{}/", fake.base_url()), SECRET_KEY);

    client
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await
        .unwrap();

    assert_eq!(fake.requests()[0].path, "/v1/checkout/sessions");
}

#[tokio::test]
async fn create_checkout_session_400_is_rejected_with_message() {
    let message = "Invalid integer: -5";
    let body = stripe_error(
        "invalid_request_error",
        Some("parameter_invalid_integer"),
        message,
    );
    let fake = FakeStripe::start(vec![(StatusCode::BAD_REQUEST, body)]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert_eq!(
        result,
        Err(PaymentError::Rejected {
            status: 400,
            message: message.to_string()
        })
    );
    let displayed = result.unwrap_err().to_string();
    assert!(
        displayed.contains(message),
        "message missing from {displayed:?}"
    );
}

#[tokio::test]
async fn create_checkout_session_402_is_rejected_with_message() {
    let message = "Your account cannot currently make live charges.";
    let body = stripe_error("invalid_request_error", None, message);
    let fake = FakeStripe::start(vec![(StatusCode::PAYMENT_REQUIRED, body)]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert_eq!(
        result,
        Err(PaymentError::Rejected {
            status: 402,
            message: message.to_string()
        })
    );
}

#[tokio::test]
async fn create_checkout_session_wrong_key_is_rejected() {
    let fake = FakeStripe::start(vec![(StatusCode::OK, session_json())]).await;
    let client = StripeClient::new(&fake.base_url(), "sk_test_wrng");

    let result = client
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert_eq!(
        result,
        Err(PaymentError::Rejected {
            status: 401,
            message: "Invalid API Key provided: sk_test_****wrng".to_string()
        })
    );
}

#[tokio::test]
async fn create_checkout_session_error_without_message_uses_code() {
    let body = json!({ "error": { "type": "invalid_request_error", "code": "resource_missing" } });
    let fake = FakeStripe::start(vec![(StatusCode::NOT_FOUND, body.to_string())]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert_eq!(
        result,
        Err(PaymentError::Rejected {
            status: 404,
            message: "resource_missing".to_string()
        })
    );
}

#[tokio::test]
async fn create_checkout_session_500_is_unavailable() {
    let body = stripe_error("api_error", None, "An unknown error occurred");
    let fake = FakeStripe::start(vec![(StatusCode::INTERNAL_SERVER_ERROR, body)]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    match result {
        Err(PaymentError::Unavailable(detail)) => {
            assert!(detail.contains("500"), "status missing from {detail:?}");
            assert!(
                detail.contains("An unknown error occurred"),
                "Stripe's message missing from {detail:?}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn create_checkout_session_503_without_body_is_unavailable() {
    let fake = FakeStripe::start(vec![(StatusCode::SERVICE_UNAVAILABLE, String::new())]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert!(
        matches!(result, Err(PaymentError::Unavailable(_))),
        "expected Unavailable, got {result:?}"
    );
}

#[tokio::test]
async fn create_checkout_session_429_is_unavailable() {
    let body = stripe_error(
        "invalid_request_error",
        Some("rate_limit"),
        "Too many requests hit the API too quickly.",
    );
    let fake = FakeStripe::start(vec![(StatusCode::TOO_MANY_REQUESTS, body)]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert!(
        matches!(result, Err(PaymentError::Unavailable(_))),
        "expected Unavailable, got {result:?}"
    );
}

#[tokio::test]
async fn create_checkout_session_malformed_json_is_protocol() {
    let fake = FakeStripe::start(vec![(StatusCode::OK, "{\"id\": \"cs_test_".to_string())]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert!(
        matches!(result, Err(PaymentError::Protocol(_))),
        "expected Protocol, got {result:?}"
    );
}

#[tokio::test]
async fn create_checkout_session_without_url_is_protocol() {
    let mut session: serde_json::Value = serde_json::from_str(&session_json()).unwrap();
    session["url"] = serde_json::Value::Null;
    let fake = FakeStripe::start(vec![(StatusCode::OK, session.to_string())]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert!(
        matches!(result, Err(PaymentError::Protocol(_))),
        "expected Protocol, got {result:?}"
    );
}

#[tokio::test]
async fn create_checkout_session_without_id_is_protocol() {
    let body = json!({ "object": "checkout.session", "url": SESSION_URL }).to_string();
    let fake = FakeStripe::start(vec![(StatusCode::OK, body)]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert!(
        matches!(result, Err(PaymentError::Protocol(_))),
        "expected Protocol, got {result:?}"
    );
}

#[tokio::test]
async fn create_checkout_session_unparseable_4xx_is_protocol() {
    let body = "<html><body>Bad Request</body></html>".to_string();
    let fake = FakeStripe::start(vec![(StatusCode::BAD_REQUEST, body)]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert!(
        matches!(result, Err(PaymentError::Protocol(_))),
        "expected Protocol, got {result:?}"
    );
}

#[tokio::test]
async fn create_checkout_session_redirect_is_protocol() {
    let fake = FakeStripe::start(vec![(StatusCode::FOUND, String::new())]).await;

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    assert!(
        matches!(result, Err(PaymentError::Protocol(_))),
        "expected Protocol, got {result:?}"
    );
    assert_eq!(
        fake.requests().len(),
        1,
        "the redirect must not be followed"
    );
}

#[tokio::test]
async fn create_checkout_session_retry_sends_same_idempotency_key() {
    let fake = FakeStripe::start(vec![
        (
            StatusCode::SERVICE_UNAVAILABLE,
            stripe_error("api_error", None, "Service unavailable"),
        ),
        (StatusCode::OK, session_json()),
    ])
    .await;
    let client = fake.client();

    let first = client
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;
    assert!(
        matches!(first, Err(PaymentError::Unavailable(_))),
        "expected Unavailable, got {first:?}"
    );
    let second = client
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;
    assert_eq!(second.unwrap().reference, SESSION_ID);

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("idempotency-key"), Some(IDEMPOTENCY_KEY));
    assert_eq!(requests[1].header("idempotency-key"), Some(IDEMPOTENCY_KEY));
    // Stripe rejects a reused key whose parameters differ, so the retry must repeat them.
    assert_eq!(requests[0].form, requests[1].form);
}

#[tokio::test]
async fn create_checkout_session_connection_refused_is_unavailable() {
    // Bind and release a loopback port so that nothing listens on it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = StripeClient::new(&format!("http://{address}"), SECRET_KEY);

    let result = client
        .create_checkout_session(&checkout_request(), IDEMPOTENCY_KEY)
        .await;

    match result {
        Err(PaymentError::Unavailable(detail)) => {
            assert!(
                detail.contains(&address.to_string()),
                "address missing from {detail:?}"
            );
            assert!(
                !detail.contains(SECRET_KEY),
                "secret key leaked in {detail:?}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn create_checkout_session_invalid_idempotency_key_sends_nothing() {
    let fake = FakeStripe::start(vec![(StatusCode::OK, session_json())]).await;
    let client = fake.client();
    let too_long = "k".repeat(256);

    for key in ["", "line\nbreak", "café", too_long.as_str()] {
        let result = client
            .create_checkout_session(&checkout_request(), key)
            .await;
        assert!(
            matches!(result, Err(PaymentError::Protocol(_))),
            "key {key:?}: expected Protocol, got {result:?}"
        );
    }
    assert!(
        fake.requests().is_empty(),
        "no request should reach the server"
    );
}

#[tokio::test]
async fn create_checkout_session_accepts_255_character_key() {
    let fake = FakeStripe::start(vec![(StatusCode::OK, session_json())]).await;
    let key = "k".repeat(255);

    let result = fake
        .client()
        .create_checkout_session(&checkout_request(), &key)
        .await;

    assert!(result.is_ok(), "expected success, got {result:?}");
    assert_eq!(
        fake.requests()[0].header("idempotency-key"),
        Some(key.as_str())
    );
}

#[test]
fn stripe_client_debug_redacts_secret_key() {
    let client = StripeClient::new("http://127.0.0.1:9", SECRET_KEY);
    let debug_output = format!("{client:?}");
    assert!(
        !debug_output.contains(SECRET_KEY),
        "secret key leaked in {debug_output:?}"
    );
    assert!(
        !debug_output.contains("FakeKey"),
        "part of the secret key leaked in {debug_output:?}"
    );
    assert!(
        debug_output.contains("http://127.0.0.1:9"),
        "api_base missing from {debug_output:?}"
    );
}
