//! Settings in layers: built-in defaults, then an optional TOML file, then `TANDEM__…`
//! environment variables (`TANDEM__LISTEN`, `TANDEM__DATABASE_URL`, …), then command-line flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The effective settings of a `tandem` process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Address the portal and API listen on.
    pub listen: String,
    /// Folder for the SQLite file and other local data.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`; empty means the SQLite file
    /// `tandem.db` in `data_dir`.
    pub database_url: String,
    /// Database pool size.
    pub database_max_connections: u32,
    /// Name of the platform's own portal.
    pub platform_name: String,
    /// Mark cookies `Secure`; turn on when the portal is served over HTTPS.
    pub secure_cookies: bool,
    /// Hours a portal session lasts.
    pub session_ttl_hours: u64,
    /// `pretty` or `json`.
    pub log_format: String,
    /// A tracing filter, such as `info` or `tandem=debug,info`.
    pub log_level: String,
    /// The mail transport: `folder` (one `.eml` file per mail in `data_dir/outbox`) or `smtp`.
    pub mail_transport: String,
    /// Host name of the SMTP server, when `mail_transport` is `smtp`.
    pub smtp_host: String,
    /// Port of the SMTP server.
    pub smtp_port: u16,
    /// `starttls`, `tls` (TLS from the first byte) or `none`.
    pub smtp_tls: String,
    /// User name for SMTP authentication; empty means none.
    pub smtp_username: String,
    /// Password for SMTP authentication.
    pub smtp_password: String,
    /// Sender address of white labels that set none of their own.
    pub mail_from_address: String,
    /// Milliseconds between two rounds of the outbox worker when nothing is due.
    pub outbox_interval_ms: u64,
    /// Delivery attempts of a mail or webhook before it is marked failed.
    pub outbox_max_attempts: u32,
    /// Days an activation link stays valid.
    pub activation_ttl_days: u64,
    /// Days an invitation link stays valid.
    pub invitation_ttl_days: u64,
    /// Seconds between runs of the job that cancels accounts whose activation expired; 0 stops it.
    pub activation_expiry_interval_secs: u64,
    /// Days a released number is held in quarantine before it can be assigned again.
    pub number_quarantine_days: u64,
    /// Port orders in progress one account may have at once.
    pub max_open_port_orders: u32,
    /// Base URL of Stripe's API.
    pub stripe_api_base: String,
    /// Allow white labels' webhook URLs on loopback and private addresses.
    pub webhook_allow_private_targets: bool,
    /// Address the SIP service listens on, UDP and TCP.
    pub sip_listen: String,
    /// Whether the SIP service also listens on TCP.
    pub sip_tcp: bool,
    /// The address the portal shows for phones to register with (`host:port`). Empty shows
    /// `sip_listen`.
    pub sip_public_address: String,
    /// Address of the SIP service's Prometheus metrics (`GET /metrics`); empty turns it off.
    pub sip_metrics_listen: String,
    /// Largest SIP message accepted, in bytes.
    pub sip_max_message_bytes: usize,
    /// Messages one source address may send per second on average (bursts of twice that);
    /// 0 turns the limit off.
    pub sip_max_requests_per_source: u32,
    /// Most SIP server transactions kept at once; beyond it requests get 503. Over UDP a
    /// non-INVITE transaction is kept 32 s after its final response (timer J), so this caps
    /// the sustained rate at about this many ÷ 32 requests per second (two per registration).
    /// The default, 100,000, allows about 1,500 registrations a second, such as phones coming
    /// back after an outage, in about 100 MB: the SIP benchmark's resident memory grew by
    /// about 1 KB per transaction.
    pub sip_max_transactions: usize,
    /// Shortest registration accepted, in seconds; shorter requests get 423.
    pub sip_min_expires_secs: u32,
    /// Maximum registration time granted, in seconds. Longer requests are reduced to it.
    pub sip_max_expires_secs: u32,
    /// Seconds a digest nonce stays fresh.
    pub sip_nonce_lifetime_secs: u64,
    /// Failed authentications within the window that block a source address or an extension.
    pub sip_lockout_failures: u32,
    /// The window over which failures are counted, in seconds.
    pub sip_lockout_window_secs: u64,
    /// How long a block lasts, in seconds.
    pub sip_lockout_secs: u64,
    /// How often the SIP service reads the change feed and writes bindings behind, in ms.
    pub sip_sync_interval_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./tandem-data"),
            database_url: String::new(),
            database_max_connections: 8,
            platform_name: "Tandem".into(),
            secure_cookies: false,
            session_ttl_hours: 12,
            log_format: "pretty".into(),
            log_level: "info".into(),
            mail_transport: "folder".into(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_username: String::new(),
            smtp_password: String::new(),
            mail_from_address: "no-reply@tandem.invalid".into(),
            outbox_interval_ms: 1000,
            outbox_max_attempts: 12,
            activation_ttl_days: 7,
            invitation_ttl_days: 7,
            activation_expiry_interval_secs: 60,
            number_quarantine_days: 90,
            max_open_port_orders: 10,
            stripe_api_base: "https://api.stripe.com".into(),
            webhook_allow_private_targets: false,
            sip_listen: "127.0.0.1:5060".into(),
            sip_tcp: true,
            sip_public_address: String::new(),
            sip_metrics_listen: "127.0.0.1:9060".into(),
            sip_max_message_bytes: 65_535,
            sip_max_requests_per_source: 50,
            sip_max_transactions: 100_000,
            sip_min_expires_secs: 60,
            sip_max_expires_secs: 3600,
            sip_nonce_lifetime_secs: 300,
            sip_lockout_failures: 10,
            sip_lockout_window_secs: 300,
            sip_lockout_secs: 900,
            sip_sync_interval_ms: 1000,
        }
    }
}

