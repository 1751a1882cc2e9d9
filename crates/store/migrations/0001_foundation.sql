-- Foundation schema: white labels, users and access, plans, customer accounts, the ledger and
-- the audit log. One source serves SQLite and PostgreSQL: `{key}` becomes TEXT (with the "C"
-- collation on PostgreSQL, so that ids and search keys sort bytewise on both), `{blob}` becomes
-- BLOB or BYTEA. Timestamps are BIGINT microseconds since the Unix epoch (UTC); money is BIGINT
-- minor units beside its ISO 4217 currency; flags are BIGINT 0 or 1.

-- A white label: a reseller with its own brand, plans, balance and customers.
CREATE TABLE white_labels (
    id {key} PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    currency TEXT NOT NULL,
    support_email TEXT NOT NULL,
    support_phone TEXT,
    primary_colour TEXT NOT NULL,
    terms_url TEXT,
    logo_content_type TEXT,
    logo {blob},
    logo_version BIGINT NOT NULL DEFAULT 0,
    tax_name TEXT NOT NULL,
    tax_rate_bp BIGINT NOT NULL,
    show_prices_with_tax BIGINT NOT NULL,
    status TEXT NOT NULL,
    balance_minor BIGINT NOT NULL DEFAULT 0,
    credit_limit_minor BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);

-- Portal host names; the portal picks the white label by the request's Host header.
CREATE TABLE white_label_hosts (
    host {key} PRIMARY KEY,
    white_label_id {key} NOT NULL REFERENCES white_labels (id) ON DELETE CASCADE
);
CREATE INDEX white_label_hosts_white_label ON white_label_hosts (white_label_id);

-- One person, one email address across the platform; `email_key` is the case-folded form.
CREATE TABLE users (
    id {key} PRIMARY KEY,
    email TEXT NOT NULL,
    email_key {key} NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT,
    status TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    last_sign_in_us BIGINT,
    CONSTRAINT uq_users_email_key UNIQUE (email_key)
);

-- Plans are defined per white label; a retired plan keeps its customers.
CREATE TABLE plans (
    id {key} PRIMARY KEY,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    currency TEXT NOT NULL,
    setup_fee_minor BIGINT NOT NULL,
    monthly_fee_minor BIGINT NOT NULL,
    included_extensions BIGINT NOT NULL,
    extra_extension_fee_minor BIGINT NOT NULL,
    number_rental_minor BIGINT NOT NULL,
    min_opening_credit_minor BIGINT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    CONSTRAINT uq_plans_white_label_name UNIQUE (white_label_id, name)
);

-- A customer account of one white label.
CREATE TABLE customers (
    id {key} PRIMARY KEY,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    account_number {key} NOT NULL,
    status TEXT NOT NULL,
    payer TEXT NOT NULL,
    creation_mode TEXT NOT NULL,
    plan_id {key} NOT NULL REFERENCES plans (id),
    legal_name TEXT NOT NULL,
    trading_name TEXT,
    business_number TEXT,
    tax_number TEXT,
    contact_given_name TEXT NOT NULL,
    contact_family_name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    contact_job_title TEXT,
    billing_line1 TEXT NOT NULL,
    billing_line2 TEXT,
    billing_suburb TEXT,
    billing_city TEXT NOT NULL,
    billing_region TEXT,
    billing_postcode TEXT NOT NULL,
    billing_country TEXT NOT NULL,
    service_same_as_billing BIGINT NOT NULL,
    service_line1 TEXT NOT NULL,
    service_line2 TEXT,
    service_suburb TEXT,
    service_city TEXT NOT NULL,
    service_region TEXT,
    service_postcode TEXT NOT NULL,
    service_country TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance_minor BIGINT NOT NULL DEFAULT 0,
    credit_limit_minor BIGINT NOT NULL DEFAULT 0,
    -- Case-folded legal and trading names, for prefix search with an index range.
    legal_name_key {key} NOT NULL,
    trading_name_key {key},
    created_by_user_id {key} REFERENCES users (id),
    version BIGINT NOT NULL DEFAULT 1,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    CONSTRAINT uq_customers_account_number UNIQUE (account_number)
);
CREATE INDEX customers_white_label_newest ON customers (white_label_id, created_us, id);
CREATE INDEX customers_white_label_status ON customers (white_label_id, status, created_us, id);
CREATE INDEX customers_white_label_legal_name ON customers (white_label_id, legal_name_key);
CREATE INDEX customers_white_label_trading_name ON customers (white_label_id, trading_name_key);
CREATE INDEX customers_plan ON customers (plan_id);

-- A role held by a user on one node of the tree: the platform, a white label or a customer.
-- `scope_id` is 'platform', the white label's id or the customer's id.
CREATE TABLE memberships (
    id {key} PRIMARY KEY,
    user_id {key} NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    scope_id {key} NOT NULL,
    white_label_id {key} REFERENCES white_labels (id),
    customer_id {key} REFERENCES customers (id),
    state TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    CONSTRAINT uq_memberships_user_scope UNIQUE (user_id, scope_id)
);
CREATE INDEX memberships_white_label ON memberships (white_label_id);
CREATE INDEX memberships_customer ON memberships (customer_id);

-- Server-side portal sessions; the cookie carries the token, the table only its SHA-256.
CREATE TABLE sessions (
    token_hash {key} PRIMARY KEY,
    user_id {key} NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    source_ip TEXT,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- API keys: shown once, stored as SHA-256 of the whole key.
CREATE TABLE api_keys (
    id {key} PRIMARY KEY,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    customer_id {key} REFERENCES customers (id),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    key_hash {key} NOT NULL,
    created_by_user_id {key} REFERENCES users (id),
    created_us BIGINT NOT NULL,
    last_used_us BIGINT,
    revoked_us BIGINT,
    CONSTRAINT uq_api_keys_key_hash UNIQUE (key_hash)
);
CREATE INDEX api_keys_white_label ON api_keys (white_label_id);

-- Append-only ledger. `account_kind`/`account_id` name the balance that moved;
-- `customer_id` names the customer a charge is for, also when the white label pays it.
-- The balance change of an entry is amount_minor + tax_minor.
CREATE TABLE ledger_entries (
    id {key} PRIMARY KEY,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    account_kind TEXT NOT NULL,
    account_id {key} NOT NULL,
    customer_id {key} REFERENCES customers (id),
    kind TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    balance_after_minor BIGINT NOT NULL,
    actor_label TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, created_us, id);
CREATE INDEX ledger_entries_customer ON ledger_entries (customer_id, created_us, id);

-- Responses remembered per white label and Idempotency-Key.
CREATE TABLE idempotency_keys (
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    idempotency_key {key} NOT NULL,
    request_hash TEXT NOT NULL,
    response_status BIGINT,
    response_body TEXT,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (white_label_id, idempotency_key)
);

-- Every change made by a person or an API key. Before and after never hold secrets.
CREATE TABLE audit_log (
    id {key} PRIMARY KEY,
    white_label_id {key},
    customer_id {key},
    actor_user_id {key},
    actor_api_key_id {key},
    actor_label TEXT NOT NULL,
    on_behalf_of TEXT,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    reason TEXT,
    source_ip TEXT,
    created_us BIGINT NOT NULL
);
CREATE INDEX audit_log_white_label ON audit_log (white_label_id, created_us, id);
CREATE INDEX audit_log_customer ON audit_log (customer_id, created_us, id);
