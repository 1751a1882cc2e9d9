//! Store errors, with unique-constraint violations named the same way on both databases.

/// An error from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint rejected the write; the value is the constraint's name
    /// (for example `uq_users_email_key`).
    #[error("unique constraint {0} violated")]
    Conflict(String),
    /// The database URL names an engine Tandem does not support.
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// A migration failed.
    #[error("migration {version} failed: {source}")]
    Migration {
        version: String,
        source: sqlx::Error,
    },
    /// Any other database error.
    #[error(transparent)]
    Database(sqlx::Error),
}

/// Unique constraints, by name, with the `table.columns` text SQLite reports for them.
const UNIQUE_CONSTRAINTS: &[(&str, &str)] = &[
    ("uq_users_email_key", "users.email_key"),
    (
        "uq_plans_white_label_name",
        "plans.white_label_id, plans.name",
    ),
    ("uq_customers_account_number", "customers.account_number"),
    (
        "uq_memberships_user_scope",
        "memberships.user_id, memberships.scope_id",
    ),
    ("uq_api_keys_key_hash", "api_keys.key_hash"),
    ("white_labels_pkey", "white_labels.id"),
    ("white_label_hosts_pkey", "white_label_hosts.host"),
    (
        "payment_events_pkey",
        "payment_events.gateway, payment_events.event_id",
    ),
    ("activation_tokens_pkey", "activation_tokens.token_hash"),
    ("outbox_pkey", "outbox.id"),
    ("uq_invitations_token_hash", "invitations.token_hash"),
    (
        "idempotency_keys_pkey",
        "idempotency_keys.white_label_id, idempotency_keys.idempotency_key",
    ),
];

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                if let Some(name) = db.constraint() {
                    return StoreError::Conflict(name.to_string());
                }
                let message = db.message();
                for (name, columns) in UNIQUE_CONSTRAINTS {
                    if message.ends_with(columns) {
                        return StoreError::Conflict((*name).to_string());
                    }
                }
                return StoreError::Conflict(message.to_string());
            }
        }
        StoreError::Database(error)
    }
}

impl StoreError {
    /// Whether this is a violation of the named unique constraint.
    pub fn is_conflict_on(&self, constraint: &str) -> bool {
        matches!(self, StoreError::Conflict(name) if name == constraint)
    }
}
