//! Delivery to an SMTP server with lettre.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tandem_app::outbox::{DeliveryError, MailTransport, OutgoingMail};

use crate::message::build_message;

/// The protection of the connection to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which the server must offer (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption; only for a relay on the same machine or a test server.
    None,
}

impl SmtpSecurity {
    /// Parses `starttls`, `tls` or `none`.
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(SmtpSecurity::StartTls),
            "tls" => Ok(SmtpSecurity::Tls),
            "none" => Ok(SmtpSecurity::None),
            other => Err(format!(
                "smtp_tls '{other}' is invalid: use starttls, tls or none"
            )),
        }
    }
}

/// The address of the SMTP server and how to connect to it.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User name and password, when the server requires authentication.
    pub credentials: Option<(String, String)>,
    /// How long one connection may take to connect, send and close.
    pub timeout: Duration,
}

/// Sends each mail over a new SMTP connection.
#[derive(Clone)]
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    port: u16,
}

impl SmtpTransport {
    /// Creates a transport for `settings`. Fails when the host is empty or TLS cannot be set
    /// up.
    pub fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let host = settings.host.trim();
        if host.is_empty() {
            return Err("smtp_host is empty: set it to the SMTP server's host name".into());
        }
        let tls = match settings.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls | SmtpSecurity::Tls => {
                let parameters = TlsParameters::new(host.to_string())
                    .map_err(|error| format!("setting up TLS for {host} failed: {error}"))?;
                if settings.security == SmtpSecurity::Tls {
                    Tls::Wrapper(parameters)
                } else {
                    Tls::Required(parameters)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            inner: builder.build(),
            host: host.to_string(),
            port: settings.port,
        })
    }
}

/// Classifies an SMTP failure: 5xx replies and messages the client cannot send are permanent;
/// 4xx replies, time-outs and connection or TLS failures are worth retrying.
fn classify(error: &lettre::transport::smtp::Error, server: &str) -> DeliveryError {
    let message = format!("SMTP server {server}: {error}");
    if error.is_permanent() || error.is_client() {
        DeliveryError::permanent(message)
    } else {
        DeliveryError::transient(message)
    }
}

#[async_trait::async_trait]
impl MailTransport for SmtpTransport {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), DeliveryError> {
        let message = build_message(mail)?;
        self.inner
            .send(message)
            .await
            .map(|_| ())
            .map_err(|error| classify(&error, &format!("{}:{}", self.host, self.port)))
    }
}