/// Command-line values that override every other layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub sip_listen: Option<String>,
}

impl Settings {
    /// Loads the layers: defaults, `file` if given (it must exist), the environment, then
    /// `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Settings> {
        let defaults = config::Config::try_from(&Settings::default())
            .context("building the default settings")?;
        let mut builder = config::Config::builder().add_source(defaults);
        if let Some(file) = file {
            builder = builder.add_source(
                config::File::from(file)
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        builder = builder.add_source(
            config::Environment::with_prefix("TANDEM")
                .prefix_separator("__")
                .separator("__"),
        );
        let mut settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .with_context(|| match file {
                Some(file) => format!("reading settings (file {})", file.display()),
                None => "reading settings from the environment".to_string(),
            })?;
        if let Some(listen) = &overrides.listen {
            settings.listen = listen.clone();
        }
        if let Some(data_dir) = &overrides.data_dir {
            settings.data_dir = data_dir.clone();
        }
        if let Some(sip_listen) = &overrides.sip_listen {
            settings.sip_listen = sip_listen.clone();
        }
        Ok(settings)
    }

    /// Returns the address phones register with, as shown in the portal.
    pub fn sip_server(&self) -> String {
        match self.sip_public_address.trim() {
            "" => self.sip_listen.clone(),
            address => address.to_owned(),
        }
    }

    /// The database URL, defaulting to the SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        if self.database_url.trim().is_empty() {
            format!("sqlite://{}", self.data_dir.join("tandem.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// The settings as TOML with secrets replaced by `***`.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = tandem_store::redact_url(&self.database_url());
        if !shown.smtp_password.is_empty() {
            shown.smtp_password = "***".into();
        }
        toml_lines(&shown)
    }
}

fn toml_lines(settings: &Settings) -> String {
    let value = serde_json::to_value(settings).unwrap_or_default();
    let mut out = String::new();
    if let Some(map) = value.as_object() {
        for (key, value) in map {
            out.push_str(&format!("{key} = {value}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_use_sqlite_in_data_dir() {
        let settings = Settings::default();
        assert_eq!(settings.database_url(), "sqlite://./tandem-data/tandem.db");
    }

    #[test]
    fn file_then_overrides_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("tandem-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tandem.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nplatform_name = \"Acme\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:9100".into()),
            data_dir: None,
            sip_listen: None,
        };

        let settings = Settings::load(Some(&file), &overrides).unwrap();

        assert_eq!(settings.platform_name, "Acme");
        assert_eq!(settings.listen, "127.0.0.1:9100");
    }

    #[test]
    fn redacted_toml_hides_smtp_password() {
        let settings = Settings {
            smtp_password: "mail-s3cret".into(),
            ..Settings::default()
        };
        let shown = settings.redacted_toml();
        assert!(!shown.contains("mail-s3cret"));
        assert!(shown.contains("smtp_password = \"***\""));
    }

    #[test]
    fn mail_defaults_write_to_folder() {
        let settings = Settings::default();
        assert_eq!(settings.mail_transport, "folder");
        assert_eq!(settings.smtp_port, 587);
        assert_eq!(settings.smtp_tls, "starttls");
        assert_eq!(settings.mail_from_address, "no-reply@tandem.invalid");
        assert_eq!(settings.outbox_interval_ms, 1000);
        assert_eq!(settings.outbox_max_attempts, 12);
    }

    #[test]
    fn redacted_toml_hides_database_password() {
        let settings = Settings {
            database_url: "postgres://tandem:hunter22@db/tandem".into(),
            ..Settings::default()
        };
        let shown = settings.redacted_toml();
        assert!(!shown.contains("hunter22"));
        assert!(shown.contains("postgres://tandem:***@db/tandem"));
    }
}
