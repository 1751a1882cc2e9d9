-- The SIP service: domains, digest algorithms, registrations written behind from the SIP
-- service's memory, blocks after failed authentications, and a feed of changes the SIP
-- service follows.

-- A white label's SIP domain; NULL means `sip.` and its first portal host.
ALTER TABLE white_labels ADD COLUMN sip_domain TEXT;
CREATE UNIQUE INDEX white_labels_sip_domain ON white_labels (sip_domain);

-- The label of an account's domain under its white label's; NULL means the account number.
ALTER TABLE customers ADD COLUMN sip_label TEXT;
CREATE UNIQUE INDEX customers_sip_label ON customers (white_label_id, sip_label);
-- Whether the account's phones may answer challenges with SHA-256 as well as MD5.
ALTER TABLE customers ADD COLUMN sip_sha256 BIGINT NOT NULL DEFAULT 0;

-- One credential per (realm, username): the SIP service looks users up by both.
CREATE UNIQUE INDEX sip_credentials_identity ON sip_credentials (realm, username);

-- Bindings as the SIP service last wrote them. Rows past expires_us are lapsed.
CREATE TABLE sip_registrations (
    aor TEXT NOT NULL,
    contact TEXT NOT NULL,
    customer_id {key} NOT NULL REFERENCES customers (id),
    extension_id {key} NOT NULL,
    params TEXT NOT NULL,
    source TEXT NOT NULL,
    transport TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    call_id TEXT NOT NULL,
    cseq BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    PRIMARY KEY (aor, contact)
);
CREATE INDEX sip_registrations_customer ON sip_registrations (customer_id, extension_id);
CREATE INDEX sip_registrations_expiry ON sip_registrations (expires_us);

-- Source addresses and addresses-of-record blocked after failed authentications. customer_id
-- is the account of the address-of-record whose failure started the block, when known.
CREATE TABLE sip_blocks (
    id {key} PRIMARY KEY,
    subject TEXT NOT NULL,
    value TEXT NOT NULL,
    aor TEXT NOT NULL,
    customer_id {key} REFERENCES customers (id),
    white_label_id {key} REFERENCES white_labels (id),
    blocked_until_us BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    UNIQUE (subject, value)
);
CREATE INDEX sip_blocks_customer ON sip_blocks (customer_id);
CREATE INDEX sip_blocks_white_label ON sip_blocks (white_label_id);

-- Changes the SIP service applies to its memory, in order: an extension's credentials
-- (subject: extension id), every credential of an account or white label (subject: its id),
-- or a block lifted (subject: block subject and value).
CREATE TABLE sip_changes (
    seq {serial},
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE INDEX sip_changes_created ON sip_changes (created_us);
