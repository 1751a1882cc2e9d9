-- Two customer indexes that only some customers need an entry in. Every new customer used to
-- add an entry to each: two of the ten index entries that one customer row costs.

-- The expiry job is the index's one reader, and it reads pending accounts only, so the index
-- contains those alone.
DROP INDEX customers_status;
CREATE INDEX customers_pending ON customers (created_us) WHERE status = 'pending_activation';

-- An account has no SIP label until someone sets one. Several NULLs never clashed in the
-- unique index, so leaving them out changes no rule.
DROP INDEX customers_sip_label;
CREATE UNIQUE INDEX customers_sip_label ON customers (white_label_id, sip_label)
    WHERE sip_label IS NOT NULL;
