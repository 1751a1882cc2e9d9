//! Tandem's use cases: one function per action a person or API client takes, each a single
//! database transaction, each taking the guard that proves who may take it.
//!
//! The web layer authenticates a request into a [`access::Principal`], asks it for the guard a
//! use case needs ([`access::PlatformAdmin`], [`access::WhiteLabelAdmin`]) and passes that on.
//! Guards can only be built here, so a handler cannot reach tenant data without one, and every
//! store call below takes the tenant from the guard, never from the request body.

pub mod access;
pub mod account;
pub mod account_keys;
pub mod activation;
pub mod audit;
pub mod auth;
pub mod customers;
pub mod error;
pub mod ledger;
pub mod mail;
pub mod numbers;
pub mod outbox;
pub mod payments;
pub mod pbx;
pub mod pbx_bulk;
pub mod pending;
pub mod plans;
pub mod sip;
pub mod team;
pub mod two_factor;
pub mod white_labels;

mod charges;
mod clock;
mod creation_batch;
mod creation_context;
mod credential_cache;
mod customer_reads;
mod events;
mod session_cache;
mod validate;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use clock::{Clock, SystemClock};
pub use error::{AppError, AppResult, FieldError};
pub use tandem_store::{Backend, Store};

/// Settings of the use cases.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// How long a portal session lasts without signing in again.
    pub session_ttl: Duration,
    /// `http` or `https`: the scheme of links to portals in mail.
    pub public_scheme: String,
    /// The port of links to portals in mail; 0 means the scheme's default port. Shared so that
    /// a server bound to a random port can publish it after binding.
    pub public_port: Arc<AtomicU16>,
    /// How long an activation link stays valid.
    pub activation_ttl: Duration,
    /// How long an invitation link (and a new user's set-password link) stays valid.
    pub invitation_ttl: Duration,
    /// Base URL of Stripe's API; tests point it at a local server that speaks Stripe's format.
    pub stripe_api_base: String,
    /// How far a gateway webhook's signed timestamp may be from now.
    pub webhook_tolerance: Duration,
    /// Whether a white label's webhook URL may name a loopback or private address; off in
    /// production, on where the receiver runs beside Tandem (tests, a private network).
    pub webhook_allow_private_targets: bool,
    /// How long a released number is held before it can be assigned again.
    pub number_quarantine: Duration,
    /// The most port orders in progress (draft, submitted or scheduled) one account may have.
    pub max_open_port_orders: u32,
    /// The address phones send SIP requests to (`host:port`), shown beside each account's SIP
    /// domain; `None` when the platform does not name one.
    pub sip_server: Option<String>,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
            public_scheme: "http".into(),
            public_port: Arc::new(AtomicU16::new(0)),
            activation_ttl: Duration::from_secs(7 * 24 * 3600),
            invitation_ttl: Duration::from_secs(7 * 24 * 3600),
            stripe_api_base: "https://api.stripe.com".into(),
            webhook_tolerance: Duration::from_secs(300),
            webhook_allow_private_targets: false,
            number_quarantine: Duration::from_secs(90 * 24 * 3600),
            max_open_port_orders: 10,
            sip_server: None,
        }
    }
}

/// The use cases over one store.
#[derive(Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: Arc<AppSettings>,
    sign_in_limiter: Arc<auth::SignInLimiter>,
    api_key_cache: Arc<credential_cache::ApiKeyCache>,
    session_cache: Arc<session_cache::SessionCache>,
    creation_queue: Arc<creation_batch::CreationQueue>,
    creation_contexts: Arc<creation_context::CreationContexts>,
    customer_reads: Arc<customer_reads::ReadQueue>,
}

impl App {
    /// Builds the use cases over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: AppSettings) -> Self {
        Self {
            store,
            clock,
            settings: Arc::new(settings),
            sign_in_limiter: Arc::default(),
            api_key_cache: Arc::default(),
            session_cache: Arc::default(),
            creation_queue: Arc::default(),
            creation_contexts: Arc::default(),
            customer_reads: Arc::default(),
        }
    }

    /// The store, for health checks and tests.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn now_us(&self) -> i64 {
        self.clock.now_us()
    }

    /// The settings the use cases run with.
    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    /// The base URL of a white label's portal (its first host name), for links in mail and
    /// redirects from payment pages, such as `https://portal.harbour.example`.
    pub fn portal_url(&self, white_label: &tandem_store::white_labels::WhiteLabelRow) -> String {
        let host = white_label
            .hosts
            .first()
            .map(String::as_str)
            .unwrap_or("localhost");
        let port = self.settings.public_port.load(Ordering::Relaxed);
        let default_port = if self.settings.public_scheme == "https" {
            443
        } else {
            80
        };
        if port == 0 || port == default_port || host.contains(':') {
            format!("{}://{host}", self.settings.public_scheme)
        } else {
            format!("{}://{host}:{port}", self.settings.public_scheme)
        }
    }
}
