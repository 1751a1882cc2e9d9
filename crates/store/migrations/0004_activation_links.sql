-- Links between activation, mail and payments.

-- The activation mail's outbox item, so the white label sees whether it was delivered.
ALTER TABLE activation_tokens ADD COLUMN outbox_id TEXT;

-- SHA-256 of a secret kept in the paying browser's cookie, so only that browser is signed in
-- when it returns from the payment page.
ALTER TABLE payments ADD COLUMN return_token_hash TEXT;

-- The expiry job looks for pending accounts across all white labels.
CREATE INDEX customers_status ON customers (status, created_us);
