//! The `tandem` binary's library half: settings, wiring, the server and the demo data, so that
//! integration tests start exactly what `tandem serve` starts.

pub mod config;
pub mod demo;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tandem_app::{App, AppSettings, SystemClock};
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
        public_scheme: if settings.secure_cookies { "https".into() } else { "http".into() },
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
    tandem_web::router(AppState {
        app,
        settings: Arc::new(web),
        metrics: tandem_web::ops::Metrics::install(),
    })
}

/// A server listening on a socket.
pub struct Server {
    pub address: SocketAddr,
    pub app: App,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds the listen address and serves the portal and API in a background task.
    pub async fn start(app: App, settings: &Settings) -> anyhow::Result<Server> {
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
        Ok(Server { address, app, task })
    }

    /// Waits until the server stops (on Ctrl-C or SIGTERM).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task
            .await
            .context("server task")?
            .context("serving HTTP")?;
        Ok(())
    }

    /// Stops the server at once.
    pub fn abort(&self) {
        self.task.abort();
    }
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
