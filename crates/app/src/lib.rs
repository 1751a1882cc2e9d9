//! Tandem's use cases: one function per action a person or API client takes, each a single
//! database transaction, each taking the guard that proves who may take it.
//!
//! The web layer authenticates a request into a [`access::Principal`], asks it for the guard a
//! use case needs ([`access::PlatformAdmin`], [`access::WhiteLabelAdmin`]) and passes that on.
//! Guards can only be built here, so a handler cannot reach tenant data without one, and every
//! store call below takes the tenant from the guard, never from the request body.

pub mod access;
pub mod audit;
pub mod auth;
pub mod customers;
pub mod error;
pub mod ledger;
pub mod plans;
pub mod white_labels;

mod clock;
mod validate;

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
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

/// The use cases over one store.
#[derive(Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: AppSettings,
}

impl App {
    /// Builds the use cases over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: AppSettings) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    /// The store, for health checks and tests.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn now_us(&self) -> i64 {
        self.clock.now_us()
    }
}
