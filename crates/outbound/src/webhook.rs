//! Delivery of webhooks over HTTP with reqwest.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use tandem_app::outbox::{DeliveryError, WebhookSender};

/// POSTs webhooks with a time-out and without following redirects: a 3xx response counts as a
/// failure, because following it would send the signed body somewhere the white label did not
/// configure.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: reqwest::Client,
}

impl HttpWebhookSender {
    /// Creates a sender whose requests time out after `timeout`, and connecting after at most
    /// 5 s.
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|error| format!("building the webhook HTTP client failed: {error}"))?;
        Ok(Self { client })
    }
}

#[async_trait::async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(
        &self,
        url: &str,
        body: &str,
        signature_header: &str,
        event_type: &str,
        delivery_id: &str,
    ) -> Result<(), DeliveryError> {
        let response = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, "Tandem-Webhooks/1")
            .header("Tandem-Signature", signature_header)
            .header("Tandem-Event", event_type)
            .header("Tandem-Delivery", delivery_id)
            .body(body.to_string())
            .send()
            .await
            // The URL may carry a token of the receiver's, so it stays out of the message.
            .map_err(|error| {
                DeliveryError::transient(format!("request failed: {}", error.without_url()))
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // Only the status is kept: the receiver's body could carry anything from a host the
        // white label chose, and the delivery log shows this message to them.
        let mut message = format!("HTTP {status}");
        if status.is_redirection() {
            message.push_str(" (redirects are not followed)");
        }
        Err(DeliveryError::transient(message))
    }
}
