-- Invitations to join a white label or a customer account, and password-reset links. Only the
-- SHA-256 of each token is stored.
CREATE TABLE invitations (
    id {key} PRIMARY KEY,
    token_hash {key} NOT NULL,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    customer_id {key} REFERENCES customers (id),
    scope_id {key} NOT NULL,
    email TEXT NOT NULL,
    email_key {key} NOT NULL,
    role TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    state TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    accepted_us BIGINT,
    CONSTRAINT uq_invitations_token_hash UNIQUE (token_hash)
);
CREATE INDEX invitations_scope ON invitations (scope_id, state, created_us);

CREATE TABLE password_resets (
    token_hash {key} PRIMARY KEY,
    user_id {key} NOT NULL REFERENCES users (id),
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    used_us BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);
