-- Two-factor sign-in with TOTP (RFC 6238) authenticator apps.
--
-- NOTE: secret_base32 is the shared TOTP secret in plain text; it is not encrypted at rest, so
-- anyone who can read this table can generate a user's codes.
CREATE TABLE two_factor (
    user_id {key} PRIMARY KEY REFERENCES users (id),
    secret_base32 TEXT NOT NULL,
    -- 'pending' until the user enters a valid code, then 'active'.
    state TEXT NOT NULL,
    -- The last 30-second time step whose code was accepted; a code is accepted once.
    last_used_step BIGINT,
    created_us BIGINT NOT NULL,
    enabled_us BIGINT
);

-- Single-use recovery codes; only the SHA-256 of each code is stored.
CREATE TABLE two_factor_recovery_codes (
    user_id {key} NOT NULL REFERENCES users (id),
    code_hash {key} NOT NULL,
    created_us BIGINT NOT NULL,
    used_us BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Sign-ins that passed the password and wait for the second factor. Only the SHA-256 of the
-- browser's token is stored.
CREATE TABLE sign_in_challenges (
    token_hash {key} PRIMARY KEY,
    user_id {key} NOT NULL REFERENCES users (id),
    failures BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL
);
CREATE INDEX sign_in_challenges_user ON sign_in_challenges (user_id);

-- 1 when the white label's administrators and its customers' Account Administrators must sign
-- in with a second factor.
ALTER TABLE white_labels ADD COLUMN require_two_factor BIGINT NOT NULL DEFAULT 0;
