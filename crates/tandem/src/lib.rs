//! The `tandem` binary's library half: settings, wiring, the server and the demo data, so that
//! integration tests start exactly what `tandem serve` starts.

pub mod config;
pub mod demo;
pub mod sip;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tandem_app::outbox::{MailTransport, OutboxSettings, OutboxWorker};
use tandem_app::{App, AppSettings, SystemClock};
use tandem_outbound::{
    FolderTransport, HttpWebhookSender, SmtpSecurity, SmtpSettings, SmtpTransport,
};
use tandem_store::outbox::RetryPolicy;
use tandem_store::{Store, StoreOptions};
use tandem_web::{AppState, WebSettings};
use tokio::net::TcpListener;

use crate::config::Settings;

/// Opens the database named by the settings (creating the data folder for SQLite) and applies
/// pending migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating the data folder {}", settings.data_dir.display()))?;
    }
    let mut options = StoreOptions::new(url.clone());
    options.max_connections = settings.database_max_connections;
    let store = Store::connect(&options)
        .await
        .with_context(|| format!("opening the database {}", tandem_store::redact_url(&url)))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Builds the use cases over a store.
pub fn build_app(store: Store, settings: &Settings) -> App {
    let app_settings = AppSettings {
        session_ttl: Duration::from_secs(settings.session_ttl_hours.max(1) * 3600),
        public_scheme: if settings.secure_cookies {
            "https".into()
        } else {
            "http".into()
        },
        activation_ttl: Duration::from_secs(settings.activation_ttl_days.max(1) * 24 * 3600),
        invitation_ttl: Duration::from_secs(settings.invitation_ttl_days.max(1) * 24 * 3600),
        stripe_api_base: settings.stripe_api_base.clone(),
        webhook_allow_private_targets: settings.webhook_allow_private_targets,
        number_quarantine: Duration::from_secs(settings.number_quarantine_days * 24 * 3600),
        max_open_port_orders: settings.max_open_port_orders,
        sip_server: Some(settings.sip_server()),
        ..AppSettings::default()
    };
    App::new(store, Arc::new(SystemClock), app_settings)
}

/// Builds the HTTP router of the portal and API.
pub fn build_router(app: App, settings: &Settings) -> axum::Router {
    let web = WebSettings {
        platform_name: settings.platform_name.clone(),
        secure_cookies: settings.secure_cookies,
        ..WebSettings::default()
    };
    tandem_web::router(AppState::new(app, web, tandem_web::ops::Metrics::install()))
}

/// How long one SMTP connection or webhook request may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the outbox worker that delivers queued mail and webhooks with the transports the
/// settings choose.
pub fn build_outbox_worker(app: &App, settings: &Settings) -> anyhow::Result<OutboxWorker> {
    tandem_domain::EmailAddress::parse(&settings.mail_from_address).map_err(|error| {
        anyhow::anyhow!(
            "mail_from_address '{}' is invalid: {}",
            settings.mail_from_address,
            error.message
        )
    })?;
    let mail: Arc<dyn MailTransport> = match settings.mail_transport.trim() {
        "folder" => Arc::new(FolderTransport::new(settings.data_dir.join("outbox"))),
        "smtp" => {
            let security = SmtpSecurity::parse(&settings.smtp_tls).map_err(anyhow::Error::msg)?;
            let credentials = (!settings.smtp_username.is_empty()).then(|| {
                (
                    settings.smtp_username.clone(),
                    settings.smtp_password.clone(),
                )
            });
            Arc::new(
                SmtpTransport::new(&SmtpSettings {
                    host: settings.smtp_host.clone(),
                    port: settings.smtp_port,
                    security,
                    credentials,
                    timeout: DELIVERY_TIMEOUT,
                })
                .map_err(anyhow::Error::msg)?,
            )
        }
        other => anyhow::bail!("mail_transport '{other}' is invalid: use folder or smtp"),
    };
    let webhooks = HttpWebhookSender::new(DELIVERY_TIMEOUT).map_err(anyhow::Error::msg)?;
    let outbox_settings = OutboxSettings {
        platform_from_address: settings.mail_from_address.clone(),
        retry: RetryPolicy {
            max_attempts: i64::from(settings.outbox_max_attempts.max(1)),
            ..RetryPolicy::default()
        },
        ..OutboxSettings::default()
    };
    Ok(OutboxWorker::new(
        app.store().clone(),
        Arc::new(SystemClock),
        mail,
        Arc::new(webhooks),
        outbox_settings,
    ))
}

/// A server listening on a socket, with the outbox worker beside it.
pub struct Server {
    pub address: SocketAddr,
    pub app: App,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Background tasks: the outbox worker and the activation expiry job.
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Binds the listen address and serves the portal and API in a background task, and starts
    /// the outbox worker unless `outbox_interval_ms` is 0.
    pub async fn start(app: App, settings: &Settings) -> anyhow::Result<Server> {
        let worker = if settings.outbox_interval_ms == 0 {
            None
        } else {
            Some(build_outbox_worker(&app, settings)?)
        };
        let listener = TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let address = listener.local_addr()?;
        let public_port = &app.settings().public_port;
        if public_port.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            public_port.store(address.port(), std::sync::atomic::Ordering::Relaxed);
        }
        let router = build_router(app.clone(), settings);
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
        });
        let mut background = Vec::new();
        if let Some(worker) = worker {
            background.push(worker.spawn(Duration::from_millis(settings.outbox_interval_ms)));
        }
        if settings.activation_expiry_interval_secs > 0 {
            let interval = Duration::from_secs(settings.activation_expiry_interval_secs);
            background.push(spawn_activation_expiry(app.clone(), interval));
        }
        Ok(Server {
            address,
            app,
            task,
            background,
        })
    }

    /// Waits until the server stops (on Ctrl-C or SIGTERM), then stops the outbox worker.
    /// Items the worker was sending stay claimed until their lease ends, then go out again.
    pub async fn wait(self) -> anyhow::Result<()> {
        let result = self.task.await;
        for task in &self.background {
            task.abort();
        }
        result.context("server task")?.context("serving HTTP")?;
        Ok(())
    }

    /// Stops the server and the outbox worker at once.
    pub fn abort(&self) {
        self.task.abort();
        for task in &self.background {
            task.abort();
        }
    }
}

/// Every `interval`, cancels the pending accounts whose activation links expired unused and
/// makes numbers whose quarantine ended available again.
fn spawn_activation_expiry(app: App, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            if let Err(error) = app.expire_activations().await {
                tracing::error!(%error, "activation expiry run failed; retrying next interval");
            }
            match app.end_number_quarantine().await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "numbers out of quarantine are available again"),
                Err(error) => {
                    tracing::error!(%error, "number quarantine run failed; retrying next interval")
                }
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
