-- Phone numbers and the PBX of each customer account.

-- The platform's inventory: each number once, in E.164 form. `white_label_id` is the pool the
-- number is allocated to (NULL: the platform's own pool); `customer_id` is set while it is
-- assigned or porting. `destination` is the JSON of where inbound calls go.
CREATE TABLE numbers (
    e164 {key} PRIMARY KEY,
    country TEXT NOT NULL,
    area_code {key} NOT NULL,
    number_type TEXT NOT NULL,
    state TEXT NOT NULL,
    white_label_id {key} REFERENCES white_labels (id),
    customer_id {key} REFERENCES customers (id),
    live BIGINT NOT NULL DEFAULT 1,
    destination TEXT,
    ageing_until_us BIGINT,
    version BIGINT NOT NULL DEFAULT 1,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX numbers_country_state ON numbers (country, state, e164);
CREATE INDEX numbers_country_area ON numbers (country, area_code, e164);
CREATE INDEX numbers_pool ON numbers (white_label_id, state, e164);
CREATE INDEX numbers_customer ON numbers (customer_id, e164);
CREATE INDEX numbers_ageing ON numbers (state, ageing_until_us);

-- A request to bring numbers from another carrier into one customer account.
CREATE TABLE port_orders (
    id {key} PRIMARY KEY,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    customer_id {key} NOT NULL REFERENCES customers (id),
    state TEXT NOT NULL,
    losing_carrier TEXT NOT NULL,
    carrier_account TEXT,
    scheduled_date TEXT,
    reason TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX port_orders_customer ON port_orders (customer_id, created_us, id);

CREATE TABLE port_order_numbers (
    port_order_id {key} NOT NULL REFERENCES port_orders (id),
    e164 {key} NOT NULL,
    PRIMARY KEY (port_order_id, e164)
);

-- Callable objects of one account. The unique constraint is the account's one namespace of
-- short numbers; time conditions have none. `settings` is the JSON of the kind's settings.
CREATE TABLE pbx_objects (
    id {key} PRIMARY KEY,
    white_label_id {key} NOT NULL REFERENCES white_labels (id),
    customer_id {key} NOT NULL REFERENCES customers (id),
    kind TEXT NOT NULL,
    short_number {key},
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    CONSTRAINT uq_pbx_objects_short_number UNIQUE (customer_id, short_number)
);
CREATE INDEX pbx_objects_customer_kind ON pbx_objects (customer_id, kind, short_number);

-- Digest credentials of extensions: HA1 values for the realm, never the password.
CREATE TABLE sip_credentials (
    extension_id {key} PRIMARY KEY REFERENCES pbx_objects (id) ON DELETE CASCADE,
    customer_id {key} NOT NULL REFERENCES customers (id),
    username TEXT NOT NULL,
    realm TEXT NOT NULL,
    ha1_md5 TEXT NOT NULL,
    ha1_sha256 TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX sip_credentials_customer ON sip_credentials (customer_id);

-- Uploaded recordings, such as IVR greetings.
CREATE TABLE media (
    id {key} PRIMARY KEY,
    customer_id {key} NOT NULL REFERENCES customers (id),
    content_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    body {blob} NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE INDEX media_customer ON media (customer_id);

-- The outbound policy of an account; an account without a row has the default policy.
CREATE TABLE outbound_policies (
    customer_id {key} PRIMARY KEY REFERENCES customers (id),
    settings TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);

-- Bumped by every change to an account's PBX, numbers or policy, inside the change's
-- transaction: it serialises concurrent changes of one account and names the routing table's
-- revision.
ALTER TABLE customers ADD COLUMN pbx_revision BIGINT NOT NULL DEFAULT 0;
