-- Self-activating customers: durable outgoing mail and webhooks, email templates, payment
-- gateways, activation tokens and card payments.

-- Sender of the white label's mail, and where its own systems receive Tandem's webhooks.
ALTER TABLE white_labels ADD COLUMN mail_from_name TEXT;
ALTER TABLE white_labels ADD COLUMN mail_from_address TEXT;
ALTER TABLE white_labels ADD COLUMN webhook_url TEXT;
ALTER TABLE white_labels ADD COLUMN webhook_secret TEXT;

-- Where a pending customer is in activation: queued, sent, opened, payment_started,
-- payment_failed or expired. NULL for accounts that never needed activation.
ALTER TABLE customers ADD COLUMN activation_state TEXT;

-- The durable queue of outgoing mail and webhooks. A row is written in the same transaction
-- as the change that causes it; workers claim due rows with a lease, deliver, and record each
-- attempt. `kind` is 'mail' or 'webhook'; `topic` is the mail template or the event type;
-- `recipient` is an email address or a URL. For mail, `body_text` and `body_html` are the two
-- parts and `headers_json` holds From, Reply-To and Message-ID; for a webhook, `body_text` is
-- the JSON body, signed when sent.
CREATE TABLE outbox (
    id {key} PRIMARY KEY,
    kind TEXT NOT NULL,
    white_label_id {key} REFERENCES white_labels (id),
    customer_id {key} REFERENCES customers (id),
    topic TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT,
    body_text TEXT NOT NULL,
    body_html TEXT,
    headers_json TEXT,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_us BIGINT NOT NULL,
    lease_until_us BIGINT,
    last_error TEXT,
    created_us BIGINT NOT NULL,
    delivered_us BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_us);
CREATE INDEX outbox_white_label ON outbox (white_label_id, kind, created_us, id);

-- One row per delivery attempt of an outbox item.
CREATE TABLE outbox_attempts (
    id {key} PRIMARY KEY,
    outbox_id {key} NOT NULL REFERENCES outbox (id),
    attempt BIGINT NOT NULL,
    started_us BIGINT NOT NULL,
    finished_us BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX outbox_attempts_item ON outbox_attempts (outbox_id, attempt);

-- A white label's own version of a mail template; absent means the platform's default.
CREATE TABLE email_templates (
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    template TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_html TEXT NOT NULL,
    body_text TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    updated_us BIGINT NOT NULL,
    PRIMARY KEY (white_label_id, template)
);

-- A white label's payment gateway: 'test' (built in) or 'stripe'. Secrets are write-only in
-- the portal and API.
CREATE TABLE payment_gateways (
    white_label_id {key} PRIMARY KEY REFERENCES white_labels (id),
    kind TEXT NOT NULL,
    secret_key TEXT,
    webhook_secret TEXT NOT NULL,
    publishable_key TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    updated_us BIGINT NOT NULL
);

-- Activation links; only the SHA-256 of the token is stored. A token is used once.
CREATE TABLE activation_tokens (
    token_hash {key} PRIMARY KEY,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    customer_id {key} NOT NULL REFERENCES customers (id),
    email TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    opened_us BIGINT,
    used_us BIGINT,
    revoked_us BIGINT
);
CREATE INDEX activation_tokens_customer ON activation_tokens (customer_id, created_us);
CREATE INDEX activation_tokens_expiry ON activation_tokens (expires_us);

-- Card payments through a gateway. `purpose` is 'activation' or 'top_up'. For an activation,
-- the details the customer entered wait here until the gateway confirms the payment.
CREATE TABLE payments (
    id {key} PRIMARY KEY,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    customer_id {key} NOT NULL REFERENCES customers (id),
    purpose TEXT NOT NULL,
    gateway TEXT NOT NULL,
    gateway_reference TEXT,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL,
    failure_reason TEXT,
    activation_token_hash {key},
    pending_user_name TEXT,
    pending_password_hash TEXT,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX payments_customer ON payments (customer_id, created_us);
CREATE INDEX payments_white_label_state ON payments (white_label_id, state, created_us);

-- Gateway webhook events already applied; the key makes each event count once.
CREATE TABLE payment_events (
    gateway TEXT NOT NULL,
    event_id TEXT NOT NULL,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    payment_id {key},
    event_type TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_us BIGINT NOT NULL,
    PRIMARY KEY (gateway, event_id)
);
